// Mag sequences: every worked example of notes section 6, the error cases, upsampling, the
// default coarsest mag, and interpolation/sampling mode parsing.
#include "downsample/mag_sequence.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "downsample/interpolation_mode.hpp"

namespace wkfs {
namespace {

std::vector<Mag> mags(std::initializer_list<const char*> names) {
  std::vector<Mag> out;
  for (const char* n : names) out.push_back(Mag::parse(n));
  return out;
}

std::vector<Mag> down(const char* from, const char* coarsest, SamplingMode mode,
                      std::optional<Vec3d> voxel_size, std::vector<Mag> align = {}) {
  MagSequenceOptions options;
  options.mode = mode;
  options.voxel_size = voxel_size;
  options.align_with = std::move(align);
  return calculate_mags_to_downsample(Mag::parse(from), Mag::parse(coarsest), options);
}

std::vector<Mag> aniso(const char* from, const char* coarsest, Vec3d v, std::vector<Mag> align = {}) {
  return down(from, coarsest, SamplingMode::Anisotropic, v, std::move(align));
}

TEST(MagSequence, AnisotropicWorkedExamples) {
  EXPECT_EQ(aniso("1", "64", {11.24, 11.24, 25}),
            mags({"2-2-1", "4-4-2", "8-8-4", "16-16-8", "32-32-16", "64-64-32"}));
  EXPECT_EQ(aniso("1", "4", {11.24, 11.24, 25}), mags({"2-2-1", "4-4-2"}));
  EXPECT_EQ(aniso("1", "16-16-4", {10.5, 10.5, 24}), mags({"2-2-1", "4-4-2", "8-8-4", "16-16-4"}));
  EXPECT_EQ(aniso("1", "16", {10.5, 10.5, 35}), mags({"2-2-1", "4-4-1", "8-8-2", "16-16-4"}));
  EXPECT_EQ(aniso("1", "64", {5, 5, 40}),
            mags({"2-2-1", "4-4-1", "8-8-1", "16-16-2", "32-32-4", "64-64-8"}));
  EXPECT_EQ(aniso("1", "4", {85, 85, 346}), mags({"2-2-1", "4-4-1"}));
  EXPECT_EQ(aniso("1", "16", {2, 2, 1}), mags({"1-1-2", "2-2-4", "4-4-8", "8-8-16"}));
  // 4-4-2 at isotropic voxels: 4-4-4 has the same max_dim and is stepped over unrecorded.
  EXPECT_EQ(aniso("4-4-2", "16", {1, 1, 1}), mags({"8", "16"}));
}

TEST(MagSequence, AlignmentSetProvidesTheNextStep) {
  EXPECT_EQ(aniso("1", "16", {11.24, 11.24, 25}, mags({"1", "2-2-1", "4-4-4"})),
            mags({"2-2-1", "4", "8-8-4", "16-16-8"}));
  // Repeats of the same mag (several layers) are fine; different shapes per max_dim are not.
  EXPECT_EQ(aniso("1", "4", {11.24, 11.24, 25}, mags({"1", "1", "2-2-1", "2-2-1"})),
            mags({"2-2-1", "4-4-2"}));
  EXPECT_THROW(aniso("1", "16", {11.24, 11.24, 25}, mags({"2-2-1", "2-2-2"})), Error);
}

TEST(MagSequence, IsotropicAndConstantZ) {
  EXPECT_EQ(down("1", "16-16-8", SamplingMode::Isotropic, std::nullopt),
            mags({"2", "4", "8", "16-16-8"}));
  EXPECT_EQ(down("2-2-1", "8", SamplingMode::Isotropic, std::nullopt), mags({"4-4-2", "8-8-4"}));
  EXPECT_EQ(down("1", "16", SamplingMode::ConstantZ, std::nullopt),
            mags({"2-2-1", "4-4-1", "8-8-1", "16-16-1"}));
  // The voxel size is ignored outside anisotropic mode.
  EXPECT_EQ(down("1", "16", SamplingMode::ConstantZ, Vec3d{1, 1, 100}),
            mags({"2-2-1", "4-4-1", "8-8-1", "16-16-1"}));
}

TEST(MagSequence, UnreachableCoarsestMagsAreErrors) {
  const Vec3d v{10.5, 10.5, 24};
  for (auto [from, to] : {std::pair{"2", "16-16-2"}, {"1", "1-1-2"}, {"1", "4-4-16"}}) {
    try {
      aniso(from, to, v);
      ADD_FAILURE() << from << " -> " << to << " should fail";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("can not be reached"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(aniso("4", "2", v), Error);  // from finer than coarsest on every axis
  EXPECT_THROW(down("1", "4", SamplingMode::Anisotropic, std::nullopt), Error);  // no voxel size
}

TEST(MagSequence, DuplicateMaxDimsNeedForce) {
  // Isotropic 4-1-1 -> 4-1-8 records 4-1-2, 4-1-4 (both max_dim 4) and 4-1-8.
  MagSequenceOptions options;
  options.mode = SamplingMode::Isotropic;
  try {
    calculate_mags_to_downsample(Mag(4, 1, 1), Mag(4, 1, 8), options);
    ADD_FAILURE() << "duplicate max_dim accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("multiple magnifications with the same maximum value"),
              std::string::npos);
  }
  options.force_sampling_scheme = true;
  std::vector<std::string> warnings;
  EXPECT_EQ(calculate_mags_to_downsample(Mag(4, 1, 1), Mag(4, 1, 8), options, &warnings),
            mags({"4-1-2", "4-1-4", "4-1-8"}));
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(MagSequence, Upsampling) {
  MagSequenceOptions options;
  options.voxel_size = Vec3d{11.24, 11.24, 25};
  EXPECT_EQ(calculate_mags_to_upsample(Mag(4, 4, 2), Mag(1, 1, 1), options), mags({"2-2-1", "1"}));
  options.mode = SamplingMode::ConstantZ;
  EXPECT_EQ(calculate_mags_to_upsample(Mag(8, 8, 2), Mag(1, 1, 1), options),
            mags({"4-4-2", "2-2-2", "1-1-2"}));
}

TEST(MagSequence, DefaultCoarsestMag) {
  EXPECT_EQ(default_coarsest_mag({100, 100, 5}), Mag(4, 4, 4));
  EXPECT_EQ(default_coarsest_mag({401, 300, 5}), Mag(8, 8, 8));
  EXPECT_EQ(default_coarsest_mag({1000, 50, 5}), Mag(16, 16, 16));
  EXPECT_EQ(default_coarsest_mag({4600, 4600, 512}), Mag(64, 64, 64));
  EXPECT_EQ(default_coarsest_mag({65536, 65536, 1}), Mag(1024, 1024, 1024));
  EXPECT_EQ(default_coarsest_mag({24, 24, 24}), Mag(4, 4, 4));
  EXPECT_EQ(default_coarsest_mag({800, 10, 1}), Mag(8, 8, 8));
}

TEST(MagSequence, SamplingModeParsingAndDepthOneRule) {
  EXPECT_EQ(parse_sampling_mode("anisotropic"), SamplingMode::Anisotropic);
  EXPECT_EQ(parse_sampling_mode("auto"), SamplingMode::Anisotropic);
  EXPECT_EQ(parse_sampling_mode("ISOTROPIC"), SamplingMode::Isotropic);
  EXPECT_EQ(parse_sampling_mode("constant_z"), SamplingMode::ConstantZ);
  EXPECT_THROW(parse_sampling_mode("diagonal"), Error);
  EXPECT_EQ(effective_sampling_mode(SamplingMode::Anisotropic, 1), SamplingMode::ConstantZ);
  EXPECT_EQ(effective_sampling_mode(SamplingMode::Isotropic, 1), SamplingMode::ConstantZ);
  EXPECT_EQ(effective_sampling_mode(SamplingMode::Isotropic, 2), SamplingMode::Isotropic);
}

TEST(InterpolationMode, Parsing) {
  EXPECT_EQ(parse_interpolation_mode("default", true), InterpolationMode::Mode);
  EXPECT_EQ(parse_interpolation_mode("DEFAULT", false), InterpolationMode::Median);
  EXPECT_EQ(parse_interpolation_mode("Median", true), InterpolationMode::Median);
  EXPECT_EQ(parse_interpolation_mode("mode", false), InterpolationMode::Mode);
  EXPECT_EQ(parse_interpolation_mode("nearest", false), InterpolationMode::Nearest);
  EXPECT_EQ(parse_interpolation_mode("bilinear", false), InterpolationMode::Bilinear);
  EXPECT_EQ(parse_interpolation_mode("BICUBIC", false), InterpolationMode::Bicubic);
  EXPECT_EQ(parse_interpolation_mode("max", false), InterpolationMode::Max);
  EXPECT_EQ(parse_interpolation_mode("min", false), InterpolationMode::Min);
  EXPECT_THROW(parse_interpolation_mode("average", false), Error);
  EXPECT_THROW(parse_interpolation_mode("", true), Error);
  for (auto m : {InterpolationMode::Median, InterpolationMode::Mode, InterpolationMode::Nearest,
                 InterpolationMode::Bilinear, InterpolationMode::Bicubic, InterpolationMode::Max,
                 InterpolationMode::Min})
    EXPECT_EQ(parse_interpolation_mode(interpolation_mode_name(m), false), m);
}

}  // namespace
}  // namespace wkfs
