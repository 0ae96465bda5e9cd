#pragma once
// One writer per dataset: a writable mount holds an exclusive lock on DATASET/.wkfs/mount.lock for
// as long as it lives, so a second writable mount of the same dataset is refused (issue 11, item 11)
// instead of both materialising the same mags and serving each other's writes stale.
#include <filesystem>
#include <string>

#include "core/file_io.hpp"

namespace wkfs {

namespace fs = std::filesystem;

/// The lock file's name inside the dataset's state folder (kStateDir).
inline constexpr const char* kMountLockFile = "mount.lock";

/// An exclusive flock(2) on the dataset's lock file, released when the last descriptor of its open
/// file description closes: when the holder exits, however it exits (kill -9 included), so a stale
/// lock cannot exist. A fork shares the lock with the child through the inherited descriptor (the
/// mount's daemonised child keeps it after the parent exits). The file holds the holder's pid, host
/// and purpose, only for the message of a refused second lock.
///
/// On NFS, Linux emulates flock with POSIX byte-range locks (since 2.6.12), so the lock reaches other
/// machines only as far as the server's lockd does; coordinating mounts of one store on several
/// machines is issue 15's job, not this class's.
class DatasetLock {
 public:
  /// Locks the dataset at `root` (creating .wkfs/ and the lock file if needed) and records
  /// `purpose` ("wkfs mount SRC on MNT"). Throws Busy naming the holder if another open file
  /// description holds the lock after `grace_ms` (a holder killed a moment ago may still be exiting).
  DatasetLock(const fs::path& root, std::string purpose, int grace_ms = 2000);
  DatasetLock(DatasetLock&&) noexcept = default;
  DatasetLock& operator=(DatasetLock&&) noexcept = default;

  /// Rewrites the holder line with the calling process's pid (call in the child after a fork).
  void record_holder() const;
  /// The lock file.
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::string purpose_;
  UniqueFd fd_;
};

}  // namespace wkfs
