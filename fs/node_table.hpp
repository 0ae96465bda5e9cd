#pragma once
// The FUSE inode table: node ids for backing paths, kept as a tree of (parent, name) so that a
// rename moves a whole subtree at once, with the kernel's lookup counts deciding when a node dies.
#include "fs/fuse_api.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace wkfs::mount {

namespace fs = std::filesystem;

/// What a node stands for: a backing file or folder, or one of the daemon's own files.
enum class NodeKind { Backing, Control, Status };

class NodeTable {
 public:
  NodeTable();

  /// Finds or creates the node for `name` in `parent` and counts one kernel lookup on it.
  fuse_ino_t lookup(fuse_ino_t parent, const std::string& name, NodeKind kind = NodeKind::Backing);
  /// The kernel dropped `n` lookups; the node dies when no lookups and no children remain.
  void forget(fuse_ino_t ino, uint64_t n);
  /// Path of the node relative to the mount root ("" for the root); nullopt once unlinked or gone.
  std::optional<fs::path> path(fuse_ino_t ino) const;
  /// Path of `name` inside `parent`; nullopt if the parent is gone.
  std::optional<fs::path> child_path(fuse_ino_t parent, const std::string& name) const;
  std::optional<NodeKind> kind(fuse_ino_t ino) const;
  /// Moves the node named `name` in `parent` (if known) to `new_name` in `new_parent`.
  void rename(fuse_ino_t parent, const std::string& name, fuse_ino_t new_parent, const std::string& new_name);
  /// Detaches a removed name; the node lives on (open files) until forgotten.
  void remove(fuse_ino_t parent, const std::string& name);
  /// The (parent, name) of every known node whose path is `rel` or below it (for invalidation).
  std::vector<std::pair<fuse_ino_t, std::string>> entries_under(const fs::path& rel) const;
  /// Node id of a known path, if any.
  std::optional<fuse_ino_t> find(const fs::path& rel) const;
  size_t size() const;

 private:
  struct Node {
    fuse_ino_t parent = 0;  // 0: detached
    std::string name;
    NodeKind kind = NodeKind::Backing;
    uint64_t lookups = 0;
    uint64_t children = 0;
  };
  std::optional<fs::path> path_locked(fuse_ino_t ino) const;
  void release_locked(fuse_ino_t ino);
  static std::string key(fuse_ino_t parent, const std::string& name);

  mutable std::shared_mutex mutex_;
  fuse_ino_t next_ = FUSE_ROOT_ID + 1;
  std::unordered_map<fuse_ino_t, Node> nodes_;
  std::unordered_map<std::string, fuse_ino_t> by_name_;  // key(parent, name) -> ino
};

}  // namespace wkfs::mount
