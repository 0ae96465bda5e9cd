#include "downsample/block_reduction.hpp"

// The 2x2x2 / 2x2x1 fast paths rely on the loop vectorizer (stride-2 deinterleaving loads, min/max
// networks, blends); GCC's -O2 cost model ("very cheap") refuses those loops, -O3's takes them and
// runs the uint8 median ~10x faster. Scoped to this file so the build type elsewhere is untouched.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

namespace wkfs {

namespace {

// ---- one block, any size: the generic path ---------------------------------------------------

// double -> integer T the way numpy's astype truncates, but clamped where numpy would overflow
// (only reachable for 64-bit types whose middle values round up to 2^63 or 2^64).
template <typename T>
T truncate_to(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
    if (v >= hi) return std::numeric_limits<T>::max();
    if (v <= lo) return std::numeric_limits<T>::min();
    return static_cast<T>(v);
  }
}

// np.median's mean of the two middle values: float64 for integers (then truncated toward zero),
// the type's own arithmetic for floats. a <= b.
template <typename T>
inline T mean_of_middles(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return (a + b) / T(2);
  } else if constexpr (std::is_unsigned_v<T> && sizeof(T) <= 4) {
    // floor((a+b)/2) without widening; equal to the float64 route for non-negative values.
    return static_cast<T>((a & b) + ((a ^ b) >> 1));
  } else if constexpr (sizeof(T) <= 4) {
    // float64 holds a+b exactly for 32-bit values, so truncating division gives the same value.
    return static_cast<T>((static_cast<int64_t>(a) + static_cast<int64_t>(b)) / 2);
  } else {
    return truncate_to<T>((static_cast<double>(a) + static_cast<double>(b)) / 2.0);
  }
}

template <typename T>
inline bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  return false;
}

// Median of v[0..n); reorders v.
template <typename T>
T median_of(T* v, int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    for (int64_t i = 0; i < n; ++i)
      if (std::isnan(v[i])) return v[i];
  }
  const int64_t half = n / 2;
  std::nth_element(v, v + half, v + n);
  if (n % 2 == 1) return v[half];
  const T lower = *std::max_element(v, v + half);
  return mean_of_middles(lower, v[half]);
}

// Mode of v[0..n) in element order: the value with the highest count, ties to the value whose
// first occurrence is earliest; NaN never equals anything (so it counts 1).
template <typename T>
T mode_of(const T* v, int64_t n) {
  if (n <= 64) {
    // Counting only the matches that follow each element gives the first occurrence of a value
    // its full count and later occurrences less, so a strict '>' keeps the earliest winner.
    int64_t best = 0, best_count = 0;
    for (int64_t i = 0; i < n && n - i > best_count; ++i) {
      int64_t count = 1;
      for (int64_t j = i + 1; j < n; ++j) count += (v[j] == v[i]);
      if (count > best_count) best = i, best_count = count;
    }
    return v[best];
  }
  std::vector<std::pair<T, int64_t>> sorted;
  sorted.reserve(static_cast<size_t>(n));
  int64_t best = n, best_count = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (is_nan(v[i])) {
      if (best_count < 1) best = i, best_count = 1;  // a NaN is its own value, count 1
    } else {
      sorted.emplace_back(v[i], i);
    }
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t run = 0; run < sorted.size();) {
    size_t end = run + 1;
    while (end < sorted.size() && !(sorted[run].first < sorted[end].first)) ++end;
    const int64_t count = static_cast<int64_t>(end - run);
    const int64_t first = sorted[run].second;  // stable sort: the run starts at its first occurrence
    if (count > best_count || (count == best_count && first < best)) best = first, best_count = count;
    run = end;
  }
  return v[best];
}

// np.max / np.min: NaN propagates.
template <typename T, bool IsMax>
T extreme_of(const T* v, int64_t n) {
  T r = v[0];
  if (is_nan(r)) return r;
  for (int64_t i = 1; i < n; ++i) {
    if (is_nan(v[i])) return v[i];
    if (IsMax ? v[i] > r : v[i] < r) r = v[i];
  }
  return r;
}

