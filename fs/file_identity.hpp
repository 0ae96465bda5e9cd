#pragma once
// Which version of each backing file the kernel may have cached, so that a change made behind the
// mount's back (the library, a cluster job or rsync writing SOURCE) is seen at the next open: the
// kernel keeps a chunk file's pages (keep_cache) and attributes for up to an hour, which is right
// only while the file is the one it read.
#include <sys/stat.h>

#include <mutex>
#include <unordered_map>

#include "fs/entry.hpp"

namespace wkfs::mount {

class FileIdentities {
 public:
  /// Records the version `st` (inode, mtime, ctime, size) opened at node `ino`; true if the node
  /// had another version recorded before: the kernel's pages and attributes of it are stale.
  bool changed(Ino ino, const struct stat& st);
  /// The node is gone from the kernel (nothing of it is cached).
  void forget(Ino ino);

 private:
  struct Version {
    dev_t dev;
    ino_t ino;
    struct timespec mtime, ctime;
    off_t size;
    bool operator==(const Version& o) const;
  };
  std::mutex mu_;
  std::unordered_map<Ino, Version> versions_;
};

}  // namespace wkfs::mount
