#pragma once
// One step of a pyramid: how a target mag's array coordinates relate to its source mag's, and
// computing any target box from the source array.
#include <string>

#include "core/vec.hpp"
#include "downsample/interpolation_mode.hpp"
#include "formats/array.hpp"
#include "lazy/lazy_registry.hpp"

namespace wkfs {

struct MagStep {
  LazyKind kind = LazyKind::Downsample;
  InterpolationMode mode = InterpolationMode::Median;
  VecN factor;  // per array axis: target/source (downsample) or source/target (upsample); 1 off x,y,z
  VecN spatial_axis;  // per array axis: 0,1,2 for x,y,z, -1 for others (c, t)

  /// The step from `source` to `target` mag for arrays with these axis names.
  static MagStep make(LazyKind kind, InterpolationMode mode, const Mag& source, const Mag& target,
                      const std::vector<std::string>& axis_names);
  /// Source box whose voxels determine the target box.
  NdBox source_box(const NdBox& target) const;
  /// Target box whose voxels depend on the source box.
  NdBox affected_target(const NdBox& source) const;
  /// Computes target box `target` (C order over its shape, into out) from the source array. Works
  /// tile by tile so that at most `tile_budget_bytes` of source are held at once.
  /// `pinned`: read the source from these files (one consistent version), else by path.
  void compute(const Array& source, const ArrayMeta& target_meta, const NdBox& target, MutableByteSpan out,
               size_t tile_budget_bytes, const Array::PinnedShards* pinned = nullptr) const;

 private:
  NdBox scaled(const NdBox& box, bool up) const;
};

}  // namespace wkfs
