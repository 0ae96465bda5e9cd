// The remote mount options (-o overlay=DIR, ca_file=PATH, auth_token=TOKEN, remote_timeout_s=N):
// parsed, bounded, and checked by `wkfs mount` before anything is mounted, with clear errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "fs/mount.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
using namespace wkfs::mount;

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
    MountOptions m;
    try {
      apply_option_string(m, bad);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(std::string(bad).substr(0, 6)), std::string::npos) << e.what();
    }
  }
}

TEST(RemoteOptions, MountRefusesBadRemoteSetupsWithClearErrors) {
  test::TempDir tmp;
  fs::create_directories(tmp / "mnt");
  const std::string mnt = (tmp / "mnt").string();
  const std::string ds = test::copy_fixture("simple_zarr3_dataset", tmp.path()).string();
  struct Case {
    std::string args, says;
  } cases[] = {
      {"'s3://127.0.0.1:9/' " + mnt, "bucket"},
      {"'https://127.0.0.1:9/ds' " + mnt + " -o ca_file=/nonexistent/ca.pem", "ca_file=/nonexistent/ca.pem"},
      {ds + " " + mnt + " -o overlay=" + tmp.path().string(), "overlay= is for a URL SOURCE"},
      {"'https://127.0.0.1:9/ds' " + mnt + " -o overlay=/nonexistent", "overlay=/nonexistent"},
      {"'https://127.0.0.1:9/ds' " + mnt + " -o overlay=" + mnt, "overlap"},
      {"'https://127.0.0.1:9/ds' " + mnt + " -o remote_timeout_s=2", "127.0.0.1:9"},  // nothing listens there
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto [rc, out] = wkfs_mount(c.args);
    EXPECT_NE(rc, 0) << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << out;
  }
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(tmp / "mnt", ec));
  auto [rc, help] = wkfs_mount("--help");
  EXPECT_EQ(rc, 0);
  for (const char* o : {"overlay=DIR", "ca_file=PATH", "auth_token=TOKEN", "remote_timeout_s=N", "s3://"})
    EXPECT_NE(help.find(o), std::string::npos) << o;
}
