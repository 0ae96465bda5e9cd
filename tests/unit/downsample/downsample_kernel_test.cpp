// DownsampleKernel and upsample against a brute-force reference written from the notes
// (section 5.2), the worked examples, and scipy-generated golden values for the spline modes.
#include "downsample/downsample_kernel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "downsample/dtype_dispatch.hpp"

namespace wkfs {
namespace {

// ---- reference: straight from the notes ----------------------------------------------------

template <typename T>
bool nan_value(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  return false;
}

template <typename T>
T ref_median(std::vector<T> b) {
  for (T v : b)
    if (nan_value(v)) return v;
  std::sort(b.begin(), b.end());
  const size_t n = b.size();
  if (n % 2 == 1) return b[n / 2];
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>((b[n / 2 - 1] + b[n / 2]) / T(2));
  } else {
    const double m = (static_cast<double>(b[n / 2 - 1]) + static_cast<double>(b[n / 2])) / 2.0;
    if (m >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(std::trunc(m));
  }
}

template <typename T>
T ref_mode(const std::vector<T>& b) {
  std::map<T, std::pair<int64_t, int64_t>> counts;  // value -> (count, first index)
  int64_t best_count = 0, best_first = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (nan_value(b[i])) {
      if (best_count < 1) best_count = 1, best_first = static_cast<int64_t>(i);
      continue;
    }
    auto it = counts.try_emplace(b[i], 0, static_cast<int64_t>(i)).first;
    it->second.first++;
  }
  for (const auto& [value, cf] : counts)
    if (cf.first > best_count || (cf.first == best_count && cf.second < best_first))
      best_count = cf.first, best_first = cf.second;
  return b[static_cast<size_t>(best_first)];
}

template <typename T>
T ref_extreme(const std::vector<T>& b, bool is_max) {
  for (T v : b)
    if (nan_value(v)) return v;
  return is_max ? *std::max_element(b.begin(), b.end()) : *std::min_element(b.begin(), b.end());
}

// Block list in the library's element order: dz slowest, then dx, then dy fastest.
template <typename T>
std::vector<T> reference_reduce(InterpolationMode mode, const VoxelShape& s, Vec3 f,
                                const std::vector<T>& src) {
  const Vec3 t{s.xyz.x / f.x, s.xyz.y / f.y, s.xyz.z / f.z};
  std::vector<T> out;
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t x = 0; x < t.x; ++x)
      for (int64_t y = 0; y < t.y; ++y)
        for (int64_t z = 0; z < t.z; ++z) {
          std::vector<T> block;
          for (int64_t dz = 0; dz < f.z; ++dz)
            for (int64_t dx = 0; dx < f.x; ++dx)
              for (int64_t dy = 0; dy < f.y; ++dy) {
                const int64_t sx = x * f.x + dx, sy = y * f.y + dy, sz = z * f.z + dz;
                block.push_back(
                    src[static_cast<size_t>(((c * s.xyz.x + sx) * s.xyz.y + sy) * s.xyz.z + sz)]);
              }
          switch (mode) {
            case InterpolationMode::Median: out.push_back(ref_median(block)); break;
            case InterpolationMode::Mode: out.push_back(ref_mode(block)); break;
            case InterpolationMode::Max: out.push_back(ref_extreme(block, true)); break;
            default: out.push_back(ref_extreme(block, false)); break;
          }
        }
  return out;
}

// ---- data generators ---------------------------------------------------------------------

enum class Pattern { Noise, Blocky, Ties, NaNs, Regions };

template <typename T>
std::vector<T> make_data(const VoxelShape& s, Pattern p, uint32_t seed) {
  std::mt19937_64 rng(seed);
  const size_t n = static_cast<size_t>(s.voxels());
  std::vector<T> v(n);
  auto random_value = [&]() -> T {
    if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(std::uniform_real_distribution<double>(-1000, 1000)(rng));
    } else {
      const uint64_t bits = rng();
      T out;
      std::memcpy(&out, &bits, sizeof(T));  // full range, negative values included
      return out;
    }
  };
  switch (p) {
    case Pattern::Noise:
      for (auto& x : v) x = random_value();
      break;
    case Pattern::Ties:  // few distinct values: many ties, negative ones for signed types
      for (auto& x : v)
        x = static_cast<T>(static_cast<int>(rng() % 3) - (std::is_signed_v<T> ? 1 : 0));
      break;
    case Pattern::NaNs:
      for (auto& x : v) {
        x = static_cast<T>(static_cast<int>(rng() % 4));
        if constexpr (std::is_floating_point_v<T>)
          if (rng() % 5 == 0) x = std::numeric_limits<T>::quiet_NaN();
      }
      break;
    case Pattern::Regions: {
      // Large uniform regions (background-like), so that whole strips of blocks are uniform, with
      // rare stray voxels.
      const T a = random_value(), b = random_value();
      for (size_t i = 0; i < n; ++i) {
        const int64_t z = static_cast<int64_t>(i) % s.xyz.z;
        v[i] = z < 40 ? a : b;
        if (rng() % 400 == 0) v[i] = random_value();
      }
      break;
    }
    case Pattern::Blocky: {
      // Segmentation-like: labels constant over boxes, a few stray voxels.
      const Vec3 e = s.xyz;
      std::vector<T> labels(8);
      for (auto& l : labels) l = random_value();
      for (int64_t c = 0; c < s.channels; ++c)
        for (int64_t x = 0; x < e.x; ++x)
          for (int64_t y = 0; y < e.y; ++y)
            for (int64_t z = 0; z < e.z; ++z) {
              const size_t i = static_cast<size_t>(((c * e.x + x) * e.y + y) * e.z + z);
              v[i] = labels[static_cast<size_t>((x / 3 + y / 5 + z / 7 + c) % 8)];
              if (rng() % 50 == 0) v[i] = labels[rng() % 8];
            }
      break;
    }
  }
  return v;
}

template <typename T>
ByteSpan bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(T)};
}
template <typename T>
MutableByteSpan bytes_of(std::vector<T>& v) {
  return {reinterpret_cast<std::byte*>(v.data()), v.size() * sizeof(T)};
}

// Byte equality (so NaN == NaN when the bits agree), with the first mismatch in the message.
template <typename T>
::testing::AssertionResult same_bytes(const std::vector<T>& want, const std::vector<T>& got) {
  if (want.size() != got.size()) return ::testing::AssertionFailure() << "size differs";
  for (size_t i = 0; i < want.size(); ++i)
    if (std::memcmp(&want[i], &got[i], sizeof(T)) != 0)
      return ::testing::AssertionFailure()
             << "element " << i << ": want " << +want[i] << ", got " << +got[i];
  return ::testing::AssertionSuccess();
}

const DType kAllTypes[] = {DType::UInt8, DType::UInt16, DType::UInt32,  DType::UInt64,
                           DType::Int8,  DType::Int16,  DType::Int32,   DType::Int64,
                           DType::Float32, DType::Float64};

template <typename T>
void check_against_reference(InterpolationMode mode, DType dtype, Vec3 f, int64_t channels,
                             Pattern p, uint32_t seed) {
  // z extent of 37 blocks: the 32-wide strips of the fast paths and their tails both run.
  const VoxelShape s{channels, {f.x * 3, f.y * 4, f.z * 37}};
  const auto src = make_data<T>(s, p, seed);
  const DownsampleKernel kernel(mode, dtype, f);
  const VoxelShape t = kernel.target_shape(s);
  std::vector<T> fast(static_cast<size_t>(t.voxels())), generic(fast.size());
  kernel.reduce(s, bytes_of(src), bytes_of(fast));
  kernel.reduce_generic(s, bytes_of(src), bytes_of(generic));
  const auto want = reference_reduce(mode, s, f, src);
  EXPECT_TRUE(same_bytes(want, fast)) << interpolation_mode_name(mode) << " " << dtype_name(dtype)
                                      << " f=" << f.to_string() << " c=" << channels
                                      << " pattern=" << static_cast<int>(p) << " (fast path)";
  EXPECT_TRUE(same_bytes(want, generic)) << interpolation_mode_name(mode) << " "
                                         << dtype_name(dtype) << " f=" << f.to_string()
                                         << " c=" << channels << " pattern=" << static_cast<int>(p)
                                         << " (generic path)";
}

