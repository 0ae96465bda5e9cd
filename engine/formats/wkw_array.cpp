#include "formats/wkw_array.hpp"

#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "codecs/compression.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/morton.hpp"
#include "formats/versioned_cache.hpp"
#include "formats/wkw_block_layout.hpp"
#include "formats/wkw_header.hpp"

namespace wkfs {

namespace {

// WKW has no shape: every coordinate is addressable and a missing file reads as zeros. 2^31 per
// axis is a multiple of every possible file edge and keeps voxel counts far from int64 overflow.
constexpr int64_t kWkwAxisExtent = int64_t{1} << 31;

std::string block_where(const fs::path& file, uint64_t morton_index) {
  auto c = morton_decode(morton_index);
  return file.string() + ": block " + std::to_string(morton_index) + " (" + std::to_string(c.x) +
         "," + std::to_string(c.y) + "," + std::to_string(c.z) + ")";
}

bool all_zero(ByteSpan b) {
  size_t i = 0;
  for (; i + 8 <= b.size(); i += 8)
    if (load_le<uint64_t>(b.data() + i) != 0) return false;
  for (; i < b.size(); ++i)
    if (b[i] != std::byte{0}) return false;
  return true;
}

class WkwArray final : public Array {
 public:
  WkwArray(fs::path dir, ArrayMeta meta, WkwHeader header)
      : Array(std::move(dir), std::move(meta)), header_(header) {}

  std::string shard_key(const VecN& s) const override {
    return "z" + std::to_string(s[3]) + "/y" + std::to_string(s[2]) + "/x" + std::to_string(s[1]) + ".wkw";
  }

  void resize(const VecN&) override {}

  std::string codec_summary() const override {
    switch (header_.block_type) {
      case WkwBlockType::Raw: return "raw";
      case WkwBlockType::Lz4: return "lz4";
      case WkwBlockType::Lz4hc: return "lz4hc(" + std::to_string(kWkwLz4hcLevel) + ")";
    }
    return "?";
  }

  bool compressed() const override { return header_.compressed(); }

 protected:
  std::optional<Bytes> decode_chunk(ShardFile& file, const VecN& chunk_in_shard) const override {
    const uint64_t m = morton_encode(static_cast<uint32_t>(chunk_in_shard[1]),
                                     static_cast<uint32_t>(chunk_in_shard[2]),
                                     static_cast<uint32_t>(chunk_in_shard[3]));
    if (file.remote()) return decode_remote_block(file, m);
    const std::string& where = file.name();
    const uint64_t file_size = file.version().size;
    WkwHeader fh = parse_wkw_header(file.read(storage::ByteRange::span(0, kWkwHeaderSize)), where);
    check_file_header(fh, where);
    const uint64_t block_bytes = fh.block_bytes();
    check_wkw_file_size(fh, file_size, where);
    if (!fh.compressed()) {
      return to_cxyz(file.read_scratch(fh.data_offset + m * block_bytes, block_bytes));
    }
    // Only the two jump table entries around this block are read: entry m-1 ends the previous
    // block (where this one starts) and entry m ends this one.
    uint64_t begin = fh.data_offset, end = 0;
    if (m == 0) {
      end = load_le<uint64_t>(file.read(storage::ByteRange::span(kWkwHeaderSize, 8)).data());
    } else {
      Bytes entries = file.read(storage::ByteRange::span(kWkwHeaderSize + 8 * (m - 1), 16));
      begin = load_le<uint64_t>(entries.data());
      end = load_le<uint64_t>(entries.data() + 8);
    }
    check_wkw_block_extent(fh, m, begin, end, file_size, where);
    ByteSpan stored = file.read_scratch(begin, end - begin);
    return to_cxyz(decompress(stored, block_bytes, where, m));
  }

  // Remote files: header and jump table come in one request per file version (kept in
  // layouts_), then one ranged request per block, instead of three requests per block.
  void prepare_remote_shard(ShardFile& file) const override { remote_layout(file); }