template <typename T, typename Reduce>
void reduce_generic(const Vec3& f, const VoxelShape& s, const T* src, T* dst, Reduce reduce) {
  const int64_t n = f.prod();
  const Vec3 t{s.xyz.x / f.x, s.xyz.y / f.y, s.xyz.z / f.z};
  const int64_t sz = s.xyz.z, sy = s.xyz.y * sz, sx = s.xyz.x * sy;
  std::vector<T> block(static_cast<size_t>(n));
  T* out = dst;
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t ox = 0; ox < t.x; ++ox)
      for (int64_t oy = 0; oy < t.y; ++oy)
        for (int64_t oz = 0; oz < t.z; ++oz) {
          const T* base = src + c * sx + ox * f.x * sy + oy * f.y * sz + oz * f.z;
          for (int64_t dz = 0; dz < f.z; ++dz)
            for (int64_t dx = 0; dx < f.x; ++dx)
              for (int64_t dy = 0; dy < f.y; ++dy)
                block[static_cast<size_t>(dy + f.y * (dx + f.x * dz))] =
                    base[dx * sy + dy * sz + dz];
          *out++ = reduce(block.data(), n);
        }
}

// ---- 2x2x2 and 2x2x1 fast paths -----------------------------------------------------------
//
// With C order (c, x, y, z) a block's voxels sit in four z-rows (x0|x1) × (y0|y1); a 2×2×2
// block takes z = 2k, 2k+1 from each row. Element order idx = dy + 2·(dx + 2·dz) gives
// e0 = r00[2k], e1 = r01[2k], e2 = r10[2k], e3 = r11[2k], e4..e7 the same at 2k+1.
// Inner loops run over fixed 32-output strips so that even GCC's cheap -O2 vectorizer takes them.

template <typename T>
inline T min_of(T a, T b) { return b < a ? b : a; }
template <typename T>
inline T max_of(T a, T b) { return a < b ? b : a; }

template <typename T>
inline void sort2(T& a, T& b) {
  const T lo = min_of(a, b), hi = max_of(a, b);
  a = lo;
  b = hi;
}

// Median of 8 integers: sort both halves with a 4-network, then the 4th and 5th smallest of the
// union of two sorted lists A, B are min over i+j=k of max(A_i, B_j) (1-based, A_0 = B_0 = -inf).
template <typename T>
inline T median8(T a0, T a1, T a2, T a3, T b0, T b1, T b2, T b3) {
  sort2(a0, a1), sort2(a2, a3), sort2(a0, a2), sort2(a1, a3), sort2(a1, a2);
  sort2(b0, b1), sort2(b2, b3), sort2(b0, b2), sort2(b1, b3), sort2(b1, b2);
  const T fourth = min_of(min_of(min_of(b3, a3), max_of(a0, b2)),
                          min_of(max_of(a1, b1), max_of(a2, b0)));
  const T fifth = min_of(min_of(max_of(a0, b3), max_of(a1, b2)),
                         min_of(max_of(a2, b1), max_of(a3, b0)));
  return mean_of_middles(fourth, fifth);
}

template <typename T>
inline T median4(T a0, T a1, T a2, T a3) {
  sort2(a0, a1), sort2(a2, a3);
  const T x = max_of(a0, a2), y = min_of(a1, a3);
  return mean_of_middles(min_of(x, y), max_of(x, y));
}

// Same-width unsigned integer, for bit-identity tests and vector-friendly counters.
template <typename T>
using BitsOf = std::conditional_t<sizeof(T) == 1, uint8_t,
               std::conditional_t<sizeof(T) == 2, uint16_t,
               std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;

