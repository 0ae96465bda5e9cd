// The lazy engine against a brute-force eager reference written from the notes (section 5):
// every file of every lazy mag, computed in random order from several threads, must equal the
// reference; counters, staleness, remount and completion are checked along the way.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include <sys/stat.h>

#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "lazy/lazy_engine.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

// A dense (c, x, y, z) volume in in-mag coordinates starting at 0.
template <typename T>
struct Volume {
  int64_t c = 1;
  Vec3 size;
  std::vector<T> v;
  T& at(int64_t ch, int64_t x, int64_t y, int64_t z) { return v[static_cast<size_t>(((ch * size.x + x) * size.y + y) * size.z + z)]; }
  T get(int64_t ch, int64_t x, int64_t y, int64_t z) const {
    if (x < 0 || y < 0 || z < 0 || x >= size.x || y >= size.y || z >= size.z) return T{};
    return v[static_cast<size_t>(((ch * size.x + x) * size.y + y) * size.z + z)];
  }
};

template <typename T>
T brute_median(std::vector<T> b) {
  std::sort(b.begin(), b.end());
  size_t n = b.size();
  if (n % 2) return b[n / 2];
  if constexpr (std::is_same_v<T, float>) return static_cast<T>((b[n / 2 - 1] + b[n / 2]) / 2.0f);
  double m = (static_cast<double>(b[n / 2 - 1]) + static_cast<double>(b[n / 2])) / 2.0;
  return static_cast<T>(std::trunc(m));
}

template <typename T>
T brute_mode(const std::vector<T>& b) {
  // most frequent; ties to the value whose first occurrence comes first
  size_t best = 0, best_count = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    size_t first = std::find(b.begin(), b.end(), b[i]) - b.begin();
    if (first != i) continue;
    size_t count = static_cast<size_t>(std::count(b.begin(), b.end(), b[i]));
    if (count > best_count) best = i, best_count = count;
  }
  return b[best];
}

// The eager reference for one step: region = layer bbox in the target mag; outside it, 0.
template <typename T>
Volume<T> reference_step(const Volume<T>& src, Vec3 f, const BoundingBox& bbox, const Mag& target, bool mode) {
  Volume<T> out;
  out.c = src.c;
  BoundingBox r = bbox.in_mag(target);
  out.size = r.bottom_right();
  out.v.assign(static_cast<size_t>(out.c * out.size.prod()), T{});
  for (int64_t ch = 0; ch < out.c; ++ch)
    for (int64_t x = r.top_left.x; x < out.size.x; ++x)
      for (int64_t y = r.top_left.y; y < out.size.y; ++y)
        for (int64_t z = r.top_left.z; z < out.size.z; ++z) {
          std::vector<T> block;
          for (int64_t dz = 0; dz < f.z; ++dz)
            for (int64_t dx = 0; dx < f.x; ++dx)
              for (int64_t dy = 0; dy < f.y; ++dy) block.push_back(src.get(ch, x * f.x + dx, y * f.y + dy, z * f.z + dz));
          out.at(ch, x, y, z) = mode ? brute_mode(block) : brute_median(block);
        }
  return out;
}

struct Case {
  std::string name;
  Category category;
  DType dtype;
  int channels;
  DataFormat format;
};