  ShardChunks decode_shard(ByteSpan file, const fs::path& path) const override {
    const std::string where = path.string();
    // The voxel grid is checked first: a file of another geometry is mismatched, not truncated.
    check_file_header(parse_wkw_header(file, where), where);
    WkwFileLayout layout = parse_wkw_file_layout(file, where);
    const WkwHeader& fh = layout.header;
    const uint64_t f = fh.file_len();
    ShardChunks chunks(fh.file_vol());
    StoredBlocks kept{path.string(), {}};
    const bool keep = fh.block_type == header_.block_type && fh.compressed();
    if (keep) kept.payloads.resize(fh.file_vol());
    for (uint64_t m = 0; m < fh.file_vol(); ++m) {
      WkwBlockExtent e = layout.block(m);
      ByteSpan stored = file.subspan(e.offset, e.size);
      MortonCoord c = morton_decode(m);
      auto& slot = chunks[(c.x * f + c.y) * f + c.z];
      if (fh.compressed())
        slot = to_cxyz(decompress(stored, fh.block_bytes(), path, m));
      else
        slot = to_cxyz(stored);
      if (keep) kept.payloads[m].assign(stored.begin(), stored.end());
    }
    std::lock_guard lock(kept_mutex_);
    if (keep)
      kept_ = std::move(kept);
    else
      kept_.reset();
    return chunks;
  }

  std::optional<Bytes> encode_shard(const ShardChunks& chunks, const VecN& shard_index) const override {
    WkwHeader fh = header_;
    fh.data_offset = fh.data_file_offset();
    const uint64_t f = fh.file_len(), n = fh.file_vol();
    const size_t block_bytes = static_cast<size_t>(fh.block_bytes());
    if (chunks.size() != n)
      fail(ErrorKind::InvalidArgument, path().string() + ": WKW file needs " + std::to_string(n) +
                                           " blocks, got " + std::to_string(chunks.size()));
    Bytes header = serialize_wkw_header(fh);
    if (!fh.compressed()) {
      // Zero-initialised: blocks that are not given stay zero, as in a new libwkw RAW file.
      Bytes out(fh.data_offset + n * block_bytes);
      std::copy(header.begin(), header.end(), out.begin());
      for (uint64_t m = 0; m < n; ++m) {
        MortonCoord c = morton_decode(m);
        const auto& slot = chunks[(c.x * f + c.y) * f + c.z];
        if (slot) from_cxyz(*slot, out.data() + fh.data_offset + m * block_bytes);
      }
      return out;
    }
    std::optional<StoredBlocks> kept;
    {
      std::lock_guard lock(kept_mutex_);
      if (kept_ && kept_->file == shard_path(shard_index).string()) kept = std::move(kept_);
      kept_.reset();
    }
    Bytes out(fh.data_offset);
    std::copy(header.begin(), header.end(), out.begin());
    if (kept) {  // the new file is usually about as large as the old one
      size_t old_size = out.size();
      for (const Bytes& p : kept->payloads) old_size += p.size();
      out.reserve(old_size + old_size / 8);
    }
    Bytes block(block_bytes);
    for (uint64_t m = 0; m < n; ++m) {
      MortonCoord c = morton_decode(m);
      const auto& slot = chunks[(c.x * f + c.y) * f + c.z];
      if (!slot || all_zero(*slot)) {
        const Bytes& z = compressed_zero_block();
        out.insert(out.end(), z.begin(), z.end());
        continue_jump_table(out, m);
        continue;
      }
      from_cxyz(*slot, block.data());
      if (kept && decodes_to(kept->payloads[m], block)) {
        out.insert(out.end(), kept->payloads[m].begin(), kept->payloads[m].end());
      } else {
        Bytes packed = compress(block);
        out.insert(out.end(), packed.begin(), packed.end());
      }
      continue_jump_table(out, m);
    }
    return out;
  }

 private:
  // Compressed payloads of the shard file decode_shard read last, kept for the encode_shard of
  // the same read-modify-write: a block whose stored payload still decodes to its new content is
  // copied instead of compressed again (LZ4HC runs at ~20 MB/s, decoding at GB/s), so a small
  // write into a big file does not recompress the whole file. Exact comparison, not a hash: a
  // reused payload always decodes to the new content.
  struct StoredBlocks {
    std::string file;
    std::vector<Bytes> payloads;  // by Morton index
  };

