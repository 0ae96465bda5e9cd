// `wkfs info` and `wkfs read` on remote datasets (URLs), against a real nginx-light over HTTPS with
// --ca-file and with --auth-token (seen in nginx's access log): the same summary facts and the same
// bytes as for the local copy of the files served; bad URLs exit non-zero with one clear line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.hpp"
#include "unit/storage/test_servers.hpp"

namespace fs = std::filesystem;
using wkfs::test::TempDir;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Result {
  int code;
  std::string out, err;
};

Result run_wkfs(const TempDir& tmp, const std::vector<std::string>& args) {
  std::string cmd = quote(WKFS_BINARY);
  for (const auto& a : args) cmd += " " + quote(a);
  fs::path out = tmp / "stdout", err = tmp / "stderr";
  cmd += " </dev/null >" + quote(out.string()) + " 2>" + quote(err.string());
  int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace

TEST(RemoteCli, InfoAndReadOfARemoteDatasetMatchTheLocalFiles) {
  TempDir tmp;
  wkfs::test::ServedFixtures served(tmp.path(), {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"});
  auto& nginx = served.nginx();
  const std::string ca = nginx.ca_file().string();
  for (const char* name : {"simple_zarr3_dataset", "simple_zarr_dataset", "simple_wkw_dataset"}) {
    SCOPED_TRACE(name);
    const std::string url = nginx.https_url() + "/" + name;
    Result local = run_wkfs(tmp, {"info", (served.root() / name).string()});
    ASSERT_EQ(local.code, 0) << local.err;
    Result remote = run_wkfs(tmp, {"info", url, "--ca-file", ca, "--auth-token", "tok-123"});
    ASSERT_EQ(remote.code, 0) << remote.err;
    auto l = nlohmann::json::parse(local.out), r = nlohmann::json::parse(remote.out);
    EXPECT_EQ(r["path"], url);
    ASSERT_EQ(r["layers"].size(), 1u);
    auto lm = l["layers"][0]["mags"][0], rm = r["layers"][0]["mags"][0];
    EXPECT_FALSE(rm.contains("error")) << rm.dump();
    for (const char* k : {"shape", "chunkShape", "shardShape", "codecs", "compressed", "mag"}) EXPECT_EQ(rm[k], lm[k]) << k;
    EXPECT_EQ(rm["remote"], true);
    EXPECT_EQ(lm["remote"], false);
    EXPECT_EQ(rm["path"].get<std::string>().rfind(url + "/color/", 0), 0u) << rm.dump();
    for (const char* k : {"format", "dtype", "channels", "boundingBox"}) EXPECT_EQ(r["layers"][0][k], l["layers"][0][k]) << k;

    // `info URL/LAYER` is the layer alone.
    Result layer = run_wkfs(tmp, {"info", url + "/color", "--ca-file", ca});
    ASSERT_EQ(layer.code, 0) << layer.err;
    EXPECT_EQ(nlohmann::json::parse(layer.out)["name"], "color");

    const std::vector<std::string> region = {"--layer", "color", "--mag", "1", "--bbox", "0,0,0,24,20,17"};
    std::vector<std::string> a = {"read", (served.root() / name).string()}, b = {"read", url, "--ca-file", ca};
    a.insert(a.end(), region.begin(), region.end());
    b.insert(b.end(), region.begin(), region.end());
    Result lr = run_wkfs(tmp, a), rr = run_wkfs(tmp, b);
    ASSERT_EQ(lr.code, 0) << lr.err;
    ASSERT_EQ(rr.code, 0) << rr.err;
    EXPECT_EQ(rr.out.size() % (24 * 20 * 17), 0u);
    EXPECT_FALSE(rr.out.empty());
    EXPECT_EQ(rr.out, lr.out);
  }
  EXPECT_GT(nginx.requests_for("\"tok-123\""), 0u) << "--auth-token goes out as X-Auth-Token";

  // Without the CA the TLS handshake fails: an error naming the URL, no summary.
  Result no_ca = run_wkfs(tmp, {"info", nginx.https_url() + "/simple_zarr3_dataset", "--timeout-s", "5"});
  EXPECT_NE(no_ca.code, 0);
  EXPECT_NE(no_ca.err.find(nginx.https_url()), std::string::npos) << no_ca.err;
  EXPECT_TRUE(no_ca.out.empty());
  Result missing = run_wkfs(tmp, {"info", nginx.http_url() + "/nothing/here"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find(nginx.http_url() + "/nothing/here"), std::string::npos) << missing.err;
  Result bad_ca = run_wkfs(tmp, {"info", nginx.https_url() + "/x", "--ca-file", (tmp / "none.pem").string()});
  EXPECT_NE(bad_ca.code, 0);
  EXPECT_NE(bad_ca.err.find("--ca-file"), std::string::npos) << bad_ca.err;
  Result bad_timeout = run_wkfs(tmp, {"info", nginx.http_url() + "/x", "--timeout-s", "0"});
  EXPECT_NE(bad_timeout.code, 0);
  EXPECT_NE(bad_timeout.err.find("--timeout-s"), std::string::npos) << bad_timeout.err;
}
