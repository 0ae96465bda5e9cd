#pragma once
// A bounded, process-wide LRU cache of decoded chunks, shared by all arrays.
#include <cstdint>
#include <memory>
#include <string>

#include "core/bytes.hpp"

namespace wkfs {

/// Identifies one decoded chunk of one version of a shard file: the file's identity (path, inode,
/// mtime, size) and the chunk's position in it. A rewritten file has a new identity, so stale
/// entries are never returned and simply age out.
struct ChunkKey {
  std::string file;
  uint64_t inode = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  uint64_t chunk = 0;
  friend bool operator==(const ChunkKey&, const ChunkKey&) = default;
};

class ChunkCache {
 public:
  /// The process-wide instance.
  static ChunkCache& instance();
  /// Cached chunk or nullptr.
  std::shared_ptr<const Bytes> get(const ChunkKey& key);
  /// Inserts (replacing) and evicts least recently used entries beyond the capacity.
  void put(const ChunkKey& key, std::shared_ptr<const Bytes> value);
  /// Sets the capacity in bytes (default 256 MiB; WKFS_CHUNK_CACHE_MB overrides).
  void set_capacity(size_t bytes);
  size_t capacity() const;
  size_t size_bytes() const;
  uint64_t hits() const;
  uint64_t misses() const;
  void clear();

  ChunkCache();
  ~ChunkCache();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wkfs
