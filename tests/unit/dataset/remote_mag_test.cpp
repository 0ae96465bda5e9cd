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
  test::ServedFixtures served(tmp.path(), {"simple_zarr3_dataset"});
  auto& nginx = served.nginx();
  const fs::path remote_ds = served.root() / "simple_zarr3_dataset";
  const std::string url = nginx.https_url() + "/simple_zarr3_dataset/color/1";
  storage::StoreContext context = test::test_context(nginx.ca_file().string());

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
  test::ServedFixtures served(tmp.path(), {"simple_zarr3_dataset", "simple_wkw_dataset"});
  fs::path root = local_dataset(tmp / "local");
  auto ds = Dataset::open(root, false, nullptr, test::test_context());
  const std::string base = served.nginx().http_url();
  expect_fails_unchanged(root, ENOENT, base + "/nothing", [&] { ds->add_remote_mag_url("color", base + "/nothing/color/1"); });
  expect_fails_unchanged(root, ENOENT, "no layer 'segm'",
                         [&] { ds->add_remote_mag_url("color", base + "/simple_zarr3_dataset/segm/1"); });
  expect_fails_unchanged(root, ENOENT, "no mag 2-2-2",
                         [&] { ds->add_remote_mag_url("color", base + "/simple_zarr3_dataset/color/2"); });
  expect_fails_unchanged(root, EINVAL, "data format",
                         [&] { ds->add_remote_mag_url("color", base + "/simple_wkw_dataset/color/1"); });
  expect_fails_unchanged(root, EINVAL, "DATASET/LAYER/MAG", [&] { ds->add_remote_mag_url("color", base + "/1"); });
  // The dataset is there but the mag's array is not.
  fs::remove(served.root() / "simple_zarr3_dataset/color/1/zarr.json");
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
  test::ServedFixtures served(tmp.path(), {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"});
  auto& nginx = served.nginx();
  storage::StoreContext context = test::test_context();
  for (const char* name : {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"}) {
    SCOPED_TRACE(name);
    auto local = Dataset::open(served.root() / name, true);
    auto remote = RemoteDataset::open(nginx.http_url() + "/" + name + "/", context);
    EXPECT_EQ(remote->url(), nginx.http_url() + "/" + name);
    ASSERT_EQ(remote->properties().layers.size(), 1u);
    const auto& layer = remote->properties().layers[0];
    ASSERT_EQ(layer.mags.size(), 1u);
    const Mag mag = layer.mags[0].mag;
    // The legacy zarr fixture's mag has no path: the library looks in <layer>/<short>, then <long>;
    // its folder is 1-1-1, so a URL reader that cannot list finds it only through the long name.
    const std::string folder = fs::relative(local->mag_path(layer.name, mag), served.root() / name).generic_string();
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

// The s3:// form the library stores (endpoint without scheme, read over https), through Swift's
// s3api behind an nginx TLS front, with credentials found as the library finds them.
TEST(RemoteMagSwift, AnS3MagIsStoredAndReadAsTheLibraryDoes) {
  test::TempDir tmp;
  fs::create_directories(tmp / "up");
  test::copy_fixture("simple_zarr3_dataset", tmp / "up");
  test::SwiftS3Server swift(tmp / "swift");
  swift.upload(tmp / "up");
  test::LibraryS3Credentials credentials(swift);

  fs::path root = local_dataset(tmp / "local");
  auto ds = Dataset::open(root, false, nullptr, test::test_context(swift.ca_file().string()));
  const std::string url = "s3://" + swift.authority() + "/wk-data/simple_zarr3_dataset/color/1";
  ds->add_remote_mag("color", fs::path(url + "/"));  // a trailing slash is not part of the stored path
  EXPECT_EQ(props_json(root)["dataLayers"][0]["mags"][0]["path"], url);
  EXPECT_EQ(ds->mag_location("color", Mag(1, 1, 1)), url);
  BoundingBox box{{0, 0, 0}, {24, 24, 24}};
  Bytes got = read_box(*ds->mag_view("color", Mag(1, 1, 1)), box);
  auto local = Dataset::open(tmp / "up/simple_zarr3_dataset", true);
  EXPECT_EQ(got, read_box(*local->mag_view("color", Mag(1, 1, 1)), box));
}
