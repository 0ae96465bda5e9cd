#pragma once
// Which paths of a mount are remote, and their trees: everything the local folder lacks when the
// mount's SOURCE is a URL (the folder is then the overlay, or an empty private one), and the mags
// of local datasets whose properties give them a URL path (shown as read-only folders). One HTTP
// client for all of them, made at first use: the daemon forks after the filesystem is built, and
// a client's thread would not survive that.
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

/// A path inside a remote tree.
struct RemotePath {
  std::shared_ptr<RemoteTree> tree;
  std::string key;  // below the tree's root, '/'-separated
};

class RemoteCatalog {
 public:
  /// `diagnostics` gets the client's retry warnings.
  RemoteCatalog(RemoteConfig config, Diagnostics* diagnostics);

  /// True if the mount's SOURCE is a URL.
  bool has_source() const { return !config_.source_url.empty(); }
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