  // Header and jump table of one remote data file version (jump_table empty for RAW files).
  std::shared_ptr<const WkwFileLayout> remote_layout(ShardFile& file) const {
    if (auto v = file.known_version())
      if (auto hit = layouts_.get({file.name(), *v})) return hit;
    // header.wkw tells whether data files have a jump table; a file may differ, then a second
    // request fetches the table its own header announces.
    const uint64_t want = kWkwHeaderSize + (header_.compressed() ? 8 * header_.file_vol() : 0);
    const auto range = storage::ByteRange::span(0, want);
    auto held = layouts_.latest(file.name());
    std::optional<Bytes> raw = held ? file.read_if_changed(range, held->first.version) : file.read(range);
    if (!raw) return held->second;
    const std::string& where = file.name();
    WkwFileLayout layout;
    layout.header = parse_wkw_header(*raw, where);
    check_file_header(layout.header, where);
    const WkwHeader& fh = layout.header;
    const uint64_t file_size = file.version().size;
    check_wkw_file_size(fh, file_size, where);
    if (fh.compressed()) {
      const uint64_t table = 8 * fh.file_vol();
      Bytes more;
      if (raw->size() < kWkwHeaderSize + table)
        more = file.read(storage::ByteRange::span(kWkwHeaderSize, table));
      const std::byte* t = more.empty() ? raw->data() + kWkwHeaderSize : more.data();
      layout.jump_table.resize(fh.file_vol());
      for (uint64_t i = 0; i < fh.file_vol(); ++i) layout.jump_table[i] = load_le<uint64_t>(t + 8 * i);
    }
    auto kept = std::make_shared<const WkwFileLayout>(std::move(layout));
    layouts_.put({file.name(), file.version()}, kept);
    return kept;
  }

  std::optional<Bytes> decode_remote_block(ShardFile& file, uint64_t m) const {
    auto layout = remote_layout(file);
    const WkwHeader& fh = layout->header;
    const std::string& where = file.name();
    if (!fh.compressed()) return to_cxyz(file.read_scratch(fh.data_offset + m * fh.block_bytes(), fh.block_bytes()));
    const uint64_t begin = m == 0 ? fh.data_offset : layout->jump_table[m - 1];
    const uint64_t end = layout->jump_table[m];
    check_wkw_block_extent(fh, m, begin, end, file.version().size, where);
    return to_cxyz(decompress(file.read_scratch(begin, end - begin), fh.block_bytes(), where, m));
  }

  static void continue_jump_table(Bytes& out, uint64_t m) {
    store_le<uint64_t>(out.data() + kWkwHeaderSize + 8 * m, out.size());
  }

  static bool decodes_to(const Bytes& payload, const Bytes& block) {
    try {
      Bytes decoded = lz4_block_decompress(payload, block.size());
      return decoded == block;
    } catch (const Error&) {
      return false;
    }
  }

  // A data file may differ from header.wkw in block type and offset, never in its voxel grid.
  void check_file_header(const WkwHeader& fh, const std::string& where) const {
    if (!fh.same_geometry(header_))
      fail(ErrorKind::Corrupt,
           where + ": header (block 2^" + std::to_string(fh.block_len_log2) + ", file 2^" +
               std::to_string(fh.file_len_log2) + " blocks, " + dtype_name(fh.dtype) + ", voxel size " +
               std::to_string(fh.voxel_size) + ") does not match header.wkw (block 2^" +
               std::to_string(header_.block_len_log2) + ", file 2^" +
               std::to_string(header_.file_len_log2) + " blocks, " + dtype_name(header_.dtype) +
               ", voxel size " + std::to_string(header_.voxel_size) + ")");
    check_wkw_data_offset(fh, where);
  }

  Bytes to_cxyz(ByteSpan block) const {
    Bytes out(block.size());
    wkw_block_to_cxyz(block.data(), out.data(), header_.type_size(), header_.num_channels(),
                      header_.block_len());
    return out;
  }

  void from_cxyz(const Bytes& chunk, std::byte* dst) const {
    cxyz_to_wkw_block(chunk.data(), dst, header_.type_size(), header_.num_channels(),
                      header_.block_len());
  }

  static Bytes decompress(ByteSpan stored, uint64_t block_bytes, const fs::path& file, uint64_t m) {
    // (file is a path or, for a remote array, the object's URL)
    try {
      return lz4_block_decompress(stored, block_bytes);
    } catch (const Error& e) {
      fail(ErrorKind::Corrupt, block_where(file, m) + ": " + e.what());
    }
  }

  Bytes compress(ByteSpan block) const {
    return header_.block_type == WkwBlockType::Lz4hc ? lz4_block_compress(block, true, kWkwLz4hcLevel)
                                                      : lz4_block_compress(block, false, 1);
  }

  // All-zero blocks are common (empty regions still get files, as libwkw writes them), and
  // compressing the same input always gives the same bytes, so it is done once per array.
  const Bytes& compressed_zero_block() const {
    std::call_once(zero_once_, [&] { zero_block_ = compress(Bytes(header_.block_bytes())); });
    return zero_block_;
  }