TEST(DownsampleKernel, EveryReductionDtypeFactorAndPatternMatchesReference) {
  const InterpolationMode modes[] = {InterpolationMode::Median, InterpolationMode::Mode,
                                     InterpolationMode::Max, InterpolationMode::Min};
  // Every pyramid step {1,2}^3 (each has a fast path) plus larger ones on the generic path.
  const Vec3 factors[] = {{2, 2, 2}, {2, 2, 1}, {1, 2, 2}, {2, 1, 2}, {1, 1, 2}, {1, 2, 1},
                          {2, 1, 1}, {1, 1, 1}, {4, 4, 1}, {8, 8, 4}};
  const Pattern patterns[] = {Pattern::Noise, Pattern::Blocky, Pattern::Ties, Pattern::NaNs,
                              Pattern::Regions};
  uint32_t seed = 1;
  for (DType dtype : kAllTypes)
    with_dtype(dtype, [&](auto zero) {
      using T = decltype(zero);
      for (InterpolationMode mode : modes)
        for (const Vec3& f : factors)
          for (int64_t channels : {1, 3})
            for (Pattern p : patterns) {
              if (f.prod() > 64 && channels == 3) continue;  // keeps the run short
              check_against_reference<T>(mode, dtype, f, channels, p, seed++);
            }
    });
}

TEST(DownsampleKernel, ModeCountsBeyond255ElementsCorrectly) {
  // 8x8x8 = 512 elements: value 7 occurs 300 times (a uint8 counter would wrap to 44), value 1
  // occurs 212 times and comes first. Correct counting says 7.
  const VoxelShape s{1, {8, 8, 8}};
  std::vector<uint32_t> src(512, 1);
  for (size_t i = 0; i < 300; ++i) src[511 - i] = 7;
  const DownsampleKernel kernel(InterpolationMode::Mode, DType::UInt32, {8, 8, 8});
  std::vector<uint32_t> out(1);
  kernel.reduce(s, bytes_of(src), bytes_of(out));
  EXPECT_EQ(out[0], 7u);
  for (Pattern p : {Pattern::Noise, Pattern::Blocky, Pattern::Ties, Pattern::NaNs}) {
    check_against_reference<uint16_t>(InterpolationMode::Mode, DType::UInt16, {8, 8, 8}, 1, p, 99);
    check_against_reference<float>(InterpolationMode::Mode, DType::Float32, {8, 8, 8}, 1, p, 98);
  }
}

// One 2x2x2 block from values listed in element order, idx = dy + 2(dx + 2dz).
template <typename T>
T reduce_one_block(InterpolationMode mode, DType dtype, const std::vector<T>& element_order) {
  std::vector<T> src(8);
  for (int dz = 0; dz < 2; ++dz)
    for (int dx = 0; dx < 2; ++dx)
      for (int dy = 0; dy < 2; ++dy)
        src[static_cast<size_t>(dx * 4 + dy * 2 + dz)] =
            element_order[static_cast<size_t>(dy + 2 * (dx + 2 * dz))];
  std::vector<T> out(1), generic(1);
  const DownsampleKernel kernel(mode, dtype, {2, 2, 2});
  kernel.reduce({1, {2, 2, 2}}, bytes_of(src), bytes_of(out));
  kernel.reduce_generic({1, {2, 2, 2}}, bytes_of(src), bytes_of(generic));
  EXPECT_EQ(std::memcmp(&out[0], &generic[0], sizeof(T)), 0);
  return out[0];
}

TEST(DownsampleKernel, WorkedExamplesOfTheNotes) {
  const std::vector<uint8_t> a{3, 9, 1, 7, 5, 5, 8, 2};
  EXPECT_EQ(reduce_one_block(InterpolationMode::Median, DType::UInt8, a), 5);
  EXPECT_EQ(reduce_one_block(InterpolationMode::Mode, DType::UInt8, a), 5);
  EXPECT_EQ(reduce_one_block(InterpolationMode::Max, DType::UInt8, a), 9);
  EXPECT_EQ(reduce_one_block(InterpolationMode::Min, DType::UInt8, a), 1);
  const std::vector<uint8_t> b{7, 0, 0, 7, 1, 1, 2, 3};
  EXPECT_EQ(reduce_one_block(InterpolationMode::Mode, DType::UInt8, b), 7);
  EXPECT_EQ(reduce_one_block(InterpolationMode::Median, DType::UInt8, b), 1);
  // Even-count medians truncate toward zero: (4,5)->4, (-1,0)->0, (-3,-2)->-2, uint8 (1,2)->1.
  EXPECT_EQ(reduce_one_block<int32_t>(InterpolationMode::Median, DType::Int32, {0, 0, 0, 4, 5, 9, 9, 9}), 4);
  EXPECT_EQ(reduce_one_block<int8_t>(InterpolationMode::Median, DType::Int8, {-5, -5, -5, -1, 0, 3, 3, 3}), 0);
  EXPECT_EQ(reduce_one_block<int64_t>(InterpolationMode::Median, DType::Int64, {-9, -9, -9, -3, -2, 3, 3, 3}), -2);
  EXPECT_EQ(reduce_one_block<uint8_t>(InterpolationMode::Median, DType::UInt8, {0, 0, 0, 1, 2, 9, 9, 9}), 1);
  EXPECT_EQ(reduce_one_block<float>(InterpolationMode::Median, DType::Float32, {0, 0, 0, 1, 2, 9, 9, 9}), 1.5f);
  // All distinct: mode is the first element (block voxel 0,0,0).
  EXPECT_EQ(reduce_one_block<uint32_t>(InterpolationMode::Mode, DType::UInt32, {8, 1, 2, 3, 4, 5, 6, 7}), 8u);
  // NaN never equals NaN: four NaNs do not beat two 3s; all-distinct with NaN first gives NaN.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(reduce_one_block<float>(InterpolationMode::Mode, DType::Float32, {nan, nan, 3, nan, 3, nan, 1, 2}), 3.0f);
  EXPECT_TRUE(std::isnan(reduce_one_block<float>(InterpolationMode::Mode, DType::Float32, {nan, nan, 3, nan, 4, nan, 1, 2})));
  EXPECT_TRUE(std::isnan(reduce_one_block<double>(InterpolationMode::Median, DType::Float64, {1, 1, 1, 1, 1, 1, 1, std::nan("")})));
  EXPECT_TRUE(std::isnan(reduce_one_block<double>(InterpolationMode::Max, DType::Float64, {1, 1, 1, 1, 1, 1, 1, std::nan("")})));
}

TEST(DownsampleKernel, LibraryUnitTestExamples) {
  // test_downsampling.py: mode of [1,5,3]->1, [3,2,3]->3, [2,4,1]->2 (a 1x3x1 block lists its
  // values along y).
  const DownsampleKernel kernel(InterpolationMode::Mode, DType::UInt8, {1, 3, 1});
  const std::vector<std::vector<uint8_t>> rows{{1, 5, 3}, {3, 2, 3}, {2, 4, 1}};
  const uint8_t want[] = {1, 3, 2};
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<uint8_t> out(1);
    kernel.reduce({1, {1, 3, 1}}, bytes_of(rows[i]), bytes_of(out));
    EXPECT_EQ(out[0], want[i]);
  }
  // arange along z, mode 2x2x2: every block ties z=2k against 2k+1; the first wins -> even values.
  const VoxelShape s{1, {4, 4, 16}};
  std::vector<uint16_t> src(static_cast<size_t>(s.voxels()));
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i % 16);
  std::vector<uint16_t> out(2 * 2 * 8);
  DownsampleKernel(InterpolationMode::Mode, DType::UInt16, {2, 2, 2})
      .reduce(s, bytes_of(src), bytes_of(out));
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], 2 * (i % 8)) << i;
}

TEST(DownsampleKernel, EdgeBlocksAreReducedWithTheZeroPadding) {
  // A 5x3x3 volume of 9s padded with zeros to 6x4x4, as the library reads past the bbox.
  const Vec3 data{5, 3, 3}, padded{6, 4, 4};
  std::vector<uint8_t> src(static_cast<size_t>(padded.prod()), 0);
  for (int64_t x = 0; x < data.x; ++x)
    for (int64_t y = 0; y < data.y; ++y)
      for (int64_t z = 0; z < data.z; ++z)
        src[static_cast<size_t>((x * padded.y + y) * padded.z + z)] = 9;
  std::vector<uint8_t> median(3 * 2 * 2), mode(median.size()), maxv(median.size());
  DownsampleKernel(InterpolationMode::Median, DType::UInt8, {2, 2, 2})
      .reduce({1, padded}, bytes_of(src), bytes_of(median));
  DownsampleKernel(InterpolationMode::Mode, DType::UInt8, {2, 2, 2})
      .reduce({1, padded}, bytes_of(src), bytes_of(mode));
  DownsampleKernel(InterpolationMode::Max, DType::UInt8, {2, 2, 2})
      .reduce({1, padded}, bytes_of(src), bytes_of(maxv));
  EXPECT_EQ(median[0], 9);  // interior block: all 9
  EXPECT_EQ(mode[0], 9);
  // Block (0,1,1) covers y 2..3, z 2..3: 9 only at y=2, z=2 (both x): two 9s, six zeros.
  const size_t b011 = (0 * 2 + 1) * 2 + 1, b211 = (2 * 2 + 1) * 2 + 1, b200 = 2 * 2 * 2;
  EXPECT_EQ(median[b011], 0);
  EXPECT_EQ(mode[b011], 0);
  EXPECT_EQ(maxv[b011], 9);
  // Block (2,1,1): x 4..5: a single 9 at (4,2,2).
  EXPECT_EQ(maxv[b211], 9);
  EXPECT_EQ(mode[b211], 0);
  // Block (2,0,0): four 9s at x=4, four zeros at x=5: median (0+9)/2 -> 4, mode ties 4:4 and
  // the 9 at element 0 comes first.
  EXPECT_EQ(median[b200], 4);
  EXPECT_EQ(mode[b200], 9);
}

