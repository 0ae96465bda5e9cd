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
#include "formats/shard_file.hpp"

namespace wkfs::storage {
class Store;
struct StoreContext;
}

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
  /// The mag folder, or for a remote array its URL (shard_path joins keys to it with '/').
  const fs::path& path() const { return path_; }
  /// True when the array lives in a remote store (read-only, every shard read is a request).
  bool remote() const { return store_ != nullptr; }
  /// Makes the array read its shards from `store` (rooted at the array) instead of local files;
  /// writes and resizes then fail with ReadOnly naming the URL. Used by open_array for URLs.
  void attach_store(std::shared_ptr<storage::Store> store) { store_ = std::move(store); }

  /// Reads `box` (array coordinates) into `out` (C order over box.shape); voxels outside the
  /// shape or in missing chunks/shards read as the fill value.
  void read(const NdBox& box, MutableByteSpan out) const;

  /// The shard files of one consistent version, opened once: shard index -> descriptor, -1 = no
  /// file (fill). An open descriptor keeps its version however often the file is replaced.
  using PinnedShards = std::function<int(const VecN& shard)>;
  /// Reads `box` from pinned shard files instead of opening them by path (a remote array has no
  /// files to pin: it reads the store, one consistent version per shard).
  void read(const NdBox& box, MutableByteSpan out, const PinnedShards& pinned) const;

  /// Writes `in` (C order over box.shape) to `box`, which must lie inside the shape; each touched
  /// shard is read, patched, re-encoded and replaced atomically.
  void write(const NdBox& box, ByteSpan in);

  /// The file of the one shard that holds `box`, encoded from `in` alone (no stored file is read):
  /// what write would store for that shard if it had no file yet; nullopt = no file.
  std::optional<Bytes> encode(const NdBox& box, ByteSpan in) const;

  /// Path (or URL) of the file holding a shard (whether or not it exists).
  fs::path shard_path(const VecN& shard_index) const { return path_ / shard_key(shard_index); }
  /// The version of a shard's file now (local: its stat identity; remote: a HEAD request);
  /// nullopt when the shard has no file.
  std::optional<ShardFileVersion> shard_version(const VecN& shard_index) const;
  /// The shard's file name relative to the array ('/'-separated: "c/0/0/0", "z0/y0/x0.wkw").
  virtual std::string shard_key(const VecN& shard_index) const = 0;

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
  virtual std::optional<Bytes> decode_chunk(ShardFile& file, const VecN& chunk_in_shard) const = 0;

  /// Reads what every chunk of a remote shard needs first (Zarr3's index, WKW's header and jump
  /// table), which fixes the file's version before the chunk cache is asked. Default: nothing.
  virtual void prepare_remote_shard(ShardFile&) const {}

  /// ReadOnly naming the URL when the array is remote; `what` is the refused operation.
  void require_local(const std::string& what) const;

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
  /// Reads the part `in_shard` of `box` from one shard; returns without copying for a missing one.
  void read_shard(const VecN& shard, const NdBox& in_shard, const NdBox& box, MutableByteSpan out,
                  const PinnedShards* pinned) const;
  std::shared_ptr<const Bytes> cached_chunk(const VecN& chunk_index) const;

  fs::path path_;
  ArrayMeta meta_;
  // Read-modify-write of one shard must not interleave with another of the same shard; different
  // shards proceed in parallel (lock striping by shard index).
  static constexpr size_t kShardLockStripes = 64;
  mutable std::array<std::mutex, kShardLockStripes> shard_locks_;
  bool store_fill_chunks_ = false;
  std::shared_ptr<ChunkCache> cache_;
  std::shared_ptr<storage::Store> store_;  // null: local files
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

/// Opens the read-only array in `store` (rooted at the mag; `location` is its URL for paths and
/// messages), its metadata fetched through the store in the order zarr.json, .zarray, header.wkw.
/// NotFound naming the URL when none is there; the store's errors (EACCES, EIO) otherwise.
std::unique_ptr<Array> open_array(std::shared_ptr<storage::Store> store, const std::string& location,
                                  std::shared_ptr<ChunkCache> cache = nullptr);

/// Opens the read-only array at `url` (https://, http://, s3://host:port/bucket/key as the library
/// writes them) through a store of `context` (its HttpClient, auth token, cache).
std::unique_ptr<Array> open_remote_array(const std::string& url, const storage::StoreContext& context,
                                         std::shared_ptr<ChunkCache> cache = nullptr);

/// The indices of the shards that hold part of `box` (clipped to the array), in C order.
std::vector<VecN> shards_covering(const ArrayMeta& meta, const NdBox& box);

}  // namespace wkfs
