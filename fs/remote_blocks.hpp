#pragma once
// The fixed-grid blocks of a remote tree's objects, fetched once and shared by every open file of
// the tree. Range readers (8 threads each reading a 4 MiB slice of one shard) then use one
// another's read-ahead instead of fetching it again: with one table per handle, the read-ahead of
// each slice ran up to 4 MiB past its end, so a cold read of 430 MB fetched ~1.7x its bytes.
// Blocks under way are always kept; ready ones for a second at most and up to a count, dropped
// least recently used first. The kernel's page cache keeps what was read; this table only bridges
// the read-ahead of one handle to the reads of another, and must not hide the remote cache's
// revalidation (remote_revalidate_s) or a cache-clear. One table serves the whole mount (keys are
// URLs), so memory does not grow with the number of remote mags; it also caps the fetches running
// in the background (FetchSlots), since those are the ones it starts.
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.hpp"
#include "fs/fetch_slots.hpp"
#include "storage/store.hpp"

namespace wkfs::mount {

/// One fetched block: its bytes, the version of the object they are of, and when they came.
struct RemoteBlock {
  Bytes data;
  storage::Version version;
  std::chrono::steady_clock::time_point fetched_at = std::chrono::steady_clock::now();
};

using RemoteBlockFuture = std::shared_future<RemoteBlock>;

class RemoteBlocks {
 public:
  /// Keeps at most `max_ready` blocks that are done (besides those under way), each for `hold`
  /// after it was fetched; at most `background` fetches in the background.
  explicit RemoteBlocks(size_t max_ready = 32, std::chrono::milliseconds hold = std::chrono::seconds(1),
                        size_t background = 16)
      : max_ready_(max_ready), hold_(hold), slots_(background) {}
  RemoteBlocks(const RemoteBlocks&) = delete;
  RemoteBlocks& operator=(const RemoteBlocks&) = delete;
  /// Waits for the fetches still under way (bounded by the client's deadline).
  ~RemoteBlocks();

  /// The block `index` of object `url`, held or under way; else the one `start` makes (an invalid
  /// future from `start` means "not now" and is not kept). `start` runs under the table's lock.
  RemoteBlockFuture get(const std::string& url, uint64_t index, const std::function<RemoteBlockFuture()>& start);
  /// Drops block `index` of `url` (its fetch failed: the next read tries again).
  void drop(const std::string& url, uint64_t index);
  /// Drops every block of `url` (the object changed: no read may mix its versions).
  void forget(const std::string& url);
  /// Drops every block that is not under way (`cache-clear`).
  void clear();
  /// The cap on fetches in the background (read-ahead, the parallel parts of a large read).
  FetchSlots& fetch_slots() { return slots_; }
  /// Blocks held, done or under way (for tests).
  size_t size() const;

 private:
  struct Entry {
    RemoteBlockFuture future;
    uint64_t used = 0;  // the table's clock at the last get: the least recent ready one goes first
  };
  using Id = std::pair<std::string, uint64_t>;
  /// Moves into `out` ready (or never started) blocks held past `hold_` and, beyond the cap, the
  /// least recently used ones. mutex_ held.
  void evict_locked(std::vector<RemoteBlockFuture>& out);
  /// True if `e` is done and was fetched longer than `hold_` ago (or failed). mutex_ held.
  bool expired(const Entry& e, std::chrono::steady_clock::time_point now) const;

  const size_t max_ready_;
  const std::chrono::milliseconds hold_;
  FetchSlots slots_;  // before blocks_: the fetches under way when the table goes give their slots back
  mutable std::mutex mutex_;
  std::map<Id, Entry> blocks_;
  uint64_t clock_ = 0;
};

}  // namespace wkfs::mount