template <typename T>
void run_case(const Case& c) {
  test::TempDir tmp;
  auto ds = Dataset::create(tmp / "ds", VoxelSize{{11.24, 11.24, 25}, "nanometer"});
  BoundingBox bbox{{3, 5, 1}, {150, 101, 37}};  // unaligned on purpose
  LayerSpec spec;
  spec.name = "layer";
  spec.category = c.category;
  spec.dtype = c.dtype;
  spec.num_channels = c.channels;
  spec.data_format = c.format;
  spec.bounding_box = bbox;
  ds->add_layer(spec);
  MagOptions mo;
  mo.chunk_shape = Vec3{16, 16, 16};
  mo.shard_shape = c.format == DataFormat::Zarr ? Vec3{16, 16, 16} : Vec3{32, 32, 32};
  ds->add_mag("layer", Mag(1, 1, 1), mo);

  // mag-1 data: blocky segments (many ties for mode), noise for color
  Volume<T> v1;
  v1.c = c.channels;
  v1.size = bbox.bottom_right();
  v1.v.assign(static_cast<size_t>(v1.c * v1.size.prod()), T{});
  std::mt19937_64 rng(42);
  for (int64_t ch = 0; ch < v1.c; ++ch)
    for (int64_t x = bbox.top_left.x; x < v1.size.x; ++x)
      for (int64_t y = bbox.top_left.y; y < v1.size.y; ++y)
        for (int64_t z = bbox.top_left.z; z < v1.size.z; ++z) {
          if (c.category == Category::Segmentation)
            v1.at(ch, x, y, z) = static_cast<T>(((x / 3) * 7 + (y / 5) * 13 + (z / 2) * 5 + rng() % 2) % 9 + (rng() % 50 == 0 ? 1000 : 0));
          else
            v1.at(ch, x, y, z) = static_cast<T>(static_cast<double>((x + 2 * y + 3 * z) % 200) + static_cast<double>(rng() % 40) - (std::is_signed_v<T> ? 20.0 : 0.0));
        }
  {
    Bytes buf(v1.v.size() * sizeof(T));
    // MagView wants exactly the bbox: copy the bbox part
    Bytes part(static_cast<size_t>(v1.c * bbox.size.prod()) * sizeof(T));
    T* p = reinterpret_cast<T*>(part.data());
    size_t i = 0;
    for (int64_t ch = 0; ch < v1.c; ++ch)
      for (int64_t x = 0; x < bbox.size.x; ++x)
        for (int64_t y = 0; y < bbox.size.y; ++y)
          for (int64_t z = 0; z < bbox.size.z; ++z) p[i++] = v1.get(ch, bbox.top_left.x + x, bbox.top_left.y + y, bbox.top_left.z + z);
    ds->mag_view("layer", Mag(1, 1, 1))->write(bbox, part);
  }

  LazyConfig cfg;
  cfg.threads = 2;
  cfg.memory_cap_bytes = 64 << 20;
  cfg.lazy_shard_edge = 32;
  std::vector<fs::path> invalidated;
  auto on_invalidate = [&](const fs::path& p) { invalidated.push_back(p); };
  std::unique_ptr<LazyEngine> lazy = std::make_unique<LazyEngine>(ds, cfg, wkfs::test::test_diagnostics(), on_invalidate);
  DownsampleRequest req;
  req.mag_options = mo;
  auto mags = lazy->downsample("layer", req);
  ASSERT_EQ(mags, (std::vector<Mag>{Mag(2, 2, 1), Mag(4, 4, 2)}));  // notes section 6, 11.24/11.24/25 to 4
  // registration wrote metadata only: no data file, and the backing properties do not list them
  auto status = lazy->status();
  for (const auto& m : status["mags"]) EXPECT_EQ(m["files_computed"], 0u);
  auto backing = DatasetProperties::parse(std::string(reinterpret_cast<const char*>(read_file(tmp / "ds" / "datasource-properties.json").data()), read_file(tmp / "ds" / "datasource-properties.json").size()));
  EXPECT_EQ(backing.find_layer("layer")->mags.size(), 1u);
  auto mounted = DatasetProperties::parse(lazy->mounted_properties());
  EXPECT_EQ(mounted.find_layer("layer")->mags.size(), 3u);

  bool mode = c.category == Category::Segmentation;
  auto v2 = reference_step(v1, {2, 2, 1}, bbox, Mag(2, 2, 1), mode);
  auto v4 = reference_step(v2, {2, 2, 2}, bbox, Mag(4, 4, 2), mode);

  // Every file of the coarsest mag, in random order, from two threads: computes 2-2-1 on the way.
  std::vector<fs::path> files;
  std::function<void(const fs::path&)> walk = [&](const fs::path& rel) {
    auto kids = lazy->lazy_children(rel);
    ASSERT_TRUE(kids.has_value()) << rel;
    for (const auto& [name, dir] : *kids) (dir ? walk(rel / name) : files.push_back(rel / name));
  };
  walk("layer/4-4-2");
  ASSERT_FALSE(files.empty());
  std::shuffle(files.begin(), files.end(), rng);
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < files.size(); i += 2) {
        auto ref = lazy->lazy_file(files[i]);
        ASSERT_TRUE(ref.has_value());
        lazy->ensure(*ref);
        ASSERT_TRUE(fs::exists(tmp / "ds" / files[i]));
      }
    });
  for (auto& t : readers) t.join();

  auto check = [&](const Mag& mag, const Volume<T>& ref) {
    auto arr = open_array(tmp / "ds" / "layer" / mag.short_name());
    NdBox box{VecN{0, 0, 0, 0}, VecN{ref.c, ref.size.x, ref.size.y, ref.size.z}};
    Bytes got(static_cast<size_t>(box.volume()) * sizeof(T));
    arr->read(box, got);
    const T* g = reinterpret_cast<const T*>(got.data());
    size_t mismatches = 0;
    for (size_t i = 0; i < ref.v.size(); ++i)
      if (std::memcmp(&g[i], &ref.v[i], sizeof(T)) != 0) ++mismatches;
    EXPECT_EQ(mismatches, 0u) << c.name << " mag " << mag.long_name();
  };
  check(Mag(4, 4, 2), v4);

  // Staleness: change a mag-1 region, the dependent files disappear (all levels) and recompute.
  BoundingBox changed{{3, 5, 1}, {20, 20, 10}};
  Bytes ones(static_cast<size_t>(c.channels * changed.size.prod()) * sizeof(T));
  T* o = reinterpret_cast<T*>(ones.data());
  for (size_t i = 0; i < ones.size() / sizeof(T); ++i) o[i] = static_cast<T>(7);
  ds->mag_view("layer", Mag(1, 1, 1))->write(changed, ones);
  for (int64_t ch = 0; ch < c.channels; ++ch)
    for (int64_t x = 3; x < 23; ++x)
      for (int64_t y = 5; y < 25; ++y)
        for (int64_t z = 1; z < 11; ++z) v1.at(ch, x, y, z) = 7;
  invalidated.clear();
  auto shard1 = ds->mag_view("layer", Mag(1, 1, 1))->array().shard_path(VecN{0, 0, 0, 0});
  lazy->source_changed(fs::relative(shard1, tmp / "ds"));
  EXPECT_FALSE(invalidated.empty());
  bool has_coarse = false;
  for (const auto& p : invalidated) {
    EXPECT_FALSE(fs::exists(tmp / "ds" / p)) << p;
    has_coarse = has_coarse || p.string().find("4-4-2") != std::string::npos;
  }
  EXPECT_TRUE(has_coarse);
  EXPECT_GT(lazy->status()["mags"][1]["files_stale"].get<uint64_t>(), 0u);
  v2 = reference_step(v1, {2, 2, 1}, bbox, Mag(2, 2, 1), mode);
  v4 = reference_step(v2, {2, 2, 2}, bbox, Mag(4, 4, 2), mode);

  // Remount: a new engine on a reopened dataset knows the registrations; materialize completes.
  lazy.reset();
  write_file_atomic(tmp / "ds" / "layer" / "4-4-2" / "stray.txt", std::string("not a shard"));
  ds = Dataset::open(tmp / "ds");
  lazy = std::make_unique<LazyEngine>(ds, cfg, wkfs::test::test_diagnostics());
  EXPECT_TRUE(lazy->is_pending_mag("layer", Mag(4, 4, 2)));
  // the remount counts exactly the grid's files that exist (not the stray file)
  for (const auto& [i, mag] : {std::pair<int, std::string>{0, "layer/2-2-1"}, {1, "layer/4-4-2"}}) {
    files.clear();
    walk(mag);
    const auto existing = std::count_if(files.begin(), files.end(), [&](const fs::path& f) { return fs::exists(tmp / "ds" / f); });
    EXPECT_EQ(lazy->status()["mags"][i]["files_computed"].template get<int64_t>(), existing) << mag;
  }
  lazy->materialize();
  lazy->wait_idle();
  check(Mag(2, 2, 1), v2);
  check(Mag(4, 4, 2), v4);
  EXPECT_FALSE(lazy->is_pending_mag("layer", Mag(4, 4, 2)));
  ds->reload();
  auto done = ds->properties();
  ASSERT_EQ(done.find_layer("layer")->mags.size(), 3u);
  EXPECT_EQ(*done.find_layer("layer")->mags[2].path, "./layer/4-4-2");
}

}  // namespace

