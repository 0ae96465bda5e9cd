// The dataset subcommands of the wkfs binary: fixture reads, a create/add-layer/write/read round
// trip, and bad input that must exit non-zero with one line on stderr and change nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/test_support.hpp"

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

/// Runs `wkfs <args>` with stdin from `input` (a file path, or /dev/null).
Result run_wkfs(const TempDir& tmp, const std::vector<std::string>& args, const fs::path& input = "/dev/null") {
  std::string cmd = quote(WKFS_BINARY);
  for (const auto& a : args) cmd += " " + quote(a);
  fs::path out = tmp / "stdout", err = tmp / "stderr";
  cmd += " <" + quote(input.string()) + " >" + quote(out.string()) + " 2>" + quote(err.string());
  int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

void write_bytes(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

/// Every file below `root` with its contents, to compare a tree before and after a failed command.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> m;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    // the lock file beside the properties is created by the first mutation attempt, by design
    if (e.path().filename() == "datasource-properties.json.__lock") continue;
    if (e.is_regular_file()) m[e.path().lexically_relative(root).string()] = slurp(e.path());
    else m[e.path().lexically_relative(root).string()] = "<dir>";
  }
  return m;
}

std::string fixture_bytes(int channels, int x0, int y0, int z0, int w, int h, int d) {
  std::string s;
  for (int c = 0; c < channels; ++c)
    for (int x = x0; x < x0 + w; ++x)
      for (int y = y0; y < y0 + h; ++y)
        for (int z = z0; z < z0 + d; ++z) s += static_cast<char>(wkfs::test::fixture_value(x, y, z));
  return s;
}

