#include "formats/zarr3_array.hpp"

#include <sys/stat.h>

#include <mutex>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/metadata_file.hpp"
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
// file identity, so a rewritten shard is never served a stale index.
class ShardIndexCache {
 public:
  struct Key {
    std::string file;
    uint64_t inode = 0;
    int64_t mtime_ns = 0;
    uint64_t size = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };

  std::shared_ptr<const ShardIndex> get(const Key& key) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_)
      if (e.key == key) {
        e.last_use = ++tick_;
        return e.index;
      }
    return nullptr;
  }

  void put(const Key& key, std::shared_ptr<const ShardIndex> index) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_)
      if (e.key.file == key.file) {  // a newer version of the same file replaces the old one
        e = Entry{key, std::move(index), ++tick_};
        return;
      }
    if (entries_.size() >= kCapacity) {
      auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                     [](const Entry& a, const Entry& b) { return a.last_use < b.last_use; });
      *oldest = Entry{key, std::move(index), ++tick_};
      return;
    }
    entries_.push_back(Entry{key, std::move(index), ++tick_});
  }

 private:
  static constexpr size_t kCapacity = 32;
  struct Entry {
    Key key;
    std::shared_ptr<const ShardIndex> index;
    uint64_t last_use = 0;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t tick_ = 0;
};

class Zarr3Array final : public Array {
 public:
  Zarr3Array(fs::path path, Zarr3Metadata md) : Array(std::move(path), md.meta), md_(std::move(md)) {}

  fs::path shard_path(const VecN& shard_index) const override { return path() / md_.key.key(shard_index); }

  void resize(const VecN& new_shape) override {
    rewrite_metadata_shape(path(), "zarr.json", new_shape, meta().rank());
    set_shape(new_shape);
  }

  std::string codec_summary() const override {
    return md_.sharding ? "sharding_indexed(" + md_.codec.summary() + ")" : md_.codec.summary();
  }

  bool compressed() const override { return md_.codec.compressed(); }

 protected:
  std::optional<Bytes> decode_chunk(int fd, uint64_t file_size, const fs::path& file,
                                    const VecN& chunk_in_shard) const override {
    const ArrayMeta& m = meta();
    if (!md_.sharding) {
      Bytes stored = pread_exact(fd, 0, file_size, file);
      return md_.codec.decode(stored, m.chunk_shape, m.elem_size(), file.string());
    }
    std::shared_ptr<const ShardIndex> index = load_index(fd, file_size, file);
    size_t i = linear_index(chunk_in_shard, md_.sharding->chunks_per_shard);
    if (!index->stored(i)) return std::nullopt;
    Bytes stored = pread_exact(fd, index->offset(i), static_cast<size_t>(index->nbytes(i)), file);
    return md_.codec.decode(stored, m.chunk_shape, m.elem_size(),
                            file.string() + " chunk " + to_string(chunk_in_shard));
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
  std::shared_ptr<const ShardIndex> load_index(int fd, uint64_t file_size, const fs::path& file) const {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail_errno("cannot stat " + file.string());
    ShardIndexCache::Key key{file.string(), static_cast<uint64_t>(st.st_ino),
                             static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, file_size};
    if (auto hit = index_cache_.get(key)) return hit;
    const ShardIndexLayout& layout = *md_.sharding;
    uint64_t at = shard_index_offset(layout, file_size, file.string());
    Bytes raw = pread_exact(fd, at, layout.encoded_size(), file);
    auto index = std::make_shared<const ShardIndex>(decode_shard_index(raw, layout, file_size, file.string()));
    index_cache_.put(key, index);
    return index;
  }

  Zarr3Metadata md_;
  mutable ShardIndexCache index_cache_;
};

}  // namespace

std::unique_ptr<Array> open_zarr3_array(const fs::path& mag_dir) {
  fs::path file = mag_dir / "zarr.json";
  Zarr3Metadata md = parse_zarr3_metadata(text_of(read_file(file)), file.string());
  return std::make_unique<Zarr3Array>(mag_dir, std::move(md));
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
