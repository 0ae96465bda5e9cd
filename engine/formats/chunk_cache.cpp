#include "formats/chunk_cache.hpp"

#include <boost/container_hash/hash.hpp>
#include <cstdlib>
#include <list>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace wkfs {

namespace {
struct KeyHash {
  size_t operator()(const ChunkKey& k) const {
    size_t h = std::hash<std::string>{}(k.file);
    boost::hash_combine(h, k.inode);
    boost::hash_combine(h, k.mtime_ns);
    boost::hash_combine(h, k.size);
    boost::hash_combine(h, k.chunk);
    return h;
  }
};
}  // namespace

struct ChunkCache::Impl {
  using Entry = std::pair<ChunkKey, std::shared_ptr<const Bytes>>;
  /// The one version of a file whose chunks are held, and which of its chunks are.
  struct FileVersion {
    uint64_t inode = 0;
    int64_t mtime_ns = 0;
    uint64_t size = 0;
    std::unordered_set<uint64_t> chunks;
    bool is(const ChunkKey& k) const { return k.inode == inode && k.mtime_ns == mtime_ns && k.size == size; }
  };
  mutable std::mutex mu;
  std::list<Entry> lru;  // front = most recent
  std::unordered_map<ChunkKey, std::list<Entry>::iterator, KeyHash> map;
  std::unordered_map<std::string, FileVersion> files;
  size_t bytes = 0;
  size_t capacity = 0;
  uint64_t hits = 0, misses = 0;

  void erase(std::list<Entry>::iterator it) {
    auto f = files.find(it->first.file);
    if (f != files.end()) {
      f->second.chunks.erase(it->first.chunk);
      if (f->second.chunks.empty()) files.erase(f);
    }
    bytes -= it->second->size();
    map.erase(it->first);
    lru.erase(it);
  }

  /// Drops the chunks of an older version of the key's file: they can never be asked for again
  /// by a reader of the current file, and under steady writers they filled the whole capacity
  /// (soak, 2 writers: 256 MiB of decoded chunks of which about 30 MiB were of current files).
  /// False if the key is of a version older than the one held, which then stays and this is not
  /// stored (a computation on a pinned old snapshot must not evict the current version's chunks).
  bool make_room_for_version(const ChunkKey& key) {
    auto f = files.find(key.file);
    if (f == files.end() || f->second.is(key)) return true;
    if (key.mtime_ns < f->second.mtime_ns) return false;
    for (uint64_t c : std::vector<uint64_t>(f->second.chunks.begin(), f->second.chunks.end())) {
      ChunkKey old{key.file, f->second.inode, f->second.mtime_ns, f->second.size, c};
      erase(map.at(old));
    }
    return true;
  }

  void evict() {
    while (bytes > capacity && !lru.empty()) erase(std::prev(lru.end()));
  }
};

size_t default_chunk_cache_bytes() {
  if (const char* mb = std::getenv("WKFS_CHUNK_CACHE_MB")) return static_cast<size_t>(std::strtoull(mb, nullptr, 10)) << 20;
  return size_t{256} << 20;
}

ChunkCache::ChunkCache(size_t capacity_bytes) : impl_(std::make_unique<Impl>()) { impl_->capacity = capacity_bytes; }
ChunkCache::~ChunkCache() = default;

std::shared_ptr<const Bytes> ChunkCache::get(const ChunkKey& key) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->map.find(key);
  if (it == impl_->map.end()) {
    ++impl_->misses;
    return nullptr;
  }
  ++impl_->hits;
  impl_->lru.splice(impl_->lru.begin(), impl_->lru, it->second);
  return it->second->second;
}

void ChunkCache::put(const ChunkKey& key, std::shared_ptr<const Bytes> value) {
  std::lock_guard lock(impl_->mu);
  if (value->size() > impl_->capacity) return;
  if (!impl_->make_room_for_version(key)) return;
  auto it = impl_->map.find(key);
  if (it != impl_->map.end()) impl_->erase(it->second);
  auto& file = impl_->files[key.file];
  file.inode = key.inode;
  file.mtime_ns = key.mtime_ns;
  file.size = key.size;
  file.chunks.insert(key.chunk);
  impl_->bytes += value->size();
  impl_->lru.emplace_front(key, std::move(value));
  impl_->map.emplace(key, impl_->lru.begin());
  impl_->evict();
}

void ChunkCache::set_capacity(size_t bytes) {
  std::lock_guard lock(impl_->mu);
  impl_->capacity = bytes;
  impl_->evict();
}

size_t ChunkCache::capacity() const {
  std::lock_guard lock(impl_->mu);
  return impl_->capacity;
}
size_t ChunkCache::size_bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bytes;
}
uint64_t ChunkCache::hits() const {
  std::lock_guard lock(impl_->mu);
  return impl_->hits;
}
uint64_t ChunkCache::misses() const {
  std::lock_guard lock(impl_->mu);
  return impl_->misses;
}
void ChunkCache::clear() {
  std::lock_guard lock(impl_->mu);
  impl_->lru.clear();
  impl_->map.clear();
  impl_->files.clear();
  impl_->bytes = 0;
}

}  // namespace wkfs
