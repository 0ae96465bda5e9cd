#pragma once
// Folder listings: the backing folder's names (without wkfs's own), plus the files of lazy mags
// that are listed whether computed or not. A listing is snapshotted at opendir and replies are cut
// from memory (POSIX allows this); a folder's snapshot is reused while its inode and mtime stay.
#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/file_io.hpp"
#include "fs/entry.hpp"
#include "fs/lazy_overlay.hpp"
#include "fs/mount_tree.hpp"

namespace wkfs::mount {

/// An open folder: its snapshot, and the backing descriptor (none for a lazy folder not yet stored).
struct OpenDir {
  fs::path rel;
  UniqueFd fd;
  Listing entries;  // "." and ".." first
};

class DirListing {
 public:
  explicit DirListing(const LazyOverlay& overlay) : overlay_(overlay) {}

  /// Opens the folder `backing` (classified as `dir`) and snapshots its listing.
  std::unique_ptr<OpenDir> open(const fs::path& backing, const PathInfo& dir);

 private:
  struct Snapshot {
    ino_t ino;
    struct timespec mtime;
    Listing entries;
  };
  std::shared_ptr<const Snapshot> find(const std::string& rel, const struct stat& st);
  void store(const std::string& rel, const struct stat& st, const Listing& entries);
  Listing read_backing(int fd, const PathInfo& dir) const;

  // Only listings taken well after the last change are kept: mtime has a coarse clock, so a change
  // within the same tick as the listing would otherwise go unnoticed.
  static constexpr int64_t kQuietNs = 100'000'000;
  static constexpr size_t kMaxFolders = 1024;

  const LazyOverlay& overlay_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Snapshot>> by_path_;
};

/// A non-zero inode number for a listed entry that has no backing file yet (readdir skips 0).
ino_t lazy_ino(const std::string& name);

}  // namespace wkfs::mount
