// Registering lazy mags (downsample, upsample, redownsample, --allow-overwrite) and compressing
// them: a refused or failed registration leaves the backing dataset byte for byte as it was, a
// chain never computes a mag from itself, and replacing a mag makes what was computed from it stale.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <string_view>
#include <thread>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "lazy/lazy_engine.hpp"
#include "lazy/mag_compression.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

const BoundingBox kBox{{0, 0, 0}, {64, 64, 64}};

// Every regular file below the dataset root with a hash of its bytes: "the backing dataset as it
// was" (hashes keep a failure message readable).
std::map<std::string, size_t> snapshot(const fs::path& root) {
  std::map<std::string, size_t> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) {
      Bytes b = read_file(e.path());
      out[fs::relative(e.path(), root).string()] =
          std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
  return out;
}

// Shard files of a mag folder (everything except the array metadata).
size_t data_files(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (e.is_regular_file() && name != "zarr.json" && name != ".zarray" && name != "header.wkw") ++n;
  }
  return n;
}

template <typename F>
ErrorKind error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::Io;
}

bool listed(const std::shared_ptr<Dataset>& ds, const Mag& mag) {
  ds->reload();
  return ds->properties().find_layer("color")->find_mag(mag) != nullptr;
}

// A uint8 color layer over 64^3 with the given real mags, each filled with `value`.
struct Scene {
  test::TempDir tmp;
  fs::path root = tmp / "ds";
  std::shared_ptr<Dataset> ds;
  std::shared_ptr<LazyEngine> lazy;
  MagOptions mo;

  Scene(std::vector<Mag> mags, uint8_t value, DataFormat format = DataFormat::Zarr3, bool compress = true) {
    ds = Dataset::create(root, VoxelSize{{1, 1, 1}, "nanometer"});
    LayerSpec spec;
    spec.name = "color";
    spec.data_format = format;
    spec.bounding_box = kBox;
    ds->add_layer(spec);
    mo.chunk_shape = Vec3{16, 16, 16};
    mo.shard_shape = format == DataFormat::Zarr ? Vec3{16, 16, 16} : Vec3{32, 32, 32};
    mo.compress = compress;
    for (const auto& m : mags) {
      ds->add_mag("color", m, mo);
      fill(m, value);
    }
    LazyConfig cfg;
    cfg.threads = 2;
    cfg.memory_cap_bytes = 64 << 20;
    cfg.lazy_shard_edge = 32;
    lazy = std::make_shared<LazyEngine>(ds, cfg, wkfs::test::test_diagnostics());
  }

  void fill(const Mag& m, uint8_t value) {
    auto view = ds->mag_view("color", m);
    view->write(kBox, Bytes(view->buffer_size(kBox), std::byte(value)));
  }

  // Every voxel of the mag's region, read through a freshly opened array (what a reader sees).
  bool all_equal(const Mag& m, uint8_t value) {
    auto arr = open_array(root / "color" / m.short_name());
    Vec3 n = kBox.in_mag(m).size;
    Bytes got(static_cast<size_t>(n.prod()));
    arr->read(NdBox{VecN{0, 0, 0, 0}, VecN{1, n.x, n.y, n.z}}, got);
    return std::all_of(got.begin(), got.end(), [&](std::byte b) { return b == std::byte(value); });
  }

  DownsampleRequest overwrite(std::vector<Mag> targets, MagOptions options) const {
    DownsampleRequest r;
    r.from_mag = Mag(1, 1, 1);
    r.explicit_mags = std::move(targets);
    r.allow_overwrite = true;
    r.mag_options = options;
    return r;
  }
};

// Runs f on its own thread; false if it has not returned after `seconds`. A deadlocked thread is
// left behind holding `keep`, so the test fails instead of hanging.
bool finishes_within(double seconds, std::shared_ptr<void> keep, std::function<void()> f) {
  auto done = std::make_shared<std::promise<void>>();
  auto result = done->get_future();
  std::thread([done, keep, f] {
    try {
      f();
      done->set_value();
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  }).detach();
  if (result.wait_for(std::chrono::duration<double>(seconds)) != std::future_status::ready) return false;
  result.get();
  return true;
}

}  // namespace

// --- 1: shapes are validated before anything is replaced; a failure puts everything back --------

