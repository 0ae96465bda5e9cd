#pragma once
// scipy.ndimage.zoom(order 0|1|2, mode="nearest", prefilter=True, grid_mode=False) of each
// channel of a (c, x, y, z) buffer; internal to downsample/, used by DownsampleKernel.
#include "downsample/downsample_kernel.hpp"

namespace wkfs {

/// Zooms every channel of `src` (shape `source`) to `target.xyz` voxels into `dst`.
template <typename T>
void spline_zoom(int order, const VoxelShape& source, const VoxelShape& target, const T* src,
                 T* dst);

}  // namespace wkfs
