#pragma once
// The index of a Zarr v3 `sharding_indexed` shard: one (offset, nbytes) pair of u64 per inner
// chunk, C order over the inner-chunk grid, encoded with `index_codecs` (normally bytes little +
// crc32c) and stored at the end (default) or the start of the shard file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/vec.hpp"
#include "formats/zarr_codec.hpp"

namespace wkfs {

/// (offset, nbytes) of a chunk that is not stored: both 2^64-1.
inline constexpr uint64_t kShardEntryEmpty = ~uint64_t{0};

struct ShardIndexLayout {
  VecN chunks_per_shard;
  ChunkCodec codec;  // index_codecs; fixed size (no compressor)
  bool at_end = true;

  size_t num_entries() const { return static_cast<size_t>(prod(chunks_per_shard)); }
  /// Bytes of the encoded index (16 per entry plus 4 per crc32c).
  size_t encoded_size() const;
};

struct ShardIndex {
  std::vector<uint64_t> entries;  // offset, nbytes, offset, nbytes, ...

  size_t size() const { return entries.size() / 2; }
  bool stored(size_t i) const { return entries[2 * i] != kShardEntryEmpty; }
  uint64_t offset(size_t i) const { return entries[2 * i]; }
  uint64_t nbytes(size_t i) const { return entries[2 * i + 1]; }
};

/// Decodes index bytes (exactly layout.encoded_size()) of a shard file of `file_size` bytes:
/// checks the checksum and that every stored entry lies inside the file. Corrupt naming `where`.
ShardIndex decode_shard_index(ByteSpan index_bytes, const ShardIndexLayout& layout,
                              uint64_t file_size, const std::string& where);

/// Offset of the index inside a shard file of `file_size` bytes; Corrupt when the file is too
/// short to hold an index.
uint64_t shard_index_offset(const ShardIndexLayout& layout, uint64_t file_size, const std::string& where);

/// Builds a shard file from encoded chunks in index order (nullopt = not stored): the body in
/// index order, then (or before it) the encoded index.
Bytes assemble_shard(const std::vector<std::optional<Bytes>>& encoded_chunks, const ShardIndexLayout& layout);

}  // namespace wkfs
