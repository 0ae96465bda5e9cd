// Mags whose path is a URL (add_remote_mag / add_mag_as_ref of a mag of a remote dataset, as
// webknossos-libs writes them), served by a real nginx-light: the entry the library would store,
// region reads through the remote array, delete_mag only unlisting, and clear errors that change
// nothing.
#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "dataset/remote_dataset.hpp"
#include "storage/http_client.hpp"
#include "support/test_support.hpp"
#include "unit/storage/test_servers.hpp"

using namespace wkfs;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Json props_json(const fs::path& ds) { return Json::parse(slurp(ds / "datasource-properties.json")); }

Bytes read_box(MagView& v, const BoundingBox& b) {
  Bytes out(v.buffer_size(b));
  v.read(b, out);
  return out;
}

// Expects `op` to fail with `err` naming `needle`, the properties file byte-for-byte unchanged.
template <typename F>
void expect_fails_unchanged(const fs::path& ds, int err, const std::string& needle, F op) {
  std::string before = slurp(ds / "datasource-properties.json");
  try {
    op();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(to_errno(e), err) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(ds / "datasource-properties.json"), before);
}

template <typename F>
ErrorKind error_kind_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::Io;
}

// A local dataset with an empty layer `color` matching the fixture's (uint8 x 3, Zarr3).
fs::path local_dataset(const fs::path& dir) {
  auto ds = Dataset::create(dir, VoxelSize{{1, 1, 1}, "nanometer"});
  LayerSpec spec;
  spec.name = "color";
  spec.dtype = DType::UInt8;
  spec.num_channels = 3;
  spec.data_format = DataFormat::Zarr3;
  ds->add_layer(spec);
  return dir;
}

}  // namespace

TEST(RemoteMag, AddReadReopenAndDeleteOnlyUnlists) {
  test::TempDir tmp;
  fs::create_directories(tmp / "www");
  fs::path remote_ds = test::copy_fixture("simple_zarr3_dataset", tmp / "www");
  test::NginxServer nginx(tmp / "nginx", tmp / "www");
  const std::string url = nginx.https_url() + "/simple_zarr3_dataset/color/1";
  storage::HttpOptions o;
  o.ca_file = nginx.ca_file().string();
  storage::StoreContext context{std::make_shared<storage::HttpClient>(o), ""};

  fs::path root = local_dataset(tmp / "local");
  auto ds = Dataset::open(root, false, nullptr, context);
  ds->add_remote_mag("color", fs::path(url));
  // The entry as the library writes it: the URL as path, the foreign layer's box.
  Json mags = props_json(root)["dataLayers"][0]["mags"];
  ASSERT_EQ(mags.size(), 1u);
  EXPECT_EQ(mags[0]["path"], url);
  EXPECT_EQ(mags[0]["mag"], Json::parse("[1,1,1]"));
  EXPECT_EQ(props_json(root)["dataLayers"][0]["boundingBox"]["width"], 24);
  EXPECT_TRUE(ds->is_remote_mag("color", Mag(1, 1, 1)));
  EXPECT_TRUE(ds->is_foreign_mag("color", Mag(1, 1, 1)));
  EXPECT_EQ(ds->mag_location("color", Mag(1, 1, 1)), url);
  EXPECT_EQ(error_kind_of([&] { ds->mag_path("color", Mag(1, 1, 1)); }), ErrorKind::Unsupported);

  auto local = Dataset::open(remote_ds, true);
  BoundingBox box{{3, 0, 5}, {21, 24, 19}};
  auto view = ds->mag_view("color", Mag(1, 1, 1));
  EXPECT_TRUE(view->read_only());
  EXPECT_TRUE(view->array().remote());
  Bytes got = read_box(*view, box);
  EXPECT_EQ(got, read_box(*local->mag_view("color", Mag(1, 1, 1)), box));
  size_t bad = 0, i = 0;
  for (int c = 0; c < 3; ++c)
    for (int x = 3; x < 24; ++x)
      for (int y = 0; y < 24; ++y)
        for (int z = 5; z < 24; ++z) bad += static_cast<unsigned char>(got[i++]) != test::fixture_value(x, y, z);
  EXPECT_EQ(bad, 0u);
  Bytes zeros(view->buffer_size(box));
  EXPECT_EQ(error_kind_of([&] { view->write(box, zeros); }), ErrorKind::ReadOnly);

  // Opened again, with no context handed in: a default client (the server's CA is then unknown,
  // so plain http for this part).
  const std::string plain = nginx.http_url() + "/simple_zarr3_dataset/color/1";
  ds->delete_mag("color", Mag(1, 1, 1));
  ds->add_remote_mag_url("color", plain);
  auto again = Dataset::open(root);
  EXPECT_EQ(read_box(*again->mag_view("color", Mag(1, 1, 1)), box), got);

  // delete_mag unlists; the remote files stay.
  again->delete_mag("color", Mag(1, 1, 1));
  EXPECT_TRUE(props_json(root)["dataLayers"][0]["mags"].empty());
  EXPECT_TRUE(fs::exists(remote_ds / "color/1/zarr.json"));
  EXPECT_TRUE(fs::exists(remote_ds / "color/1/c/0/0/0/0"));
}