TEST(DownsampleKernel, RejectsBadShapesAndBuffers) {
  EXPECT_THROW(DownsampleKernel(InterpolationMode::Median, DType::UInt8, {0, 2, 2}), Error);
  const DownsampleKernel kernel(InterpolationMode::Median, DType::UInt16, {2, 2, 2});
  EXPECT_THROW(kernel.target_shape({1, {3, 4, 4}}), Error);
  std::vector<uint16_t> src(64), dst(8), small(7);
  EXPECT_NO_THROW(kernel.reduce({1, {4, 4, 4}}, bytes_of(src), bytes_of(dst)));
  EXPECT_THROW(kernel.reduce({1, {4, 4, 4}}, bytes_of(src), bytes_of(small)), Error);
  EXPECT_THROW(kernel.reduce({2, {4, 4, 4}}, bytes_of(src), bytes_of(dst)), Error);
}

TEST(DownsampleKernel, MisalignedBuffersGiveTheSameBytes) {
  const VoxelShape s{1, {4, 4, 70}};
  const auto src = make_data<uint32_t>(s, Pattern::Blocky, 5);
  const DownsampleKernel kernel(InterpolationMode::Mode, DType::UInt32, {2, 2, 2});
  std::vector<uint32_t> want(2 * 2 * 35);
  kernel.reduce(s, bytes_of(src), bytes_of(want));
  std::vector<std::byte> in(src.size() * 4 + 1), out(want.size() * 4 + 1);
  std::memcpy(in.data() + 1, src.data(), src.size() * 4);
  kernel.reduce(s, ByteSpan(in).subspan(1), MutableByteSpan(out).subspan(1));
  EXPECT_EQ(std::memcmp(out.data() + 1, want.data(), want.size() * 4), 0);
}

// ---- upsampling -------------------------------------------------------------------------

TEST(Upsample, EveryVoxelOfTheBlockIsFilled) {
  for (const Vec3& f : {Vec3{2, 2, 2}, Vec3{3, 1, 4}, Vec3{1, 1, 1}, Vec3{4, 4, 1}}) {
    const VoxelShape s{2, {3, 2, 5}};
    const auto src = make_data<int16_t>(s, Pattern::Noise, 11);
    const Vec3 t = s.xyz * f;
    std::vector<int16_t> dst(static_cast<size_t>(2 * t.prod()));
    upsample(DType::Int16, f, s, bytes_of(src), bytes_of(dst));
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t x = 0; x < t.x; ++x)
        for (int64_t y = 0; y < t.y; ++y)
          for (int64_t z = 0; z < t.z; ++z)
            ASSERT_EQ(dst[static_cast<size_t>(((c * t.x + x) * t.y + y) * t.z + z)],
                      src[static_cast<size_t>(((c * s.xyz.x + x / f.x) * s.xyz.y + y / f.y) *
                                                  s.xyz.z + z / f.z)])
                << f.to_string() << " at " << c << "," << x << "," << y << "," << z;
  }
  std::vector<int16_t> src(8), dst(10);
  EXPECT_THROW(upsample(DType::Int16, {2, 2, 2}, {1, {2, 2, 2}}, bytes_of(src), bytes_of(dst)),
               Error);
}

// ---- spline modes --------------------------------------------------------------------------

TEST(SplineZoom, NearestPicksScipysIndicesFor1024To512) {
  // zoom maps o to o·1023/511: 0,2,…,510 for o < 256, then 513,515,…,1023.
  const VoxelShape s{1, {1, 1024, 1}};
  std::vector<uint16_t> src(1024);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i);
  std::vector<uint16_t> out(512);
  DownsampleKernel(InterpolationMode::Nearest, DType::UInt16, {1, 2, 1})
      .reduce(s, bytes_of(src), bytes_of(out));
  for (size_t o = 0; o < 512; ++o) ASSERT_EQ(out[o], o < 256 ? 2 * o : 2 * o + 1) << o;
}

struct SplineCase {
  DType dtype;
  int order;
  Vec3 shape;
  Vec3 factor;
  std::vector<double> want;
};

