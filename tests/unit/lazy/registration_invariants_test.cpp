// Every registration the lazy engine accepts is one the loader serves at the next mount (issue 11
// item 5), and a lazy mag's shard, the unit of one computation, fits the memory cap (item 6).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "lazy/lazy_engine.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

const BoundingBox kBox{{0, 0, 0}, {64, 64, 64}};

std::shared_ptr<Dataset> two_layers(const fs::path& root, const std::vector<Mag>& other_mags = {Mag(1, 1, 1), Mag(2, 2, 1), Mag(4, 4, 1)}) {
  auto ds = Dataset::create(root, VoxelSize{{1, 1, 1}, "nanometer"});
  for (const char* name : {"color", "other"}) {
    LayerSpec spec;
    spec.name = name;
    spec.bounding_box = kBox;
    ds->add_layer(spec);
  }
  MagOptions mo{Vec3::full(16), Vec3::full(32), std::nullopt};
  ds->add_mag("color", Mag(1, 1, 1), mo);
  for (const auto& m : other_mags) ds->add_mag("other", m, mo);
  return ds;
}

// Served: its folder is listed by the engine (it has a state, which the loader may refuse to make).
bool served(const LazyEngine& lazy, const Mag& m) {
  return lazy.lazy_children(fs::path("color") / m.short_name()).has_value();
}

LazyConfig small_config() {
  LazyConfig cfg;
  cfg.threads = 1;
  cfg.memory_cap_bytes = 64 << 20;
  cfg.lazy_shard_edge = 32;
  return cfg;
}

}  // namespace

TEST(RegistrationInvariants, AnAcceptedAlignedChainIsServedAfterARemount) {
  // other layers' mags the default chain aligns with, 4-4-1 among them
  const std::vector<std::vector<Mag>> others = {{Mag(1, 1, 1), Mag(2, 2, 1), Mag(4, 4, 1)},
                                                {Mag(1, 1, 1), Mag(2, 2, 2), Mag(4, 4, 1)},
                                                {Mag(2, 2, 2), Mag(4, 4, 1), Mag(8, 8, 8)}};
  for (const auto& other : others) {
    test::TempDir tmp;
    auto ds = two_layers(tmp / "ds", other);
    std::vector<Mag> registered;
    {
      LazyEngine lazy(ds, small_config(), test::test_diagnostics());
      try {
        registered = lazy.downsample("color", DownsampleRequest{});
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();  // refused: fine, nothing registered
      }
      for (const auto& m : registered) EXPECT_TRUE(served(lazy, m)) << m.long_name() << " not served now";
    }
    LazyEngine remounted(Dataset::open(tmp / "ds"), small_config(), test::test_diagnostics());
    for (const auto& m : registered)
      EXPECT_TRUE(served(remounted, m)) << m.long_name() << " registered but ignored at the next mount";
  }
}

TEST(RegistrationInvariants, AShardLargerThanTheMemoryCapIsRefused) {
  test::TempDir tmp;
  auto ds = two_layers(tmp / "ds");
  LazyEngine lazy(ds, small_config(), test::test_diagnostics());
  DownsampleRequest r;
  r.explicit_mags = std::vector<Mag>{Mag(2, 2, 2)};
  r.mag_options = MagOptions{Vec3::full(32), Vec3::full(512), std::nullopt};  // 128 MiB per shard, cap 64
  try {
    lazy.downsample("color", r);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
  }
  EXPECT_FALSE(served(lazy, Mag(2, 2, 2)));
  EXPECT_FALSE(fs::exists(tmp / "ds/color/2"));
}
