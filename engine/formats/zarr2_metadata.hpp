#pragma once
// Zarr v2 array metadata (.zarray): parsing into the engine's terms, and the form
// webknossos-libs (through tensorstore) writes for a new mag.
#include <string>
#include <string_view>

#include "formats/array.hpp"
#include "formats/zarr_codec.hpp"

namespace wkfs {

struct Zarr2Metadata {
  ArrayMeta meta;     // shard_shape == chunk_shape
  ChunkCodec codec;   // order "F" = reversed transpose; compressor as a byte codec
  char separator = '.';

  /// Relative file name of the chunk at grid position idx ("0.0.0.0" or "0/0/0/0").
  std::string key(const VecN& idx) const;
};

/// Parses .zarray text; `where` names the file in errors. InvalidArgument for malformed JSON,
/// unknown compressors or dtypes; Unsupported for filters. Pure.
Zarr2Metadata parse_zarray(std::string_view text, const std::string& where);

/// .zarray text for a new array as webknossos-libs writes it (order F, zstd 5 or no
/// compressor, "/" separator). InvalidArgument when shard != chunk or the spec is inconsistent.
std::string zarray_json(const ArraySpec& spec);

}  // namespace wkfs
