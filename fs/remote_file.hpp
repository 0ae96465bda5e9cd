#pragma once
// An open remote file: read in blocks of a fixed grid (kBlock-aligned ranged GETs, so the remote
// cache holds the same entries whatever order the kernel's reads come in, and a remount hits
// them), the blocks of one large read fetched in parallel, and for a sequential reader the next
// blocks fetched while the current ones are served (a window growing with the run, up to
// kAheadBlocks); background fetches are capped for all handles of the tree (RemoteTree::fetch_slots). Never written (EROFS, naming the URL: the store
// is never written through the mount).
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/bytes.hpp"
#include "fs/open_file.hpp"
#include "fs/remote_tree.hpp"

namespace wkfs::mount {

class RemoteFile final : public OpenFile {
 public:
  /// `key` of `tree`, `st` its attributes (st_size the object's exact size).
  RemoteFile(fs::path rel, std::shared_ptr<RemoteTree> tree, std::string key, struct stat st);
  /// Waits for the GETs still under way for it.
  ~RemoteFile() override;
  size_t read(char* buf, size_t size, off_t off) override;
  size_t write(const char* buf, size_t size, off_t off) override;
  void truncate(off_t size) override;
  std::optional<struct stat> attr() const override { return st_; }

  // One GET per 1 MiB block: large enough that a request's fixed cost (~0.3 ms here) is small
  // beside its transfer, small enough that a 128 KiB read far from the others fetches little.
  static constexpr uint64_t kBlock = 1 << 20;
  // Blocks in flight ahead of a sequential reader: one HTTP stream is slower than several
  // (measured: 32 MiB in one GET ~130 MB/s, in 4 parallel range GETs ~160-250 MB/s here).
  static constexpr uint64_t kAheadBlocks = 8;

 private:
  [[noreturn]] void refuse(const char* what) const;
  /// The future of block `index`, started (in the background if a slot is free) if absent. mutex_ held.
  std::shared_future<Bytes> block(uint64_t index, bool ahead);
  /// Drops the blocks that are done and outside [keep_from, keep_to]. mutex_ held.
  void trim(uint64_t keep_from, uint64_t keep_to);

  std::shared_ptr<RemoteTree> tree_;
  std::string key_;
  struct stat st_;
  std::mutex mutex_;
  std::map<uint64_t, std::shared_future<Bytes>> blocks_;  // by block index: fetched, or under way
  uint64_t last_end_ = 0;  // where the last read ended: a read starting there is sequential
  uint64_t run_bytes_ = 0;  // bytes read sequentially up to last_end_: the read-ahead window grows with it
  // A block of this handle whose GET failed (timeout, dropped transfers, 5xx after the retries):
  // the kernel asks again at once for a failed readahead, and must not wait a second timeout for
  // the same answer. Reads overlapping it fail at once; a new open tries again.
  std::map<uint64_t, std::string> failed_;
};

}  // namespace wkfs::mount
