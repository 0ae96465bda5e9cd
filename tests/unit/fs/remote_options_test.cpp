// The remote mount options (-o overlay=DIR, ca_file=PATH, auth_token=TOKEN, remote_timeout_s=N,
// remote_cache_dir=DIR, remote_cache_mb=N, remote_revalidate_s=S): parsed, bounded, and checked by
// `wkfs mount` before anything is mounted, with clear errors; and the remote cache they configure,
// wired through the mount's core: .wkfs-status counters, reads from the cache, `cache-clear`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "fs/mount.hpp"
#include "support/test_support.hpp"
#include "unit/fs/core_test_helpers.hpp"
#include "unit/fs/remote_core_setup.hpp"
#include "unit/storage/test_servers.hpp"

using namespace wkfs;
using namespace wkfs::mount;
using namespace wkfs::test::core;

namespace {

/// `wkfs mount ARGS`: its exit status and what it printed.
std::pair<int, std::string> wkfs_mount(const std::string& args) {
  std::string out;
  FILE* p = ::popen((std::string(WKFS_BINARY) + " mount " + args + " 2>&1").c_str(), "r");
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int rc = ::pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

/// A `wkfs mount` that must fail, and what its message must say.
struct RefusedMount {
  std::string args, says;
};

/// Expects every mount refused with its message, and the `mnt` folder left empty (nothing mounted);
/// then `wkfs mount --help` names each of `documented`.
void expect_mounts_refused(const std::vector<RefusedMount>& cases, const fs::path& mnt,
                           const std::vector<std::string>& documented) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto [rc, out] = wkfs_mount(c.args);
    EXPECT_NE(rc, 0) << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << out;
  }
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(mnt, ec));
  auto [rc, help] = wkfs_mount("--help");
  EXPECT_EQ(rc, 0);
  for (const auto& o : documented) EXPECT_NE(help.find(o), std::string::npos) << o;
}

/// Expects `option` refused (InvalidArgument naming `needle`); returns the options it was applied to.
MountOptions expect_refused(const std::string& option, const std::string& needle) {
  MountOptions m;
  try {
    apply_option_string(m, option);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  return m;
}

}  // namespace

