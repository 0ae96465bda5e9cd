#pragma once
// A chunked n-dimensional array on disk (one mag of a layer), independent of its format.
//
// The grid has two levels: chunks (the unit of compression and of the decoded-chunk cache: a Zarr
// inner chunk or a WKW block) grouped into shards (the unit of files: a Zarr3 shard, a Zarr v2
// chunk file, a WKW file). Formats implement the hooks below; Array does the region logic, the
// caching, the read-modify-write of shards and the atomic replacement of shard files.
#include <filesystem>
#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/data_format.hpp"
#include "core/dtype.hpp"
#include "core/vec.hpp"
#include "formats/chunk_cache.hpp"

namespace wkfs {

namespace fs = std::filesystem;

struct ArrayMeta {
  DType dtype = DType::UInt8;
  VecN shape;        // all array axes, channel axis included
  VecN chunk_shape;  // decoding unit
  VecN shard_shape;  // file unit, a multiple of chunk_shape (== chunk_shape when unsharded)
  std::vector<std::string> axis_names;  // e.g. c,x,y,z or c,t,z,y,x
  Bytes fill_value;                     // one element, dtype_size bytes, little-endian

  size_t rank() const { return shape.size(); }
  size_t elem_size() const { return dtype_size(dtype); }
  /// Chunks per shard along each axis.
  VecN chunks_per_shard() const;
  /// Bytes of one decoded chunk.
  size_t chunk_bytes() const { return static_cast<size_t>(prod(chunk_shape)) * elem_size(); }
};

/// Decoded chunks of one shard, indexed by the chunk's C-order position inside the shard;
/// nullopt = not stored (reads as fill).
using ShardChunks = std::vector<std::optional<Bytes>>;

class Array {
 public:
  virtual ~Array() = default;
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;

  const ArrayMeta& meta() const { return meta_; }
  const fs::path& path() const { return path_; }

  /// Reads `box` (array coordinates) into `out` (C order over box.shape); voxels outside the
  /// shape or in missing chunks/shards read as the fill value.
  void read(const NdBox& box, MutableByteSpan out) const;

  /// The shard files of one consistent version, opened once: shard index -> descriptor, -1 = no
  /// file (fill). An open descriptor keeps its version however often the file is replaced.
  using PinnedShards = std::function<int(const VecN& shard)>;
  /// Reads `box` from pinned shard files instead of opening them by path.
  void read(const NdBox& box, MutableByteSpan out, const PinnedShards& pinned) const;

  /// Writes `in` (C order over box.shape) to `box`, which must lie inside the shape; each touched
  /// shard is read, patched, re-encoded and replaced atomically.
  void write(const NdBox& box, ByteSpan in);

  /// The file of the one shard that holds `box`, encoded from `in` alone (no stored file is read):
  /// what write would store for that shard if it had no file yet; nullopt = no file.
  std::optional<Bytes> encode(const NdBox& box, ByteSpan in) const;

  /// Path of the file holding a shard (whether or not it exists).
  virtual fs::path shard_path(const VecN& shard_index) const = 0;

  /// Changes `shape` in the array's metadata file (no data is touched). No-op for WKW.
  virtual void resize(const VecN& new_shape) = 0;

  /// Short description of the codec chain for `wkfs info` (e.g. "transpose,bytes,zstd(5)").
  virtual std::string codec_summary() const = 0;

  /// True when chunks are compressed.
  virtual bool compressed() const = 0;

  /// Makes writes store fill-valued chunks and shards too (normally they are omitted, as
  /// tensorstore does): lazily computed mags need a file for every computed shard, so that "the
  /// file exists" means "the shard is computed".
  void set_store_fill_chunks(bool store) { store_fill_chunks_ = store; }

  /// Decoded chunks are looked up in and added to `cache` (null: every read decodes).
  void set_chunk_cache(std::shared_ptr<ChunkCache> cache) { cache_ = std::move(cache); }

 protected:
  Array(fs::path path, ArrayMeta meta) : path_(std::move(path)), meta_(std::move(meta)) {}

  /// Decodes one chunk of an existing shard file; nullopt when the shard does not store it.
  /// chunk_in_shard is the chunk's grid position relative to the shard's first chunk.
  virtual std::optional<Bytes> decode_chunk(int fd, uint64_t file_size, const fs::path& file,
                                            const VecN& chunk_in_shard) const = 0;

  /// Decodes every chunk of a whole shard file (for read-modify-write).
  virtual ShardChunks decode_shard(ByteSpan file, const fs::path& path) const = 0;

  /// Encodes a whole shard; nullopt means "store nothing" (the file is removed), as tensorstore
  /// does for shards with no non-fill chunk. `shard_index` is needed by formats whose files
  /// record nothing about position, but is passed for all.
  virtual std::optional<Bytes> encode_shard(const ShardChunks& chunks,
                                            const VecN& shard_index) const = 0;

  /// Replaces the in-memory metadata after a resize.
  void set_shape(const VecN& shape) { meta_.shape = shape; }

  /// True when the chunk may be omitted as fill: every element equals the fill value (and fill
  /// chunks are not being stored, see set_store_fill_chunks).
  bool is_fill(ByteSpan chunk) const;

 private:
  /// Writes `in` (C order over `box`) into the decoded chunks of `shard`, adding fill chunks where needed.
  void patch(ShardChunks& chunks, const VecN& shard, const NdBox& box, ByteSpan in) const;
  void read_shards(const NdBox& box, MutableByteSpan out, const PinnedShards* pinned) const;
  std::shared_ptr<const Bytes> cached_chunk(const VecN& chunk_index) const;

  fs::path path_;
  ArrayMeta meta_;
  // Read-modify-write of one shard must not interleave with another of the same shard; different
  // shards proceed in parallel (lock striping by shard index).
  static constexpr size_t kShardLockStripes = 64;
  mutable std::array<std::mutex, kShardLockStripes> shard_locks_;
  bool store_fill_chunks_ = false;
  std::shared_ptr<ChunkCache> cache_;
};

/// What a new array looks like; formats take what applies to them (WKW: chunk = block, shard = file,
/// no shape; Zarr v2: shard == chunk).
struct ArraySpec {
  DType dtype = DType::UInt8;
  VecN shape;        // channel axis first for 3D: [C, X, Y, Z]
  VecN chunk_shape;  // [C, cx, cy, cz]
  VecN shard_shape;  // [C, sx, sy, sz]
  std::vector<std::string> axis_names{"c", "x", "y", "z"};
  bool compress = true;  // zarr3: transpose+bytes+zstd(5, checksum); zarr: zstd 5; wkw: LZ4HC 9
};

/// Creates the array metadata (zarr.json / .zarray / header.wkw) in `mag_dir`, which may exist
/// but must not hold an array (AlreadyExists). Writes exactly what webknossos-libs writes.
std::unique_ptr<Array> create_array(const fs::path& mag_dir, DataFormat format, const ArraySpec& spec);

/// AlreadyExists if `mag_dir` holds array metadata of any format (zarr.json, .zarray, header.wkw).
void require_no_array(const fs::path& mag_dir);

/// Opens the array in `mag_dir` by what is there: zarr.json (Zarr3), .zarray (Zarr v2) or
/// header.wkw (WKW), its reads cached in `cache` (null: no caching). NotFound / InvalidArgument otherwise.
std::unique_ptr<Array> open_array(const fs::path& mag_dir, std::shared_ptr<ChunkCache> cache = nullptr);

/// The indices of the shards that hold part of `box` (clipped to the array), in C order.
std::vector<VecN> shards_covering(const ArrayMeta& meta, const NdBox& box);

}  // namespace wkfs
