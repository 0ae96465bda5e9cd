// Fuzzes shard index decoding: the first byte picks the index layout (chunks per shard, index
// location, byte order, crc32c or not), the rest is the shard file. Any Error is fine. A decoded
// index must only point inside the file, and re-assembling the shard from its chunks must decode
// to the same chunks.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "formats/shard_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wkfs;
  if (size < 1) return 0;
  const uint8_t sel = data[0];
  ByteSpan file(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  ShardIndexLayout layout;
  layout.chunks_per_shard = {1, 1 + (sel & 1), 1 + ((sel >> 1) & 3), 1 + ((sel >> 3) & 1)};
  layout.at_end = !(sel & 0x10);
  layout.codec.big_endian = (sel & 0x20) != 0;
  if (sel & 0x40) layout.codec.order = {3, 2, 1, 0, 4};
  if (!(sel & 0x80)) layout.codec.byte_codecs.push_back(ByteCodec{ByteCodec::Kind::Crc32c});
  try {
    uint64_t at = shard_index_offset(layout, file.size(), "fuzz");
    ShardIndex idx = decode_shard_index(file.subspan(at, layout.encoded_size()), layout, file.size(), "fuzz");
    if (idx.size() != layout.num_entries()) std::abort();
    std::vector<std::optional<Bytes>> chunks(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
      if (!idx.stored(i)) continue;
      if (idx.offset(i) > file.size() || idx.nbytes(i) > file.size() - idx.offset(i)) std::abort();
      ByteSpan c = file.subspan(idx.offset(i), idx.nbytes(i));
      chunks[i] = Bytes(c.begin(), c.end());
    }
    Bytes again = assemble_shard(chunks, layout);
    ShardIndex idx2;
    try {  // what we assemble must always decode
      uint64_t at2 = shard_index_offset(layout, again.size(), "fuzz");
      idx2 = decode_shard_index(ByteSpan(again).subspan(at2, layout.encoded_size()), layout, again.size(), "fuzz");
    } catch (const Error&) {
      std::abort();
    }
    for (size_t i = 0; i < idx.size(); ++i) {
      if (idx.stored(i) != idx2.stored(i)) std::abort();
      if (idx.stored(i) && (idx.nbytes(i) != idx2.nbytes(i) ||
                            (idx.nbytes(i) > 0 &&
                             std::memcmp(again.data() + idx2.offset(i), chunks[i]->data(), idx.nbytes(i)) != 0)))
        std::abort();
    }
  } catch (const Error&) {
  }
  return 0;
}