TEST(RemoteOptions, ParsedAndBounded) {
  MountOptions o;
  apply_option_string(o, "overlay=/tmp/ov,ca_file=/tmp/ca.pem,auth_token=abc=def,remote_timeout_s=7");
  EXPECT_EQ(o.overlay, fs::path("/tmp/ov"));
  EXPECT_EQ(o.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(o.auth_token, "abc=def");
  EXPECT_EQ(o.remote_timeout_s, 7u);
  EXPECT_TRUE(o.fuse_options.empty());
  for (const char* bad : {"remote_timeout_s=0", "remote_timeout_s=3601", "remote_timeout_s=abc", "remote_timeout_s=",
                          "overlay=", "ca_file=", "auth_token="}) {
    SCOPED_TRACE(bad);
    expect_refused(bad, std::string(bad).substr(0, 6));
  }
}

TEST(RemoteOptions, MountRefusesBadRemoteSetupsWithClearErrors) {
  test::TempDir tmp;
  fs::create_directories(tmp / "mnt");
  const std::string mnt = (tmp / "mnt").string();
  const std::string ds = test::copy_fixture("simple_zarr3_dataset", tmp.path()).string();
  const std::vector<RefusedMount> cases = {
      {"'s3://127.0.0.1:9/' " + mnt, "bucket"},
      {"'https://127.0.0.1:9/ds' " + mnt + " -o ca_file=/nonexistent/ca.pem", "ca_file=/nonexistent/ca.pem"},
      {ds + " " + mnt + " -o overlay=" + tmp.path().string(), "overlay= is for a URL SOURCE"},
      {"'https://127.0.0.1:9/ds' " + mnt + " -o overlay=/nonexistent", "overlay=/nonexistent"},
      {"'https://127.0.0.1:9/ds' " + mnt + " -o overlay=" + mnt, "overlap"},
      {"'https://127.0.0.1:9/ds' " + mnt + " -o remote_timeout_s=2", "127.0.0.1:9"},  // nothing listens there
  };
  expect_mounts_refused(cases, tmp / "mnt", {"overlay=DIR", "ca_file=PATH", "auth_token=TOKEN", "remote_timeout_s=N", "s3://"});
}

TEST(RemoteOptions, CacheOptionsParsedAndBounded) {
  MountOptions d;
  EXPECT_FALSE(d.remote_cache_dir);
  EXPECT_EQ(d.remote_cache_mb, 1024u);
  EXPECT_EQ(d.remote_revalidate_s, 60u);
  MountOptions o;
  apply_option_string(o, "ro,remote_cache_dir=/var/cache/wkfs,remote_cache_mb=1073741824,remote_revalidate_s=0");
  EXPECT_EQ(o.remote_cache_dir, fs::path("/var/cache/wkfs"));
  EXPECT_EQ(o.remote_cache_mb, uint64_t{1} << 30);
  EXPECT_EQ(o.remote_revalidate_s, 0u);
  EXPECT_TRUE(o.fuse_options.empty());
  apply_option_string(o, "remote_cache_mb=1,remote_revalidate_s=86400");
  EXPECT_EQ(o.remote_cache_mb, 1u);
  EXPECT_EQ(o.remote_revalidate_s, 86400u);
  for (const char* bad : {"remote_cache_dir=", "remote_cache_mb=0", "remote_cache_mb=1073741825", "remote_cache_mb=-1",
                          "remote_cache_mb=1k", "remote_cache_mb=", "remote_cache_mb=99999999999999999999",
                          "remote_revalidate_s=86401", "remote_revalidate_s=1.5", "remote_revalidate_s="}) {
    SCOPED_TRACE(bad);
    const MountOptions m = expect_refused(bad, std::string(bad).substr(0, std::string(bad).find('=')));
    EXPECT_EQ(m.remote_cache_mb, 1024u);  // a refused option changes nothing
    EXPECT_EQ(m.remote_revalidate_s, 60u);
  }
}

TEST(RemoteOptions, MountRefusesBadCacheFoldersAndLeavesThemAlone) {
  test::TempDir tmp;
  fs::create_directories(tmp / "mnt");
  const std::string mnt = (tmp / "mnt").string();
  const std::string ds = test::copy_fixture("simple_zarr3_dataset", tmp.path()).string();
  fs::create_directories(tmp / "foreign");
  put_file(tmp / "foreign/notes.txt", "not a cache\n");
  put_file(tmp / "a-file", "x");
  const std::string url = "'https://127.0.0.1:9/ds' " + mnt;
  const std::vector<RefusedMount> cases = {
      {url + " -o remote_cache_dir=" + (tmp / "foreign").string(), "holds no 'wkfs-remote-cache' file"},
      {url + " -o remote_cache_dir=" + (tmp / "a-file").string(), "remote_cache_dir=" + (tmp / "a-file").string()},
      {url + " -o remote_cache_dir=" + mnt + "/cache", "overlap"},
      {url + " -o remote_cache_dir=" + tmp.path().string(), "overlap"},
      {ds + " " + mnt + " -o remote_cache_dir=" + ds + "/cache", "inside SOURCE"},
      {url + " -o remote_cache_mb=0", "remote_cache_mb=0 is too small"},
      {url + " -o remote_revalidate_s=90000", "remote_revalidate_s=90000 is too large"},
  };
  expect_mounts_refused(cases, tmp / "mnt", {"remote_cache_dir=DIR", "remote_cache_mb=N", "remote_revalidate_s=S", "cache-clear"});
  EXPECT_FALSE(fs::exists(fs::path(ds) / "cache"));
  EXPECT_EQ(tree_digest(tmp / "foreign").size(), 1u);  // the foreign folder was not touched
  EXPECT_EQ(file_text(tmp / "foreign/notes.txt"), "not a cache\n");
}

namespace {

/// A fixture dataset served by nginx-light over plain HTTP.
struct ServedDataset {
  test::TempDir tmp;
  test::ServedFixtures served{tmp.path(), {"simple_zarr3_dataset"}};
  const fs::path root = served.root();
  test::NginxServer* nginx = &served.nginx();
  fs::path dataset() const { return root / "simple_zarr3_dataset"; }
  std::string url() const { return nginx->http_url() + "/simple_zarr3_dataset"; }
  /// Requests nginx answered so far.
  size_t requests() const { return nginx->access_log().size(); }
  /// GET requests nginx answered so far.
  size_t gets() const {
    size_t n = 0;
    for (const auto& l : nginx->access_log()) n += l.find("\"GET ") != std::string::npos;
    return n;
  }
};

/// The mount core of the served dataset (read-only, an empty local folder), with a remote cache in `cache_dir` if given.
std::unique_ptr<Filesystem> remote_core(const ServedDataset& s, const fs::path& local,
                                        std::optional<fs::path> cache_dir) {
  fs::create_directories(local);
  FilesystemConfig c = remote_test_config(local, true);
  c.remote.source_url = s.url();
  c.remote.cache_dir = std::move(cache_dir);
  return std::make_unique<Filesystem>(std::move(c));
}

/// Writes `command` to DIR/.wkfs-ctl and reads the reply back: (errno, reply).
std::pair<int, Json> ctl(Filesystem& f, const std::string& dir, const std::string& command) {
  auto o = f.open(lookup_path(f, dir + "/.wkfs-ctl"), O_RDWR);
  int err = errno_from([&] { write_str(f, o, command); });
  auto text = read_all(f, o);
  f.release(std::move(o.file));
  return {err, Json::parse(text)};
}

/// A core over a local copy of the fixture in `src`/ds whose mag color/1 is the served one's URL.
std::unique_ptr<Filesystem> url_mag_core(const ServedDataset& s, const fs::path& src, std::optional<fs::path> cache_dir,
                                         bool read_only = false) {
  fs::create_directories(src);
  fs::rename(test::copy_fixture("simple_zarr3_dataset", src), src / "ds");
  make_url_mag(src / "ds", s.url() + "/color/1");
  FilesystemConfig c = remote_test_config(src, read_only);
  c.remote.cache_dir = std::move(cache_dir);
  return std::make_unique<Filesystem>(std::move(c));
}

/// Every file of the served mag color/1, read through the core's ds/color/1 and compared.
void expect_mag_served(Filesystem& f, const fs::path& dataset) {
  for (const auto& e : fs::recursive_directory_iterator(dataset / "color/1")) {
    if (!e.is_regular_file()) continue;
    const auto rel = e.path().lexically_relative(dataset).generic_string();
    EXPECT_EQ(read_path(f, "ds/" + rel), file_text(e.path())) << rel;
  }
}

/// Entry files in a cache folder.
size_t entry_files(const fs::path& cache_dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(cache_dir / "entries"))
    if (e.is_regular_file() && e.path().filename() != "version") ++n;
  return n;
}

/// Every file of the served dataset, read through the core and compared with the served bytes.
void expect_every_file_served(Filesystem& f, const fs::path& dataset) {
  for (const auto& e : fs::recursive_directory_iterator(dataset)) {
    if (!e.is_regular_file()) continue;
    const auto rel = e.path().lexically_relative(dataset).generic_string();
    EXPECT_EQ(read_path(f, rel), file_text(e.path())) << rel;
  }
}

}  // namespace

