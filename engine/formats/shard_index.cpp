#include "formats/shard_index.hpp"

#include "core/error.hpp"

namespace wkfs {

namespace {
VecN index_array_shape(const ShardIndexLayout& layout) {
  VecN s = layout.chunks_per_shard;
  s.push_back(2);
  return s;
}
}  // namespace

size_t ShardIndexLayout::encoded_size() const {
  auto n = codec.fixed_encoded_size(num_entries() * 16);
  if (!n) fail(ErrorKind::InvalidArgument, "index_codecs must not compress (" + codec.summary() + ")");
  return *n;
}

uint64_t shard_index_offset(const ShardIndexLayout& layout, uint64_t file_size, const std::string& where) {
  uint64_t n = layout.encoded_size();
  if (file_size < n)
    fail(ErrorKind::Corrupt, where + ": truncated shard: " + std::to_string(file_size) +
                                 " bytes cannot hold its " + std::to_string(n) + "-byte index");
  return layout.at_end ? file_size - n : 0;
}

ShardIndex decode_shard_index(ByteSpan index_bytes, const ShardIndexLayout& layout, uint64_t file_size,
                              const std::string& where) {
  const std::string ctx = where + " (shard index)";
  if (index_bytes.size() != layout.encoded_size())
    fail(ErrorKind::Corrupt, ctx + ": " + std::to_string(index_bytes.size()) + " bytes, expected " +
                                 std::to_string(layout.encoded_size()));
  Bytes raw = layout.codec.decode(index_bytes, index_array_shape(layout), 8, ctx);
  ShardIndex idx;
  idx.entries.resize(raw.size() / 8);
  std::memcpy(idx.entries.data(), raw.data(), raw.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    uint64_t off = idx.offset(i), len = idx.nbytes(i);
    if (off == kShardEntryEmpty && len == kShardEntryEmpty) continue;
    if (off == kShardEntryEmpty || len == kShardEntryEmpty || off > file_size || len > file_size - off)
      fail(ErrorKind::Corrupt, ctx + ": entry " + std::to_string(i) + " (offset " + std::to_string(off) +
                                   ", " + std::to_string(len) + " bytes) lies past the end of the " +
                                   std::to_string(file_size) + "-byte file");
  }
  return idx;
}

Bytes assemble_shard(const std::vector<std::optional<Bytes>>& chunks, const ShardIndexLayout& layout) {
  const size_t n = layout.num_entries();
  if (chunks.size() != n)
    fail(ErrorKind::InvalidArgument, "assemble_shard: " + std::to_string(chunks.size()) +
                                         " chunks for an index of " + std::to_string(n));
  const size_t index_size = layout.encoded_size();
  size_t body = 0;
  for (const auto& c : chunks)
    if (c) body += c->size();
  Bytes file(body + index_size);
  std::vector<uint64_t> entries(2 * n, kShardEntryEmpty);
  uint64_t pos = layout.at_end ? 0 : index_size;
  for (size_t i = 0; i < n; ++i) {
    if (!chunks[i]) continue;
    entries[2 * i] = pos;
    entries[2 * i + 1] = chunks[i]->size();
    if (!chunks[i]->empty()) std::memcpy(file.data() + pos, chunks[i]->data(), chunks[i]->size());
    pos += chunks[i]->size();
  }
  VecN shape = index_array_shape(layout);
  Bytes index = layout.codec.encode(
      ByteSpan(reinterpret_cast<const std::byte*>(entries.data()), entries.size() * 8), shape, 8);
  std::memcpy(file.data() + (layout.at_end ? body : 0), index.data(), index.size());
  return file;
}

}  // namespace wkfs
