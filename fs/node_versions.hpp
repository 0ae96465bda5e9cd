#pragma once
// Which file each node is while the kernel holds it. The kernel keeps one size and one page cache
// per node and asks for fstat(2) with a GETATTR that carries no file handle, so all handles of a
// node must read one version of the file, and the node's attributes must be that version's:
//  - a lazy file is recomputed under the same name: the handles of its node share the version the
//    first of them opened (one descriptor, unlinked or not) until the last one is closed;
//  - a node whose name went (unlinked, renamed over, a stale lazy file) keeps the attributes it
//    had, as an unlinked file keeps answering fstat(2).
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/file_io.hpp"
#include "fs/entry.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;

class NodeVersions {
 public:
  /// One opened version of a file, shared by the handles of its node.
  struct Version {
    fs::path rel;  // where it was opened, relative to the mount root
    UniqueFd fd;
  };

  /// The version the open handles of `ino` share; null if none is open.
  std::shared_ptr<const Version> open_version(Ino ino) const;
  /// Makes `fd` the version of `ino` unless another open made one first (then that one is
  /// returned and `fd` closed); `fresh` tells which.
  std::shared_ptr<const Version> share(Ino ino, fs::path rel, UniqueFd fd, bool& fresh);
  /// True if the handles of `ino` share a version whose file was unlinked (made stale, replaced).
  bool unlinked(Ino ino) const;
  /// Records the attributes the kernel was given for the node.
  void remember(Ino ino, const struct stat& st);
  /// The attributes of the node's shared version; else the last ones the kernel was given.
  std::optional<struct stat> attr(Ino ino) const;
  /// The kernel forgot the node.
  void forget(Ino ino);

 private:
  mutable std::mutex mu_;
  std::unordered_map<Ino, std::weak_ptr<const Version>> open_;
  std::unordered_map<Ino, struct stat> last_;
};

}  // namespace wkfs::mount
