#pragma once
// The chunk codec chain shared by Zarr v3 and Zarr v2, reduced to what it does to bytes:
// an axis permutation (Zarr3 `transpose`, Zarr2 order "F"), the element byte order (Zarr3 `bytes`,
// Zarr2 "<"/">"), then byte-to-byte codecs (zstd, gzip, zlib, blosc, crc32c).
// Decoding yields a dense C-order, little-endian chunk; no per-element virtual dispatch.
#include <optional>
#include <string>
#include <vector>

#include "codecs/compression.hpp"
#include "core/bytes.hpp"
#include "core/vec.hpp"

namespace wkfs {

struct ByteCodec {
  enum class Kind { Zstd, Gzip, Zlib, Blosc, Crc32c };
  Kind kind = Kind::Zstd;
  int level = 0;          // zstd, gzip, zlib
  bool checksum = false;  // zstd content checksum
  BloscParams blosc;      // blosc only

  bool compresses() const { return kind != Kind::Crc32c; }
  /// "zstd(5)", "gzip(6)", "blosc(lz4,5,shuffle)", "crc32c".
  std::string summary() const;
};

struct ChunkCodec {
  VecN order;               // stored layout = transpose(chunk, order); empty = C order
  bool big_endian = false;  // element byte order as stored
  std::vector<ByteCodec> byte_codecs;  // in encode order

  /// True when some byte codec compresses.
  bool compressed() const;
  /// Encoded size for a raw chunk of `raw` bytes when no codec compresses; nullopt otherwise.
  std::optional<size_t> fixed_encoded_size(size_t raw) const;
  /// Checks what decoding needs (InvalidArgument/Unsupported naming `where`): a permutation of
  /// 0..rank-1, and no compressor before another compressor (its decoded size would be unknown).
  void validate(size_t rank, const std::string& where) const;
  /// "transpose([3,2,1,0]),bytes,zstd(5)" — the chain as named in metadata.
  std::string summary() const;

  /// Stored bytes -> dense C-order little-endian chunk of `shape`; Corrupt (naming `where`) when
  /// they do not decode to exactly that size or a checksum fails.
  Bytes decode(ByteSpan stored, const VecN& shape, size_t elem_size, const std::string& where) const;
  /// Dense C-order little-endian chunk of `shape` -> stored bytes.
  Bytes encode(ByteSpan chunk, const VecN& shape, size_t elem_size) const;
};

/// True when order is empty or 0,1,...,n-1.
bool is_identity_order(const VecN& order);

}  // namespace wkfs
