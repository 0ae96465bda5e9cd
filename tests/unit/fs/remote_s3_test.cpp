// Remote trees over S3 (OpenStack Swift's s3api with real SigV4, behind an nginx TLS front, as
// webknossos-libs reads s3://host:port/bucket/key): a prefix holding several datasets and one
// dataset are listed with every object's exact size, the core serves them read-only byte for
// byte, and a local dataset's s3:// mag is a folder read through. One test: Swift takes seconds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>

#include "core/error.hpp"
#include "fs/remote_dataset.hpp"
#include "fs/remote_mag.hpp"
#include "unit/fs/core_test_helpers.hpp"
#include "unit/fs/remote_core_setup.hpp"
#include "unit/storage/test_servers.hpp"

using namespace wkfs;
using namespace wkfs::mount;
using namespace wkfs::test::core;
namespace fs = std::filesystem;

TEST(RemoteS3, APrefixOfDatasetsADatasetAndAMagAreListedAndReadThroughTheCore) {
  test::TempDir tmp;
  const fs::path up = tmp / "up";
  fs::create_directories(up);
  for (const char* f : {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"}) test::copy_fixture(f, up);
  test::SwiftS3Server swift(tmp / "swift");
  const std::string host = swift.authority();
  swift.upload(up, "root");
  ::setenv("AWS_ACCESS_KEY_ID", "test:tester", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
  storage::HttpOptions options;
  options.ca_file = swift.ca_file().string();
  options.backoff_initial = std::chrono::milliseconds(10);
  storage::StoreContext context = test::test_context(swift.ca_file().string());
  const std::string prefix = "s3://" + host + "/wk-data/root";

  {
    SCOPED_TRACE("trees: a prefix of datasets, one dataset, one mag");
    auto all = open_remote_dataset(context, prefix);
    std::map<std::string, uint64_t> expect;
    for (const char* f : {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"})
      for (auto& [k, v] : files_below(up / f, std::string(f) + "/")) expect[k] = v;
    EXPECT_EQ(files_of(*all), expect);
    // an overlay for the prefix gets each dataset's properties (then each is a dataset there)
    EXPECT_EQ(seed_overlay(*all, tmp / "overlay"), 3);
    EXPECT_EQ(seed_overlay(*all, tmp / "overlay"), 0);  // present: kept as they are
    for (const char* f : {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"})
      EXPECT_EQ(file_text(tmp / "overlay" / f / "datasource-properties.json"),
                file_text(up / f / "datasource-properties.json"));
    auto one = open_remote_dataset(context, prefix + "/simple_wkw_dataset");
    EXPECT_EQ(files_of(*one), files_below(up / "simple_wkw_dataset"));
    auto props = DatasetProperties::parse(file_text(up / "simple_zarr3_dataset/datasource-properties.json"));
    auto mag = open_remote_mag(context, prefix + "/simple_zarr3_dataset/color/1", props.layers[0], Mag());
    EXPECT_EQ(files_of(*mag), files_below(up / "simple_zarr3_dataset/color/1"));
  }
  {
    SCOPED_TRACE("the core over the prefix: read-only, byte for byte");
    fs::create_directories(tmp / "empty");
    FilesystemConfig c = remote_test_config(tmp / "empty", true);
    c.remote.source_url = prefix;
    c.remote.http = options;
    Filesystem f(std::move(c));
    std::vector<std::string> listed = listed_files(f, "");
    std::vector<std::string> expect;
    for (auto& [k, v] : files_below(up)) expect.push_back("/" + k);
    EXPECT_EQ(listed, expect);
    for (auto& [k, v] : files_below(up)) EXPECT_EQ(read_path(f, k), file_text(up / k)) << k;
    EXPECT_EQ(errno_from([&] { f.mkdir(lookup_path(f, "simple_wkw_dataset/color"), "2", 0755); }), EROFS);
  }
  {
    SCOPED_TRACE("a local dataset's s3:// mag, as webknossos-libs stores it");
    Mount m;
    make_url_mag(m.src / "ds", prefix + "/simple_zarr3_dataset/color/1");
    FilesystemConfig c = remote_test_config(m.src);
    c.remote.http = options;
    Filesystem f(std::move(c));
    for (auto& [k, v] : files_below(up / "simple_zarr3_dataset/color/1"))
      EXPECT_EQ(read_path(f, "ds/color/1/" + k), file_text(up / "simple_zarr3_dataset/color/1" / k)) << k;
    EXPECT_EQ(errno_from([&] { f.create(lookup_path(f, "ds/color/1"), "x", 0644, O_WRONLY); }), EROFS);
  }
  {
    SCOPED_TRACE("a wrong secret: a clear error naming the URL, nothing served");
    ::setenv("AWS_SECRET_ACCESS_KEY", "wrong", 1);
    try {
      open_remote_dataset(context, prefix);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(errno_of(e), EACCES) << e.what();
      EXPECT_NE(std::string(e.what()).find(host), std::string::npos) << e.what();
    }
    ::setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
  }
}
