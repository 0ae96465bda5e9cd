#pragma once
// One vocabulary for "a new mag" (notes 4.4, 4.5, 7 add_mag): its shapes from the add_mag options,
// the array the library creates for it, the layer region in its array coordinates, and the entry
// the library appends to the layer's mags. Eager add_mag and lazy registration both use these, so
// a mag looks the same on disk whichever way it was made.
#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataset/properties.hpp"
#include "dataset/properties_store.hpp"
#include "formats/array.hpp"

namespace wkfs {

namespace fs = std::filesystem;

/// Options of add_mag and friends; unset fields take the library's defaults (notes 4.4).
struct MagOptions {
  std::optional<Vec3> chunk_shape;
  std::optional<Vec3> shard_shape;
  std::optional<bool> compress;  // default true
};

/// The resolved shapes of a new mag (mag voxels; shard == chunk for zarr v2).
struct NewMagShapes {
  Vec3 chunk, shard;
  bool compress = true;
};

/// The largest decoded chunk (all channels) a new mag may have: a chunk is the unit every read
/// decodes and the chunk cache holds, and a write holds it about three times (old, new, encoded).
/// 3 x 64 MiB stays well below the default lazy memory cap (1 GiB), so computations fit beside it.
inline constexpr int64_t kMaxChunkBytes = int64_t{64} << 20;
/// The decoded bytes of one block of `shape` voxels of `layer` (all channels).
int64_t decoded_bytes(const LayerProperties& layer, const Vec3& shape);

/// The library's default shard shape for a new mag (notes 4.4).
Vec3 default_shard_shape(DataFormat format, const LayerProperties& layer, Vec3 chunk_shape);

/// The shapes add_mag uses for `options`, validated (powers of two, shard a multiple of chunk, WKW
/// uniform, no sharding for zarr v2, a chunk of at most kMaxChunkBytes); InvalidArgument otherwise. `default_shard_edge` caps the
/// *default* shard (not a given one) on every axis, at least one chunk: lazily computed mags use it
/// so that a first read computes one small file.
NewMagShapes resolve_mag_options(const LayerProperties& layer, const MagOptions& options,
                                 std::optional<int64_t> default_shard_edge = std::nullopt);

/// Validates add_mag options for a layer as resolve_mag_options does; InvalidArgument otherwise.
void check_mag_options(const LayerProperties& layer, const MagOptions& options);

/// The array of a new mag: the layer's axes, each spatial extent ceil(ceil(bbox.bottomright / mag)
/// / shard) * shard (notes 4.5), all channels in one chunk, extra axes up to their upper bound.
ArraySpec new_mag_array_spec(const LayerProperties& layer, const Mag& mag, const NewMagShapes& shapes);

/// The layer bbox in the array coordinates of `mag` (aligned outward, notes 5.1) over `axes`: all
/// channels, extra axes over their bounds. The region a computation or a copy of the mag covers.
NdBox mag_region(const LayerProperties& layer, const Mag& mag, const std::vector<std::string>& axes);

/// Index of x, y, z in an array's axes (the layer's names when they match its rank, else the
/// array's own); Corrupt if the array lacks one.
std::array<size_t, 3> xyz_axes(const LayerProperties& layer, const ArrayMeta& meta);
/// The x, y, z components of a per-axis vector.
inline Vec3 spatial(const VecN& v, const std::array<size_t, 3>& idx) { return {v[idx[0]], v[idx[1]], v[idx[2]]}; }

/// The entry the library appends for a mag of `layer` (layer.py add_mag): path "./<layer>/<short>",
/// `cube_length` (the WKW file edge; ignored for other formats) and the layer's axis order. No
/// channelIndex: a new array holds the layer's channels from 0.
MagEntry new_mag_entry(const LayerProperties& layer, const Mag& mag, std::optional<int64_t> cube_length);
/// new_mag_entry for a mag folder in the layer holding the array `meta` (cubeLength = shard x).
MagEntry local_mag_entry(const LayerProperties& layer, const Mag& mag, const ArrayMeta& meta);

/// InvalidArgument unless `dir` (a mag folder to be written) and its layer folder are real folders
/// (or absent) inside `root`: a write through a symlink would change another place on disk.
void require_inside_dataset(const fs::path& root, const fs::path& dir);

/// AlreadyExists (the library's IndexError message) if `layer` has `mag` already.
void require_new_mag(const LayerProperties& layer, const Mag& mag);

/// Creates the array of a new mag in <root>/<layer>/<short> and appends its entry to `layer`;
/// registers the removal in `undo`. Refuses (AlreadyExists) a mag folder that is a symlink or lies
/// outside the dataset: add_mag writes only real folders of its own dataset.
std::shared_ptr<Array> create_mag(const fs::path& root, LayerProperties& layer, const Mag& mag,
                                  const NewMagShapes& shapes, PropertiesStore::UndoList& undo);

}  // namespace wkfs