// Mode of 8 in element order without branches, so that a strip of blocks vectorizes: each element
// counts the equal elements after it (the first occurrence of a value carries its full count,
// later ones less), and a strict '>' scan keeps the earliest of the largest counts.
template <typename T>
inline T mode8(T a0, T a1, T a2, T a3, T a4, T a5, T a6, T a7) {
  using C = BitsOf<T>;
  const C c0 = C(1) + C(a0 == a1) + C(a0 == a2) + C(a0 == a3) + C(a0 == a4) + C(a0 == a5) +
               C(a0 == a6) + C(a0 == a7);
  const C c1 = C(1) + C(a1 == a2) + C(a1 == a3) + C(a1 == a4) + C(a1 == a5) + C(a1 == a6) +
               C(a1 == a7);
  const C c2 = C(1) + C(a2 == a3) + C(a2 == a4) + C(a2 == a5) + C(a2 == a6) + C(a2 == a7);
  const C c3 = C(1) + C(a3 == a4) + C(a3 == a5) + C(a3 == a6) + C(a3 == a7);
  const C c4 = C(1) + C(a4 == a5) + C(a4 == a6) + C(a4 == a7);
  const C c5 = C(1) + C(a5 == a6) + C(a5 == a7);
  const C c6 = C(1) + C(a6 == a7);
  // Selections as bit masks: GCC leaves '?:' chains as branches, which blocks vectorization.
  C best = std::bit_cast<C>(a0);
  C count = c0;
  const auto take = [&](C c, T a) {
    const C mask = C(0) - C(c > count);
    best = (best & ~mask) | (std::bit_cast<C>(a) & mask);
    count = (count & ~mask) | (c & mask);
  };
  take(c1, a1);
  take(c2, a2);
  take(c3, a3);
  take(c4, a4);
  take(c5, a5);
  take(c6, a6);
  return std::bit_cast<T>(best);
}

// True when all 8 are bit-identical: then every rule (NaN included) yields a0.
template <typename T>
inline BitsOf<T> bit_difference8(T a0, T a1, T a2, T a3, T a4, T a5, T a6, T a7) {
  using C = BitsOf<T>;
  const C b0 = std::bit_cast<C>(a0);
  return (b0 ^ std::bit_cast<C>(a1)) | (b0 ^ std::bit_cast<C>(a2)) | (b0 ^ std::bit_cast<C>(a3)) |
         (b0 ^ std::bit_cast<C>(a4)) | (b0 ^ std::bit_cast<C>(a5)) | (b0 ^ std::bit_cast<C>(a6)) |
         (b0 ^ std::bit_cast<C>(a7));
}

template <typename T>
inline T mode4(T a0, T a1, T a2, T a3) {
  const int c0 = 1 + (a0 == a1) + (a0 == a2) + (a0 == a3);
  if (c0 >= 2) return a0;  // the other two elements can at best tie, and ties go to a0
  // a0 is unique: the mode is a repeated value among a1..a3, else (all distinct) a0.
  const int c1 = 1 + (a1 == a2) + (a1 == a3);
  const int c2 = 1 + (a2 == a3);
  if (c1 > 1) return a1;
  if (c2 > 1) return a2;
  return a0;
}

template <typename T>
inline T median2(T a0, T a1) { return mean_of_middles(min_of(a0, a1), max_of(a0, a1)); }

// Block offsets (relative to the block's first voxel) in the library's element order
// idx = dy + fy·(dx + fx·dz).
template <int N>
std::array<int64_t, N> element_offsets(const Vec3& f, int64_t sy, int64_t sz) {
  std::array<int64_t, N> off{};
  for (int64_t dz = 0; dz < f.z; ++dz)
    for (int64_t dx = 0; dx < f.x; ++dx)
      for (int64_t dy = 0; dy < f.y; ++dy)
        off[static_cast<size_t>(dy + f.y * (dx + f.x * dz))] = dx * sy + dy * sz + dz;
  return off;
}

// Applies fn to every block of a factor in {1,2}^3 with N = fx·fy·fz elements. With C order
// (c, x, y, z) the blocks of one output z-row come from H = N/fz source z-rows: dz is the slowest
// index of the element order, so element I is row I % H at z offset I / H. Each output row is a
// loop over z; inner loops run over fixed 32-output strips, which the vectorizer takes (the rows
// are known to the compiler as H pointers read at FZ·j and FZ·j+1: interleaved groups).
template <typename T, int N, int FZ, typename F, size_t... I>
void strip_rows(const Vec3& f, const VoxelShape& s, const T* src, T* dst, F fn,
                std::index_sequence<I...>) {
  constexpr size_t H = N / FZ;
  const Vec3 t{s.xyz.x / f.x, s.xyz.y / f.y, s.xyz.z / f.z};
  const int64_t sz = s.xyz.z, sy = s.xyz.y * sz, sx = s.xyz.x * sy;
  const std::array<int64_t, N> off = element_offsets<N>(f, sy, sz);
  constexpr int64_t strip = 32;
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t ox = 0; ox < t.x; ++ox)
      for (int64_t oy = 0; oy < t.y; ++oy) {
        const T* base = src + c * sx + ox * f.x * sy + oy * f.y * sz;
        const T* p[H];
        for (size_t h = 0; h < H; ++h) p[h] = base + off[h];
        T* out = dst + ((c * t.x + ox) * t.y + oy) * t.z;
        int64_t k = 0;
        for (; k + strip <= t.z; k += strip) {
          const T* q[H];
          for (size_t h = 0; h < H; ++h) q[h] = p[h] + FZ * k;
          T* o = out + k;
          for (int64_t j = 0; j < strip; ++j) o[j] = fn(q[I % H][FZ * j + int64_t(I / H)]...);
        }
        for (; k < t.z; ++k) out[k] = fn(p[I % H][FZ * k + int64_t(I / H)]...);
      }
}