TEST(LazyRegistration, OverwriteWithBadShardShapeKeepsTheMag) {
  Scene s({Mag(1, 1, 1), Mag(2, 2, 2)}, 5);
  auto before = snapshot(s.root);
  MagOptions bad;
  bad.chunk_shape = Vec3{64, 64, 64};
  bad.shard_shape = Vec3{96, 96, 96};
  EXPECT_EQ(error_of([&] { s.lazy->downsample("color", s.overwrite({Mag(2, 2, 2)}, bad)); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(snapshot(s.root), before);
  EXPECT_TRUE(listed(s.ds, Mag(2, 2, 2)));
  EXPECT_FALSE(s.lazy->is_pending_mag("color", Mag(2, 2, 2)));
  EXPECT_TRUE(s.all_equal(Mag(2, 2, 2), 5));
}

TEST(LazyRegistration, NonPowerOfTwoChunkShapeIsRefused) {
  Scene s({Mag(1, 1, 1)}, 5);
  auto before = snapshot(s.root);
  DownsampleRequest r;
  r.mag_options.chunk_shape = Vec3{48, 48, 48};
  EXPECT_EQ(error_of([&] { s.lazy->downsample("color", r); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(snapshot(s.root), before);
  EXPECT_FALSE(s.lazy->has_pending_mags());
}

TEST(LazyRegistration, ShardShapeOnZarr2LayerIsRefused) {
  Scene s({Mag(1, 1, 1)}, 5, DataFormat::Zarr);
  auto before = snapshot(s.root);
  DownsampleRequest r;
  r.mag_options.chunk_shape = Vec3{16, 16, 16};
  r.mag_options.shard_shape = Vec3{32, 32, 32};
  EXPECT_EQ(error_of([&] { s.lazy->downsample("color", r); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(snapshot(s.root), before);
  EXPECT_FALSE(s.lazy->has_pending_mags());
}

TEST(LazyRegistration, FailedRegistrySaveRestoresTheOverwrittenMag) {
  Scene s({Mag(1, 1, 1), Mag(2, 2, 2)}, 5);
  // a folder where the registry file goes: its atomic replacement fails (also for root)
  fs::create_directories(LazyRegistry::state_dir(s.root) / "lazy.json");
  auto before = snapshot(s.root);
  EXPECT_ANY_THROW(s.lazy->downsample("color", s.overwrite({Mag(2, 2, 2)}, s.mo)));
  EXPECT_EQ(snapshot(s.root), before);
  EXPECT_TRUE(listed(s.ds, Mag(2, 2, 2)));
  EXPECT_FALSE(s.lazy->is_pending_mag("color", Mag(2, 2, 2)));
  EXPECT_TRUE(s.all_equal(Mag(2, 2, 2), 5));
  for (const auto& e : fs::directory_iterator(s.root / "color")) EXPECT_FALSE(is_temp_file_name(e.path().filename().string()));
}

TEST(LazyRegistration, FailedPropertiesWriteRestoresRegistryAndMag) {
  Scene s({Mag(1, 1, 1), Mag(2, 2, 2)}, 5);
  DownsampleRequest r;
  r.explicit_mags = std::vector<Mag>{Mag(4, 4, 4)};
  r.mag_options = s.mo;
  s.lazy->downsample("color", r);  // a registry to restore
  // the properties file replaced by a folder: the unlisting, the last step, fails
  fs::path props = s.root / "datasource-properties.json";
  fs::rename(props, s.root / "props.saved");
  fs::create_directory(props);
  auto before = snapshot(s.root);
  EXPECT_ANY_THROW(s.lazy->downsample("color", s.overwrite({Mag(2, 2, 2)}, s.mo)));
  EXPECT_EQ(snapshot(s.root), before);
  fs::remove(props);
  fs::rename(s.root / "props.saved", props);
  EXPECT_TRUE(listed(s.ds, Mag(2, 2, 2)));
  EXPECT_FALSE(s.lazy->is_pending_mag("color", Mag(2, 2, 2)));
  EXPECT_TRUE(s.lazy->is_pending_mag("color", Mag(4, 4, 4)));
  EXPECT_TRUE(s.all_equal(Mag(2, 2, 2), 5));
}

TEST(LazyRegistration, OverwriteReplacesTheMagLazily) {
  Scene s({Mag(1, 1, 1), Mag(2, 2, 2)}, 5);
  s.fill(Mag(1, 1, 1), 8);
  MagOptions o = s.mo;
  o.shard_shape = Vec3{16, 16, 16};
  EXPECT_EQ(s.lazy->downsample("color", s.overwrite({Mag(2, 2, 2)}, o)), std::vector<Mag>{Mag(2, 2, 2)});
  EXPECT_FALSE(listed(s.ds, Mag(2, 2, 2)));
  EXPECT_TRUE(s.lazy->is_pending_mag("color", Mag(2, 2, 2)));
  EXPECT_EQ(data_files(s.root / "color" / "2"), 0u);
  EXPECT_EQ(open_array(s.root / "color" / "2")->meta().shard_shape, (VecN{1, 16, 16, 16}));
  for (const auto& e : fs::directory_iterator(s.root / "color")) EXPECT_FALSE(is_temp_file_name(e.path().filename().string()));
  s.lazy->materialize("color");
  s.lazy->wait_idle();
  EXPECT_TRUE(listed(s.ds, Mag(2, 2, 2)));
  EXPECT_TRUE(s.all_equal(Mag(2, 2, 2), 8));
}

// --- 2: a chain never computes a mag from itself -------------------------------------------------

TEST(LazyRegistration, RedownsampleAfterUpsampleIsRefusedAndReadsStillWork) {
  Scene s({Mag(4, 4, 4)}, 9);
  UpsampleRequest up{Mag(4, 4, 4), Mag(1, 1, 1), "isotropic", s.mo};
  ASSERT_EQ(s.lazy->upsample("color", up), (std::vector<Mag>{Mag(2, 2, 2), Mag(1, 1, 1)}));
  auto before = snapshot(s.root);
  EXPECT_EQ(error_of([&] { s.lazy->redownsample("color"); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(error_of([&] { s.lazy->downsample("color", s.overwrite({Mag(2, 2, 2)}, s.mo)); }),
            ErrorKind::InvalidArgument);
  EXPECT_EQ(snapshot(s.root), before);
  EXPECT_TRUE(listed(s.ds, Mag(4, 4, 4)));

  auto ref = s.lazy->lazy_file("color/1/c/0/0/0/0");
  ASSERT_TRUE(ref.has_value());
  auto lazy = s.lazy;
  EXPECT_TRUE(finishes_within(10, lazy, [lazy, r = *ref] { lazy->ensure(r); })) << "reading mag 1 deadlocked";
}

// --- 3: compress and the engine's cached arrays ----------------------------------------------------

TEST(LazyRegistration, CompressOfPendingLazyMagIsRefused) {
  Scene s({Mag(1, 1, 1)}, 5, DataFormat::Zarr3, false);
  DownsampleRequest r;
  r.explicit_mags = std::vector<Mag>{Mag(2, 2, 2)};
  r.mag_options = s.mo;
  s.lazy->downsample("color", r);
  auto before = snapshot(s.root);
  EXPECT_EQ(error_of([&] { compress_mag(*s.lazy, "color", Mag(2, 2, 2)); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(snapshot(s.root), before);
}

TEST(LazyRegistration, CompressedCompleteLazyMagIsRecomputedCompressed) {
  Scene s({Mag(1, 1, 1)}, 5, DataFormat::Zarr3, false);
  DownsampleRequest r;
  r.explicit_mags = std::vector<Mag>{Mag(2, 2, 2)};
  r.mag_options = s.mo;
  s.lazy->downsample("color", r);
  s.lazy->materialize("color");
  s.lazy->wait_idle();
  ASSERT_FALSE(s.lazy->is_pending_mag("color", Mag(2, 2, 2)));
  EXPECT_TRUE(compress_mag(*s.lazy, "color", Mag(2, 2, 2)));

  s.fill(Mag(1, 1, 1), 7);
  auto shard = s.ds->mag_view("color", Mag(1, 1, 1))->array().shard_path(VecN{0, 0, 0, 0});
  s.lazy->source_changed(fs::relative(shard, s.root));
  ASSERT_TRUE(s.lazy->is_pending_mag("color", Mag(2, 2, 2)));
  s.lazy->materialize("color");
  s.lazy->wait_idle();
  EXPECT_TRUE(s.all_equal(Mag(2, 2, 2), 7));
}

// --- 4: replacing a mag makes the lazy mags computed from it stale -------------------------------

TEST(LazyRegistration, OverwriteMakesDependentLazyMagsStale) {
  Scene s({Mag(1, 1, 1)}, 10);
  DownsampleRequest r;
  r.explicit_mags = std::vector<Mag>{Mag(2, 2, 2), Mag(4, 4, 4)};
  r.mag_options = s.mo;
  s.lazy->downsample("color", r);
  s.lazy->materialize("color");
  s.lazy->wait_idle();
  ASSERT_TRUE(listed(s.ds, Mag(4, 4, 4)));
  ASSERT_GT(data_files(s.root / "color" / "4"), 0u);

  s.fill(Mag(1, 1, 1), 20);  // behind the engine's back: only the overwrite tells it
  s.lazy->downsample("color", s.overwrite({Mag(2, 2, 2)}, s.mo));
  EXPECT_EQ(data_files(s.root / "color" / "4"), 0u);
  EXPECT_TRUE(s.lazy->is_pending_mag("color", Mag(4, 4, 4)));
  EXPECT_FALSE(listed(s.ds, Mag(4, 4, 4)));
  s.lazy->materialize("color");
  s.lazy->wait_idle();
  EXPECT_TRUE(s.all_equal(Mag(2, 2, 2), 20));
  EXPECT_TRUE(s.all_equal(Mag(4, 4, 4), 20));
}
