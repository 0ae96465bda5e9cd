#pragma once
// The filesystem core of a wkfs mount: every operation the kernel can ask for, as a method that
// returns a value (Entry, Attr, an open handle, a listing) or throws wkfs::Error carrying its errno.
// It never talks to libfuse: fs/fuse_callbacks.cpp translates requests and replies, so the core is
// unit-tested against a temporary SOURCE without a kernel mount. It dispatches: the answers about
// nodes (lookup, attributes, shared versions) are NodeAttributes', remote paths RemoteCatalog's,
// extended attributes ExtendedAttributes'.
//
// Control channel (README): every dataset folder and every layer folder has a hidden file
// `.wkfs-ctl` (not listed, found by name); the mount root has `.wkfs-status`.
#include <sys/statvfs.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "control/command_table.hpp"
#include "control/protocol.hpp"
#include "fs/control_file.hpp"
#include "fs/dataset_catalog.hpp"
#include "fs/dir_listing.hpp"
#include "fs/entry.hpp"
#include "fs/extended_attributes.hpp"
#include "fs/file_identity.hpp"
#include "fs/kernel_invalidator.hpp"
#include "fs/layer_api_ops.hpp"
#include "fs/lazy_overlay.hpp"
#include "fs/mount_paths.hpp"
#include "fs/mount_status.hpp"
#include "fs/mount_tree.hpp"
#include "fs/node_attributes.hpp"
#include "fs/node_table.hpp"
#include "fs/node_versions.hpp"
#include "fs/open_file.hpp"
#include "fs/opened.hpp"
#include "fs/properties_editor.hpp"
#include "fs/s3_write_back.hpp"
#include "lazy/lazy_engine_registry.hpp"

namespace wkfs::mount {

using control::kControlFile;
using control::kStatusFile;

struct FilesystemConfig {
  fs::path source;
  fs::path mountpoint;  // absolute; paths given to commands that start with it are mapped to SOURCE
  bool read_only = false;
  std::shared_ptr<control::CommandTable> commands;  // make_builtin_command_table() if null
  std::FILE* log = stderr;
  LazyConfig lazy;            // options of every dataset's lazy engine
  bool auto_pyramid = false;  // pyramid=auto
  std::shared_ptr<ChunkCache> chunk_cache;  // decoded chunks of every dataset's arrays; null: none
  RemoteConfig remote;  // remote stores: a URL SOURCE (then `source` is its local overlay), client options
};

/// The attribute changes of one setattr request; a timespec with tv_nsec == UTIME_NOW means now.
struct SetAttr {
  std::optional<off_t> size;
  std::optional<mode_t> mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<struct timespec> atime, mtime;
};

class Filesystem {
 public:
  /// Throws NotFound/InvalidArgument for a SOURCE that is not a dataset or a folder of datasets.
  explicit Filesystem(FilesystemConfig config);
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  /// Where cache invalidations go once the kernel mount exists (nullptr: nowhere).
  void attach_kernel(KernelNotifier* kernel) { kernel_.store(kernel); }

  Entry lookup(Ino parent, const std::string& name);
  void forget(Ino ino, uint64_t count);
  /// Attributes of a node; of the open file if `file` is given.
  Attr getattr(Ino ino, OpenFile* file);
  Attr setattr(Ino ino, const SetAttr& change, OpenFile* file);
  std::string readlink(Ino ino);
  struct statvfs statfs();

  Entry mkdir(Ino parent, const std::string& name, mode_t mode);
  void unlink(Ino parent, const std::string& name);
  void rmdir(Ino parent, const std::string& name);
  Entry symlink(const std::string& target, Ino parent, const std::string& name);
  void rename(Ino parent, const std::string& name, Ino new_parent, const std::string& new_name, unsigned flags);

