#pragma once
// Downsampling and upsampling of voxel buffers with webknossos-libs' exact semantics
// (notes section 5.2 / 5.4): block reductions (median, mode, max, min) and scipy-style spline
// zooms (nearest, bilinear, bicubic).
//
// Buffers are C order over (channel, x, y, z), z fastest: what Array::read returns for a
// (c, x, y, z) array. Channels are processed independently.
#include <cstdint>

#include "core/bytes.hpp"
#include "core/dtype.hpp"
#include "core/vec.hpp"
#include "downsample/interpolation_mode.hpp"

namespace wkfs {

/// Shape of a voxel buffer: `channels` planes of xyz voxels, C order (c, x, y, z).
struct VoxelShape {
  int64_t channels = 1;
  Vec3 xyz;

  int64_t voxels() const { return channels * xyz.prod(); }
  friend bool operator==(const VoxelShape&, const VoxelShape&) = default;
};

/// Reduces a source buffer by per-axis integer factors.
///
/// Block reductions: output voxel (i,j,k) depends only on the source block
/// [i·fx,(i+1)·fx) × [j·fy,…) × [k·fz,…), flattened in the library's element order
/// idx = dy + fy·(dx + fx·dz). median: middle value, or for an even count the mean of the two
/// middle values in float64 (float32 arithmetic for float32) truncated toward zero; any NaN gives
/// NaN (np.median). mode: most frequent value, ties to the earliest first occurrence, NaN never
/// equal to anything. The library's old numba mode counted in uint8 and wrapped above 255 block
/// elements (8×8×4 and up); wkfs counts correctly. max/min: NaN propagates (np.max).
///
/// Spline modes (nearest = order 0, bilinear = 1, bicubic = quadratic B-spline, order 2) follow
/// scipy.ndimage.zoom(buf, 1/f, order, mode="nearest", prefilter=True, grid_mode=False): output
/// o maps to input o·(n_in−1)/(n_out−1), so the result depends on the buffer's extent. The library
/// zooms each tile of `buffer_shape` separately; wkfs zooms whatever buffer it is given (one
/// output chunk's source region), so its spline results differ from the library's wherever the
/// tilings differ. Integer outputs are rounded half away from zero and clipped. bicubic prefilters
/// a float64 copy of each channel padded by 12 voxels per side (scipy's prepad), so it needs
/// 8·(x+24)(y+24)(z+24) bytes of scratch: give it chunk-sized sources.
///
/// Known deviations, all at the edge of the value range: an even-count median of 64-bit integers
/// whose float64 mean rounds to 2^63 or 2^64 is clamped to the type's maximum (numpy's cast would
/// wrap); the sign of a zero median/max/min of floats mixing -0.0 and +0.0 is not guaranteed to
/// be numpy's.
class DownsampleKernel {
 public:
  /// Every factor must be >= 1, else Error(InvalidArgument).
  DownsampleKernel(InterpolationMode mode, DType dtype, Vec3 factor);

  InterpolationMode mode() const { return mode_; }
  DType dtype() const { return dtype_; }
  const Vec3& factor() const { return factor_; }

  /// Shape produced from `source`; InvalidArgument unless every axis is a multiple of its factor
  /// (callers pad the source with zeros, as the library does at the layer's edge).
  VoxelShape target_shape(const VoxelShape& source) const;

  /// Reduces `src` (shape `source`) into `dst` (shape target_shape(source)); buffer sizes are
  /// checked (InvalidArgument). Uses fast paths (sorting networks, all-equal skips) where they exist.
  void reduce(const VoxelShape& source, ByteSpan src, MutableByteSpan dst) const;

  /// Same contract and bytes as reduce(), computed block by block with no fast path: the
  /// reference the fast paths are tested against. Slow.
  void reduce_generic(const VoxelShape& source, ByteSpan src, MutableByteSpan dst) const;

 private:
  InterpolationMode mode_;
  DType dtype_;
  Vec3 factor_;
};

/// Nearest-neighbour upsampling: every source voxel fills its whole factor block of `dst`
/// (shape: channels × source.xyz·factor). The library writes only the block offsets 0 and f−1 per
/// axis, leaving zero holes when a factor is >= 3; wkfs fills every voxel (identical for f <= 2).
void upsample(DType dtype, Vec3 factor, const VoxelShape& source, ByteSpan src,
              MutableByteSpan dst);

}  // namespace wkfs
