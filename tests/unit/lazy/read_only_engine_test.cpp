// The lazy engine of a read-only dataset: every lazy file reads (computed into memory or into a
// cache folder), byte for byte what the writable engine stores, and the dataset folder is not
// changed at all (names, contents and times), also when computed files there are stale.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <random>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "lazy/computed_store.hpp"
#include "lazy/lazy_engine.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

/// Every name below `root` with its type, size, modification time and contents.
std::map<std::string, std::string> tree_digest(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    EXPECT_EQ(::lstat(e.path().c_str(), &st), 0);
    std::string d = std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) {
      Bytes b = read_file(e.path());
      d += " " + std::to_string(std::hash<std::string>{}(std::string(reinterpret_cast<const char*>(b.data()), b.size())));
    }
    out[e.path().lexically_relative(root).string()] = d;
  }
  return out;
}

std::string read_all(UniqueFd fd) {
  EXPECT_TRUE(fd);
  struct stat st {};
  EXPECT_EQ(::fstat(fd.get(), &st), 0);
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  EXPECT_EQ(done, out.size());
  return out;
}

LazyConfig config() {
  LazyConfig cfg;
  cfg.threads = 2;
  cfg.memory_cap_bytes = 64 << 20;
  cfg.lazy_shard_edge = 32;
  return cfg;
}

// A uint8 color layer of 100x90x40 voxels (noise) in mag 1 with 2-2-1 and 4-4-2 registered lazily,
// nothing computed.
struct Scene {
  test::TempDir tmp;
  fs::path root = tmp / "ds";
  BoundingBox bbox{{0, 0, 0}, {100, 90, 40}};
  std::vector<fs::path> files;  // every lazy file, relative to the root

  explicit Scene(DataFormat format) {
    auto ds = Dataset::create(root, VoxelSize{{1, 1, 1}, "nanometer"});
    LayerSpec spec;
    spec.name = "color";
    spec.data_format = format;
    spec.bounding_box = bbox;
    ds->add_layer(spec);
    MagOptions mo;
    mo.chunk_shape = Vec3{16, 16, 16};
    mo.shard_shape = format == DataFormat::Zarr ? Vec3{16, 16, 16} : Vec3{32, 32, 32};
    ds->add_mag("color", Mag(1, 1, 1), mo);
    write_mag1(bbox, 1);
    LazyEngine engine(ds, config(), test::test_diagnostics());
    DownsampleRequest req;
    req.mag_options = mo;
    req.explicit_mags = std::vector<Mag>{Mag(2, 2, 1), Mag(4, 4, 2)};
    engine.downsample("color", req);
    std::function<void(const fs::path&)> walk = [&](const fs::path& rel) {
      const auto kids = engine.lazy_children(rel);
      ASSERT_TRUE(kids.has_value()) << rel;
      for (const auto& [name, dir] : *kids) (dir ? walk(rel / name) : files.push_back(rel / name));
    };
    walk("color/2-2-1");
    walk("color/4-4-2");
  }

  /// Writes noise (seeded) into `box` of mag 1, as the library or a cluster job would: no engine.
  void write_mag1(const BoundingBox& box, unsigned seed) {
    auto ds = Dataset::open(root);
    Bytes data(static_cast<size_t>(box.size.prod()));
    std::mt19937 rng(seed);
    for (auto& b : data) b = static_cast<std::byte>(rng() % 256);
    ds->mag_view("color", Mag(1, 1, 1))->write(box, data);
  }

  /// Every lazy file as `engine` serves it.
  std::map<fs::path, std::string> read_every(LazyEngine& engine) {
    std::map<fs::path, std::string> out;
    for (const auto& f : files) {
      auto ref = engine.lazy_file(f);
      EXPECT_TRUE(ref.has_value()) << f;
      if (!ref) continue;
      out[f] = read_all(engine.open(*ref));
      // stat through the mount reports this: a reader finds the shard index from the end
      EXPECT_EQ(engine.estimated_size(*ref), out[f].size()) << f;
    }
    return out;
  }

  /// Every lazy file computed by a writable engine and read from the dataset folder.
  std::map<fs::path, std::string> computed_by_writable_engine() {
    LazyEngine engine(Dataset::open(root), config(), test::test_diagnostics());
    for (const auto& f : files) engine.ensure(*engine.lazy_file(f));
    std::map<fs::path, std::string> out;
    for (const auto& f : files) {
      Bytes b = read_file(root / f);
      out[f] = std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }
    return out;
  }
};

void reads_in_memory(DataFormat format) {
  Scene s(format);
  ASSERT_FALSE(s.files.empty());
  // an interrupted change left recorded: a writable engine replays and removes it, this one must not
  fs::create_directories(s.root / ".wkfs" / "intents");
  write_file_atomic(s.root / ".wkfs" / "intents" / "1.0.intent", std::string("color/1/missing"));
  const auto before = tree_digest(s.root);
  std::map<fs::path, std::string> served;
  {
    LazyEngine ro(Dataset::open(s.root, true), config(), test::test_diagnostics());
    served = s.read_every(ro);
    EXPECT_EQ(s.read_every(ro), served);  // again, from memory
  }
  EXPECT_EQ(tree_digest(s.root), before) << "a read-only engine changed the dataset folder";
  fs::remove(s.root / ".wkfs" / "intents" / "1.0.intent");
  EXPECT_EQ(served, s.computed_by_writable_engine());
}