TEST(LazyEngine, ColorUint8MedianZarr3) { run_case<uint8_t>({"color u8", Category::Color, DType::UInt8, 1, DataFormat::Zarr3}); }
TEST(LazyEngine, Color3ChannelUint8Wkw) { run_case<uint8_t>({"color 3xu8 wkw", Category::Color, DType::UInt8, 3, DataFormat::Wkw}); }
TEST(LazyEngine, SegmentationUint32ModeZarr3) { run_case<uint32_t>({"seg u32", Category::Segmentation, DType::UInt32, 1, DataFormat::Zarr3}); }
TEST(LazyEngine, SegmentationUint64ModeZarr2) { run_case<uint64_t>({"seg u64 zarr", Category::Segmentation, DType::UInt64, 1, DataFormat::Zarr}); }
TEST(LazyEngine, ColorFloat32Median) { run_case<float>({"color f32", Category::Color, DType::Float32, 1, DataFormat::Zarr3}); }
TEST(LazyEngine, ColorInt16Median) { run_case<int16_t>({"color i16", Category::Color, DType::Int16, 1, DataFormat::Zarr3}); }

// Upsampling registers the finer mags lazily; every voxel equals its source voxel (nearest
// replication over the whole block, also where the library would leave holes for factors >= 3).
TEST(LazyEngine, UpsampleReplicatesTheCoarserMag) {
  test::TempDir tmp;
  auto ds = Dataset::create(tmp / "ds", VoxelSize{{1, 1, 1}, "nanometer"});
  BoundingBox bbox{{0, 0, 0}, {70, 66, 20}};
  LayerSpec spec;
  spec.name = "seg";
  spec.category = Category::Segmentation;
  spec.dtype = DType::UInt16;
  spec.bounding_box = bbox;
  ds->add_layer(spec);
  MagOptions mo;
  mo.chunk_shape = Vec3{16, 16, 16};
  mo.shard_shape = Vec3{32, 32, 32};
  ds->add_mag("seg", Mag(4, 4, 4), mo);
  BoundingBox coarse = bbox.align_outward(Mag(4, 4, 4));
  Vec3 cs = coarse.size.floor_div(Vec3{4, 4, 4});
  std::vector<uint16_t> src(static_cast<size_t>(cs.prod()));
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i * 2654435761u >> 7);
  ds->mag_view("seg", Mag(4, 4, 4))->write(coarse, ByteSpan(reinterpret_cast<const std::byte*>(src.data()), src.size() * 2));

  LazyConfig cfg;
  cfg.threads = 2;
  cfg.lazy_shard_edge = 32;
  LazyEngine lazy(ds, cfg, wkfs::test::test_diagnostics());
  UpsampleRequest req{Mag(4, 4, 4), Mag(1, 1, 1), "isotropic", mo};
  auto mags = lazy.upsample("seg", req);
  ASSERT_EQ(mags, (std::vector<Mag>{Mag(2, 2, 2), Mag(1, 1, 1)}));
  lazy.materialize("seg");
  lazy.wait_idle();
  auto arr = open_array(tmp / "ds" / "seg" / "1");
  NdBox box{VecN{0, 0, 0, 0}, VecN{1, bbox.size.x, bbox.size.y, bbox.size.z}};
  std::vector<uint16_t> got(static_cast<size_t>(box.volume()));
  arr->read(box, MutableByteSpan(reinterpret_cast<std::byte*>(got.data()), got.size() * 2));
  size_t bad = 0;
  for (int64_t x = 0; x < bbox.size.x; ++x)
    for (int64_t y = 0; y < bbox.size.y; ++y)
      for (int64_t z = 0; z < bbox.size.z; ++z) {
        uint16_t want = src[static_cast<size_t>(((x / 4) * cs.y + y / 4) * cs.z + z / 4)];
        if (got[static_cast<size_t>((x * bbox.size.y + y) * bbox.size.z + z)] != want) ++bad;
      }
  EXPECT_EQ(bad, 0u);
  EXPECT_FALSE(lazy.is_pending_mag("seg", Mag(1, 1, 1)));
}

