#pragma once
// The WKW file header (16 bytes) and the jump table of compressed data files, parsed and validated
// from bytes alone (no IO), so that a fuzzer can drive it.
#include <cstdint>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/dtype.hpp"

namespace wkfs {

enum class WkwBlockType : uint8_t { Raw = 1, Lz4 = 2, Lz4hc = 3 };

/// Bytes of the fixed header at the start of header.wkw and of every data file.
inline constexpr size_t kWkwHeaderSize = 16;
/// Compression level of LZ4HC blocks, as libwkw writes them.
inline constexpr int kWkwLz4hcLevel = 9;

struct WkwHeader {
  uint8_t version = 1;
  uint8_t block_len_log2 = 5;  // voxels per block edge = 2^block_len_log2
  uint8_t file_len_log2 = 5;   // blocks per file edge = 2^file_len_log2
  WkwBlockType block_type = WkwBlockType::Raw;
  DType dtype = DType::UInt8;
  uint8_t voxel_size = 1;      // bytes per voxel, all channels
  uint64_t data_offset = 0;    // 0 in header.wkw; offset of block 0 in data files

  uint64_t block_len() const { return uint64_t{1} << block_len_log2; }
  uint64_t file_len() const { return uint64_t{1} << file_len_log2; }
  /// Voxels along one edge of a file.
  uint64_t file_len_vx() const { return uint64_t{1} << (block_len_log2 + file_len_log2); }
  /// Voxels in one block.
  uint64_t block_vol() const { return uint64_t{1} << (3 * block_len_log2); }
  /// Blocks in one file (= jump table entries of a compressed file).
  uint64_t file_vol() const { return uint64_t{1} << (3 * file_len_log2); }
  size_t type_size() const { return dtype_size(dtype); }
  size_t num_channels() const { return voxel_size / type_size(); }
  /// Bytes of one decoded block.
  uint64_t block_bytes() const { return voxel_size * block_vol(); }
  bool compressed() const { return block_type != WkwBlockType::Raw; }
  /// data_offset of a data file with this geometry: after the header, and after the jump table
  /// for compressed files.
  uint64_t data_file_offset() const { return kWkwHeaderSize + (compressed() ? 8 * file_vol() : 0); }
  /// True when both describe the same voxel grid and voxel type (block type and offset may differ).
  bool same_geometry(const WkwHeader& o) const;
  friend bool operator==(const WkwHeader&, const WkwHeader&) = default;
};

/// Parses and validates the first 16 bytes of `bytes` (magic, version, nibbles, block and voxel
/// type, voxel size, block size limits); Error(Corrupt) naming `where` otherwise.
WkwHeader parse_wkw_header(ByteSpan bytes, const std::string& where);

/// The 16 header bytes, as libwkw writes them.
Bytes serialize_wkw_header(const WkwHeader& header);

/// Byte range of one stored block inside a data file.
struct WkwBlockExtent {
  uint64_t offset = 0;
  uint64_t size = 0;
};

/// A parsed data file: header and, for LZ4/LZ4HC, the jump table (entry i = end offset of block i).
struct WkwFileLayout {
  WkwHeader header;
  std::vector<uint64_t> jump_table;  // empty for RAW files

  /// Where block `morton_index` is stored (validated by parse_wkw_file_layout).
  WkwBlockExtent block(uint64_t morton_index) const;
};

/// Parses a whole data file's header and jump table and checks that every block lies inside the
/// file: jump entries non-decreasing, >= data_offset, <= file size; RAW files full size.
/// Error(Corrupt) naming `where` otherwise. Pure: touches nothing but `file`.
WkwFileLayout parse_wkw_file_layout(ByteSpan file, const std::string& where);

/// Checks that a data file of `file_size` bytes holds what its header promises: all RAW blocks, or
/// the whole jump table of a compressed file; Error(Corrupt) naming `where` otherwise.
void check_wkw_file_size(const WkwHeader& file_header, uint64_t file_size, const std::string& where);

/// Checks the bytes [begin, end) that the jump table gives block `morton_index` (begin is the end
/// of the previous block, or data_offset for block 0); Error(Corrupt) naming `where` otherwise.
void check_wkw_block_extent(const WkwHeader& file_header, uint64_t morton_index, uint64_t begin,
                            uint64_t end, uint64_t file_size, const std::string& where);

/// Checks a data offset read from a data file (>= the header, after the jump table when
/// compressed); Error(Corrupt) naming `where` otherwise.
void check_wkw_data_offset(const WkwHeader& file_header, const std::string& where);

}  // namespace wkfs