TEST(RemoteMag, BadSourcesAreClearErrorsThatChangeNothing) {
  test::TempDir tmp;
  fs::create_directories(tmp / "www");
  test::copy_fixture("simple_zarr3_dataset", tmp / "www");
  test::copy_fixture("simple_wkw_dataset", tmp / "www");
  test::NginxServer nginx(tmp / "nginx", tmp / "www");
  fs::path root = local_dataset(tmp / "local");
  auto ds = Dataset::open(root, false, nullptr, storage::StoreContext{std::make_shared<storage::HttpClient>(), ""});
  const std::string base = nginx.http_url();
  expect_fails_unchanged(root, ENOENT, base + "/nothing", [&] { ds->add_remote_mag_url("color", base + "/nothing/color/1"); });
  expect_fails_unchanged(root, ENOENT, "no layer 'segm'",
                         [&] { ds->add_remote_mag_url("color", base + "/simple_zarr3_dataset/segm/1"); });
  expect_fails_unchanged(root, ENOENT, "no mag 2-2-2",
                         [&] { ds->add_remote_mag_url("color", base + "/simple_zarr3_dataset/color/2"); });
  expect_fails_unchanged(root, EINVAL, "data format",
                         [&] { ds->add_remote_mag_url("color", base + "/simple_wkw_dataset/color/1"); });
  expect_fails_unchanged(root, EINVAL, "DATASET/LAYER/MAG", [&] { ds->add_remote_mag_url("color", base + "/1"); });
  // The dataset is there but the mag's array is not.
  fs::remove(tmp / "www/simple_zarr3_dataset/color/1/zarr.json");
  expect_fails_unchanged(root, ENOENT, base + "/simple_zarr3_dataset/color/1",
                         [&] { ds->add_remote_mag_url("color", base + "/simple_zarr3_dataset/color/1"); });
  // A server that fails is EIO naming the URL and status.
  storage::HttpOptions o;
  o.max_attempts = 2;
  o.backoff_initial = std::chrono::milliseconds(10);
  auto failing = Dataset::open(root, false, nullptr, storage::StoreContext{std::make_shared<storage::HttpClient>(o), ""});
  expect_fails_unchanged(root, EIO, "503", [&] { failing->add_remote_mag_url("color", base + "/fail/ds/color/1"); });
  auto ro = Dataset::open(root, true);
  expect_fails_unchanged(root, EROFS, "read-only",
                         [&] { ro->add_remote_mag_url("color", base + "/simple_zarr3_dataset/color/1"); });
}