void expect_one_line_failure(const Result& r) {
  EXPECT_NE(r.code, 0);
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace

TEST(Cli, ReadFixturesGivesKnownBytes) {
  TempDir tmp;
  for (const char* name : {"simple_zarr3_dataset", "simple_zarr_dataset"}) {
    auto ds = wkfs::test::copy_fixture(name, tmp.path());
    auto r = run_wkfs(tmp, {"read", ds.string(), "--layer", "color", "--mag", "1", "--bbox", "2,3,4,30,10,21"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out == fixture_bytes(3, 2, 3, 4, 30, 10, 21)) << name;
  }
  auto ds = wkfs::test::copy_fixture("simple_wkw_dataset", tmp.path());
  auto r = run_wkfs(tmp, {"read", ds.string(), "--layer", "color", "--bbox", "0,0,0,8,8,8"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(3 * 512, '\0'));
}

TEST(Cli, InfoSummarisesDatasetAndLayer) {
  TempDir tmp;
  auto ds = wkfs::test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto r = run_wkfs(tmp, {"info", ds.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"channels\": 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"shardShape\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"format\": \"zarr3\""), std::string::npos) << r.out;
  auto layer = run_wkfs(tmp, {"info", (ds / "color").string()});
  ASSERT_EQ(layer.code, 0) << layer.err;
  EXPECT_NE(layer.out.find("\"name\": \"color\""), std::string::npos);
  expect_one_line_failure(run_wkfs(tmp, {"info", (tmp / "nothing").string()}));
}

TEST(Cli, CreateAddLayerWriteReadRoundTrip) {
  TempDir tmp;
  auto ds = (tmp / "new").string();
  ASSERT_EQ(run_wkfs(tmp, {"create", ds, "--voxel-size", "11.24,11.24,25,nm"}).code, 0);
  auto r = run_wkfs(tmp, {"add-layer", ds, "seg", "--category", "segmentation", "--dtype", "uint16", "--channels", "1",
                      "--format", "zarr3", "--chunk-shape", "16", "--shard-shape", "32"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string props = slurp(fs::path(ds) / "datasource-properties.json");
  EXPECT_NE(props.find("\"path\": \"./seg/1\""), std::string::npos) << props;
  EXPECT_NE(props.find("\"elementClass\": \"uint16\""), std::string::npos);
  // write a box outside the (empty) bbox: it grows like allow_resize
  std::string data;
  for (int i = 0; i < 2 * 10 * 6 * 4; ++i) data += static_cast<char>(i * 13 + 1);
  write_bytes(tmp / "in.bin", data);
  r = run_wkfs(tmp, {"write", ds, "--layer", "seg", "--bbox", "40,2,3,10,6,4"}, tmp / "in.bin");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_wkfs(tmp, {"read", ds, "--layer", "seg", "--bbox", "40,2,3,10,6,4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out == data);
  props = slurp(fs::path(ds) / "datasource-properties.json");
  EXPECT_NE(props.find("\"width\": 10"), std::string::npos) << props;  // the empty bbox is replaced, as extended_by does
  // add-mag, then all the formats
  ASSERT_EQ(run_wkfs(tmp, {"add-mag", ds, "seg", "2-2-1"}).code, 0);
  EXPECT_TRUE(fs::exists(fs::path(ds) / "seg" / "2-2-1" / "zarr.json"));
  for (const char* f : {"zarr", "wkw"}) {
    std::string name = std::string("c_") + f;
    // raw WKW files are allocated whole (1024^3 voxels by default), so only zarr runs uncompressed
    std::vector<std::string> add{"add-layer", ds, name, "--format", f, "--channels", "3"};
    add.push_back(std::string(f) == "zarr" ? "--no-compress" : "--compress");
    r = run_wkfs(tmp, add);
    ASSERT_EQ(r.code, 0) << r.err;
    std::string rgb(3 * 32 * 32 * 32, '\0');
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<char>(i % 253);
    write_bytes(tmp / "rgb.bin", rgb);
    r = run_wkfs(tmp, {"write", ds, "--layer", name, "--bbox", "0,0,0,32,32,32"}, tmp / "rgb.bin");
    ASSERT_EQ(r.code, 0) << r.err;
    r = run_wkfs(tmp, {"read", ds, "--layer", name, "--bbox", "0,0,0,32,32,32"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out == rgb) << f;
  }
}

TEST(Cli, BadInputFailsWithOneLineAndChangesNothing) {
  TempDir tmp;
  auto ds = wkfs::test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto before = snapshot(ds);
  write_bytes(tmp / "small.bin", "abc");
  std::vector<std::vector<std::string>> cases{
      {"read", ds.string(), "--layer", "color", "--bbox", "0,0,0,4,4"},
      {"read", ds.string(), "--layer", "color", "--bbox", "0,0,x,4,4,4"},
      {"read", ds.string(), "--layer", "color", "--bbox", "-1,0,0,4,4,4"},
      {"read", ds.string(), "--layer", "color", "--mag", "3", "--bbox", "0,0,0,4,4,4"},
      {"read", ds.string(), "--layer", "color", "--mag", "2", "--bbox", "1,0,0,4,4,4"},
      {"read", ds.string(), "--layer", "nope", "--bbox", "0,0,0,4,4,4"},
      {"read", ds.string(), "--layer", "../simple_zarr3_dataset/color", "--bbox", "0,0,0,4,4,4"},
      {"read", ds.string(), "--bbox", "0,0,0,4,4,4"},
      {"read", ds.string(), "--layer", "color", "--bbox", "0,0,0,4,4,4", "--bogus"},
      {"write", ds.string(), "--layer", "color", "--bbox", "0,0,0,4,4,4"},
      {"add-mag", ds.string(), "color", "3"},
      {"add-mag", ds.string(), "color", "1"},
      {"add-mag", ds.string(), "color", "2", "--chunk-shape", "24"},
      {"add-mag", ds.string(), "color", "2", "--compress", "--no-compress"},
      {"add-layer", ds.string(), "../escape"},
      {"add-layer", ds.string(), "color"},
      {"add-layer", ds.string(), "x", "--dtype", "uint7"},
      {"add-layer", ds.string(), "x", "--format", "tiff"},
      {"add-layer", ds.string(), "x", "--shard-shape", "16"},
      {"create", ds.string(), "--voxel-size", "1,1,1"},
      {"create", (tmp / "c").string(), "--voxel-size", "1,1"},
      {"create", (tmp / "c").string(), "--voxel-size", "1,1,1,furlong"},
  };
  for (const auto& c : cases) {
    auto r = run_wkfs(tmp, c, c[0] == "write" ? tmp / "small.bin" : fs::path("/dev/null"));
    std::string joined;
    for (const auto& a : c) joined += a + " ";
    SCOPED_TRACE(joined);
    expect_one_line_failure(r);
    EXPECT_EQ(snapshot(ds), before);
  }
  EXPECT_FALSE(fs::exists(tmp / "c"));
  // a dataset whose properties are not valid JSON
  auto broken = tmp / "broken";
  fs::create_directories(broken);
  write_bytes(broken / "datasource-properties.json", "{\"dataLayers\": [");
  auto r = run_wkfs(tmp, {"read", broken.string(), "--layer", "color", "--bbox", "0,0,0,1,1,1"});
  expect_one_line_failure(r);
  EXPECT_NE(r.err.find("JSON"), std::string::npos) << r.err;
  r = run_wkfs(tmp, {"add-layer", broken.string(), "x"});
  expect_one_line_failure(r);
  EXPECT_EQ(slurp(broken / "datasource-properties.json"), "{\"dataLayers\": [");
  EXPECT_FALSE(fs::exists(broken / "x"));
}

TEST(Cli, VersionIsTheProjectVersionAndACommitOfThisRepository) {
  TempDir tmp;
  // The independent expectation: project(wkfs VERSION x.y.z) as CMakeLists.txt states it.
  const std::string cmake = slurp(fs::path(WKFS_SOURCE_DIR) / "CMakeLists.txt");
  const auto at = cmake.find("project(wkfs VERSION ");
  ASSERT_NE(at, std::string::npos);
  const auto start = at + std::string("project(wkfs VERSION ").size();
  const std::string version = cmake.substr(start, cmake.find(' ', start) - start);
  for (const std::string flag : {"--version", "-V"}) {
    auto r = run_wkfs(tmp, {flag});
    EXPECT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(r.out.rfind("wkfs " + version, 0), 0u) << r.out;
    const auto c = r.out.find("(commit ");
    if (c == std::string::npos) continue;  // not configured from a checkout
    const std::string commit = r.out.substr(c + 8, r.out.find(')', c) - c - 8);
    ASSERT_EQ(commit.find_first_not_of("0123456789abcdef"), std::string::npos) << commit;
    // the commit is an object of this repository (HEAD may have moved on since configure)
    const std::string check = "git -C " + quote(WKFS_SOURCE_DIR) + " cat-file -e " + commit + "^{commit} 2>/dev/null";
    EXPECT_EQ(std::system(check.c_str()), 0) << commit;
  }
}