TEST(ReadOnlyLazyEngine, Zarr3FilesReadFromMemory) { reads_in_memory(DataFormat::Zarr3); }
TEST(ReadOnlyLazyEngine, WkwFilesReadFromMemory) { reads_in_memory(DataFormat::Wkw); }
TEST(ReadOnlyLazyEngine, Zarr2FilesReadFromMemory) { reads_in_memory(DataFormat::Zarr); }

TEST(ReadOnlyLazyEngine, StaleFilesOfTheDatasetAreComputedAgainNotServed) {
  Scene s(DataFormat::Zarr3);
  const auto old = s.computed_by_writable_engine();
  // mag 1 changed with no engine running (the backing 2-2-1 and 4-4-2 files of that corner are stale now)
  ::usleep(20000);
  s.write_mag1(BoundingBox{{0, 0, 0}, {40, 40, 20}}, 2);
  const auto before = tree_digest(s.root);
  std::map<fs::path, std::string> served;
  {
    LazyEngine ro(Dataset::open(s.root, true), config(), test::test_diagnostics());
    served = s.read_every(ro);
  }
  EXPECT_EQ(tree_digest(s.root), before) << "a read-only engine changed the dataset folder";
  const auto fresh = s.computed_by_writable_engine();  // deletes the stale ones and computes them again
  EXPECT_EQ(served, fresh);
  size_t changed = 0;
  for (const auto& [f, bytes] : fresh) changed += old.at(f) != bytes;
  EXPECT_GT(changed, 1u) << "the change made no file stale: the test proves nothing";
  EXPECT_LT(changed, fresh.size()) << "every file changed: serving the fresh dataset files is not checked";
}

TEST(ReadOnlyLazyEngine, CacheFolderHoldsTheFilesAndIsReused) {
  Scene s(DataFormat::Zarr3);
  test::TempDir cache;
  LazyConfig cfg = config();
  cfg.cache_dir = cache.path();
  const auto before = tree_digest(s.root);
  std::map<fs::path, std::string> served;
  {
    LazyEngine ro(Dataset::open(s.root, true), cfg, test::test_diagnostics());
    served = s.read_every(ro);
  }
  EXPECT_EQ(tree_digest(s.root), before);
  const fs::path folder = cache_folder_for(cache.path(), s.root);
  for (const auto& [f, bytes] : served) {
    Bytes b = read_file(folder / f);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), b.size()), bytes) << f;
  }
  // the computed files in the cache (its scan times are rewritten by every engine)
  auto cached_files = [&] {
    auto d = tree_digest(folder);
    for (auto it = d.begin(); it != d.end();) it = it->second.rfind("33188", 0) == 0 && it->first != "source-scan.json" ? std::next(it) : d.erase(it);
    return d;
  };
  const auto cached = cached_files();
  EXPECT_EQ(cached.size(), s.files.size());
  {
    LazyEngine ro(Dataset::open(s.root, true), cfg, test::test_diagnostics());
    uint64_t counted = 0;
    const Json status = ro.status();
    for (const auto& m : status["mags"]) counted += m["files_computed"].get<uint64_t>();
    EXPECT_EQ(counted, s.files.size()) << "the cache's files are not counted as computed at load: " << status.dump();
    EXPECT_EQ(s.read_every(ro), served);
  }
  EXPECT_EQ(cached_files(), cached) << "the second engine computed files the cache held";
  EXPECT_EQ(tree_digest(s.root), before);

  // mag 1 changes with no mount: the cache's files of that corner are stale for the next engine
  ::usleep(20000);
  s.write_mag1(BoundingBox{{0, 0, 0}, {40, 40, 20}}, 3);
  const auto changed_before = tree_digest(s.root);
  std::map<fs::path, std::string> fresh;
  {
    LazyEngine ro(Dataset::open(s.root, true), cfg, test::test_diagnostics());
    fresh = s.read_every(ro);
  }
  EXPECT_EQ(tree_digest(s.root), changed_before);
  EXPECT_NE(fresh, served) << "stale files of the cache were served";
  EXPECT_EQ(fresh, s.computed_by_writable_engine());
}

TEST(ReadOnlyLazyEngine, RegistrationChangesAreRefused) {
  Scene s(DataFormat::Zarr3);
  LazyEngine ro(Dataset::open(s.root, true), config(), test::test_diagnostics());
  EXPECT_THROW(ro.forget_mag("color", Mag(4, 4, 2)), Error);
  EXPECT_THROW(ro.delete_lazy_mag("color", Mag(4, 4, 2)), Error);
  EXPECT_THROW(ro.rename_layer("color", "colour"), Error);
  EXPECT_THROW(ro.redownsample("color"), Error);
}

}  // namespace