namespace {

// A uint8 layer of 128x64x16 voxels in 32^3 mag-1 shards with a lazy 2-2-1 mag of 16^3 shards.
struct SmallPyramid {
  test::TempDir tmp;
  std::shared_ptr<Dataset> ds;
  std::unique_ptr<LazyEngine> lazy;
  MagOptions mo;

  SmallPyramid() {
    ds = Dataset::create(tmp / "ds", VoxelSize{{1, 1, 1}, "nanometer"});
    LayerSpec spec;
    spec.name = "color";
    spec.category = Category::Color;
    spec.dtype = DType::UInt8;
    spec.bounding_box = BoundingBox{{0, 0, 0}, {128, 64, 16}};
    ds->add_layer(spec);
    mo.chunk_shape = Vec3{16, 16, 16};
    mo.shard_shape = Vec3{32, 32, 32};
    ds->add_mag("color", Mag(1, 1, 1), mo);
    Bytes data(128 * 64 * 16);
    for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(static_cast<uint8_t>(i * 31 % 251));
    ds->mag_view("color", Mag(1, 1, 1))->write(*spec.bounding_box, data);
    LazyConfig cfg;
    cfg.threads = 1;
    cfg.lazy_shard_edge = 16;
    lazy = std::make_unique<LazyEngine>(ds, cfg, wkfs::test::test_diagnostics());
    DownsampleRequest req;
    req.explicit_mags = std::vector<Mag>{Mag(2, 2, 1)};
    req.from_mag = Mag(1, 1, 1);
    req.mag_options = mo;
    mo.shard_shape = Vec3{16, 16, 16};
    req.mag_options = mo;
    lazy->downsample("color", req);
  }
  fs::path mag1_shard(int64_t sx) const {
    return fs::relative(ds->mag_view("color", Mag(1, 1, 1))->array().shard_path(VecN{0, sx, 0, 0}), tmp / "ds");
  }
};

}  // namespace

