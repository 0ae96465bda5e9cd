#pragma once
// The FUSE inode table: node ids for backing paths, kept as a tree of (parent, name) so that a
// rename moves a whole subtree at once, with the kernel's lookup counts deciding when a node dies.
#include "fs/entry.hpp"

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
  Ino lookup(Ino parent, const std::string& name, NodeKind kind = NodeKind::Backing);
  /// The kernel dropped `n` lookups; the node dies when no lookups and no children remain.
  void forget(Ino ino, uint64_t n);
  /// Path of the node relative to the mount root ("" for the root); nullopt once unlinked or gone.
  std::optional<fs::path> path(Ino ino) const;
  /// Path of `name` inside `parent`; nullopt if the parent is gone.
  std::optional<fs::path> child_path(Ino parent, const std::string& name) const;
  std::optional<NodeKind> kind(Ino ino) const;
  /// Moves the node named `name` in `parent` (if known) to `new_name` in `new_parent`.
  void rename(Ino parent, const std::string& name, Ino new_parent, const std::string& new_name);
  /// Detaches a removed name; the node lives on (open files) until forgotten.
  void remove(Ino parent, const std::string& name);
  /// Detaches a node from its name (a new lookup of the name makes a new node); it lives on until
  /// forgotten, and remembers the path it had.
  void detach(Ino ino);
  /// The path a node had when detach() took its name; nullopt for any other node.
  std::optional<fs::path> former_path(Ino ino) const;
  /// The (parent, name) of every known node whose path is `rel` or below it (for invalidation).
  std::vector<std::pair<Ino, std::string>> entries_under(const fs::path& rel) const;
  /// Node id of a known path, if any.
  std::optional<Ino> find(const fs::path& rel) const;
  size_t size() const;

 private:
  struct Node {
    Ino parent = 0;  // 0: detached
    std::string name;
    NodeKind kind = NodeKind::Backing;
    uint64_t lookups = 0;
    uint64_t children = 0;
    std::optional<fs::path> former;  // set by detach()
  };
  std::optional<fs::path> path_locked(Ino ino) const;
  void release_locked(Ino ino);
  static std::string key(Ino parent, const std::string& name);

  mutable std::shared_mutex mutex_;
  Ino next_ = kRootIno + 1;
  std::unordered_map<Ino, Node> nodes_;
  std::unordered_map<std::string, Ino> by_name_;  // key(parent, name) -> ino
};

}  // namespace wkfs::mount
