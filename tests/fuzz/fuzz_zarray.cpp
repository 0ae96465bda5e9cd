// Fuzzes the Zarr v2 .zarray parser. Any Error is fine; crashes, sanitizer reports and broken
// invariants of an accepted metadata are not. Accepted metadata also decode the input itself as
// a chunk when the chunk is small, which drives the compressors with hostile payloads.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.hpp"
#include "formats/zarr2_metadata.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wkfs;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    Zarr2Metadata md = parse_zarray(text, "fuzz");
    const ArrayMeta& m = md.meta;
    if (m.chunk_shape.size() != m.rank() || m.shard_shape != m.chunk_shape) std::abort();
    if (m.fill_value.size() != m.elem_size()) std::abort();
    (void)md.key(VecN(m.rank(), 0));
    if (m.chunk_bytes() <= (1u << 16))
      md.codec.decode(ByteSpan(reinterpret_cast<const std::byte*>(data), size), m.chunk_shape, m.elem_size(), "fuzz");
  } catch (const Error&) {
  }
  return 0;
}