template <typename T, int N, typename F>
void for_each_block(const Vec3& f, const VoxelShape& s, const T* src, T* dst, F fn) {
  if (f.z == 2)
    strip_rows<T, N, 2>(f, s, src, dst, fn, std::make_index_sequence<N>{});
  else
    strip_rows<T, N, 1>(f, s, src, dst, fn, std::make_index_sequence<N>{});
}

// Mode over 2x2x2 blocks: a strip whose 32 blocks are all uniform (segmentation interiors: the
// "instant majority" case) is a plain copy of each block's first voxel; other strips run the
// branch-free counter.
template <typename T>
void mode_rows_222(const VoxelShape& s, const T* src, T* dst) {
  const Vec3 t{s.xyz.x / 2, s.xyz.y / 2, s.xyz.z / 2};
  const int64_t sz = s.xyz.z, sy = s.xyz.y * sz, sx = s.xyz.x * sy;
  // Short strips (16 source voxels along z for 4-byte ids) find more uniform runs at object
  // boundaries; 16 one-byte lanes still fill a vector.
  constexpr int64_t strip = sizeof(T) == 1 ? 16 : 8;
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t ox = 0; ox < t.x; ++ox)
      for (int64_t oy = 0; oy < t.y; ++oy) {
        // Element order: (x0,y0), (x0,y1), (x1,y0), (x1,y1) at z = 2k, then the same at 2k+1.
        const T* r00 = src + c * sx + 2 * ox * sy + 2 * oy * sz;
        const T* r01 = r00 + sz;
        const T* r10 = r00 + sy;
        const T* r11 = r10 + sz;
        T* out = dst + ((c * t.x + ox) * t.y + oy) * t.z;
        int64_t k = 0;
        for (; k + strip <= t.z; k += strip) {
          const T *p00 = r00 + 2 * k, *p01 = r01 + 2 * k, *p10 = r10 + 2 * k, *p11 = r11 + 2 * k;
          T* o = out + k;
          BitsOf<T> diff = 0;
          for (int64_t j = 0; j < strip; ++j)
            diff |= bit_difference8(p00[2 * j], p01[2 * j], p10[2 * j], p11[2 * j],
                                    p00[2 * j + 1], p01[2 * j + 1], p10[2 * j + 1], p11[2 * j + 1]);
          if (diff == 0) {
            for (int64_t j = 0; j < strip; ++j) o[j] = p00[2 * j];
          } else {
            for (int64_t j = 0; j < strip; ++j)
              o[j] = mode8(p00[2 * j], p01[2 * j], p10[2 * j], p11[2 * j], p00[2 * j + 1],
                           p01[2 * j + 1], p10[2 * j + 1], p11[2 * j + 1]);
          }
        }
        for (; k < t.z; ++k)
          out[k] = mode8(r00[2 * k], r01[2 * k], r10[2 * k], r11[2 * k], r00[2 * k + 1],
                         r01[2 * k + 1], r10[2 * k + 1], r11[2 * k + 1]);
      }
}

template <typename T, bool IsMax>
inline T pick(T a, T b) {
  return IsMax ? max_of(a, b) : min_of(a, b);
}

