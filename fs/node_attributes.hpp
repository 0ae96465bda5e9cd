#pragma once
// What the kernel is told about the nodes of a mount: the entry of a looked-up name (its node, its
// attributes and how long the kernel may keep both), a node's attributes (of the version its open
// handles share, or of what it was once its name went), the end of a node (forget), and the
// version a node's read handles share (open_shared). The core (fs/filesystem.cpp) dispatches the
// requests; the answers are made here, over the node table, the node versions and the lazy overlay.
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "core/file_io.hpp"
#include "fs/entry.hpp"
#include "fs/file_identity.hpp"
#include "fs/kernel_invalidator.hpp"
#include "fs/lazy_overlay.hpp"
#include "fs/mount_paths.hpp"
#include "fs/mount_status.hpp"
#include "fs/mount_tree.hpp"
#include "fs/node_table.hpp"
#include "fs/node_versions.hpp"
#include "fs/opened.hpp"
#include "fs/remote_catalog.hpp"

namespace wkfs::mount {

/// The parts of a mount the node answers read (all owned by the Filesystem, which outlives this).
struct NodeParts {
  bool read_only = false;
  NodeTable& nodes;
  FileIdentities& identities;
  NodeVersions& versions;
  const LazyOverlay& overlay;
  const MountPaths& paths;
  const MountTree& tree;
  const RemoteCatalog& remote;
  MountStatus& status;
  const std::atomic<KernelNotifier*>& kernel;
};

class NodeAttributes {
 public:
  // Chunk files change only through the mount (which invalidates what it changes): the kernel may
  // keep their names, attributes and pages for long. Everything else is revalidated every second,
  // and the properties file and our own files on every access.
  static constexpr double kChunkTimeout = 3600.0;
  static constexpr double kDefaultTimeout = 1.0;

  explicit NodeAttributes(NodeParts parts) : p_(parts) {}

  /// The entry of `name` in `parent` (ENOENT, quietly, if there is none).
  Entry lookup(Ino parent, const std::string& name);
  /// The kernel dropped `count` references of `ino`; its versions go with its last one.
  void forget(Ino ino, uint64_t count);
  /// Attributes of a node; of the open file if `file` is given.
  Attr getattr(Ino ino, OpenFile* file);

  /// The entry the kernel is given for `name` in `parent`, classified as `path` with attributes `st`.
  Entry entry(Ino parent, const std::string& name, const PathInfo& path, const struct stat& st);
  /// Attributes of `path`: its backing file's, a lazy file's (computed or not), a remote one's.
  struct stat stat(const PathInfo& path) const;
  /// Attributes of a control or status file (daemon-made text).
  struct stat synthetic(Ino ino) const;
  /// How long the kernel may keep the entry and attributes `st` of `path`.
  double timeout(const PathInfo& path, const struct stat& st) const;

  /// Opens a backing file (computing a lazy one first) with open(2) flags.
  UniqueFd open_backing(const PathInfo& path, int flags) const;
  /// Opens a lazy file or the properties file for reading as the version the node's open handles
  /// share (`path`: the node's, if already classified).
  Opened open_shared(Ino ino, std::optional<PathInfo> path);

 private:
  /// False if the version the handles of `ino` share is no longer what `path` holds.
  bool shared_version_current(Ino ino, const PathInfo& path) const;

  NodeParts p_;
};

}  // namespace wkfs::mount