  WkwHeader header_;
  mutable std::once_flag zero_once_;
  mutable Bytes zero_block_;
  mutable std::mutex kept_mutex_;
  mutable std::optional<StoredBlocks> kept_;
  mutable VersionedCache<WkwFileLayout> layouts_;
};

ArrayMeta meta_from_header(const WkwHeader& h) {
  ArrayMeta meta;
  meta.dtype = h.dtype;
  const auto c = static_cast<int64_t>(h.num_channels());
  const auto b = static_cast<int64_t>(h.block_len());
  const auto fv = static_cast<int64_t>(h.file_len_vx());
  meta.shape = {c, kWkwAxisExtent, kWkwAxisExtent, kWkwAxisExtent};
  meta.chunk_shape = {c, b, b, b};
  meta.shard_shape = {c, fv, fv, fv};
  meta.axis_names = {"c", "x", "y", "z"};
  meta.fill_value = Bytes(h.type_size());
  return meta;
}

// log2 of v when v is a power of two in [1, 2^max_log2], else -1.
int exact_log2(int64_t v, int max_log2) {
  for (int k = 0; k <= max_log2; ++k)
    if (v == (int64_t{1} << k)) return k;
  return -1;
}

}  // namespace

std::unique_ptr<Array> wkw_array_from_header(const fs::path& location, ByteSpan header_bytes) {
  WkwHeader h = parse_wkw_header(header_bytes, (location / "header.wkw").string());
  return std::make_unique<WkwArray>(location, meta_from_header(h), h);
}

std::unique_ptr<Array> open_wkw_array(const fs::path& mag_dir) {
  auto bytes = read_file_if_exists(mag_dir / "header.wkw");
  if (!bytes) fail(ErrorKind::NotFound, "no WKW array in " + mag_dir.string() + " (header.wkw missing)");
  return wkw_array_from_header(mag_dir, *bytes);
}

std::unique_ptr<Array> create_wkw_array(const fs::path& mag_dir, const ArraySpec& spec) {
  const std::string where = "new WKW array in " + mag_dir.string();
  auto invalid = [&](const std::string& what) { fail(ErrorKind::InvalidArgument, where + ": " + what); };
  if (spec.chunk_shape.size() != 4 || spec.shard_shape.size() != 4)
    invalid("chunk and shard shapes must be [c, x, y, z], got " + to_string(spec.chunk_shape) +
            " and " + to_string(spec.shard_shape));
  if (spec.axis_names != std::vector<std::string>{"c", "x", "y", "z"})
    invalid("WKW stores only the axes c, x, y, z");
  const int64_t channels = spec.chunk_shape[0];
  if (spec.shard_shape[0] != channels || (!spec.shape.empty() && spec.shape[0] != channels))
    invalid("chunk, shard and array shapes disagree on the channel count");
  const int64_t block_len = spec.chunk_shape[1];
  const int64_t file_len_vx = spec.shard_shape[1];
  for (int i = 2; i <= 3; ++i)
    if (spec.chunk_shape[i] != block_len || spec.shard_shape[i] != file_len_vx)
      invalid("WKW needs the same chunk and shard size on x, y and z, got chunk " +
              to_string(spec.chunk_shape) + ", shard " + to_string(spec.shard_shape));
  const int block_log2 = exact_log2(block_len, 15);
  const int file_vx_log2 = exact_log2(file_len_vx, 15);
  if (block_log2 < 0 || file_vx_log2 < 0 || file_vx_log2 < block_log2)
    invalid("chunk size " + std::to_string(block_len) + " and shard size " +
            std::to_string(file_len_vx) +
            " must be powers of two in 1..32768 with the shard a multiple of the chunk");
  const size_t voxel_size = static_cast<size_t>(channels) * dtype_size(spec.dtype);
  if (channels < 1 || voxel_size > 255)
    invalid(std::to_string(channels) + " channels of " + dtype_name(spec.dtype) +
            " do not fit a WKW voxel (at most 255 bytes)");

  WkwHeader h;
  h.block_len_log2 = static_cast<uint8_t>(block_log2);
  h.file_len_log2 = static_cast<uint8_t>(file_vx_log2 - block_log2);
  h.block_type = spec.compress ? WkwBlockType::Lz4hc : WkwBlockType::Raw;
  h.dtype = spec.dtype;
  h.voxel_size = static_cast<uint8_t>(voxel_size);
  h.data_offset = 0;
  // Validates the size limits of blocks exactly as a reader will.
  parse_wkw_header(serialize_wkw_header(h), where);

  require_no_array(mag_dir);
  fs::create_directories(mag_dir);
  write_file_atomic(mag_dir / "header.wkw", serialize_wkw_header(h));
  return std::make_unique<WkwArray>(mag_dir, meta_from_header(h), h);
}

}  // namespace wkfs
