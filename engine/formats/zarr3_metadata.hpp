#pragma once
// Zarr v3 array metadata (zarr.json): parsing into the engine's terms, and the form
// webknossos-libs (through tensorstore) writes for a new mag.
#include <optional>
#include <string>
#include <string_view>

#include "formats/array.hpp"
#include "formats/shard_index.hpp"
#include "formats/zarr_codec.hpp"

namespace wkfs {

/// How chunk grid positions become file names.
struct Zarr3ChunkKey {
  bool v2 = false;       // "v2" encoding: 0.0.0 ; "default": c/0/0/0
  char separator = '/';  // '/' or '.'
  /// Relative file name of the chunk (shard) at grid position idx.
  std::string key(const VecN& idx) const;
};

struct Zarr3Metadata {
  ArrayMeta meta;                             // shard_shape = chunk_grid shape
  ChunkCodec codec;                           // inner chunk chain (the whole chain if unsharded)
  std::optional<ShardIndexLayout> sharding;   // set for sharding_indexed
  Zarr3ChunkKey key;
};

/// Parses zarr.json text; `where` names the file in errors. InvalidArgument for malformed JSON,
/// unknown codecs or data types; Unsupported for valid features wkfs does not implement. Pure.
Zarr3Metadata parse_zarr3_metadata(std::string_view text, const std::string& where);

/// zarr.json text for a new array, as tensorstore writes it for webknossos-libs (compact,
/// sorted keys). InvalidArgument when the spec is inconsistent.
std::string zarr3_metadata_json(const ArraySpec& spec);

}  // namespace wkfs