// Produced by scipy 1.10.1: zoom(d, 1/f, output=d.dtype, order=order, mode="nearest",
// prefilter=True) for d[x,y,z] = (37x + 11y + 5z + ((x·y·z) mod 7)·13) mod 256 (int16: minus
// 128), and for float64 d = ((131x + 71y + 29z) mod 1000) / 8.
const SplineCase kSplineCases[] = {
  {DType::UInt8, 0, {8, 6, 4}, {2, 2, 2}, {0, 15, 33, 48, 55, 70, 74, 89, 107, 174, 129, 170, 185, 200, 218, 16, 240, 64, 3, 18, 36, 51, 58, 73}},
  {DType::UInt8, 1, {8, 6, 4}, {2, 2, 2}, {0, 15, 28, 43, 55, 70, 86, 101, 114, 190, 141, 187, 173, 188, 200, 160, 228, 47, 3, 18, 31, 46, 58, 73}},
  {DType::UInt8, 2, {8, 6, 4}, {2, 2, 2}, {0, 15, 28, 43, 55, 70, 86, 101, 114, 191, 142, 199, 168, 183, 193, 168, 254, 33, 3, 18, 30, 45, 58, 73}},
  {DType::UInt8, 0, {8, 6, 4}, {2, 2, 1}, {0, 5, 10, 15, 33, 38, 43, 48, 55, 60, 65, 70, 74, 79, 84, 89, 107, 190, 182, 174, 129, 173, 217, 170, 185, 190, 195, 200, 218, 236, 254, 16, 240, 41, 7, 64, 3, 8, 13, 18, 36, 41, 46, 51, 58, 63, 68, 73}},
  {DType::UInt8, 1, {8, 6, 4}, {2, 2, 1}, {0, 5, 10, 15, 28, 33, 38, 43, 55, 60, 65, 70, 86, 91, 96, 101, 114, 180, 169, 190, 141, 177, 212, 187, 173, 178, 183, 188, 200, 236, 170, 160, 228, 37, 12, 47, 3, 8, 13, 18, 31, 36, 41, 46, 58, 63, 68, 73}},
  {DType::UInt8, 2, {8, 6, 4}, {2, 2, 1}, {0, 5, 10, 15, 28, 33, 38, 43, 55, 60, 65, 70, 86, 91, 96, 101, 114, 190, 164, 191, 142, 183, 228, 199, 168, 173, 178, 183, 193, 255, 178, 168, 254, 29, 0, 33, 3, 8, 13, 18, 30, 36, 41, 45, 58, 63, 68, 73}},
  {DType::UInt8, 0, {4, 8, 16}, {1, 2, 4}, {0, 25, 50, 75, 22, 47, 72, 97, 55, 80, 105, 130, 77, 102, 127, 152, 37, 62, 87, 112, 59, 123, 187, 160, 92, 169, 155, 232, 114, 139, 164, 189, 74, 99, 124, 149, 96, 199, 211, 223, 129, 167, 205, 243, 151, 176, 201, 226, 111, 136, 161, 186, 133, 184, 235, 30, 166, 0, 255, 254, 188, 213, 238, 7}},
  {DType::UInt8, 1, {4, 8, 16}, {1, 2, 4}, {0, 25, 50, 75, 26, 51, 76, 101, 51, 76, 101, 126, 77, 102, 127, 152, 37, 62, 87, 112, 63, 118, 173, 168, 88, 174, 169, 224, 114, 139, 164, 189, 74, 99, 124, 149, 100, 185, 210, 150, 125, 181, 206, 231, 151, 176, 201, 226, 111, 136, 161, 186, 137, 192, 162, 102, 162, 77, 243, 182, 188, 213, 238, 7}},
  {DType::UInt8, 2, {4, 8, 16}, {1, 2, 4}, {0, 25, 50, 75, 26, 51, 76, 101, 51, 76, 101, 126, 77, 102, 127, 152, 37, 62, 87, 112, 63, 112, 177, 168, 88, 178, 164, 253, 114, 139, 164, 189, 74, 99, 124, 149, 100, 189, 209, 154, 125, 176, 206, 255, 151, 176, 201, 226, 111, 136, 161, 186, 137, 190, 166, 82, 162, 69, 255, 200, 188, 213, 238, 7}},
  {DType::Int16, 0, {8, 6, 4}, {2, 2, 2}, {-128, -113, -95, -80, -73, -58, -54, -39, -21, 46, 1, 42, 57, 72, 90, -112, 112, -64, -125, -110, -92, -77, -70, -55}},
  {DType::Int16, 1, {8, 6, 4}, {2, 2, 2}, {-128, -113, -101, -86, -73, -58, -42, -27, -14, 62, 13, 59, 45, 60, 72, 32, 100, -81, -125, -110, -98, -83, -70, -55}},
  {DType::Int16, 2, {8, 6, 4}, {2, 2, 2}, {-128, -113, -101, -85, -73, -58, -42, -27, -14, 63, 14, 71, 40, 55, 65, 40, 126, -95, -125, -110, -98, -83, -70, -55}},
  {DType::Int16, 0, {8, 6, 4}, {2, 2, 1}, {-128, -123, -118, -113, -95, -90, -85, -80, -73, -68, -63, -58, -54, -49, -44, -39, -21, 62, 54, 46, 1, 45, 89, 42, 57, 62, 67, 72, 90, 108, 126, -112, 112, -87, -121, -64, -125, -120, -115, -110, -92, -87, -82, -77, -70, -65, -60, -55}},
  {DType::Int16, 1, {8, 6, 4}, {2, 2, 1}, {-128, -123, -118, -113, -101, -96, -91, -86, -73, -68, -63, -58, -42, -37, -32, -27, -14, 52, 41, 62, 13, 49, 84, 59, 45, 50, 55, 60, 72, 108, 42, 32, 100, -91, -116, -81, -125, -120, -115, -110, -98, -93, -88, -83, -70, -65, -60, -55}},
  {DType::Int16, 2, {8, 6, 4}, {2, 2, 1}, {-128, -123, -118, -113, -101, -95, -91, -85, -73, -68, -63, -58, -42, -37, -32, -27, -14, 62, 36, 63, 14, 55, 100, 71, 40, 45, 50, 55, 65, 159, 50, 40, 126, -99, -133, -95, -125, -120, -115, -110, -98, -93, -87, -83, -70, -65, -60, -55}},
  {DType::Int16, 0, {4, 8, 16}, {1, 2, 4}, {-128, -103, -78, -53, -106, -81, -56, -31, -73, -48, -23, 2, -51, -26, -1, 24, -91, -66, -41, -16, -69, -5, 59, 32, -36, 41, 27, 104, -14, 11, 36, 61, -54, -29, -4, 21, -32, 71, 83, 95, 1, 39, 77, 115, 23, 48, 73, 98, -17, 8, 33, 58, 5, 56, 107, -98, 38, -128, 127, 126, 60, 85, 110, -121}},
  {DType::Int16, 1, {4, 8, 16}, {1, 2, 4}, {-128, -103, -78, -53, -102, -77, -52, -27, -77, -52, -27, -2, -51, -26, -1, 24, -91, -66, -41, -16, -65, -10, 45, 40, -40, 46, 41, 96, -14, 11, 36, 61, -54, -29, -4, 21, -28, 57, 82, 22, -3, 53, 78, 103, 23, 48, 73, 98, -17, 8, 33, 58, 9, 64, 34, -26, 34, -51, 115, 54, 60, 85, 110, -121}},
  {DType::Int16, 2, {4, 8, 16}, {1, 2, 4}, {-128, -103, -78, -53, -102, -77, -52, -27, -77, -52, -27, -2, -51, -26, -1, 24, -91, -66, -41, -16, -65, -16, 49, 40, -40, 50, 36, 125, -14, 11, 36, 61, -54, -29, -4, 21, -28, 61, 81, 26, -3, 48, 78, 142, 23, 48, 73, 98, -17, 8, 33, 58, 9, 62, 38, -46, 34, -59, 154, 72, 60, 85, 110, -121}},
  {DType::Float32, 0, {8, 6, 4}, {2, 2, 2}, {0x0.0p+0, 0x1.e000000000000p+3, 0x1.0800000000000p+5, 0x1.8000000000000p+5, 0x1.b800000000000p+5, 0x1.1800000000000p+6, 0x1.2800000000000p+6, 0x1.6400000000000p+6, 0x1.ac00000000000p+6, 0x1.5c00000000000p+7, 0x1.0200000000000p+7, 0x1.5400000000000p+7, 0x1.7200000000000p+7, 0x1.9000000000000p+7, 0x1.b400000000000p+7, 0x1.0000000000000p+4, 0x1.e000000000000p+7, 0x1.0000000000000p+6, 0x1.8000000000000p+1, 0x1.2000000000000p+4, 0x1.2000000000000p+5, 0x1.9800000000000p+5, 0x1.d000000000000p+5, 0x1.2400000000000p+6}},
  {DType::Float32, 1, {8, 6, 4}, {2, 2, 2}, {0x0.0p+0, 0x1.e000000000000p+3, 0x1.b800000000000p+4, 0x1.5400000000000p+5, 0x1.b800000000000p+5, 0x1.1800000000000p+6, 0x1.5955560000000p+6, 0x1.9555560000000p+6, 0x1.c755560000000p+6, 0x1.7b00000000000p+7, 0x1.1aaaaa0000000p+7, 0x1.7555560000000p+7, 0x1.5955560000000p+7, 0x1.7755560000000p+7, 0x1.9055560000000p+7, 0x1.4055560000000p+7, 0x1.c755560000000p+7, 0x1.7aaaaa0000000p+5, 0x1.8000000000000p+1, 0x1.2000000000000p+4, 0x1.e800000000000p+4, 0x1.6c00000000000p+5, 0x1.d000000000000p+5, 0x1.2400000000000p+6}},
  {DType::Float32, 2, {8, 6, 4}, {2, 2, 2}, {-0x1.6000000000000p-51, 0x1.e000000000000p+3, 0x1.b800000000000p+4, 0x1.5400000000000p+5, 0x1.b800000000000p+5, 0x1.1800000000000p+6, 0x1.58b3300000000p+6, 0x1.94b3300000000p+6, 0x1.c68cf60000000p+6, 0x1.7dbc780000000p+7, 0x1.1b386e0000000p+7, 0x1.8e45680000000p+7, 0x1.5074a40000000p+7, 0x1.6e74a40000000p+7, 0x1.8224f40000000p+7, 0x1.4fde820000000p+7, 0x1.fc5e540000000p+7, 0x1.09d79a0000000p+5, 0x1.8000000000000p+1, 0x1.2000000000000p+4, 0x1.e800000000000p+4, 0x1.6c00000000000p+5, 0x1.d000000000000p+5, 0x1.2400000000000p+6}},
  {DType::Float32, 0, {8, 6, 4}, {2, 2, 1}, {0x0.0p+0, 0x1.4000000000000p+2, 0x1.4000000000000p+3, 0x1.e000000000000p+3, 0x1.0800000000000p+5, 0x1.3000000000000p+5, 0x1.5800000000000p+5, 0x1.8000000000000p+5, 0x1.b800000000000p+5, 0x1.e000000000000p+5, 0x1.0400000000000p+6, 0x1.1800000000000p+6, 0x1.2800000000000p+6, 0x1.3c00000000000p+6, 0x1.5000000000000p+6, 0x1.6400000000000p+6, 0x1.ac00000000000p+6, 0x1.7c00000000000p+7, 0x1.6c00000000000p+7, 0x1.5c00000000000p+7, 0x1.0200000000000p+7, 0x1.5a00000000000p+7, 0x1.b200000000000p+7, 0x1.5400000000000p+7, 0x1.7200000000000p+7, 0x1.7c00000000000p+7, 0x1.8600000000000p+7, 0x1.9000000000000p+7, 0x1.b400000000000p+7, 0x1.d800000000000p+7, 0x1.fc00000000000p+7, 0x1.0000000000000p+4, 0x1.e000000000000p+7, 0x1.4800000000000p+5, 0x1.c000000000000p+2, 0x1.0000000000000p+6, 0x1.8000000000000p+1, 0x1.0000000000000p+3, 0x1.a000000000000p+3, 0x1.2000000000000p+4, 0x1.2000000000000p+5, 0x1.4800000000000p+5, 0x1.7000000000000p+5, 0x1.9800000000000p+5, 0x1.d000000000000p+5, 0x1.f800000000000p+5, 0x1.1000000000000p+6, 0x1.2400000000000p+6}},
  {DType::Float32, 1, {8, 6, 4}, {2, 2, 1}, {0x0.0p+0, 0x1.4000000000000p+2, 0x1.4000000000000p+3, 0x1.e000000000000p+3, 0x1.b800000000000p+4, 0x1.0400000000000p+5, 0x1.2c00000000000p+5, 0x1.5400000000000p+5, 0x1.b800000000000p+5, 0x1.e000000000000p+5, 0x1.0400000000000p+6, 0x1.1800000000000p+6, 0x1.5955560000000p+6, 0x1.6d55560000000p+6, 0x1.8155560000000p+6, 0x1.9555560000000p+6, 0x1.c755560000000p+6, 0x1.6700000000000p+7, 0x1.52aaaa0000000p+7, 0x1.7b00000000000p+7, 0x1.1aaaaa0000000p+7, 0x1.6155560000000p+7, 0x1.a800000000000p+7, 0x1.7555560000000p+7, 0x1.5955560000000p+7, 0x1.6355560000000p+7, 0x1.6d55560000000p+7, 0x1.7755560000000p+7, 0x1.9055560000000p+7, 0x1.d700000000000p+7, 0x1.54aaaa0000000p+7, 0x1.4055560000000p+7, 0x1.c755560000000p+7, 0x1.2aaaaa0000000p+5, 0x1.8000000000000p+3, 0x1.7aaaaa0000000p+5, 0x1.8000000000000p+1, 0x1.0000000000000p+3, 0x1.a000000000000p+3, 0x1.2000000000000p+4, 0x1.e800000000000p+4, 0x1.1c00000000000p+5, 0x1.4400000000000p+5, 0x1.6c00000000000p+5, 0x1.d000000000000p+5, 0x1.f800000000000p+5, 0x1.1000000000000p+6, 0x1.2400000000000p+6}},
  {DType::Float32, 2, {8, 6, 4}, {2, 2, 1}, {-0x1.6000000000000p-51, 0x1.4000000000000p+2, 0x1.4000000000000p+3, 0x1.e000000000000p+3, 0x1.b800000000000p+4, 0x1.0400000000000p+5, 0x1.2c00000000000p+5, 0x1.5400000000000p+5, 0x1.b800000000000p+5, 0x1.e000000000000p+5, 0x1.0400000000000p+6, 0x1.1800000000000p+6, 0x1.58b3300000000p+6, 0x1.6cb3300000000p+6, 0x1.80b3300000000p+6, 0x1.94b3300000000p+6, 0x1.c68cf60000000p+6, 0x1.7c46460000000p+7, 0x1.47d0000000000p+7, 0x1.7dbc780000000p+7, 0x1.1b386e0000000p+7, 0x1.6e523e0000000p+7, 0x1.c7a4520000000p+7, 0x1.8e45680000000p+7, 0x1.5074a40000000p+7, 0x1.5a74a40000000p+7, 0x1.6474a40000000p+7, 0x1.6e74a40000000p+7, 0x1.8224f40000000p+7, 0x1.1e941a0000000p+8, 0x1.63718e0000000p+7, 0x1.4fde820000000p+7, 0x1.fc5e540000000p+7, 0x1.d348860000000p+4, -0x1.5d20480000000p+2, 0x1.09d79a0000000p+5, 0x1.8000000000000p+1, 0x1.0000000000000p+3, 0x1.a000000000000p+3, 0x1.2000000000000p+4, 0x1.e800000000000p+4, 0x1.1c00000000000p+5, 0x1.4400000000000p+5, 0x1.6c00000000000p+5, 0x1.d000000000000p+5, 0x1.f800000000000p+5, 0x1.1000000000000p+6, 0x1.2400000000000p+6}},
  {DType::Float32, 0, {4, 8, 16}, {1, 2, 4}, {0x0.0p+0, 0x1.9000000000000p+4, 0x1.9000000000000p+5, 0x1.2c00000000000p+6, 0x1.6000000000000p+4, 0x1.7800000000000p+5, 0x1.2000000000000p+6, 0x1.8400000000000p+6, 0x1.b800000000000p+5, 0x1.4000000000000p+6, 0x1.a400000000000p+6, 0x1.0400000000000p+7, 0x1.3400000000000p+6, 0x1.9800000000000p+6, 0x1.fc00000000000p+6, 0x1.3000000000000p+7, 0x1.2800000000000p+5, 0x1.f000000000000p+5, 0x1.5c00000000000p+6, 0x1.c000000000000p+6, 0x1.d800000000000p+5, 0x1.ec00000000000p+6, 0x1.7600000000000p+7, 0x1.4000000000000p+7, 0x1.7000000000000p+6, 0x1.5200000000000p+7, 0x1.3600000000000p+7, 0x1.d000000000000p+7, 0x1.c800000000000p+6, 0x1.1600000000000p+7, 0x1.4800000000000p+7, 0x1.7a00000000000p+7, 0x1.2800000000000p+6, 0x1.8c00000000000p+6, 0x1.f000000000000p+6, 0x1.2a00000000000p+7, 0x1.8000000000000p+6, 0x1.8e00000000000p+7, 0x1.a600000000000p+7, 0x1.be00000000000p+7, 0x1.0200000000000p+7, 0x1.4e00000000000p+7, 0x1.9a00000000000p+7, 0x1.e600000000000p+7, 0x1.2e00000000000p+7, 0x1.6000000000000p+7, 0x1.9200000000000p+7, 0x1.c400000000000p+7, 0x1.bc00000000000p+6, 0x1.1000000000000p+7, 0x1.4200000000000p+7, 0x1.7400000000000p+7, 0x1.0a00000000000p+7, 0x1.7000000000000p+7, 0x1.d600000000000p+7, 0x1.e000000000000p+4, 0x1.4c00000000000p+7, 0x0.0p+0, 0x1.fe00000000000p+7, 0x1.fc00000000000p+7, 0x1.7800000000000p+7, 0x1.aa00000000000p+7, 0x1.dc00000000000p+7, 0x1.c000000000000p+2}},
  {DType::Float32, 1, {4, 8, 16}, {1, 2, 4}, {0x0.0p+0, 0x1.9000000000000p+4, 0x1.9000000000000p+5, 0x1.2c00000000000p+6, 0x1.9aaaaa0000000p+4, 0x1.9555560000000p+5, 0x1.2eaaaa0000000p+6, 0x1.92aaaa0000000p+6, 0x1.9aaaaa0000000p+5, 0x1.3155560000000p+6, 0x1.9555560000000p+6, 0x1.f955560000000p+6, 0x1.3400000000000p+6, 0x1.9800000000000p+6, 0x1.fc00000000000p+6, 0x1.3000000000000p+7, 0x1.2800000000000p+5, 0x1.f000000000000p+5, 0x1.5c00000000000p+6, 0x1.c000000000000p+6, 0x1.f555560000000p+5, 0x1.d800000000000p+6, 0x1.5aaaaa0000000p+7, 0x1.5000000000000p+7, 0x1.6155560000000p+6, 0x1.5c00000000000p+7, 0x1.5155560000000p+7, 0x1.c000000000000p+7, 0x1.c800000000000p+6, 0x1.1600000000000p+7, 0x1.4800000000000p+7, 0x1.7a00000000000p+7, 0x1.2800000000000p+6, 0x1.8c00000000000p+6, 0x1.f000000000000p+6, 0x1.2a00000000000p+7, 0x1.8eaaaa0000000p+6, 0x1.72aaaa0000000p+7, 0x1.a4aaaa0000000p+7, 0x1.2c00000000000p+7, 0x1.f555560000000p+6, 0x1.6955560000000p+7, 0x1.9b55560000000p+7, 0x1.cd55560000000p+7, 0x1.2e00000000000p+7, 0x1.6000000000000p+7, 0x1.9200000000000p+7, 0x1.c400000000000p+7, 0x1.bc00000000000p+6, 0x1.1000000000000p+7, 0x1.4200000000000p+7, 0x1.7400000000000p+7, 0x1.1155560000000p+7, 0x1.8000000000000p+7, 0x1.4400000000000p+7, 0x1.96aaaa0000000p+6, 0x1.44aaaa0000000p+7, 0x1.3555560000000p+6, 0x1.e555560000000p+7, 0x1.6caaaa0000000p+7, 0x1.7800000000000p+7, 0x1.aa00000000000p+7, 0x1.dc00000000000p+7, 0x1.c000000000000p+2}},
  {DType::Float32, 2, {4, 8, 16}, {1, 2, 4}, {0x1.e000000000000p-52, 0x1.9000000000000p+4, 0x1.9000000000000p+5, 0x1.2c00000000000p+6, 0x1.9a37760000000p+4, 0x1.951bbc0000000p+5, 0x1.2e8dde0000000p+6, 0x1.928dde0000000p+6, 0x1.9ae4440000000p+5, 0x1.3172220000000p+6, 0x1.9572220000000p+6, 0x1.f972220000000p+6, 0x1.3400000000000p+6, 0x1.9800000000000p+6, 0x1.fc00000000000p+6, 0x1.3000000000000p+7, 0x1.2800000000000p+5, 0x1.f000000000000p+5, 0x1.5c00000000000p+6, 0x1.c000000000000p+6, 0x1.f51bbc0000000p+5, 0x1.bfc3a20000000p+6, 0x1.6133e40000000p+7, 0x1.50b3d00000000p+7, 0x1.6172220000000p+6, 0x1.64d97e0000000p+7, 0x1.47876c0000000p+7, 0x1.fad0040000000p+7, 0x1.c800000000000p+6, 0x1.1600000000000p+7, 0x1.4800000000000p+7, 0x1.7a00000000000p+7, 0x1.2800000000000p+6, 0x1.8c00000000000p+6, 0x1.f000000000000p+6, 0x1.2a00000000000p+7, 0x1.8e8dde0000000p+6, 0x1.7933e40000000p+7, 0x1.a174320000000p+7, 0x1.33eed00000000p+7, 0x1.f572220000000p+6, 0x1.5f876c0000000p+7, 0x1.9b471e0000000p+7, 0x1.0e67aa0000000p+8, 0x1.2e00000000000p+7, 0x1.6000000000000p+7, 0x1.9200000000000p+7, 0x1.c400000000000p+7, 0x1.bc00000000000p+6, 0x1.1000000000000p+7, 0x1.4200000000000p+7, 0x1.7400000000000p+7, 0x1.1146ee0000000p+7, 0x1.7ba10e0000000p+7, 0x1.4beed00000000p+7, 0x1.478aee0000000p+6, 0x1.44b9120000000p+7, 0x1.12236a0000000p+6, 0x1.1a67aa0000000p+8, 0x1.90f5d80000000p+7, 0x1.7800000000000p+7, 0x1.aa00000000000p+7, 0x1.dc00000000000p+7, 0x1.c000000000000p+2}},
  {DType::Float64, 1, {16, 12, 10}, {2, 2, 2}, {0x0.0p+0, 0x1.0500000000000p+3, 0x1.0500000000000p+4, 0x1.8780000000000p+4, 0x1.0500000000000p+5, 0x1.3866666666667p+4, 0x1.bae6666666666p+4, 0x1.1eb3333333333p+5, 0x1.5ff3333333333p+5, 0x1.a133333333333p+5, 0x1.3866666666666p+5, 0x1.79a6666666668p+5, 0x1.bae6666666668p+5, 0x1.fc26666666666p+5, 0x1.1eb3333333334p+6, 0x1.d49999999999ap+5, 0x1.0aecccccccccep+6, 0x1.2b8cccccccccdp+6, 0x1.4c2cccccccccdp+6, 0x1.6cccccccccccdp+6, 0x1.3866666666667p+6, 0x1.5906666666667p+6, 0x1.79a6666666666p+6, 0x1.9a46666666666p+6, 0x1.bae6666666667p+6, 0x1.8680000000000p+6, 0x1.a720000000000p+6, 0x1.c7c0000000000p+6, 0x1.e860000000000p+6, 0x1.5000000000000p+2, 0x1.18b6db6db6db7p+5, 0x1.59f6db6db6db7p+5, 0x1.9b36db6db6db6p+5, 0x1.dc76db6db6db7p+5, 0x1.0edb6db6db6dcp+6, 0x1.b4ea0ea0ea0ebp+5, 0x1.f62a0ea0ea0ebp+5, 0x1.1bb5075075074p+6, 0x1.3c55075075076p+6, 0x1.5cf5075075075p+6, 0x1.288ea0ea0ea0ep+6, 0x1.492ea0ea0ea0fp+6, 0x1.69cea0ea0ea0fp+6, 0x1.8a6ea0ea0ea0ep+6, 0x1.8e7c57c57c57cp+6, 0x1.76a83a83a83a9p+6, 0x1.97483a83a83a8p+6, 0x1.8d0cccccccccdp+6, 0x1.983f15f15f161p+6, 0x1.612be2be2be24p+5, 0x1.8b9d41d41d41dp+6, 0x1.9df41d41d41d5p+6, 0x1.9ee2be2be2bcfp+4, 0x1.950ea0ea0ea12p+3, 0x1.4d07507507509p+4, 0x1.edb6db6db6db6p+2, 0x1.fbdb6db6db6dcp+3, 0x1.806db6db6db6dp+4, 0x1.0176db6db6db6p+5, 0x1.42b6db6db6db7p+5, 0x1.18b6db6db6db6p+6, 0x1.3956db6db6db7p+6, 0x1.59f6db6db6db7p+6, 0x1.7a96db6db6db6p+6, 0x1.9b36db6db6db6p+6, 0x1.66d0750750750p+6, 0x1.8770750750750p+6, 0x1.99c7507507508p+6, 0x1.5667507507507p+6, 0x1.5a75075075077p+6, 0x1.7bc57c57c57c5p+6, 0x1.86f7c57c57c5ap+6, 0x1.1fe0ea0ea0ea2p+6, 0x1.61715f15f15f0p+4, 0x1.0da83a83a83a8p+4, 0x1.3bbe2be2be2b9p+5, 0x1.7d1d41d41d41ep+3, 0x1.410ea0ea0ea10p+4, 0x1.c38ea0ea0ea10p+4, 0x1.2307507507508p+5, 0x1.7475075075076p+4, 0x1.f6f5075075075p+4, 0x1.3cba83a83a83bp+5, 0x1.7dfa83a83a83cp+5, 0x1.bf3a83a83a83ap+5, 0x1.566db6db6db6dp+5, 0x1.97adb6db6db6dp+5, 0x1.d8edb6db6db6ep+5, 0x1.0d16db6db6db8p+6, 0x1.2db6db6db6db6p+6, 0x1.a512492492492p+6, 0x1.9020000000000p+6, 0x1.1009249249248p+6, 0x1.30a9249249247p+6, 0x1.9c92492492495p+3, 0x1.1ce2be2be2be0p+6, 0x1.9673333333331p+5, 0x1.01af8af8af8b1p+4, 0x1.842f8af8af8b2p+4, 0x1.0357c57c57c58p+5, 0x1.3515f15f15f18p+4, 0x1.b795f15f15f18p+4, 0x1.1d0af8af8af8cp+5, 0x1.5e4af8af8af8cp+5, 0x1.9f8af8af8af8cp+5, 0x1.36be2be2be2bfp+5, 0x1.77fe2be2be2c0p+5, 0x1.b93e2be2be2bfp+5, 0x1.fa7e2be2be2c1p+5, 0x1.1ddf15f15f15fp+6, 0x1.d2f15f15f15f3p+5, 0x1.0a18af8af8af9p+6, 0x1.2ab8af8af8af9p+6, 0x1.4b58af8af8af9p+6, 0x1.6bf8af8af8af9p+6, 0x1.3792492492492p+6, 0x1.5832492492492p+6, 0x1.78d2492492492p+6, 0x1.9972492492492p+6, 0x1.ba12492492492p+6, 0x1.eb6db6db6db6bp+3, 0x1.7836db6db6db6p+4, 0x1.fab6db6db6db6p+4, 0x1.3e9b6db6db6dbp+5, 0x1.7fdb6db6db6dbp+5, 0x1.170ea0ea0ea0ep+5, 0x1.584ea0ea0ea0ep+5, 0x1.998ea0ea0ea0fp+5, 0x1.dacea0ea0ea0ep+5, 0x1.0e07507507507p+6, 0x1.b341d41d41d42p+5, 0x1.f481d41d41d42p+5, 0x1.1ae0ea0ea0ea1p+6, 0x1.3b80ea0ea0ea1p+6, 0x1.5c20ea0ea0ea0p+6, 0x1.27ba83a83a83ap+6, 0x1.485a83a83a83ap+6, 0x1.68fa83a83a83bp+6, 0x1.899a83a83a83ap+6, 0x1.aa3a83a83a83ap+6, 0x1.75d41d41d41d4p+6, 0x1.96741d41d41d3p+6, 0x1.b7141d41d41d4p+6, 0x1.2c46666666666p+6, 0x1.b53a83a83a83fp+5, 0x1.c3edb6db6db6ep+6, 0x1.8dadb6db6db72p+5, 0x1.ceedb6db6db72p+5, 0x1.8e6db6db6db6bp+3, 0x1.49b6db6db6db6p+4, 0x1.9392492492490p+5, 0x1.d4d2492492490p+5, 0x1.0b09249249248p+6, 0x1.2ba9249249248p+6, 0x1.4c49249249248p+6, 0x1.17e2be2be2be2p+6, 0x1.3882be2be2be1p+6, 0x1.5922be2be2be2p+6, 0x1.79c2be2be2be2p+6, 0x1.9a62be2be2be2p+6, 0x1.65fc57c57c57cp+6, 0x1.869c57c57c57bp+6, 0x1.a73c57c57c57dp+6, 0x1.c7dc57c57c57ap+6, 0x1.59a0ea0ea0ea1p+6, 0x1.b415f15f15f16p+6, 0x1.9f23a83a83a84p+6, 0x1.af3e2be2be2c5p+5, 0x1.c220ea0ea0ea8p+4, 0x1.eeea0ea0ea0eep+4, 0x1.3a15f15f15f23p+5, 0x1.2d87507507504p+4, 0x1.76e2be2be2be0p+4, 0x1.c03e2be2be2bdp+4, 0x1.215f15f15f15ep+5, 0x1.7124924924922p+4, 0x1.f3a4924924920p+4, 0x1.3b12492492491p+5, 0x1.7c52492492491p+5, 0x1.bd92492492491p+5, 0x1.5624924924925p+6, 0x1.76c4924924926p+6, 0x1.9764924924926p+6, 0x1.b804924924925p+6, 0x1.d8a4924924925p+6, 0x1.a43e2be2be2bep+6, 0x1.af70750750750p+6, 0x1.8fc7507507506p+6, 0x1.662f8af8af8a0p+4, 0x1.af8af8af8af7fp+4, 0x1.46ea0ea0ea0e6p+6, 0x1.7d03a83a83a77p+4, 0x1.5415f15f15f14p+4, 0x1.80df15f15f162p+4, 0x1.01af8af8af8b1p+5, 0x1.a40ea0ea0ea08p+4, 0x1.b4457c57c57c9p+4, 0x1.1b62be2be2be4p+5, 0x1.5ca2be2be2be4p+5, 0x1.9de2be2be2be6p+5, 0x1.3515f15f15f18p+5, 0x1.7655f15f15f18p+5, 0x1.b795f15f15f18p+5, 0x1.f8d5f15f15f18p+5, 0x1.1d0af8af8af8cp+6, 0x1.d14924924924ap+5, 0x1.0944924924925p+6, 0x1.29e4924924925p+6, 0x1.4a84924924926p+6, 0x1.6b24924924925p+6, 0x1.e280000000000p+6, 0x1.e400000000000p+1, 0x1.7e00000000000p+3, 0x1.4180000000000p+4, 0x1.c400000000000p+4, 0x1.e4ccccccccccep+3, 0x1.74e6666666666p+4, 0x1.f766666666666p+4, 0x1.3cf3333333333p+5, 0x1.7e33333333333p+5, 0x1.1566666666667p+5, 0x1.56a6666666667p+5, 0x1.97e6666666668p+5, 0x1.d926666666666p+5, 0x1.0d33333333334p+6, 0x1.b19999999999ap+5, 0x1.f2d999999999bp+5, 0x1.1a0cccccccccdp+6, 0x1.3aacccccccccdp+6, 0x1.5b4cccccccccep+6, 0x1.26e6666666667p+6, 0x1.4786666666667p+6, 0x1.6826666666666p+6, 0x1.88c6666666667p+6, 0x1.a966666666666p+6, 0x1.7500000000000p+6, 0x1.95a0000000000p+6, 0x1.b640000000000p+6, 0x1.d6e0000000000p+6, 0x1.c000000000000p-1}},
  {DType::Float64, 2, {16, 12, 10}, {2, 2, 2}, {-0x1.d000000000000p-53, 0x1.04b962528f72cp+3, 0x1.0500000000000p+4, 0x1.87a34ed6b8468p+4, 0x1.0500000000001p+5, 0x1.3819a84a7e22bp+4, 0x1.ba765973e26e0p+4, 0x1.1e8cd42a07242p+5, 0x1.5fde7c43dbad9p+5, 0x1.a10cccbfce504p+5, 0x1.38650e8928fb1p+5, 0x1.799367226d648p+5, 0x1.bae51015a6384p+5, 0x1.fc36f0043d047p+5, 0x1.1eb1549db7e2dp+6, 0x1.d49af176d704fp+5, 0x1.0ae4a584ceef9p+6, 0x1.2b8da3439a358p+6, 0x1.4c3c86e4df4e3p+6, 0x1.6c8bae812aa0bp+6, 0x1.387995ed60777p+6, 0x1.5910d0238d758p+6, 0x1.79be3ecfa862ep+6, 0x1.9b1118dcbc78ap+6, 0x1.b3c463f2d55b2p+6, 0x1.8680000000000p+6, 0x1.a71af200afba9p+6, 0x1.c9033d95e642cp+6, 0x1.0bdf49ba45867p+7, 0x1.5000000000005p+2, 0x1.18826ac435cc9p+5, 0x1.59ab938bd3159p+5, 0x1.9ae8461293609p+5, 0x1.dc2b81ce3bcffp+5, 0x1.0f0052f8bc1a7p+6, 0x1.b46b93fb403d4p+5, 0x1.f5d37ce385c5bp+5, 0x1.1ba72cdcf3948p+6, 0x1.3ab66e8a1a313p+6, 0x1.5a8fd50cdace7p+6, 0x1.282da86d4c89bp+6, 0x1.47e550e349a41p+6, 0x1.68e52ae64d291p+6, 0x1.95c72ca1b1431p+6, 0x1.99c68c75d166ep+6, 0x1.7a365e7a56569p+6, 0x1.aaa73804c3749p+6, 0x1.88fb8243c1fefp+6, 0x1.d4a5ff6017871p+6, 0x1.2c7386a4e60d0p+5, 0x1.94463c10c834cp+6, 0x1.e7b1f58596aa1p+6, 0x1.b037671ceaba2p+2, -0x1.4af8f2f5236f0p+0, 0x1.54876f3511c18p+4, -0x1.520f252029c71p-1, 0x1.c9e19f9e47cbep+2, 0x1.a46036d5bcd5ap+4, 0x1.0df2f8c39d73ep+5, 0x1.42826ac31cac7p+5, 0x1.194d8a1b8652bp+6, 0x1.3916e711897bfp+6, 0x1.56802b0e048cfp+6, 0x1.74ecc81f15afbp+6, 0x1.af5e68f488cd0p+6, 0x1.61a93e3518373p+6, 0x1.8c267ecdef2c4p+6, 0x1.b1866afb3f833p+6, 0x1.696196811bd9bp+6, 0x1.7393f8c0686f3p+6, 0x1.944e3a0502a17p+6, 0x1.bfe08e076894ap+6, 0x1.36aa3c0e1a51bp+6, 0x1.5644fb8a32360p-1, -0x1.633a461b1bca2p+0, 0x1.f93c8a91038bep+4, -0x1.ae3a27715248ep+3, 0x1.d9b7cdc1805dbp+3, 0x1.e4b98f90f2b49p+4, 0x1.24a9f6f280f1bp+5, 0x1.7af772ba0973fp+4, 0x1.1303980de4cc5p+5, 0x1.3ab86c437e4dep+5, 0x1.79dcc1911ee76p+5, 0x1.bf1352937c105p+5, 0x1.53848b3227a0bp+5, 0x1.9451bb4640a1ap+5, 0x1.d9653facdad22p+5, 0x1.0e0371ccbc0f8p+6, 0x1.2e4d89eff3396p+6, 0x1.c7a94ef980bffp+6, 0x1.b97144e80fce0p+6, 0x1.2111fa5501527p+6, 0x1.5e58b60852777p+6, 0x1.1032c77d6e7f9p-1, 0x1.1edeb63177ba5p+6, 0x1.b1e9d3f74e063p+5, 0x1.823999074cf1ap+1, 0x1.a4711f266153cp+4, 0x1.1e6bc5d15ffaap+5, 0x1.9b932f0596e79p+1, 0x1.7b3848f4128f1p+4, 0x1.2dd7317990d13p+5, 0x1.5cad87893d051p+5, 0x1.9c26a6d070a1ap+5, 0x1.38b0fe0c9b624p+5, 0x1.71c36f833b2c4p+5, 0x1.b7e8369186b12p+5, 0x1.fbb85dd223d7ep+5, 0x1.1f1316fddb01ep+6, 0x1.d29132c64a709p+5, 0x1.0b489d48b98cep+6, 0x1.2c34e7debca3dp+6, 0x1.484fd891e75d6p+6, 0x1.6285cd0038761p+6, 0x1.388bf33632341p+6, 0x1.517bd5c721fbcp+6, 0x1.6f677a82e924dp+6, 0x1.bd74fbf61838cp+6, 0x1.dca9450da1a24p+6, 0x1.ad6b1067f4017p+2, 0x1.0dd11fdbe745ep+4, 0x1.080bb1bac7b36p+5, 0x1.4beffe43a0b8ep+5, 0x1.7de819939b97fp+5, 0x1.29f465b654d7bp+5, 0x1.5e9f6d130b0b1p+5, 0x1.974267af35a85p+5, 0x1.da5f26432049ap+5, 0x1.0e37669cd7379p+6, 0x1.b0d9d201ad980p+5, 0x1.f35c1d9575d36p+5, 0x1.1c4db5f16b6d6p+6, 0x1.3e96b6f0dc135p+6, 0x1.5b2780f88ad43p+6, 0x1.296cac97c1997p+6, 0x1.4a2c998437472p+6, 0x1.615af66e01148p+6, 0x1.98acdf65306b0p+6, 0x1.eaa366486eb4fp+6, 0x1.684a1d174feffp+6, 0x1.bd84998ca64a9p+6, 0x1.006193353b5b6p+7, 0x1.1dff463b3efcap+6, 0x1.b14285b922602p+5, 0x1.f55f9a7105231p+6, 0x1.32dc6c148a787p+5, 0x1.dc56584dc7bc3p+5, 0x1.cd1e06bad5c6dp+0, 0x1.7ea679f19e83ep+3, 0x1.9264ebc8f35acp+5, 0x1.d34bc75ab37c9p+5, 0x1.0abb7cbe72d2bp+6, 0x1.2d56eceb6b66ep+6, 0x1.4dbdba66ec2fbp+6, 0x1.17f656b5a1293p+6, 0x1.39f876585a4b0p+6, 0x1.59481f76d0f4fp+6, 0x1.6df8f7e355643p+6, 0x1.98c22351038c2p+6, 0x1.652b0486b9cb6p+6, 0x1.7ed71542b2c74p+6, 0x1.d550e03b6b7cep+6, 0x1.15c801d659f72p+7, 0x1.7930dd34334b2p+6, 0x1.fd0ce9186c548p+6, 0x1.f250a62a2e00fp+6, 0x1.8256a42276f34p+5, 0x1.bcbbbfef6d33cp+3, 0x1.8cc6f5fbfc82fp+4, 0x1.07d80e7f2f20ep+5, 0x1.afd019d0e0f90p+2, 0x1.09a1790d06bfbp+4, 0x1.ad2ceefb5df42p+4, 0x1.2baba7ab0ddacp+5, 0x1.20865c2ddccbfp+4, 0x1.0528de91cf887p+5, 0x1.42d02132ea8f1p+5, 0x1.7aee46db43602p+5, 0x1.bbe3f5baa7552p+5, 0x1.563eca9de519dp+6, 0x1.708708f3dd97bp+6, 0x1.8e67b8964d266p+6, 0x1.dae1e559b5f32p+6, 0x1.fa241e4a40538p+6, 0x1.a25e2432b988ep+6, 0x1.e4e05baf7e5ddp+6, 0x1.e5d474015bed5p+6, 0x1.51dddc9126d32p+1, 0x1.8ce70f917c267p+4, 0x1.61463cad8ce6fp+6, 0x1.7ebcd541f1494p+3, 0x1.3d6b01e977548p+4, 0x1.3944334766c2ap+4, 0x1.f5267808fa65fp+4, 0x1.76e5ce28ba633p+4, 0x1.87b549287dfe0p+4, 0x1.1c1f67c5c7cb4p+5, 0x1.5f4228cf44c3dp+5, 0x1.9ea32d37f6e90p+5, 0x1.39e055e64a638p+5, 0x1.76add2b33f459p+5, 0x1.b7973c2f8a156p+5, 0x1.f92b9f82b3e1ep+5, 0x1.1d3512002ccdep+6, 0x1.d0ff5a0e87cb1p+5, 0x1.096a411fb6233p+6, 0x1.2a0c8a9fde81ap+6, 0x1.4a8f5b1adde6ap+6, 0x1.658447147bda9p+6, 0x1.e280000000000p+6, -0x1.01f49ba458670p+3, 0x1.73e61350cde9dp+3, 0x1.419437fd41162p+4, 0x1.c3fffffffffffp+4, 0x1.0eee7034aa93dp+4, 0x1.71bb9c8d09365p+4, 0x1.f70704bfba6b8p+4, 0x1.3cde5f9a23dd6p+5, 0x1.7e0cccbfce505p+5, 0x1.15e8a2fdaabe9p+5, 0x1.5686f23576272p+5, 0x1.97e4b934c4b92p+5, 0x1.d936ab002c23dp+5, 0x1.0d31549db7e2ep+6, 0x1.b19d56c4903a7p+5, 0x1.f2c90fd0289fdp+5, 0x1.1a0d70a90effcp+6, 0x1.3ab53ade358cbp+6, 0x1.5b0bae812aa08p+6, 0x1.26f999a018d7ep+6, 0x1.4790bf7a9c26ep+6, 0x1.6838c9405b39fp+6, 0x1.88c47107e046dp+6, 0x1.a24463f2d55b1p+6, 0x1.7500000000001p+6, 0x1.95968699aaf5fp+6, 0x1.b6088a6a6a234p+6, 0x1.cec9bffce12ffp+6, 0x1.c000000000005p-1}},
};

