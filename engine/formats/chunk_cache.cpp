#include "formats/chunk_cache.hpp"

#include <boost/container_hash/hash.hpp>
#include <cstdlib>
#include <list>
#include <mutex>
#include <unordered_map>

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
  mutable std::mutex mu;
  std::list<Entry> lru;  // front = most recent
  std::unordered_map<ChunkKey, std::list<Entry>::iterator, KeyHash> map;
  size_t bytes = 0;
  size_t capacity = 0;
  uint64_t hits = 0, misses = 0;

  void evict() {
    while (bytes > capacity && !lru.empty()) {
      bytes -= lru.back().second->size();
      map.erase(lru.back().first);
      lru.pop_back();
    }
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
  auto it = impl_->map.find(key);
  if (it != impl_->map.end()) {
    impl_->bytes -= it->second->second->size();
    impl_->lru.erase(it->second);
    impl_->map.erase(it);
  }
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
  impl_->bytes = 0;
}

}  // namespace wkfs