// A change of one source shard makes only what depends on it stale: a computation of an
// unrelated file that runs meanwhile still ends with its file stored (ensure never leaves a
// reader without the file it asked for).
TEST(LazyEngine, UnrelatedSourceChangesDoNotDropAComputation) {
  SmallPyramid p;
  const fs::path rel = "color/2-2-1/c/0/0/0/0";  // target x 0..15 = mag-1 x 0..31: shard 0
  auto ref = p.lazy->lazy_file(rel);
  ASSERT_TRUE(ref.has_value());
  const fs::path unrelated = p.mag1_shard(3);  // mag-1 x 96..127
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop) p.lazy->source_changed(unrelated);
  });
  int missing = 0;
  for (int i = 0; i < 40; ++i) {
    p.lazy->ensure(*ref);
    if (!fs::exists(p.tmp / "ds" / rel)) ++missing;
    fs::remove(p.tmp / "ds" / rel);  // computed again next round
  }
  stop = true;
  writer.join();
  EXPECT_EQ(missing, 0);
}

// A crash between the backing properties and lazy.json: at the next load the files decide.
TEST(LazyEngine, LoadSettlesListingAgainstTheFilesOnDisk) {
  SmallPyramid p;
  p.lazy->materialize("color");
  p.lazy->wait_idle();
  ASSERT_FALSE(p.lazy->is_pending_mag("color", Mag(2, 2, 1)));
  auto listed = [&] {
    p.ds->reload();
    return p.ds->properties().find_layer("color")->find_mag(Mag(2, 2, 1)) != nullptr;
  };
  ASSERT_TRUE(listed());
  auto reload = [&] {
    p.lazy.reset();
    p.ds = Dataset::open(p.tmp / "ds");
    p.lazy = std::make_unique<LazyEngine>(p.ds, LazyConfig{}, wkfs::test::test_diagnostics());
  };

  // killed after listing a finished mag, before lazy.json said complete: complete after all
  p.lazy.reset();
  auto reg = LazyRegistry::load(p.tmp / "ds");
  reg.find("color", Mag(2, 2, 1))->complete = false;
  reg.save();
  reload();
  EXPECT_FALSE(p.lazy->is_pending_mag("color", Mag(2, 2, 1)));
  EXPECT_TRUE(listed());

  // killed after unlisting a mag and removing a stale file, before lazy.json said incomplete
  p.ds->update_properties([](DatasetProperties& props) {
    auto& mags = props.find_layer("color")->mags;
    mags.erase(std::remove_if(mags.begin(), mags.end(), [](const MagEntry& e) { return e.mag == Mag(2, 2, 1); }),
               mags.end());
  });
  fs::remove(p.tmp / "ds" / "color/2-2-1/c/0/1/0/0");
  reload();
  EXPECT_FALSE(listed());
  EXPECT_TRUE(p.lazy->is_pending_mag("color", Mag(2, 2, 1)));
  EXPECT_EQ(p.lazy->status()["mags"][0]["files_computed"].get<uint64_t>() + 1,
            p.lazy->status()["mags"][0]["files_total"].get<uint64_t>());
  p.lazy->materialize("color");
  p.lazy->wait_idle();
  EXPECT_TRUE(listed());
}

