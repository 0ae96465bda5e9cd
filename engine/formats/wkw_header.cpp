#include "formats/wkw_header.hpp"

#include <cstring>

#include "core/error.hpp"

namespace wkfs {

namespace {

// The library creates files of at most 32768 voxels per edge; LZ4 cannot handle larger blocks
// than LZ4_MAX_INPUT_SIZE, and a decoded block must fit in memory.
constexpr unsigned kMaxFileLenVxLog2 = 15;
constexpr uint64_t kMaxBlockBytes = 0x7E000000;

[[noreturn]] void corrupt(const std::string& where, const std::string& what) {
  fail(ErrorKind::Corrupt, where + ": " + what);
}

}  // namespace

bool WkwHeader::same_geometry(const WkwHeader& o) const {
  return block_len_log2 == o.block_len_log2 && file_len_log2 == o.file_len_log2 &&
         dtype == o.dtype && voxel_size == o.voxel_size;
}

WkwHeader parse_wkw_header(ByteSpan bytes, const std::string& where) {
  if (bytes.size() < kWkwHeaderSize)
    corrupt(where, "WKW header needs 16 bytes, file has " + std::to_string(bytes.size()));
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (std::memcmp(b, "WKW", 3) != 0) corrupt(where, "bad magic bytes (expected \"WKW\")");
  WkwHeader h;
  h.version = b[3];
  if (h.version != 1)
    corrupt(where, "unsupported WKW version " + std::to_string(h.version) + " (expected 1)");
  h.block_len_log2 = b[4] & 0x0f;
  h.file_len_log2 = b[4] >> 4;
  if (h.block_len_log2 + h.file_len_log2 > kMaxFileLenVxLog2)
    corrupt(where, "file edge of 2^" + std::to_string(h.block_len_log2 + h.file_len_log2) +
                       " voxels exceeds the WKW limit of 32768");
  if (b[5] < 1 || b[5] > 3)
    corrupt(where, "unknown block type " + std::to_string(b[5]) + " (expected 1 RAW, 2 LZ4, 3 LZ4HC)");
  h.block_type = static_cast<WkwBlockType>(b[5]);
  if (b[6] < 1 || b[6] > 10)
    corrupt(where, "unknown voxel type " + std::to_string(b[6]) + " (expected 1..10)");
  h.dtype = dtype_from_wkw_voxel_type(b[6]);
  h.voxel_size = b[7];
  if (h.voxel_size == 0 || h.voxel_size % h.type_size() != 0)
    corrupt(where, "voxel size " + std::to_string(h.voxel_size) +
                       " is not a positive multiple of the type size " + std::to_string(h.type_size()));
  if (h.block_bytes() > kMaxBlockBytes)
    corrupt(where, "block of " + std::to_string(h.block_bytes()) + " bytes is too large");
  h.data_offset = load_le<uint64_t>(bytes.data() + 8);
  return h;
}

Bytes serialize_wkw_header(const WkwHeader& h) {
  Bytes out(kWkwHeaderSize);
  std::memcpy(out.data(), "WKW", 3);
  out[3] = std::byte{h.version};
  out[4] = std::byte(static_cast<uint8_t>((h.file_len_log2 << 4) | (h.block_len_log2 & 0x0f)));
  out[5] = std::byte{static_cast<uint8_t>(h.block_type)};
  out[6] = std::byte(static_cast<uint8_t>(wkw_voxel_type(h.dtype)));
  out[7] = std::byte{h.voxel_size};
  store_le<uint64_t>(out.data() + 8, h.data_offset);
  return out;
}

void check_wkw_data_offset(const WkwHeader& h, const std::string& where) {
  if (h.data_offset < h.data_file_offset())
    corrupt(where, "data offset " + std::to_string(h.data_offset) + " overlaps the " +
                       (h.compressed() ? "jump table" : "header") + " (expected >= " +
                       std::to_string(h.data_file_offset()) + ")");
}

void check_wkw_file_size(const WkwHeader& h, uint64_t size, const std::string& where) {
  if (!h.compressed()) {
    // data_offset may be anything; the blocks total < 2^53 bytes, so compare without overflow
    const uint64_t data_bytes = h.file_vol() * h.block_bytes();
    if (h.data_offset > size || size - h.data_offset < data_bytes)
      corrupt(where, "RAW file is truncated: " + std::to_string(size) + " bytes, expected " +
                         std::to_string(h.data_offset) + " + " + std::to_string(data_bytes));
    return;
  }
  if (size < kWkwHeaderSize + 8 * h.file_vol())
    corrupt(where, "jump table of " + std::to_string(h.file_vol()) + " entries is truncated (file has " +
                       std::to_string(size) + " bytes)");
}

void check_wkw_block_extent(const WkwHeader& h, uint64_t m, uint64_t begin, uint64_t end,
                            uint64_t file_size, const std::string& where) {
  if (begin < h.data_offset)
    corrupt(where, "jump table entry " + std::to_string(m - 1) + " (" + std::to_string(begin) +
                       ") is before the data offset (" + std::to_string(h.data_offset) + ")");
  if (end < begin)
    corrupt(where, "jump table entry " + std::to_string(m) + " (" + std::to_string(end) +
                       ") is before the start of its block (" + std::to_string(begin) + ")");
  if (end > file_size)
    corrupt(where, "jump table entry " + std::to_string(m) + " (" + std::to_string(end) +
                       ") is past the end of the file (" + std::to_string(file_size) + " bytes)");
}

WkwBlockExtent WkwFileLayout::block(uint64_t i) const {
  if (!header.compressed()) return {header.data_offset + i * header.block_bytes(), header.block_bytes()};
  uint64_t begin = i == 0 ? header.data_offset : jump_table[i - 1];
  return {begin, jump_table[i] - begin};
}

WkwFileLayout parse_wkw_file_layout(ByteSpan file, const std::string& where) {
  WkwFileLayout layout;
  layout.header = parse_wkw_header(file, where);
  const WkwHeader& h = layout.header;
  check_wkw_data_offset(h, where);
  const uint64_t size = file.size();
  check_wkw_file_size(h, size, where);
  if (!h.compressed()) return layout;
  const uint64_t n = h.file_vol();
  layout.jump_table.resize(n);
  uint64_t prev = h.data_offset;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t end = load_le<uint64_t>(file.data() + kWkwHeaderSize + 8 * i);
    check_wkw_block_extent(h, i, prev, end, size, where);
    layout.jump_table[i] = end;
    prev = end;
  }
  return layout;
}

}  // namespace wkfs