TEST(RemoteDataset, PropertiesAndEveryMagThroughTheStore) {
  test::TempDir tmp;
  fs::create_directories(tmp / "www");
  for (const char* name : {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"})
    test::copy_fixture(name, tmp / "www");
  test::NginxServer nginx(tmp / "nginx", tmp / "www");
  storage::StoreContext context{std::make_shared<storage::HttpClient>(), ""};
  for (const char* name : {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"}) {
    SCOPED_TRACE(name);
    auto local = Dataset::open(tmp / "www" / name, true);
    auto remote = RemoteDataset::open(nginx.http_url() + "/" + name + "/", context);
    EXPECT_EQ(remote->url(), nginx.http_url() + "/" + name);
    ASSERT_EQ(remote->properties().layers.size(), 1u);
    const auto& layer = remote->properties().layers[0];
    ASSERT_EQ(layer.mags.size(), 1u);
    const Mag mag = layer.mags[0].mag;
    // The legacy zarr fixture's mag has no path: the library looks in <layer>/<short>, then <long>;
    // its folder is 1-1-1, so a URL reader that cannot list finds it only through the long name.
    const std::string folder = fs::relative(local->mag_path(layer.name, mag), tmp / "www" / name).generic_string();
    EXPECT_EQ(remote->mag_location(layer.name, mag), nginx.http_url() + "/" + name + "/" + folder);
    BoundingBox box{{0, 0, 0}, {24, 24, 24}};
    try {
      EXPECT_EQ(read_box(*remote->mag_view(layer.name, mag), box), read_box(*local->mag_view(layer.name, mag), box));
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
    }
  }
  int err = 0;
  try {
    RemoteDataset::open(nginx.http_url() + "/nothing", context);
  } catch (const Error& e) {
    err = to_errno(e);
    EXPECT_NE(std::string(e.what()).find(nginx.http_url() + "/nothing"), std::string::npos) << e.what();
  }
  EXPECT_EQ(err, ENOENT);
}

namespace {

const char* kBotoUpload = R"PY(
import os, sys, boto3
from botocore.config import Config
endpoint, ca, root = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, aws_access_key_id="test:tester",
                  aws_secret_access_key="testing", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="wk-data")
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        s3.upload_file(p, "wk-data", os.path.relpath(p, root))
print("ok")
)PY";

}  // namespace

// The s3:// form the library stores (endpoint without scheme, read over https), through Swift's
// s3api behind an nginx TLS front, with credentials found as the library finds them.
TEST(RemoteMagSwift, AnS3MagIsStoredAndReadAsTheLibraryDoes) {
  test::TempDir tmp;
  fs::create_directories(tmp / "up");
  test::copy_fixture("simple_zarr3_dataset", tmp / "up");
  const std::string dir = (tmp / "swift").string();
  std::istringstream ports(test::run_command("bash " WKFS_SOURCE_DIR "/tests/servers/swift_s3.sh start '" + dir + "'"));
  int http_port = 0, tls_port = 0;
  ports >> http_port >> tls_port;
  struct Stop {
    std::string dir;
    ~Stop() { (void)std::system(("bash " WKFS_SOURCE_DIR "/tests/servers/swift_s3.sh stop '" + dir + "'").c_str()); }
  } stop{dir};
  ASSERT_GT(tls_port, 0);
  const std::string ca = (tmp / "swift/front/cert.pem").string();
  const std::string authority = "127.0.0.1:" + std::to_string(tls_port);
  std::ofstream(tmp / "boto.py") << kBotoUpload;
  ASSERT_EQ(test::run_command("/usr/bin/python3 " + (tmp / "boto.py").string() + " https://" + authority + " " + ca + " " +
                              (tmp / "up").string()),
            "ok\n");
  const std::string suffix = "127_0_0_1_" + std::to_string(tls_port) + "__WK_DATA";
  ::setenv(("AWS_ACCESS_KEY_ID__" + suffix).c_str(), "test:tester", 1);
  ::setenv(("AWS_SECRET_ACCESS_KEY__" + suffix).c_str(), "testing", 1);

  storage::HttpOptions o;
  o.ca_file = ca;
  fs::path root = local_dataset(tmp / "local");
  auto ds = Dataset::open(root, false, nullptr, storage::StoreContext{std::make_shared<storage::HttpClient>(o), ""});
  const std::string url = "s3://" + authority + "/wk-data/simple_zarr3_dataset/color/1";
  ds->add_remote_mag("color", fs::path(url + "/"));  // a trailing slash is not part of the stored path
  EXPECT_EQ(props_json(root)["dataLayers"][0]["mags"][0]["path"], url);
  EXPECT_EQ(ds->mag_location("color", Mag(1, 1, 1)), url);
  BoundingBox box{{0, 0, 0}, {24, 24, 24}};
  Bytes got = read_box(*ds->mag_view("color", Mag(1, 1, 1)), box);
  auto local = Dataset::open(tmp / "up/simple_zarr3_dataset", true);
  EXPECT_EQ(got, read_box(*local->mag_view("color", Mag(1, 1, 1)), box));
  ::unsetenv(("AWS_ACCESS_KEY_ID__" + suffix).c_str());
  ::unsetenv(("AWS_SECRET_ACCESS_KEY__" + suffix).c_str());
}