namespace {

// Writes value `v` into all of mag-1 shard 0 (x 0..31) without telling the engine.
void write_shard0(SmallPyramid& p, uint8_t v) {
  Bytes data(32 * 64 * 16, std::byte(v));
  p.ds->mag_view("color", Mag(1, 1, 1))->write(BoundingBox{{0, 0, 0}, {32, 64, 16}}, data);
}

// The bytes of a lazy file decoded: the target's 16^3 box at the file's position, read from `fd`.
std::vector<uint8_t> voxels_of(SmallPyramid& p, const fs::path& rel) {
  auto arr = open_array(p.tmp / "ds" / "color" / "2-2-1");
  Bytes out(16 * 16 * 16);
  arr->read(NdBox{VecN{0, 0, 0, 0}, VecN{1, 16, 16, 16}}, out);
  (void)rel;
  std::vector<uint8_t> v(out.size());
  for (size_t i = 0; i < out.size(); ++i) v[i] = static_cast<uint8_t>(out[i]);
  return v;
}

}  // namespace

// Issue 11 item 13: a source rewritten over and over while readers ask for a file computed from
// it: no reader fails, and every version a reader gets is computed from one version of the
// source (the writer writes uniform shards, so a mix of two versions would not be uniform).
TEST(LazyEngine, SteadySourceWritesNeverFailAReader) {
  SmallPyramid p;
  const fs::path rel = "color/2-2-1/c/0/0/0/0";
  auto ref = p.lazy->lazy_file(rel);
  ASSERT_TRUE(ref.has_value());
  const fs::path source = p.mag1_shard(0);
  write_shard0(p, 200);  // uniform from the start
  p.lazy->source_changed(source);
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    for (uint8_t v = 1; !stop; v = static_cast<uint8_t>(v % 200 + 1)) {
      write_shard0(p, v);
      p.lazy->source_changed(source);
      ++writes;
    }
  });
  int failures = 0, mixed = 0;
  for (int i = 0; i < 60 || writes < 200; ++i) {
    try {
      p.lazy->ensure(*ref);  // the call that gave up with EIO after 5 computations before
      UniqueFd fd = p.lazy->open(*ref);
      ASSERT_TRUE(fd);
      struct stat st {};
      ASSERT_EQ(::fstat(fd.get(), &st), 0);
      Bytes bytes = pread_exact(fd.get(), 0, static_cast<size_t>(st.st_size), rel);
      // decode through a copy of the file at the lazy path of a scratch array (same metadata)
      fs::path copy = p.tmp / "check";
      if (!fs::exists(copy)) fs::copy(p.tmp / "ds" / "color" / "2-2-1", copy, fs::copy_options::recursive);
      fs::create_directories(copy / "c/0/0/0");
      write_file_atomic(copy / "c/0/0/0/0", bytes);
      auto arr = open_array(copy);
      Bytes out(16 * 16 * 16);
      arr->read(NdBox{VecN{0, 0, 0, 0}, VecN{1, 16, 16, 16}}, out);
      for (auto b : out)
        if (b != out[0]) {
          ++mixed;
          break;
        }
    } catch (const std::exception& e) {
      ++failures;
      std::cerr << e.what() << "\n";
    }
  }
  stop = true;
  writer.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mixed, 0);
  EXPECT_GT(p.lazy->status()["mags"][0]["files_stale"].get<uint64_t>(), 0u);  // the race was on
}