template <typename T>
std::vector<T> spline_input(DType dtype, const Vec3& shape) {
  std::vector<T> v;
  for (int64_t x = 0; x < shape.x; ++x)
    for (int64_t y = 0; y < shape.y; ++y)
      for (int64_t z = 0; z < shape.z; ++z) {
        if (dtype == DType::Float64) {
          v.push_back(static_cast<T>(static_cast<double>((131 * x + 71 * y + 29 * z) % 1000) / 8.0));
        } else {
          int64_t value = (37 * x + 11 * y + 5 * z + ((x * y * z) % 7) * 13) % 256;
          if (dtype == DType::Int16) value -= 128;
          v.push_back(static_cast<T>(value));
        }
      }
  return v;
}

TEST(SplineZoom, MatchesScipyBitForBit) {
  const InterpolationMode modes[] = {InterpolationMode::Nearest, InterpolationMode::Bilinear,
                                     InterpolationMode::Bicubic};
  for (const SplineCase& c : kSplineCases)
    with_dtype(c.dtype, [&](auto zero) {
      using T = decltype(zero);
      const auto src = spline_input<T>(c.dtype, c.shape);
      const DownsampleKernel kernel(modes[c.order], c.dtype, c.factor);
      const VoxelShape t = kernel.target_shape({1, c.shape});
      std::vector<T> out(static_cast<size_t>(t.voxels()));
      kernel.reduce({1, c.shape}, bytes_of(src), bytes_of(out));
      ASSERT_EQ(out.size(), c.want.size());
      std::vector<T> want;
      for (double w : c.want) want.push_back(static_cast<T>(w));
      EXPECT_TRUE(same_bytes(want, out)) << dtype_name(c.dtype) << " order " << c.order << " "
                                         << c.shape.to_string() << " / " << c.factor.to_string();
    });
}

TEST(SplineZoom, ChannelsAreZoomedIndependently) {
  const Vec3 shape{8, 6, 4};
  auto one = spline_input<uint8_t>(DType::UInt8, shape);
  std::vector<uint8_t> three;
  for (int c = 0; c < 3; ++c)
    for (uint8_t v : one) three.push_back(static_cast<uint8_t>(v + c));
  for (InterpolationMode m : {InterpolationMode::Nearest, InterpolationMode::Bilinear, InterpolationMode::Bicubic}) {
    const DownsampleKernel kernel(m, DType::UInt8, {2, 2, 2});
    std::vector<uint8_t> out3(3 * 24);
    kernel.reduce({3, shape}, bytes_of(three), bytes_of(out3));
    for (int c = 0; c < 3; ++c) {
      std::vector<uint8_t> chan(three.begin() + c * 192, three.begin() + (c + 1) * 192), out1(24);
      kernel.reduce({1, shape}, bytes_of(chan), bytes_of(out1));
      EXPECT_TRUE(std::equal(out1.begin(), out1.end(), out3.begin() + c * 24));
    }
  }
}

}  // namespace
}  // namespace wkfs
