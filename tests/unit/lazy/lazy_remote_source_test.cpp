// Lazy mags computed from a remote source mag (a URL mag served by a real nginx-light): every
// computed file equals the one the same engine computes from a local copy of the source's files,
// and a source shard that changes on the server (new ETag) makes its computed dependents stale:
// the next open computes them from the new bytes.
#include <gtest/gtest.h>

#include <random>

#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "lazy/lazy_engine.hpp"
#include "storage/http_client.hpp"
#include "support/test_support.hpp"
#include "unit/storage/test_servers.hpp"

using namespace wkfs;
namespace fs = std::filesystem;

namespace {

const BoundingBox kBox{{0, 0, 0}, {96, 64, 48}};

LayerSpec color_layer() {
  LayerSpec s;
  s.name = "color";
  s.dtype = DType::UInt8;
  s.bounding_box = kBox;
  return s;
}

// A source dataset as another tool would have written it: mag 1 with several shards.
void write_source(const fs::path& root, unsigned seed) {
  std::shared_ptr<Dataset> ds;
  if (fs::exists(root / "datasource-properties.json")) {
    ds = Dataset::open(root);
  } else {
    ds = Dataset::create(root, VoxelSize{});
    ds->add_layer(color_layer());
    MagOptions o;
    o.chunk_shape = Vec3{16, 16, 16};
    o.shard_shape = Vec3{32, 32, 32};
    ds->add_mag("color", Mag(1, 1, 1), o);
  }
  auto view = ds->mag_view("color", Mag(1, 1, 1));
  Bytes data(view->buffer_size(kBox));
  std::mt19937 rng(seed);
  for (size_t i = 0; i < data.size(); i += 8) {
    auto v = static_cast<std::byte>(rng() % 200);
    for (size_t k = i; k < std::min(data.size(), i + 8); ++k) data[k] = v;
  }
  view->write(kBox, data);
}

// Every file of every lazy mag of `lazy`, opened (computed if need be) fine to coarse: path -> bytes.
std::map<fs::path, Bytes> open_all(LazyEngine& lazy, const fs::path& root, const std::vector<Mag>& mags) {
  std::map<fs::path, Bytes> out;
  for (const Mag& m : mags) {
    std::vector<fs::path> files;
    std::function<void(const fs::path&)> walk = [&](const fs::path& rel) {
      auto kids = lazy.lazy_children(rel);
      if (!kids) return;
      for (const auto& [name, dir] : *kids) (dir ? walk(rel / name) : files.push_back(rel / name));
    };
    walk(fs::path("color") / m.short_name());
    for (const auto& f : files) {
      auto ref = lazy.lazy_file(f);
      if (!ref) continue;
      UniqueFd fd = lazy.open(*ref);
      EXPECT_TRUE(fd) << f;
      out[f] = read_file(root / f);
    }
  }
  return out;
}

LazyConfig config() {
  LazyConfig cfg;
  cfg.threads = 1;
  cfg.memory_cap_bytes = 64 << 20;
  cfg.lazy_shard_edge = 32;
  return cfg;
}

}  // namespace

TEST(LazyRemoteSource, ComputedFromARemoteMagAsFromItsLocalFilesAndStaleWhenItsEtagChanges) {
  test::TempDir tmp;
  test::ServedFixtures served(tmp.path(), {});  // serves the source written below
  const fs::path src = served.root() / "src";
  write_source(src, 1);
  auto& nginx = served.nginx();
  storage::StoreContext context = test::test_context();

  // The dataset under test: its mag 1 is the remote one.
  auto ds = Dataset::create(tmp / "ds", VoxelSize{});
  LayerSpec spec = color_layer();
  spec.bounding_box.reset();
  ds->add_layer(spec);
  ds = Dataset::open(tmp / "ds", false, nullptr, context);
  ds->add_remote_mag_url("color", nginx.http_url() + "/src/color/1");
  ASSERT_TRUE(ds->is_remote_mag("color", Mag(1, 1, 1)));
  auto lazy = std::make_unique<LazyEngine>(ds, config(), test::test_diagnostics());
  const auto mags = lazy->downsample("color", DownsampleRequest{});
  ASSERT_FALSE(mags.empty());

  // The reference: the same engine over a local copy of the source's files.
  auto reference = [&](const fs::path& dir) {
    fs::copy(src, dir, fs::copy_options::recursive);
    auto ref_ds = Dataset::open(dir);
    LazyEngine ref(ref_ds, config(), test::test_diagnostics());
    EXPECT_EQ(ref.downsample("color", DownsampleRequest{}), mags);
    return open_all(ref, dir, mags);
  };
  const auto want = reference(tmp / "ref1");
  const auto got = open_all(*lazy, tmp / "ds", mags);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(got.empty());
  for (const auto& [f, bytes] : want) EXPECT_TRUE(got.count(f) && got.at(f) == bytes) << f;

  // Nothing changed: opening again computes nothing (the files stay the same inode).
  struct stat before {};
  const fs::path first = tmp / "ds" / got.begin()->first;
  ASSERT_EQ(::stat(first.c_str(), &before), 0);
  open_all(*lazy, tmp / "ds", mags);
  struct stat after {};
  ASSERT_EQ(::stat(first.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "an unchanged remote source must not make files stale";

  // The server's source changes (nginx's ETag is mtime-size: the mtimes move on explicitly).
  write_source(src, 2);
  for (auto& e : fs::recursive_directory_iterator(src / "color/1"))
    if (e.is_regular_file()) fs::last_write_time(e.path(), fs::last_write_time(e.path()) + std::chrono::seconds(10));
  const auto want2 = reference(tmp / "ref2");
  ASSERT_NE(want2, want);
  const auto got2 = open_all(*lazy, tmp / "ds", mags);
  for (const auto& [f, bytes] : want2) EXPECT_TRUE(got2.count(f) && got2.at(f) == bytes) << f;

  // A new engine (a remount) has no record of what the files were computed from: a source whose
  // Last-Modified is newer than a computed file still makes it stale.
  lazy.reset();
  for (auto& e : fs::recursive_directory_iterator(tmp / "ds/color"))
    if (e.is_regular_file())  // only lazy mags live here: mag 1 is remote
      fs::last_write_time(e.path(), fs::last_write_time(e.path()) - std::chrono::hours(1));
  write_source(src, 3);
  const auto want3 = reference(tmp / "ref3");
  lazy = std::make_unique<LazyEngine>(Dataset::open(tmp / "ds", false, nullptr, context), config(), test::test_diagnostics());
  const auto got3 = open_all(*lazy, tmp / "ds", mags);
  for (const auto& [f, bytes] : want3) EXPECT_TRUE(got3.count(f) && got3.at(f) == bytes) << f;
}
