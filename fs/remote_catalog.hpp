#pragma once
// Which paths of a mount are remote, and their trees: everything the local folder lacks when the
// mount's SOURCE is a URL (the folder is then the overlay, or an empty private one), and the mags
// of local datasets whose properties give them a URL path (shown as read-only folders). One HTTP
// client for all of them, made at first use: the daemon forks after the filesystem is built, and
// a client's thread would not survive that.
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
  /// For .wkfs-status: the SOURCE URL, the remote mags opened, the HTTP client's counters.
  Json status();
  /// The mount's store context (one HTTP client, made now if not yet: never before the daemon forks).
  storage::StoreContext store_context();
  /// The mags of `layer` with URL paths, by the folder name the mount shows them under.
  static std::map<std::string, const MagEntry*> remote_mags(const LayerProperties& layer);

 private:
  const storage::StoreContext& context();

  RemoteConfig config_;
  Diagnostics* diagnostics_;
  std::mutex mutex_;  // everything below
  std::optional<storage::StoreContext> context_;
  std::shared_ptr<RemoteTree> source_tree_;
  std::map<std::string, std::shared_ptr<RemoteTree>> mag_trees_;
};

}  // namespace wkfs::mount
