// Fuzzes WKW data file parsing: header, jump table and block extents from arbitrary bytes, and
// the LZ4 decoding of the first block when it is small. Any Error is fine; crashes, sanitizer
// reports and broken invariants are not.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "codecs/compression.hpp"
#include "core/error.hpp"
#include "formats/wkw_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wkfs;
  ByteSpan file(reinterpret_cast<const std::byte*>(data), size);
  try {
    WkwHeader h = parse_wkw_header(file, "fuzz");
    // Everything in the 16 bytes is captured: writing the header back gives the same bytes.
    if (std::memcmp(serialize_wkw_header(h).data(), data, kWkwHeaderSize) != 0) std::abort();
    WkwFileLayout layout = parse_wkw_file_layout(file, "fuzz");
    uint64_t prev_end = layout.header.data_offset;
    for (uint64_t i = 0; i < layout.header.file_vol(); ++i) {
      WkwBlockExtent e = layout.block(i);
      if (e.offset > size || e.size > size - e.offset) std::abort();
      if (layout.header.compressed() && e.offset != prev_end) std::abort();
      prev_end = e.offset + e.size;
    }
    WkwBlockExtent first = layout.block(0);
    if (layout.header.compressed() && layout.header.block_bytes() <= (1u << 20))
      lz4_block_decompress(file.subspan(first.offset, first.size), layout.header.block_bytes());
  } catch (const Error&) {
  }
  return 0;
}
