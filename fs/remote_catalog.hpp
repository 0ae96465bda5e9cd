#pragma once
// Which paths of a mount are remote, and their trees: everything the local folder lacks when the
// mount's SOURCE is a URL (the folder is then the overlay, or an empty private one), and the mags
// of local datasets whose properties give them a URL path (shown as read-only folders). One HTTP
// client for all of them, made at first use: the daemon forks after the filesystem is built, and
// a client's thread would not survive that.
// The core (fs/filesystem.cpp) asks this one object about a path ("is it remote? answer it"):
// attributes, opens, listings, the refusal of writes, copies into the overlay; it knows no more of
// remote stores than that.
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/diagnostics.hpp"
#include "core/json.hpp"
#include "dataset/properties.hpp"
#include "fs/dataset_catalog.hpp"
#include "fs/mount_paths.hpp"
#include "fs/opened.hpp"
#include "fs/remote_tree.hpp"
#include "storage/http_client.hpp"
#include "storage/open_store.hpp"

namespace wkfs::mount {

struct RemoteConfig {
  std::string source_url;       // the mount's SOURCE if it is a URL; empty otherwise
  storage::HttpOptions http;    // ca_file, timeouts
  std::string auth_token;       // X-Auth-Token for http(s) stores
  std::optional<std::filesystem::path> cache_dir;  // remote_cache_dir=DIR: remote bytes kept there; none if unset
  uint64_t cache_bytes = uint64_t{1024} << 20;     // remote_cache_mb=N: the cache's cap
  std::chrono::seconds revalidate_after{60};       // remote_revalidate_s=S: a cached range is trusted this long
};

struct PathInfo;  // fs/mount_tree.hpp, which includes this header
struct OpenDir;   // fs/dir_listing.hpp

/// A path inside a remote tree.
struct RemotePath {
  std::shared_ptr<RemoteTree> tree;
  std::string key;  // below the tree's root, '/'-separated
};

class RemoteCatalog {
 public:
  /// `diagnostics` gets the client's retry warnings; `read_only`: the mount's (a URL SOURCE then
  /// has no overlay that takes changes).
  RemoteCatalog(RemoteConfig config, bool read_only, Diagnostics* diagnostics);

  /// True if the mount's SOURCE is a URL.
  bool has_source() const { return !config_.source_url.empty(); }
  /// True if SOURCE is a URL whose local folder takes changes (a writable mount).
  bool has_overlay() const { return has_source() && !read_only_; }
  /// The SOURCE URL; empty for a local SOURCE.
  const std::string& source_url() const { return config_.source_url; }
  /// The tree of the SOURCE URL, built at first use (a failure is retried at the next).
  std::shared_ptr<RemoteTree> source_tree();
  /// The tree of a remote mag of a local dataset, built once per URL.
  std::shared_ptr<RemoteTree> mag_tree(const std::string& url, const LayerProperties& layer, const Mag& mag);

  /// The remote path at mount-relative `rel`, or nullopt if it is local: for a URL SOURCE, a name
  /// the local folder `source` lacks and the remote tree has; for a local dataset, a path at or
  /// below a mag whose stored path is a URL (whether or not the name exists there).
  std::optional<RemotePath> find(const std::filesystem::path& rel, DatasetCatalog& catalog,
                                 const std::filesystem::path& source);
  /// The mount's store context (one HTTP client, made now if not yet: never before the daemon forks).
  storage::StoreContext store_context();
  /// The mags of `layer` with URL paths, by the folder name the mount shows them under.
  static std::map<std::string, const MagEntry*> remote_mags(const LayerProperties& layer);

  /// Attributes of a remote `path` (ENOENT, quietly, if the store lacks it); nullopt if it is local.
  std::optional<struct stat> attr(const PathInfo& path) const;
  /// A remote file opened for reading (`flags` of open(2) without O_TRUNC); nullopt if `path` is
  /// local or the open would change it (then copy_up first). EISDIR for a remote folder.
  std::optional<Opened> open(const PathInfo& path, int flags) const;
  /// The listing of a remote folder (ENOTDIR for a file); null if `path` is local.
  std::unique_ptr<OpenDir> opendir(const PathInfo& path) const;
  /// Adds the remote names a local folder's listing lacks (a URL SOURCE's folder, a layer's URL mags).
  void add_names(const PathInfo& dir, OpenDir& open);
  /// ReadOnly naming the URL if SOURCE is a URL mounted read-only: the store is never written.
  void require_writable_source() const;
  /// ReadOnly naming the URL if `path` is remote: the store is never written through the mount.
  void require_local(const PathInfo& path) const;
  /// Copies remote `path` into the overlay (a file's bytes, written atomically; a folder made), so
  /// that a change goes there. Only with has_overlay().
  void copy_up(const PathInfo& path, const MountPaths& paths);
  /// Makes the folder of a new name at `rel` in the overlay when only the remote tree has it.
  void make_overlay_parent(const std::filesystem::path& rel, const MountPaths& paths);

  /// The "remote" member of .wkfs-status: the SOURCE URL, the remote mags opened, the HTTP client's
  /// counters ("http"), the reads' counters (RemoteCounters::snapshot), and with remote_cache_dir a
  /// "cache" member (its status, or the error opening it). Never throws for the cache.
  Json status();
  /// Drops every entry of the remote cache (`cache-clear`); InvalidArgument (EINVAL) without
  /// remote_cache_dir. Returns {"dir", "bytes_dropped"}.
  Json clear_cache();

 private:
  const storage::StoreContext& context();
  /// The cache, opened at first use (in the daemon, after the fork); null without remote_cache_dir.
  std::shared_ptr<storage::RemoteCache> cache();

  RemoteConfig config_;
  bool read_only_;
  Diagnostics* diagnostics_;
  std::shared_ptr<storage::RemoteCounters> counters_;  // made with the catalog: status shows them from the start
  std::mutex cache_mutex_;  // cache_ (not mutex_, which is held while trees are fetched)
  std::shared_ptr<storage::RemoteCache> cache_;
  std::mutex mutex_;  // everything below
  std::optional<storage::StoreContext> context_;
  std::shared_ptr<RemoteTree> source_tree_;
  std::map<std::string, std::shared_ptr<RemoteTree>> mag_trees_;
};

}  // namespace wkfs::mount
