#pragma once
// Which paths of a mount are remote, and their trees: everything the local folder lacks when the
// mount's SOURCE is a URL (the folder is then the overlay, or an empty private one), and the mags
// of local datasets whose properties give them a URL path (shown as read-only folders). All of them
// are read through the mount's one RemoteContext (fs/remote_context.hpp).
// The core (fs/filesystem.cpp) asks this one object about a path ("is it remote? answer it"):
// attributes, opens, listings, the refusal of writes, copies into the overlay; it knows no more of
// remote stores than that.
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/json.hpp"
#include "dataset/properties.hpp"
#include "fs/dataset_catalog.hpp"
#include "fs/mount_paths.hpp"
#include "fs/opened.hpp"
#include "fs/remote_context.hpp"
#include "fs/remote_tree.hpp"

namespace wkfs::mount {

struct PathInfo;  // fs/mount_tree.hpp, which includes this header
struct OpenDir;   // fs/dir_listing.hpp

/// A path inside a remote tree.
struct RemotePath {
  std::shared_ptr<RemoteTree> tree;
  std::string key;  // below the tree's root, '/'-separated
};

class RemoteCatalog {
 public:
  /// Trees are read through `context` (which outlives the catalog); `read_only`: the mount's (a URL
  /// SOURCE then has no overlay that takes changes).
  RemoteCatalog(RemoteContext& context, bool read_only);

  /// True if the mount's SOURCE is a URL.
  bool has_source() const { return !source_url().empty(); }
  /// True if SOURCE is a URL whose local folder takes changes (a writable mount).
  bool has_overlay() const { return has_source() && !read_only_; }
  /// True if SOURCE is an s3:// URL mounted with -o s3_write: its remote paths may change (S3WriteBack).
  bool writes_source() const { return has_overlay() && context_.config().writable; }
  /// The SOURCE URL; empty for a local SOURCE.
  const std::string& source_url() const { return context_.config().source_url; }
  /// The tree of the SOURCE URL, built at first use (a failure is retried at the next).
  std::shared_ptr<RemoteTree> source_tree();
  /// The tree of a remote mag of a local dataset, built once per URL.
  std::shared_ptr<RemoteTree> mag_tree(const std::string& url, const LayerProperties& layer, const Mag& mag);

  /// The remote path at mount-relative `rel`, or nullopt if it is local: for a URL SOURCE, a name
  /// the local folder `source` lacks and the remote tree has; for a local dataset, a path at or
  /// below a mag whose stored path is a URL (whether or not the name exists there).
  std::optional<RemotePath> find(const std::filesystem::path& rel, DatasetCatalog& catalog,
                                 const std::filesystem::path& source);
  /// The mags of `layer` with URL paths, by the folder name the mount shows them under.
  static std::map<std::string, const MagEntry*> remote_mags(const LayerProperties& layer);

  /// Attributes of a remote `path` (ENOENT, quietly, if the store lacks it); nullopt if it is local.
  std::optional<struct stat> attr(const PathInfo& path) const;
  /// A remote file opened for reading (`flags` of open(2) without O_TRUNC); nullopt if `path` is
  /// local or the open would change it (then copy_up first). EISDIR for a remote folder.
  std::optional<Opened> open(const PathInfo& path, int flags) const;
  /// The listing of a remote folder (ENOTDIR for a file); null if `path` is local.
  std::unique_ptr<OpenDir> opendir(const PathInfo& path);
  /// Adds the remote names a local folder's listing lacks (a URL SOURCE's folder, a layer's URL mags).
  void add_names(const PathInfo& dir, OpenDir& open);
  /// ReadOnly naming the URL if SOURCE is a URL mounted read-only: the store is never written.
  void require_writable_source() const;
  /// ReadOnly naming the URL if `path` is remote: the store is never written through the mount
  /// (unless writes_source()).
  void require_local(const PathInfo& path) const;
  /// Copies remote `path` into the overlay (a file's bytes, written atomically; a folder made), so
  /// that a change goes there. Only with has_overlay().
  void copy_up(const PathInfo& path, const MountPaths& paths);
  /// Makes the folder of a new name at `rel` in the overlay when only the remote tree has it.
  void make_overlay_parent(const std::filesystem::path& rel, const MountPaths& paths);

  /// The "remote" member of .wkfs-status: the reads' counters (RemoteCounters::snapshot), the
  /// SOURCE URL, the remote mags opened, then RemoteContext::add_status ("http", "cache").
  Json status();
  /// RemoteContext::clear_cache (`cache-clear`).
  Json clear_cache() { return context_.clear_cache(); }

 private:
  /// A layer of a URL SOURCE's dataset at `rel` = [DATASET/]LAYER[/...]: its properties (the
  /// overlay's, else the store's, read once) and the index in rel of the name below the layer.
  struct SourceLayer {
    LayerProperties layer;
    size_t below = 0;
  };
  std::optional<SourceLayer> source_layer(const std::filesystem::path& rel, const std::optional<Location>& overlay);
  /// The store's properties of the dataset at `prefix` ("" or "DATASET/") of a URL SOURCE, read once.
  std::optional<DatasetProperties> source_properties(const std::string& prefix);

  RemoteContext& context_;
  bool read_only_;
  std::mutex mutex_;  // everything below
  std::shared_ptr<RemoteTree> source_tree_;
  std::map<std::string, std::shared_ptr<RemoteTree>> mag_trees_;
  std::map<std::string, std::optional<DatasetProperties>> source_properties_;  // by dataset prefix
};

}  // namespace wkfs::mount
