// Fuzzes every decompressor on arbitrary bytes with an expected size taken from the input: a
// corrupt chunk must be a wkfs::Error (EIO at the boundary), never a crash or an overrun.
#include <cstdint>
#include <cstdlib>

#include "codecs/compression.hpp"
#include "core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  // first byte: codec; next two: the expected size (as a chunk's metadata would give it)
  const int codec = data[0] % 5;
  const size_t expected = (size_t(data[1]) << 8 | data[2]) * 16;
  wkfs::ByteSpan in(reinterpret_cast<const std::byte*>(data + 3), size - 3);
  try {
    wkfs::Bytes out;
    switch (codec) {
      case 0: out = wkfs::zstd_decompress(in, expected); break;
      case 1: out = wkfs::gzip_decompress(in, expected); break;
      case 2: out = wkfs::zlib_decompress(in, expected); break;
      case 3: out = wkfs::blosc_decompress(in, expected); break;
      default: out = wkfs::lz4_block_decompress(in, expected); break;
    }
    if (out.size() > expected && codec != 3) std::abort();  // never more than asked for
  } catch (const wkfs::Error&) {
  }
  return 0;
}
