#pragma once
// How a coarser mag is computed from a finer one (webknossos-libs `InterpolationModes`).
#include <string>

namespace wkfs {

enum class InterpolationMode { Median, Mode, Nearest, Bilinear, Bicubic, Max, Min };

/// Parses "default|median|mode|nearest|bilinear|bicubic|max|min" (case-insensitive); "default" is
/// mode for segmentation layers and median otherwise. Anything else is Error(InvalidArgument).
InterpolationMode parse_interpolation_mode(const std::string& name, bool is_segmentation);

/// Lower-case name ("median", ...).
std::string interpolation_mode_name(InterpolationMode mode);

/// True for the block reductions (median, mode, max, min), whose output voxel depends only on its
/// own source block; false for the spline zooms, whose result depends on the tiling.
bool is_block_reduction(InterpolationMode mode);

}  // namespace wkfs
