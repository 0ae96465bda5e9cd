#pragma once
// The FUSE low-level operations of a wkfs mount: the backing tree passed through, the Layer API
// mapped onto mkdir/rmdir/symlink/rename/xattr, hidden control files and a mount-wide status.
//
// Control channel (documented in README): every dataset folder and every layer folder has a hidden
// file `.wkfs-ctl` (not listed by readdir, found by name); the mount root has `.wkfs-status`.
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "control/command_table.hpp"
#include "control/protocol.hpp"
#include "lazy/lazy_engine_registry.hpp"
#include "fs/dataset_catalog.hpp"
#include "fs/lazy_view.hpp"
#include "fs/fuse_api.hpp"
#include "fs/mount_status.hpp"
#include "fs/node_table.hpp"

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
};

class Filesystem {
 public:
  explicit Filesystem(FilesystemConfig config);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  /// The operation table to hand to fuse_session_new (userdata must be this object).
  static const fuse_lowlevel_ops& operations();
  /// Starts the kernel-cache invalidation thread; call after the session is mounted (and forked).
  void start(fuse_session* session);
  /// Stops the invalidation thread.
  void stop();

  DatasetCatalog& catalog() { return catalog_; }
  LazyEngineRegistry& lazy_engines() { return engines_; }
  MountStatus& status() { return status_; }
  /// The mount-wide status document served as `.wkfs-status`.
  Json status_json();

  struct OpenFile;
  struct OpenDir;
  struct Ops;  // the static callbacks; defined in filesystem.cpp

 private:
  friend struct Ops;
  fs::path backing(const fs::path& rel) const { return rel.empty() ? config_.source : config_.source / rel; }
  /// A command's path argument as a backing path.
  fs::path resolve_argument(const std::string& arg, const fs::path& ctl_dir_rel, const std::string& cwd) const;
  /// Drops what the kernel caches below `rel` (names and data), asynchronously.
  void invalidate_below(const fs::path& rel);
  void invalidate_inode(fuse_ino_t ino);
  void invalidation_loop();

  FilesystemConfig config_;
  DatasetCatalog catalog_;
  NodeTable nodes_;
  MountStatus status_;
  std::shared_ptr<control::CommandTable> commands_;

  std::mutex results_mutex_;
  std::map<std::string, std::string> last_results_;  // control file rel path -> last reply JSON

  fuse_session* session_ = nullptr;
  std::mutex inval_mutex_;
  std::condition_variable inval_cv_;
  struct Invalidation {
    fuse_ino_t ino;      // inode to invalidate, or the parent for an entry
    std::string name;    // empty: inode invalidation
  };
  std::deque<Invalidation> inval_queue_;
  bool inval_stop_ = false;
  std::thread inval_thread_;

  struct DirCache;  // folder listings reused while the folder is unchanged (filesystem.cpp)
  std::unique_ptr<DirCache> dir_cache_;

  // Last, so destroyed first: the engines' workers are joined while everything their callbacks
  // use is still alive.
  LazyEngineRegistry engines_;
  LazyView lazy_{catalog_, engines_};
};

}  // namespace wkfs::mount
