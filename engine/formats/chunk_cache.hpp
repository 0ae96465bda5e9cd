#pragma once
// A bounded LRU cache of decoded chunks. One is made per mount and handed to the arrays it opens
// (through Dataset::open); arrays opened without one decode every read.
#include <cstdint>
#include <memory>
#include <string>

#include "core/bytes.hpp"

namespace wkfs {

/// Identifies one decoded chunk of one version of a shard file: the file's identity (path, inode,
/// mtime, size) and the chunk's position in it. A rewritten file has a new identity, so stale
/// entries are never returned; the cache holds one version per file, and storing a chunk of a
/// newer version drops the older one's chunks.
struct ChunkKey {
  std::string file;
  uint64_t inode = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  uint64_t chunk = 0;
  friend bool operator==(const ChunkKey&, const ChunkKey&) = default;
};

/// The default capacity: WKFS_CHUNK_CACHE_MB if set, else 256 MiB.
size_t default_chunk_cache_bytes();

class ChunkCache {
 public:
  /// An empty cache holding at most `capacity_bytes` of decoded chunks.
  explicit ChunkCache(size_t capacity_bytes = default_chunk_cache_bytes());
  ~ChunkCache();
  ChunkCache(const ChunkCache&) = delete;
  ChunkCache& operator=(const ChunkCache&) = delete;

  /// Cached chunk or nullptr.
  std::shared_ptr<const Bytes> get(const ChunkKey& key);
  /// Inserts (replacing), dropping the chunks of an older version of the same file (a chunk of a
  /// version older than the one held is not stored), and evicts least recently used entries
  /// beyond the capacity.
  void put(const ChunkKey& key, std::shared_ptr<const Bytes> value);
  /// Sets the capacity in bytes, evicting down to it.
  void set_capacity(size_t bytes);
  size_t capacity() const;
  size_t size_bytes() const;
  uint64_t hits() const;
  uint64_t misses() const;
  /// Drops every entry (the counters stay).
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wkfs
