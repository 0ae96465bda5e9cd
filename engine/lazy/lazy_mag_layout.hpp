#pragma once
// The facts of a new lazily computed mag: its array, the region the computation writes, and its
// entry in the properties. Kept together here until they are shared with the Dataset's own new
// mags (the same facts are written there).
#include <optional>
#include <string>
#include <vector>

#include "core/vec.hpp"
#include "dataset/dataset.hpp"
#include "formats/array.hpp"

namespace wkfs {

/// The region the eager computation writes, in the target mag's array coordinates.
NdBox layer_region(const LayerProperties& layer, const Mag& mag, const std::vector<std::string>& axes);
/// The array of a lazily computed mag, its default shard capped at `shard_edge`.
ArraySpec lazy_array_spec(const LayerProperties& layer, const Mag& mag, const MagOptions& options, int64_t shard_edge);
/// The properties entry of lazy mag `mag` of `layer`; `cube_length` is its shard edge (WKW only).
MagEntry lazy_mag_entry(const LayerProperties& layer, const Mag& mag, std::optional<int64_t> cube_length);

}  // namespace wkfs