template <typename T, bool IsMax>
void extreme_blocks(int64_t n, const Vec3& f, const VoxelShape& s, const T* src, T* dst) {
  if (n == 8)
    for_each_block<T, 8>(f, s, src, dst, [](T a, T b, T c, T d, T e, T g, T h, T i) {
      return pick<T, IsMax>(pick<T, IsMax>(pick<T, IsMax>(a, b), pick<T, IsMax>(c, d)),
                            pick<T, IsMax>(pick<T, IsMax>(e, g), pick<T, IsMax>(h, i)));
    });
  else if (n == 4)
    for_each_block<T, 4>(f, s, src, dst, [](T a, T b, T c, T d) {
      return pick<T, IsMax>(pick<T, IsMax>(a, b), pick<T, IsMax>(c, d));
    });
  else
    for_each_block<T, 2>(f, s, src, dst, [](T a, T b) { return pick<T, IsMax>(a, b); });
}

// Fast paths for every factor in {1,2}^3 (each step of a pyramid doubles some axes). Medians,
// maxima and minima of floats stay on the generic path, which handles NaN as numpy does.
template <typename T>
bool try_fast_path(InterpolationMode mode, const Vec3& f, const VoxelShape& s, const T* src,
                   T* dst) {
  for (int a = 0; a < 3; ++a)
    if (f[a] != 1 && f[a] != 2) return false;
  const int64_t n = f.prod();
  if (n == 1) {
    std::copy(src, src + s.voxels(), dst);
    return true;
  }
  constexpr bool integral = std::is_integral_v<T>;
  switch (mode) {
    case InterpolationMode::Median:
      if (!integral) return false;
      if (n == 8) for_each_block<T, 8>(f, s, src, dst, [](auto... v) { return median8<T>(v...); });
      else if (n == 4) for_each_block<T, 4>(f, s, src, dst, [](auto... v) { return median4<T>(v...); });
      else for_each_block<T, 2>(f, s, src, dst, [](T a, T b) { return median2<T>(a, b); });
      return true;
    case InterpolationMode::Mode:
      if (n == 8) mode_rows_222(s, src, dst);
      else if (n == 4) for_each_block<T, 4>(f, s, src, dst, [](auto... v) { return mode4<T>(v...); });
      else for_each_block<T, 2>(f, s, src, dst, [](T a, T) { return a; });  // a tie or a match: a0
      return true;
    case InterpolationMode::Max:
      if (!integral) return false;
      extreme_blocks<T, true>(n, f, s, src, dst);
      return true;
    case InterpolationMode::Min:
      if (!integral) return false;
      extreme_blocks<T, false>(n, f, s, src, dst);
      return true;
    default:
      return false;
  }
}

}  // namespace

template <typename T>
void reduce_blocks(InterpolationMode mode, const Vec3& factor, const VoxelShape& source,
                   const T* src, T* dst, bool allow_fast_paths) {
  if (allow_fast_paths && try_fast_path(mode, factor, source, src, dst)) return;
  switch (mode) {
    case InterpolationMode::Median:
      reduce_generic(factor, source, src, dst, [](T* v, int64_t n) { return median_of(v, n); });
      break;
    case InterpolationMode::Mode:
      reduce_generic(factor, source, src, dst, [](T* v, int64_t n) { return mode_of(v, n); });
      break;
    case InterpolationMode::Max:
      reduce_generic(factor, source, src, dst,
                     [](T* v, int64_t n) { return extreme_of<T, true>(v, n); });
      break;
    case InterpolationMode::Min:
      reduce_generic(factor, source, src, dst,
                     [](T* v, int64_t n) { return extreme_of<T, false>(v, n); });
      break;
    default:
      break;  // spline modes are not block reductions; DownsampleKernel never routes them here
  }
}

#define WKFS_INSTANTIATE(T)                                                                  \
  template void reduce_blocks<T>(InterpolationMode, const Vec3&, const VoxelShape&, const T*, \
                                 T*, bool);
WKFS_INSTANTIATE(uint8_t)
WKFS_INSTANTIATE(uint16_t)
WKFS_INSTANTIATE(uint32_t)
WKFS_INSTANTIATE(uint64_t)
WKFS_INSTANTIATE(int8_t)
WKFS_INSTANTIATE(int16_t)
WKFS_INSTANTIATE(int32_t)
WKFS_INSTANTIATE(int64_t)
WKFS_INSTANTIATE(float)
WKFS_INSTANTIATE(double)
#undef WKFS_INSTANTIATE

}  // namespace wkfs
