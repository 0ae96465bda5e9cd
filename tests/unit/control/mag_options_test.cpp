// parse_mag_options: the one validation of a new mag's options (control channel and CLI).
#include <gtest/gtest.h>

#include "control/mag_options.hpp"
#include "core/error.hpp"

using namespace wkfs;
using namespace wkfs::control;

namespace {
MagOptions parse(const std::string& text) { return parse_mag_options(CommandLine::parse(text)); }
}  // namespace

TEST(MagOptions, ShapesAndCompression) {
  auto o = parse("add-mag 2 --chunk-shape 16 --chunks-per-shard 2,2,1 --no-compress");
  EXPECT_EQ(o.chunk_shape, Vec3(16, 16, 16));
  EXPECT_EQ(o.shard_shape, Vec3(32, 32, 16));
  EXPECT_EQ(o.compress, false);
  EXPECT_EQ(parse("add-mag 2 --compress").compress, true);
  EXPECT_EQ(parse("add-mag 2 --compress false").compress, false);
  EXPECT_FALSE(parse("add-mag 2").compress);
}

TEST(MagOptions, ContradictionsAreRefused) {
  EXPECT_THROW(parse("add-mag 2 --chunks-per-shard 2"), Error);
  EXPECT_THROW(parse("add-mag 2 --chunk-shape 16 --shard-shape 64 --chunks-per-shard 2"), Error);
  EXPECT_THROW(parse("add-mag 2 --compress --no-compress"), Error);
  EXPECT_THROW(parse("add-mag 2 --chunk-shape -16"), Error);
}