// Issue 11 item 1: a crash after a source file changed and before its dependents were made stale
// leaves the intent recorded; the next load makes them stale.
TEST(LazyEngine, InterruptedSourceChangeIsReplayedAtLoad) {
  SmallPyramid p;
  p.lazy->materialize("color");
  p.lazy->wait_idle();
  const fs::path dependent = p.tmp / "ds" / "color/2-2-1/c/0/0/0/0";
  const fs::path unrelated = p.tmp / "ds" / "color/2-2-1/c/0/3/0/0";
  ASSERT_TRUE(fs::exists(dependent));
  // the change as a write through the mount makes it, killed before source_changed: the intent
  // stays, as a crash leaves it (never destroyed; static storage keeps it reachable for LSan)
  alignas(ChangeIntents::Intent) static unsigned char crashed[sizeof(ChangeIntents::Intent)];
  ::new (crashed) ChangeIntents::Intent(p.lazy->begin_source_change(p.mag1_shard(0)));
  write_shard0(p, 7);
  p.lazy.reset();
  p.ds = Dataset::open(p.tmp / "ds");
  p.lazy = std::make_unique<LazyEngine>(p.ds, LazyConfig{}, wkfs::test::test_diagnostics());
  EXPECT_FALSE(fs::exists(dependent));
  EXPECT_TRUE(fs::exists(unrelated));
  EXPECT_TRUE(fs::is_empty(p.tmp / "ds" / ".wkfs" / "intents"));
}

// Issue 11 item 12: a source changed behind the engine's back (another process writing the
// backing folder): the next open of a file computed from it computes it again.
TEST(LazyEngine, SourceNewerThanTheComputedFileIsStaleAtOpen) {
  SmallPyramid p;
  const fs::path rel = "color/2-2-1/c/0/0/0/0";
  auto ref = p.lazy->lazy_file(rel);
  p.lazy->ensure(*ref);
  ASSERT_TRUE(fs::exists(p.tmp / "ds" / rel));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a later mtime than the computed file
  write_shard0(p, 9);
  UniqueFd fd = p.lazy->open(*ref);
  ASSERT_TRUE(fd);
  auto v = voxels_of(p, rel);
  EXPECT_EQ(v.front(), 9);
  EXPECT_EQ(v.back(), 9);
}

// Issue 11 item 1: mag 1 written while no daemon ran (the library, a cluster job): at the next load
// the computed files older than their changed sources are stale, the others stay; a load with
// nothing changed since keeps everything (one time per source mag, .wkfs/source-scan.json).
TEST(LazyEngine, WritesMadeWhileNoDaemonRanAreStaleAtLoad) {
  SmallPyramid p;
  p.lazy->materialize("color");
  p.lazy->wait_idle();
  const fs::path dependent = p.tmp / "ds" / "color/2-2-1/c/0/0/0/0";
  const fs::path unrelated = p.tmp / "ds" / "color/2-2-1/c/0/3/0/0";
  auto reload = [&] {
    p.lazy.reset();
    p.ds = Dataset::open(p.tmp / "ds");
    p.lazy = std::make_unique<LazyEngine>(p.ds, LazyConfig{}, wkfs::test::test_diagnostics());
  };
  reload();  // the first load after computing scans everything: nothing is stale
  ASSERT_TRUE(fs::exists(dependent));
  ASSERT_TRUE(fs::exists(unrelated));
  p.lazy.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_shard0(p, 3);  // no engine runs
  reload();
  EXPECT_FALSE(fs::exists(dependent));
  EXPECT_TRUE(fs::exists(unrelated));
  p.lazy->ensure(*p.lazy->lazy_file("color/2-2-1/c/0/0/0/0"));
  reload();
  EXPECT_TRUE(fs::exists(dependent));  // computed after the change: not stale
}
