#pragma once
// An open remote file: read with ranged GETs through a readahead window that grows while reads are
// sequential (kernel requests of 128 KiB coalesce into fewer, larger GETs, and the next window is
// fetched while the current one is served), never written (EROFS, naming the URL: the store is
// never written through the mount).
#include <cstdint>
#include <deque>
#include <future>
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
  /// Waits for a GET still under way for it.
  ~RemoteFile() override;
  size_t read(char* buf, size_t size, off_t off) override;
  size_t write(const char* buf, size_t size, off_t off) override;
  void truncate(off_t size) override;
  std::optional<struct stat> attr() const override { return st_; }

  static constexpr uint64_t kMinWindow = 128 << 10;  // the first GET of a handle, and after a seek
  static constexpr uint64_t kMaxWindow = 4 << 20;    // a sequential reader's GETs grow up to this
  static constexpr uint64_t kGrowth = 4;             // by this factor per GET
  // Windows in flight ahead of a sequential reader: one HTTP stream of the client is slower than
  // several (measured: 32 MiB in one GET ~130 MB/s, in 4 parallel range GETs ~160-250 MB/s here).
  static constexpr size_t kAhead = 2;

 private:
  [[noreturn]] void refuse(const char* what) const;

  std::shared_ptr<RemoteTree> tree_;
  std::string key_;
  struct stat st_;
  std::mutex mutex_;
  Bytes window_;               // bytes [window_off_, window_off_ + window_.size()) of the object
  uint64_t window_off_ = 0;
  uint64_t next_window_ = kMinWindow;
  struct Ahead {
    uint64_t off = 0, len = 0;
    std::future<storage::GetResult> data;
  };
  std::deque<Ahead> ahead_;  // the windows after this one, in order, for a sequential reader
  /// Waits for and drops the windows fetched ahead (a seek). mutex_ held.
  void drop_ahead();
  // A range of this handle whose GET failed (timeout, dropped transfers, 5xx after the retries):
  // the kernel asks again at once for a failed readahead, and must not wait a second timeout for
  // the same answer. Reads overlapping it fail at once; a new open tries again.
  uint64_t failed_begin_ = 0, failed_end_ = 0;
  std::string failed_message_;
};

}  // namespace wkfs::mount