  /// Opens a node with open(2) flags; a lazy file is computed first.
  Opened open(Ino ino, int flags);
  /// Creates and opens a backing file.
  std::pair<Entry, Opened> create(Ino parent, const std::string& name, mode_t mode, int flags);
  size_t read(OpenFile& file, char* buf, size_t size, off_t off);
  /// OpenFile::read_view, counted as a read when there is one.
  std::optional<ReadView> read_view(OpenFile& file, size_t size, off_t off);
  size_t write(OpenFile& file, const char* buf, size_t size, off_t off);
  /// close(): the file's changes are complete (properties committed, dependent lazy files stale).
  void flush(OpenFile& file);
  /// The last close of a handle; problems are logged, there is nobody left to tell.
  void release(std::unique_ptr<OpenFile> file);
  void fsync(OpenFile& file, bool datasync);

  std::unique_ptr<OpenDir> opendir(Ino ino);
  void fsyncdir(OpenDir& dir, bool datasync);

  std::string getxattr(Ino ino, const std::string& name);
  /// The attribute names, each followed by a NUL.
  std::string listxattr(Ino ino);
  void setxattr(Ino ino, const std::string& name, const std::string& value, int flags);
  void removexattr(Ino ino, const std::string& name);

  /// The mount-wide status document served as `.wkfs-status`.
  Json status_json();
  MountStatus& status() { return status_; }
  DatasetCatalog& catalog() { return catalog_; }
  LazyEngineRegistry& lazy_engines() { return engines_; }
  const MountPaths& paths() const { return paths_; }
  /// Where a node is, for log lines ("#ino" once it is gone).
  std::string where(Ino ino) const;

 private:
  fs::path path_of(Ino ino) const;
  fs::path child_of(Ino parent, const std::string& name) const;
  void require_writable() const;
  /// The mount writable, `path`'s dataset not held by another mount (EBUSY), `path` inside it.
  void require_writable(const PathInfo& path) const;
  /// The entry of a folder or symlink just made through the mount.
  Entry new_entry(Ino parent, const std::string& name, const fs::path& rel);
  void apply(const LayerApiChange& change, Ino parent, const std::string& name, const fs::path& rel);
  /// A dataset changed (Layer API, properties, command): on a writable S3 mount it is put into the
  /// store first (with `prune`, the objects of mags it no longer lists deleted: a command's delete).
  void changed_dataset(const Location& loc, const std::optional<std::string>& layer, bool prune = false);
  /// A remote file of a writable S3 mount as the staging folder would classify it (InMag in a mag).
  PathInfo staged_view(const PathInfo& remote);
  void source_changed(const char* op, const PathInfo& path);
  /// How a write handle of `rel` publishes its private copy: intent, swap, dependents stale, kernel told.
  PublishFn publisher(const fs::path& rel);
  void commit_properties(const PathInfo& props, const std::string& text);
  /// The properties text as the mount shows it (what an editor starts from).
  std::string properties_text(const PathInfo& props) const;
  void invalidate_below(const fs::path& rel);
  void lazy_file_changed(const fs::path& dataset_root, const fs::path& rel);
  /// A change of `path` goes to the overlay: a remote file is copied there first; the returned
  /// classification is the local one. Throws ReadOnly naming the URL without an overlay.
  PathInfo copy_up(const PathInfo& path);
  /// The node an xattr request is about; control files have none (ENODATA to read, ENOTSUP to change).
  PathInfo xattr_target(Ino ino, bool change);

  FilesystemConfig config_;
  MountStatus status_;
  RemoteContext remote_context_;  // the one store context of every remote read of the mount
  RemoteCatalog remote_;
  DatasetCatalog catalog_;
  std::unique_ptr<S3WriteBack> write_back_;  // -o s3_write of an s3:// SOURCE; null otherwise
  MountPaths paths_;
  NodeTable nodes_;
  FileIdentities identities_;  // what the kernel may cache of each opened file
  NodeVersions versions_;      // which file a node is while the kernel holds it
  std::atomic<KernelNotifier*> kernel_{nullptr};
  LazyOverlay overlay_;
  // After what the engines' callbacks use (nodes_, kernel_, status_), so destroyed before it: the
  // engines' workers are joined while all of that is alive.
  LazyEngineRegistry engines_;
  MountTree tree_;
  NodeAttributes attrs_;  // after everything it reads
  DirListing listing_;
  ExtendedAttributes xattrs_;
  LayerApiOps layer_api_;
  ControlChannel control_;
};

}  // namespace wkfs::mount
