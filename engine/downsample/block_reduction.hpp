#pragma once
// Block reductions (median, mode, max, min) over typed (c, x, y, z) C-order buffers; internal to
// downsample/, used by DownsampleKernel. Semantics are documented there.
#include <cstdint>

#include "downsample/downsample_kernel.hpp"

namespace wkfs {

/// Reduces `src` (shape `source`, factors dividing it) into `dst`. `allow_fast_paths` = false
/// forces the block-by-block generic path (the reference for tests).
template <typename T>
void reduce_blocks(InterpolationMode mode, const Vec3& factor, const VoxelShape& source,
                   const T* src, T* dst, bool allow_fast_paths);

}  // namespace wkfs