TEST(RemoteCacheCore, StatusCountsReadsAndCacheClearDropsTheEntries) {
  ServedDataset s;
  test::TempDir tmp;
  const fs::path cache_dir = tmp / "cache";
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(s.dataset()))
    if (e.is_regular_file()) total += e.file_size();
  {
    auto f = remote_core(s, tmp / "local", cache_dir);
    auto st = f->status_json()["remote"];
    EXPECT_EQ(st["misses"], 0);
    EXPECT_EQ(st["cache"]["dir"], cache_dir.string());
    EXPECT_EQ(st["cache"]["bytes_used"], 0);
    expect_every_file_served(*f, s.dataset());
    st = f->status_json()["remote"];
    const uint64_t misses = st["misses"], fetched = st["bytes_fetched"];
    EXPECT_GT(misses, 0u) << st.dump();
    EXPECT_GE(fetched, total) << st.dump();  // every byte of every file came from the server once at least
    EXPECT_GT(st["cache"]["bytes_used"].get<uint64_t>(), total) << st.dump();  // the bytes + each entry's header
    // the second pass within the revalidation window: the cache answers, nginx sees no GET (past
    // the second the mount's table of blocks holds what was just read, fs/remote_blocks.hpp)
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    const size_t gets = s.gets();
    expect_every_file_served(*f, s.dataset());
    st = f->status_json()["remote"];
    EXPECT_EQ(s.gets(), gets);
    EXPECT_EQ(st["misses"], misses) << st.dump();
    EXPECT_EQ(st["bytes_fetched"], fetched) << st.dump();
    EXPECT_GE(st["bytes_from_cache"].get<uint64_t>(), total) << st.dump();
  }
  {
    // a new core (a remount) over the same folder reads everything from it
    auto f = remote_core(s, tmp / "local2", cache_dir);
    const size_t requests = s.requests();
    expect_every_file_served(*f, s.dataset());
    // what nginx still sees: HEADs for the sizes of files the tree does not derive (CachingStore
    // does not cache head()), but no GET: not one byte is sent again
    const auto log = s.nginx->access_log();
    for (size_t i = requests; i < log.size(); ++i) {
      EXPECT_EQ(log[i].find("\"GET "), std::string::npos) << log[i];
      EXPECT_EQ(log[i].substr(log[i].rfind(' ') + 1), "0") << log[i];
    }
    EXPECT_EQ(f->status_json()["remote"]["misses"], 0) << f->status_json()["remote"].dump();
    // the mount root of a URL SOURCE takes cache-clear (and only mount-wide commands)
    auto [err, reply] = ctl(*f, "", "cache-clear");
    ASSERT_EQ(err, 0) << reply.dump();
    EXPECT_EQ(reply["result"]["dir"], cache_dir.string()) << reply.dump();
    EXPECT_EQ(entry_files(cache_dir), 0u);
    auto [info_err, info] = ctl(*f, "", "info");
    EXPECT_EQ(info_err, EINVAL);
    EXPECT_NE(info.dump().find("needs a dataset"), std::string::npos) << info.dump();
    const size_t gets = s.gets();
    f = remote_core(s, tmp / "local3", cache_dir);  // the kernel's page cache aside: a fresh core
    expect_every_file_served(*f, s.dataset());
    EXPECT_GT(s.gets(), gets);
  }
}

