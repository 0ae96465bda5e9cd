// Fuzzes the zarr.json parser. Any Error is fine; crashes, sanitizer reports and broken
// invariants of an accepted metadata are not. Accepted metadata also decode a chunk of the
// input's tail when it is small, which drives the codec chain with hostile configurations.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.hpp"
#include "formats/zarr3_metadata.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wkfs;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    Zarr3Metadata md = parse_zarr3_metadata(text, "fuzz");
    const ArrayMeta& m = md.meta;
    if (m.chunk_shape.size() != m.rank() || m.shard_shape.size() != m.rank()) std::abort();
    if (m.fill_value.size() != m.elem_size()) std::abort();
    for (size_t i = 0; i < m.rank(); ++i)
      if (m.chunk_shape[i] <= 0 || m.shard_shape[i] % m.chunk_shape[i] != 0) std::abort();
    if (md.sharding) {
      size_t n = 1;
      for (size_t i = 0; i < m.rank(); ++i) n *= static_cast<size_t>(m.shard_shape[i] / m.chunk_shape[i]);
      if (md.sharding->num_entries() != n) std::abort();
    }
    (void)md.key.key(VecN(m.rank(), 0));
    (void)md.codec.summary();
    if (m.chunk_bytes() <= (1u << 16))
      md.codec.decode(ByteSpan(reinterpret_cast<const std::byte*>(data), size), m.chunk_shape, m.elem_size(), "fuzz");
  } catch (const Error&) {
  }
  return 0;
}
