// Remote trees, files and paths of the mount against real servers (nginx-light for http(s); the
// S3 case is in remote_s3_test.cpp): every file a fixture holds is found with its exact size, over
// plain HTTP from the array metadata alone, and reads give the source files' bytes.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <future>
#include <random>

#include "core/error.hpp"
#include "fs/remote_dataset.hpp"
#include "fs/remote_file.hpp"
#include "fs/remote_mag.hpp"
#include "storage/http_store.hpp"
#include "unit/fs/core_test_helpers.hpp"
#include "unit/fs/remote_core_setup.hpp"
#include "unit/storage/test_servers.hpp"

using namespace wkfs;
using namespace wkfs::mount;
using namespace wkfs::test::core;
namespace fs = std::filesystem;

namespace {

/// The three fixtures served by nginx-light, and a client that trusts its certificate.
struct Served {
  test::TempDir tmp;
  test::ServedFixtures served{tmp.path(), {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"}};
  const fs::path root = served.root();
  test::NginxServer* nginx = &served.nginx();
  storage::StoreContext context = test::test_context(nginx->ca_file().string());
};

std::string text_of(const fs::path& p) { return file_text(p); }

}  // namespace

TEST(RemoteTreeHttp, DerivedTreesHoldEveryFixtureFileWithItsSize) {
  Served s;
  for (const char* name : {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"}) {
    SCOPED_TRACE(name);
    auto tree = open_remote_dataset(s.context, s.nginx->https_url() + "/" + name);
    EXPECT_EQ(files_of(*tree), files_below(s.root / name));
    auto plain = open_remote_dataset(s.context, s.nginx->http_url() + "/" + name);
    EXPECT_EQ(files_of(*plain), files_below(s.root / name));
  }
  // one mag by its URL, as a local dataset's properties name it
  auto props = DatasetProperties::parse(text_of(s.root / "simple_zarr3_dataset/datasource-properties.json"));
  auto mag = open_remote_mag(s.context, s.nginx->http_url() + "/simple_zarr3_dataset/color/1", props.layers[0], Mag());
  EXPECT_EQ(files_of(*mag), files_below(s.root / "simple_zarr3_dataset/color/1"));
}

TEST(RemoteTreeHttp, MissingChunksAreNeitherListedNorFound) {
  Served s;
  // the Zarr v2 array grows to 2 chunks along x: the second is a candidate the server lacks
  const fs::path zarray = s.root / "simple_zarr_dataset/color/1-1-1/.zarray";
  auto meta = Json::parse(text_of(zarray));
  meta["shape"] = Json::array({3, 48, 24, 24});
  put_file(zarray, meta.dump());
  auto tree = open_remote_dataset(s.context, s.nginx->http_url() + "/simple_zarr_dataset");
  EXPECT_TRUE(tree->stat("color/1-1-1/0.0.0.0").has_value());
  EXPECT_FALSE(tree->stat("color/1-1-1/0.1.0.0").has_value());
  EXPECT_EQ(files_of(*tree), files_below(s.root / "simple_zarr_dataset"));
  // not a dataset: a clear NotFound that names the URL
  try {
    open_remote_dataset(s.context, s.nginx->http_url() + "/nothing_here");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("/nothing_here"), std::string::npos) << e.what();
  }
}

TEST(RemoteFileHttp, ReadsGiveTheObjectsBytesAndSequentialReadsCoalesce) {
  Served s;
  std::string big(3 << 20, '\0');
  std::mt19937 rng(5);
  for (auto& c : big) c = static_cast<char>(rng());
  put_file(s.root / "big.bin", big);
  auto store = std::make_shared<storage::HttpStore>(storage::StoreUrl::parse(s.nginx->http_url()), s.context.client);
  auto tree = std::make_shared<RemoteTree>(store, s.nginx->http_url());
  tree->add_candidate("big.bin");
  struct stat st {};
  st.st_size = static_cast<off_t>(tree->stat("big.bin").value().size);
  ASSERT_EQ(st.st_size, static_cast<off_t>(big.size()));
  RemoteFile file("big.bin", tree, "big.bin", st);
  std::string got;
  std::vector<char> buf(128 << 10);
  size_t reads = 0;
  for (off_t off = 0;; off += static_cast<off_t>(buf.size())) {
    size_t n = file.read(buf.data(), buf.size(), off);
    ++reads;
    if (n == 0) break;
    got.append(buf.data(), n);
  }
  EXPECT_EQ(got, big);
  const size_t gets = s.nginx->wait_requests_for("GET /big.bin", 1);
  std::cout << "[ measure ] 3 MiB read in 128 KiB requests: " << reads << " reads, " << gets << " GETs\n";
  EXPECT_LT(gets, reads / 2);  // the window grows: 128 KiB, 256 KiB, ... 4 MiB
  for (int i = 0; i < 50; ++i) {  // random reads anywhere, across window edges and past the end
    const off_t off = static_cast<off_t>(rng() % (big.size() + 100));
    const size_t len = 1 + rng() % 300000;
    std::vector<char> b(len);
    const size_t n = file.read(b.data(), len, off);
    const size_t expect = static_cast<size_t>(off) >= big.size() ? 0 : std::min(len, big.size() - static_cast<size_t>(off));
    ASSERT_EQ(n, expect);
    EXPECT_EQ(std::string(b.data(), n), big.substr(static_cast<size_t>(off), n));
    // the zero-copy reply the adapter sends: the same bytes, as pieces of the held blocks
    auto view = file.read_view(len, off);
    ASSERT_TRUE(view.has_value());
    std::string joined;
    for (const iovec& part : view->parts) joined.append(static_cast<const char*>(part.iov_base), part.iov_len);
    EXPECT_EQ(joined, big.substr(static_cast<size_t>(off), n));
  }
  EXPECT_EQ(errno_from([&] { file.write("x", 1, 0); }), EROFS);
}

TEST(RemoteFileHttp, HandlesOfOneObjectShareTheirBlocksAndAChangedObjectFailsInsteadOfMixing) {
  Served s;
  std::string big(3 << 20, '\0');
  std::mt19937 rng(7);
  for (auto& c : big) c = static_cast<char>(rng());
  put_file(s.root / "shared.bin", big);
  auto store = std::make_shared<storage::HttpStore>(storage::StoreUrl::parse(s.nginx->http_url()), s.context.client);
  auto tree = std::make_shared<RemoteTree>(store, s.nginx->http_url(), std::make_shared<RemoteBlocks>(32, std::chrono::seconds(60)));
  tree->add_candidate("shared.bin");
  struct stat st {};
  st.st_size = static_cast<off_t>(tree->stat("shared.bin").value().size);
  // 8 handles read the object at once, each its own 128 KiB reads in its own order: 3 GETs in all,
  // one per 1 MiB block (with a table per handle each fetched every block it read, and read-ahead past it)
  std::vector<std::future<std::string>> readers;
  for (int h = 0; h < 8; ++h)
    readers.push_back(std::async(std::launch::async, [&, h] {
      RemoteFile file("shared.bin", tree, "shared.bin", st);
      std::string got(big.size(), '\0');
      const size_t step = 128 << 10, n = big.size() / step;
      for (size_t k = 0; k < n; ++k) {
        const size_t at = ((k + static_cast<size_t>(h) * 5) % n) * step;
        EXPECT_EQ(file.read(got.data() + at, step, static_cast<off_t>(at)), step);
      }
      return got;
    }));
  for (auto& r : readers) EXPECT_EQ(r.get(), big);
  EXPECT_EQ(s.nginx->wait_requests_for("GET /shared.bin", 3), 3u);

  // the object replaced by one of the same size (nginx's ETag: mtime and size): a handle that has
  // served the old version fails on a block of the new one, with a message; a new handle reads it whole
  RemoteFile old_reader("shared.bin", tree, "shared.bin", st);
  std::vector<char> b(1000);
  ASSERT_EQ(old_reader.read(b.data(), b.size(), 0), b.size());
  tree->blocks().clear();  // as after the hold: the next reads go to the server
  std::string changed = big;
  for (auto& c : changed) c = static_cast<char>(~c);
  put_file(s.root / "shared.bin", changed);
  fs::last_write_time(s.root / "shared.bin", fs::file_time_type::clock::now() + std::chrono::hours(1));
  try {
    old_reader.read(b.data(), b.size(), 2 << 20);
    ADD_FAILURE() << "a block of the new version was served beside the old one";
  } catch (const Error& e) {
    EXPECT_EQ(errno_of(e), EIO);
    EXPECT_NE(std::string(e.what()).find("changed while open"), std::string::npos) << e.what();
  }
  RemoteFile fresh("shared.bin", tree, "shared.bin", st);
  std::string got(changed.size(), '\0');
  for (size_t at = 0; at < got.size(); at += 1 << 20) ASSERT_EQ(fresh.read(got.data() + at, 1 << 20, static_cast<off_t>(at)), size_t{1} << 20);
  EXPECT_EQ(got, changed);
}

TEST(RemoteMagCore, ALocalDatasetsUrlMagIsAReadOnlyFolderReadThrough) {
  Served s;
  Mount m;  // ds = a copy of simple_zarr3_dataset; its mag 1 becomes the served copy's URL
  make_url_mag(m.src / "ds", s.nginx->http_url() + "/simple_zarr3_dataset/color/1");
  Filesystem f(remote_test_config(m.src));
  EXPECT_EQ(names(f, "ds/color"), (std::set<std::string>{"1", "zarr.json"}));
  std::vector<std::string> expect;
  for (const auto& [k, size] : files_below(s.root / "simple_zarr3_dataset/color/1")) expect.push_back("ds/color/1/" + k);
  EXPECT_EQ(listed_files(f, "ds/color/1"), expect);
  for (const auto& [k, size] : files_below(s.root / "simple_zarr3_dataset/color/1")) {
    SCOPED_TRACE(k);
    auto e = f.lookup(lookup_path(f, "ds/color/1/" + fs::path(k).parent_path().string()), fs::path(k).filename().string());
    EXPECT_EQ(static_cast<uint64_t>(e.attr.st_size), size);
    EXPECT_EQ(read_path(f, "ds/color/1/" + k), text_of(s.root / "simple_zarr3_dataset/color/1" / k));
  }
  const Ino mag = lookup_path(f, "ds/color/1");
  EXPECT_EQ(errno_from([&] { f.create(mag, "new", 0644, O_WRONLY); }), EROFS);
  EXPECT_EQ(errno_from([&] { f.open(lookup_path(f, "ds/color/1/zarr.json"), O_WRONLY); }), EROFS);
  EXPECT_EQ(errno_from([&] { f.unlink(mag, "zarr.json"); }), EROFS);
  EXPECT_EQ(errno_from([&] { f.mkdir(mag, "d", 0755); }), EROFS);
  EXPECT_EQ(errno_from([&] { f.symlink(s.nginx->http_url() + "/x/color/1", lookup_path(f, "ds/color"), "2"); }), EINVAL);
  EXPECT_FALSE(fs::exists(m.src / "ds/color/2"));
  EXPECT_EQ(text_of(s.root / "simple_zarr3_dataset/color/1/zarr.json"),
            text_of(test::fixture("simple_zarr3_dataset") / "color/1/zarr.json"));
}

TEST(RemoteSourceCore, AnHttpDatasetIsReadOnlyAndAnOverlayTakesEveryChange) {
  Served s;
  const fs::path ds = s.root / "simple_zarr3_dataset";
  auto make = [&](const fs::path& local, bool read_only) {
    FilesystemConfig c = remote_test_config(local, read_only);
    c.remote.source_url = s.nginx->http_url() + "/simple_zarr3_dataset";
    return std::make_unique<Filesystem>(std::move(c));
  };
  test::TempDir tmp;
  fs::create_directories(tmp / "empty");
  fs::create_directories(tmp / "overlay");
  {
    auto f = make(tmp / "empty", true);
    std::vector<std::string> expect;
    for (const auto& [k, size] : files_below(ds)) expect.push_back("/" + k);
    EXPECT_EQ(listed_files(*f, ""), expect);
    for (const auto& [k, size] : files_below(ds)) EXPECT_EQ(read_path(*f, k), text_of(ds / k)) << k;
    EXPECT_EQ(errno_from([&] { f->create(kRootIno, "x", 0644, O_WRONLY); }), EROFS);
    EXPECT_EQ(errno_from([&] { f->open(lookup_path(*f, "datasource-properties.json"), O_WRONLY); }), EROFS);
    EXPECT_EQ(errno_from([&] { f->mkdir(lookup_path(*f, "color"), "2", 0755); }), EROFS);
    EXPECT_TRUE(fs::is_empty(tmp / "empty"));
  }
  {
    auto f = make(tmp / "overlay", false);
    const std::string before = text_of(ds / "datasource-properties.json");
    auto o = f->open(lookup_path(*f, "datasource-properties.json"), O_WRONLY | O_TRUNC);
    write_str(*f, o, "{\"edited\": true}\n");
    f->flush(*o.file);
    f->release(std::move(o.file));
    EXPECT_EQ(read_path(*f, "datasource-properties.json"), "{\"edited\": true}\n");
    EXPECT_EQ(text_of(tmp / "overlay/datasource-properties.json"), "{\"edited\": true}\n");
    f->mkdir(lookup_path(*f, "color"), "2", 0755);
    auto [e, created] = f->create(lookup_path(*f, "color/2"), "zarr.json", 0644, O_WRONLY);
    write_str(*f, created, "{}");
    f->release(std::move(created.file));
    EXPECT_TRUE(fs::exists(tmp / "overlay/color/2/zarr.json"));
    EXPECT_EQ(names(*f, "color"), (std::set<std::string>{"1", "2", "zarr.json"}));
    // the remote files are still read from the store, and the store was never written
    EXPECT_EQ(read_path(*f, "color/1/c/0/0/0/0"), text_of(ds / "color/1/c/0/0/0/0"));
    EXPECT_EQ(text_of(ds / "datasource-properties.json"), before);
    EXPECT_EQ(files_below(ds), files_below(test::fixture("simple_zarr3_dataset")));
    EXPECT_EQ(errno_from([&] { f->unlink(lookup_path(*f, "color/1"), "zarr.json"); }), EROFS);
  }
}

TEST(RemoteFileHttp, MeasureSequentialReadsBesideOneWholeGet) {
  Served s;
  std::string big(32 << 20, '\0');
  std::mt19937 rng(6);
  for (auto& c : big) c = static_cast<char>(rng());
  put_file(s.root / "big.bin", big);
  auto store = std::make_shared<storage::HttpStore>(storage::StoreUrl::parse(s.nginx->https_url()), s.context.client);
  auto tree = std::make_shared<RemoteTree>(store, s.nginx->https_url());
  tree->add_candidate("big.bin");
  struct stat st {};
  st.st_size = static_cast<off_t>(tree->stat("big.bin").value().size);
  store->get("big.bin");  // the server's page cache warm for both
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  auto whole = store->get("big.bin");
  auto t1 = clock::now();
  RemoteFile file("big.bin", tree, "big.bin", st);
  std::string got;
  std::vector<char> buf(128 << 10);
  for (off_t off = 0;; off += static_cast<off_t>(buf.size())) {
    size_t n = file.read(buf.data(), buf.size(), off);
    if (n == 0) break;
    got.append(buf.data(), n);
  }
  auto t2 = clock::now();
  EXPECT_EQ(got, big);
  EXPECT_EQ(whole.data.size(), big.size());
  auto t3 = clock::now();
  {
    std::vector<std::future<storage::GetResult>> parts;
    for (int i = 0; i < 4; ++i)
      parts.push_back(std::async(std::launch::async, [&, i] {
        return store->get("big.bin", storage::ByteRange::span(uint64_t(i) * (8 << 20), 8 << 20));
      }));
    for (auto& p : parts) EXPECT_EQ(p.get().data.size(), size_t(8 << 20));
  }
  auto t4 = clock::now();
  auto rate = [](auto a, auto b) { return 32.0 / std::chrono::duration<double>(b - a).count(); };
  std::cout << "[ measure ] 32 MiB over https in 4 parallel range GETs: " << rate(t3, t4) << " MB/s\n";
  std::cout << "[ measure ] 32 MiB over https: one whole GET " << rate(t0, t1) << " MB/s, RemoteFile 128 KiB reads "
            << rate(t1, t2) << " MB/s, ratio " << rate(t1, t2) / rate(t0, t1) << "\n";
}

TEST(RemoteTreeHttp, SparseMultiFileMagsOfEveryFormatAreDerivedExactly) {
  // Written by the wkfs tools (the files on disk are the expectation, whoever wrote them): two
  // boxes far apart, so the chunk and shard grids hold files and holes; Zarr v2 with '/' keys,
  // Zarr3 sharded, WKW with a box starting off the origin.
  Served s;
  const std::string w = WKFS_BINARY;
  for (const char* f : {"zarr3", "zarr", "wkw"}) {
    SCOPED_TRACE(f);
    const std::string d = (s.root / f).string();
    test::run_command(w + " create " + d + " --voxel-size 1,1,1");
    test::run_command(w + " add-layer " + d + " color --format " + f + " --chunk-shape 8" +
                      (std::string(f) == "zarr" ? "" : " --shard-shape 16"));
    test::run_command("head -c 13824 /dev/urandom | " + w + " write " + d + " --layer color --mag 1 --bbox 20,0,0,24,24,24");
    test::run_command("head -c 512 /dev/urandom | " + w + " write " + d + " --layer color --mag 1 --bbox 60,40,8,8,8,8");
    auto expect = files_below(s.root / f);
    std::erase_if(expect, [](const auto& kv) { return kv.first.ends_with(".__lock"); });  // wkfs's own lock file
    auto tree = open_remote_dataset(s.context, s.nginx->http_url() + "/" + f);
    EXPECT_EQ(files_of(*tree), expect);
    EXPECT_GT(expect.size(), 8u);
    // no folder whose candidates are all missing (the first shard row is a hole)
    auto fresh = open_remote_dataset(s.context, s.nginx->http_url() + "/" + f);
    EXPECT_EQ(dirs_of(*fresh), dirs_below(s.root / f));
  }
}

TEST(RemoteMagCore, BadUrlsAndHostileMetadataAreClearErrorsThatChangeNothing) {
  Served s;
  fs::create_directories(s.root / "bad/color/1");
  put_file(s.root / "bad/color/1/zarr.json", "{not json");
  fs::create_directories(s.root / "huge/color/1");
  auto meta = Json::parse(file_text(s.root / "simple_zarr3_dataset/color/1/zarr.json"));
  meta["shape"] = Json::array({3, 1000000000000LL, 1000000000000LL, 1000000000000LL});
  meta["chunk_grid"]["configuration"]["chunk_shape"] = Json::array({1, 1, 1, 1});
  put_file(s.root / "huge/color/1/zarr.json", meta.dump());
  fs::create_directories(s.root / "rank/color/1");
  meta["chunk_grid"]["configuration"]["chunk_shape"] = Json::array({1, 1});
  put_file(s.root / "rank/color/1/zarr.json", meta.dump());
  struct Case {
    std::string path;
    int err;
  } cases[] = {
      {"s3://127.0.0.1:1", EINVAL},                                      // no bucket
      {"ftp://host/x", 0},                                               // not a URL we read: a local path, absent
      {s.nginx->http_url() + "/bad/color/1", EINVAL},                    // metadata that is no JSON
      {s.nginx->http_url() + "/huge/color/1", ENOTSUP},                  // more keys than a tree holds
      {s.nginx->http_url() + "/rank/color/1", EINVAL},                   // shape and chunk shape of other ranks
      {s.nginx->http_url() + "/nothing/color/1", ENOENT},                // no metadata at all
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    Mount m;
    make_url_mag(m.src / "ds", c.path);
    const std::string before = file_text(m.props_path());
    Filesystem f(remote_test_config(m.src));
    const Ino layer = lookup_path(f, "ds/color");
    if (c.err) {
      EXPECT_EQ(errno_from([&] { f.lookup(layer, "1"); }), c.err);
      EXPECT_EQ(errno_from([&] { f.lookup(layer, "1"); }), c.err);  // asked again: the same answer
    }
    EXPECT_EQ(read_path(f, "ds/color/zarr.json"), file_text(m.src / "ds/color/zarr.json"));  // still serving
    EXPECT_EQ(file_text(m.props_path()), before);
  }
}