TEST(RemoteCacheCore, CacheClearThroughADatasetControlFileDropsEveryEntry) {
  ServedDataset s;
  test::TempDir tmp;
  const fs::path cache_dir = tmp / "cache";
  auto f = url_mag_core(s, tmp / "src", cache_dir);  // a writable mount: cache-clear changes no dataset anyway
  expect_mag_served(*f, s.dataset());
  const uint64_t used = f->status_json()["remote"]["cache"]["bytes_used"];
  EXPECT_GT(used, 0u);
  EXPECT_GT(entry_files(cache_dir), 0u);
  const size_t requests = s.requests();
  const uint64_t misses = f->status_json()["remote"]["misses"];
  auto [err, reply] = ctl(*f, "ds", "cache-clear");
  ASSERT_EQ(err, 0) << reply.dump();
  EXPECT_EQ(reply["result"]["dir"], cache_dir.string()) << reply.dump();
  EXPECT_EQ(reply["result"]["bytes_dropped"], used) << reply.dump();
  EXPECT_EQ(f->status_json()["remote"]["cache"]["bytes_used"], 0);
  EXPECT_EQ(entry_files(cache_dir), 0u);
  EXPECT_TRUE(fs::exists(cache_dir / "wkfs-remote-cache"));  // still a cache folder
  // the next reads fetch again
  expect_mag_served(*f, s.dataset());
  EXPECT_GT(s.requests(), requests);
  EXPECT_GT(f->status_json()["remote"]["misses"].get<uint64_t>(), misses);
  // it also runs on a read-only mount, and from a layer's control file
  test::TempDir tmp2;
  auto ro = url_mag_core(s, tmp2 / "src", cache_dir, true);
  auto [err2, reply2] = ctl(*ro, "ds/color", "cache-clear");
  EXPECT_EQ(err2, 0) << reply2.dump();
}

TEST(RemoteCacheCore, WithoutACacheCountersStillCountAndCacheClearSaysWhy) {
  ServedDataset s;
  test::TempDir tmp;
  auto f = url_mag_core(s, tmp / "src", std::nullopt);
  expect_mag_served(*f, s.dataset());
  auto st = f->status_json()["remote"];
  EXPECT_GT(st["misses"].get<uint64_t>(), 0u) << st.dump();
  EXPECT_FALSE(st.contains("cache")) << st.dump();
  auto [err, reply] = ctl(*f, "ds", "cache-clear");
  EXPECT_EQ(err, EINVAL);
  EXPECT_NE(reply.dump().find("no remote_cache_dir"), std::string::npos) << reply.dump();
}
