#pragma once
// Byte-level compressors used by the formats, each a thin wrapper over its Debian library.
// Every decoder takes the exact decoded size it must produce and throws Error(Corrupt) with
// context when the payload does not decode to exactly that size.
#include <string>

#include "core/bytes.hpp"

namespace wkfs {

/// zstd frame (libzstd); checksum adds the content checksum.
Bytes zstd_compress(ByteSpan in, int level, bool checksum);
Bytes zstd_decompress(ByteSpan in, size_t expected_size);

/// gzip member (zlib with gzip header), as the Zarr `gzip` codec and numcodecs GZip write it.
Bytes gzip_compress(ByteSpan in, int level);
Bytes gzip_decompress(ByteSpan in, size_t expected_size);

/// zlib stream, as numcodecs `zlib` writes it.
Bytes zlib_compress(ByteSpan in, int level);
Bytes zlib_decompress(ByteSpan in, size_t expected_size);

/// Blosc1 (c-blosc) parameters as Zarr spells them.
struct BloscParams {
  std::string cname = "lz4";  // blosclz, lz4, lz4hc, zlib, zstd, snappy
  int clevel = 5;
  int shuffle = 1;            // 0 none, 1 byte shuffle, 2 bit shuffle
  size_t typesize = 1;
  size_t blocksize = 0;       // 0 = automatic
};
Bytes blosc_compress(ByteSpan in, const BloscParams& params);
Bytes blosc_decompress(ByteSpan in, size_t expected_size);

/// Raw LZ4 block (no frame, no size prefix), as WKW stores blocks. hc selects LZ4HC at `level`.
Bytes lz4_block_compress(ByteSpan in, bool hc, int level);
Bytes lz4_block_decompress(ByteSpan in, size_t expected_size);

}  // namespace wkfs
