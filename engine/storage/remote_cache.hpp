#pragma once
// A persistent local cache of remote bytes (issue 12 item 6): one file per (store, key, byte
// range) in a folder that outlives mounts, holding the object's version (ETag / Last-Modified)
// and an XXH3-128 over key + version + bytes that every read checks, so a torn, truncated or
// corrupted entry is never served: it is dropped and the caller fetches again.
//
// Layout of DIR: `wkfs-remote-cache` (marker; a folder without it that is not empty is refused,
// so clear() never deletes someone else's files), `lock` (flock + the shared byte count),
// `tmp/` (entries being written), `entries/<h[0:2]>/<h[2:]>/<range>` with h = SHA-256 of
// the object (CacheKey::object), range "whole", "bytes-OFFSET-LENGTH" or "suffix-LENGTH", and
// beside the ranges a `version` file: the object's version as last fetched. An entry of another
// version is not served, and fetching a new version drops the object's other ranges, so the
// cache never mixes two versions of one object (a new shard index with old chunks).
//
// Concurrency: entries are written to tmp/ and renamed into place, so readers in any process see
// a whole old entry, a whole new one, or none. Bounded by bytes: the byte count in `lock` is
// updated under flock by every process; when it exceeds the cap one process scans the folder
// and deletes the least recently used entries (recency = atime, set explicitly on every hit) down
// to 90 % of the cap. Recency and the time of the last validation (mtime) are set from the fine
// real-time clock, not the kernel's coarse one, so the order of quick successive reads is kept.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "core/diagnostics.hpp"
#include "core/file_io.hpp"
#include "core/json.hpp"
#include "storage/store.hpp"

namespace wkfs::storage {

/// What a cache entry is for: a store (its describe()), a key in it, and a byte range.
struct CacheKey {
  std::string store;
  std::string key;
  ByteRange range = ByteRange::whole();
  /// The object as one name, store + "/" + key, so stores rooted at different folders of one
  /// server share the entries of the same object.
  std::string object() const;
  /// The text the checksum covers and the entry records: the object and the range, NUL-separated.
  std::string identity() const;
};

/// A verified entry.
struct CachedObject {
  GetResult value;                                   // the bytes, the object's version and size
  std::chrono::system_clock::time_point validated;   // written, or last confirmed current by the server
};

class RemoteCache {
 public:
  /// Opens (creating) the cache folder `dir`, bounded to `max_bytes` of entry files; removes temp
  /// files left by killed writers and recounts the bytes. Throws InvalidArgument for a folder that
  /// is not empty and not a cache, Io when it cannot be created or written.
  RemoteCache(fs::path dir, uint64_t max_bytes, Diagnostics* diagnostics = nullptr);
  RemoteCache(const RemoteCache&) = delete;
  RemoteCache& operator=(const RemoteCache&) = delete;

  /// The entry for `key` if present, intact and of the object's current version (a damaged or
  /// outdated one is deleted and nullopt returned); marks it recently used. Never throws.
  std::optional<CachedObject> lookup(const CacheKey& key);
  /// Stores `value` as the entry for `key` (replacing any; a new version of the object drops its
  /// other ranges), then evicts beyond the cap. A value
  /// larger than the cap is not kept; a failed write (ENOSPC...) keeps nothing and is reported.
  void insert(const CacheKey& key, const GetResult& value);
  /// Records that the server confirmed the entry for `key` current now (after a 304).
  void mark_validated(const CacheKey& key);
  /// The server said `key` of `store` is now `version` (a HEAD): entries of another version are
  /// dropped, so no read after this serves bytes older than what the caller was told.
  void observe_version(const std::string& store, const std::string& key, const Version& version);
  /// Drops every entry of `key` in `store`, whatever its range (after a put or remove).
  void invalidate_object(const std::string& store, const std::string& key);
  /// Drops every entry (`wkfs ctl MOUNT cache-clear`); readers holding one finish reading it.
  void clear();

  /// Bytes of all entry files, counted by a scan of the folder.
  uint64_t scan_bytes() const;
  /// Bytes of all entry files as the shared count says (cheap; a scan corrects it at eviction).
  uint64_t bytes_used() const;
  /// {"dir", "max_bytes", "bytes_used", "corrupt_dropped", "evicted"} for .wkfs-status.
  Json status() const;
  uint64_t max_bytes() const { return max_bytes_; }
  const fs::path& dir() const { return dir_; }
  /// Entries dropped because their checksum or layout was wrong (by this process).
  uint64_t corrupt_dropped() const;
  /// Entries deleted to stay under the cap (by this process).
  uint64_t evicted() const;
  /// The path of the entry file for `key` (for tests that damage entries on purpose).
  fs::path entry_path(const CacheKey& key) const;

 private:
  fs::path object_dir(const std::string& object) const;
  void drop_if_same(const fs::path& path, dev_t dev, ino_t ino, bool damaged);
  std::optional<fs::path> write_temp(ByteSpan head, ByteSpan data);  // a whole file in tmp/, or nullopt (reported)
  bool rename_into(const fs::path& tmp, const fs::path& path);       // creates the object's folder if needed
  void drop_entries(const fs::path& object_dir);                     // every range of one object
  void remove_if_only_version(const fs::path& object_dir);
  int64_t add_usage(int64_t delta);  // under flock; returns the new count
  void evict_locked();               // with mutex_ and the flock held
  void write_usage_locked(uint64_t bytes);
  void report(LogLevel level, const std::string& where, const std::string& message, int err = 0);

  fs::path dir_;
  uint64_t max_bytes_;
  Diagnostics* diagnostics_;
  UniqueFd lock_fd_;
  mutable std::mutex mutex_;  // flock belongs to the open file: threads of this process take this too
  uint64_t corrupt_dropped_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace wkfs::storage
