#include "formats/zarr3_array.hpp"

#include <mutex>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/metadata_file.hpp"
#include "formats/versioned_cache.hpp"
#include "formats/zarr3_metadata.hpp"

namespace wkfs {

namespace {

size_t linear_index(const VecN& idx, const VecN& shape) {
  size_t l = 0;
  for (size_t i = 0; i < idx.size(); ++i) l = l * static_cast<size_t>(shape[i]) + static_cast<size_t>(idx[i]);
  return l;
}

std::string text_of(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// Decoded shard indexes of recently read shard files. A read of one chunk needs the index of
// its shard; re-reading and re-checking a 512 KiB index per 32 KiB chunk would dominate. Keyed by
// file version (local identity, remote ETag), so a rewritten shard is never served a stale index.
using ShardIndexCache = VersionedCache<ShardIndex>;

class Zarr3Array final : public Array {
 public:
  Zarr3Array(fs::path path, Zarr3Metadata md) : Array(std::move(path), md.meta), md_(std::move(md)) {}

  std::string shard_key(const VecN& shard_index) const override { return md_.key.key(shard_index); }

  void resize(const VecN& new_shape) override {
    require_local("resize of");
    rewrite_metadata_shape(path(), "zarr.json", new_shape, meta().rank());
    set_shape(new_shape);
  }

  std::string codec_summary() const override {
    return md_.sharding ? "sharding_indexed(" + md_.codec.summary() + ")" : md_.codec.summary();
  }

  bool compressed() const override { return md_.codec.compressed(); }

 protected:
  std::optional<Bytes> decode_chunk(ShardFile& file, const VecN& chunk_in_shard) const override {
    const ArrayMeta& m = meta();
    if (!md_.sharding) {
      Bytes stored = file.read(storage::ByteRange::whole());
      return md_.codec.decode(stored, m.chunk_shape, m.elem_size(), file.name());
    }
    std::shared_ptr<const ShardIndex> index = load_index(file);
    size_t i = linear_index(chunk_in_shard, md_.sharding->chunks_per_shard);
    if (!index->stored(i)) return std::nullopt;
    Bytes stored = file.read(storage::ByteRange::span(index->offset(i), index->nbytes(i)));
    return md_.codec.decode(stored, m.chunk_shape, m.elem_size(), file.name() + " chunk " + to_string(chunk_in_shard));
  }

  void prepare_remote_shard(ShardFile& file) const override {
    if (md_.sharding) load_index(file);
  }

  ShardChunks decode_shard(ByteSpan file, const fs::path& path) const override {
    const ArrayMeta& m = meta();
    ShardChunks chunks;
    if (!md_.sharding) {
      chunks.emplace_back(md_.codec.decode(file, m.chunk_shape, m.elem_size(), path.string()));
      return chunks;
    }
    const ShardIndexLayout& layout = *md_.sharding;
    uint64_t at = shard_index_offset(layout, file.size(), path.string());
    ShardIndex index = decode_shard_index(file.subspan(at, layout.encoded_size()), layout, file.size(), path.string());
    chunks.resize(index.size());
    for (size_t i = 0; i < index.size(); ++i) {
      if (!index.stored(i)) continue;
      chunks[i] = md_.codec.decode(file.subspan(index.offset(i), index.nbytes(i)), m.chunk_shape,
                                   m.elem_size(), path.string() + " chunk #" + std::to_string(i));
    }
    return chunks;
  }

  std::optional<Bytes> encode_shard(const ShardChunks& chunks, const VecN&) const override {
    const ArrayMeta& m = meta();
    if (!md_.sharding) {
      if (chunks.empty() || !chunks[0] || is_fill(*chunks[0])) return std::nullopt;
      return md_.codec.encode(*chunks[0], m.chunk_shape, m.elem_size());
    }
    std::vector<std::optional<Bytes>> encoded(chunks.size());
    bool any = false;
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (!chunks[i] || is_fill(*chunks[i])) continue;
      encoded[i] = md_.codec.encode(*chunks[i], m.chunk_shape, m.elem_size());
      any = true;
    }
    if (!any) return std::nullopt;
    return assemble_shard(encoded, *md_.sharding);
  }

 private:
  std::shared_ptr<const ShardIndex> load_index(ShardFile& file) const {
    const ShardIndexLayout& layout = *md_.sharding;
    const size_t n = layout.encoded_size();
    if (auto v = file.known_version()) {
      ShardIndexCache::Key key{file.name(), *v};
      if (auto hit = index_cache_.get(key)) return hit;
      uint64_t at = shard_index_offset(layout, v->size, file.name());
      Bytes raw = file.read(storage::ByteRange::span(at, n));
      return keep_index(std::move(key), raw);
    }
    // A remote shard not read yet: one request for its index, conditional on the version of the
    // index held (a 304 costs no index bytes); an index at the end is its last n bytes, whatever
    // the shard's size.
    auto held = index_cache_.latest(file.name());
    const storage::ByteRange range = layout.at_end ? storage::ByteRange::suffix(n) : storage::ByteRange::span(0, n);
    std::optional<Bytes> raw = held ? file.read_if_changed(range, held->first.version) : file.read(range);
    if (!raw) return held->second;
    ShardFileVersion v = file.version();
    shard_index_offset(layout, v.size, file.name());  // Corrupt when too short for an index
    return keep_index(ShardIndexCache::Key{file.name(), v}, *raw);
  }

  std::shared_ptr<const ShardIndex> keep_index(ShardIndexCache::Key key, ByteSpan raw) const {
    auto index = std::make_shared<const ShardIndex>(
        decode_shard_index(raw, *md_.sharding, key.version.size, key.file));
    index_cache_.put(key, index);
    return index;
  }

  Zarr3Metadata md_;
  mutable ShardIndexCache index_cache_;
};

}  // namespace

std::unique_ptr<Array> zarr3_array_from_metadata(const fs::path& location, std::string_view text) {
  Zarr3Metadata md = parse_zarr3_metadata(text, (location / "zarr.json").string());
  return std::make_unique<Zarr3Array>(location, std::move(md));
}

std::unique_ptr<Array> open_zarr3_array(const fs::path& mag_dir) {
  return zarr3_array_from_metadata(mag_dir, text_of(read_file(mag_dir / "zarr.json")));
}

std::unique_ptr<Array> create_zarr3_array(const fs::path& mag_dir, const ArraySpec& spec) {
  require_no_array(mag_dir);
  std::string text = zarr3_metadata_json(spec);
  parse_zarr3_metadata(text, (mag_dir / "zarr.json").string());  // never write what we cannot read
  fs::create_directories(mag_dir);
  write_file_atomic(mag_dir / "zarr.json", text);
  return open_zarr3_array(mag_dir);
}

}  // namespace wkfs
