#include "fs/remote_catalog.hpp"

#include <sys/stat.h>

#include "core/error.hpp"
#include "dataset/mag_paths.hpp"
#include "fs/remote_dataset.hpp"
#include "fs/remote_mag.hpp"

namespace wkfs::mount {

RemoteCatalog::RemoteCatalog(RemoteConfig config, Diagnostics* diagnostics)
    : config_(std::move(config)), diagnostics_(diagnostics),
      counters_(std::make_shared<storage::RemoteCounters>()) {}

const storage::StoreContext& RemoteCatalog::context() {
  if (!context_) {
    storage::StoreContext c;
    c.client = std::make_shared<storage::HttpClient>(config_.http, diagnostics_);
    c.auth_token = config_.auth_token;
    c.cache = cache();
    c.counters = counters_;
    c.revalidate_after = config_.revalidate_after;
    context_ = std::move(c);
  }
  return *context_;
}

storage::StoreContext RemoteCatalog::store_context() {
  std::lock_guard lock(mutex_);
  return context();
}

std::shared_ptr<storage::RemoteCache> RemoteCatalog::cache() {
  if (!config_.cache_dir) return nullptr;
  std::lock_guard lock(cache_mutex_);
  if (!cache_) cache_ = std::make_shared<storage::RemoteCache>(*config_.cache_dir, config_.cache_bytes, diagnostics_);
  return cache_;
}

Json RemoteCatalog::clear_cache() {
  if (!config_.cache_dir)
    fail(ErrorKind::InvalidArgument, "cache-clear: the mount has no remote cache (no remote_cache_dir= option)");
  auto c = cache();
  const uint64_t before = c->bytes_used();
  c->clear();
  return Json{{"dir", c->dir().string()}, {"bytes_dropped", before}};
}

std::shared_ptr<RemoteTree> RemoteCatalog::source_tree() {
  std::lock_guard lock(mutex_);
  if (!source_tree_) source_tree_ = open_remote_dataset(context(), config_.source_url);
  return source_tree_;
}

std::shared_ptr<RemoteTree> RemoteCatalog::mag_tree(const std::string& url, const LayerProperties& layer,
                                                    const Mag& mag) {
  std::lock_guard lock(mutex_);
  auto& tree = mag_trees_[url];
  if (!tree) tree = open_remote_mag(context(), url, layer, mag);
  return tree;
}

Json RemoteCatalog::status() {
  Json j = counters_->snapshot();  // reads: hits, revalidated, misses, bytes fetched, latencies, errors
  {
    std::lock_guard lock(mutex_);
    Json mags = Json::array();
    for (const auto& [url, tree] : mag_trees_) mags.push_back(url);
    j["source"] = config_.source_url;
    j["mags"] = mags;
    if (context_) {
      const auto& st = context_->client->stats();
      j["http"] = Json{{"requests", st.requests.load()},
                       {"retries", st.retries.load()},
                       {"bytes_received", st.bytes_received.load()},
                       {"in_flight", st.in_flight.load()}};
    }
  }
  if (!config_.cache_dir) return j;
  try {
    j["cache"] = cache()->status();
    j["cache"]["revalidate_after_s"] = config_.revalidate_after.count();
  } catch (const std::exception& e) {
    j["cache"] = Json{{"dir", config_.cache_dir->string()}, {"error", e.what()}};
  }
  return j;
}

std::map<std::string, const MagEntry*> RemoteCatalog::remote_mags(const LayerProperties& layer) {
  std::map<std::string, const MagEntry*> out;
  for (const auto& entry : layer.mags)
    if (entry.path && is_remote_path(*entry.path)) out[entry.mag.short_name()] = &entry;
  return out;
}

std::optional<RemotePath> RemoteCatalog::find(const std::filesystem::path& rel, DatasetCatalog& catalog,
                                              const std::filesystem::path& source) {
  if (rel.empty()) return std::nullopt;
  struct stat st {};
  if (has_source()) {
    if (::lstat((source / rel).c_str(), &st) == 0) return std::nullopt;  // the overlay has it
    auto tree = source_tree();
    if (!tree->stat(rel.generic_string())) return std::nullopt;
    return RemotePath{tree, rel.generic_string()};
  }
  auto loc = catalog.locate(rel);
  if (!loc || loc->inner.size() < 2) return std::nullopt;
  // a remote mag has no folder here (webknossos-libs makes none): a folder that exists is local
  if (::lstat((source / loc->dataset_rel / loc->inner[0] / loc->inner[1]).c_str(), &st) == 0) return std::nullopt;
  const auto props = loc->dataset->properties();
  const auto* layer = props.find_layer(loc->inner[0]);
  if (!layer) return std::nullopt;
  const auto mags = remote_mags(*layer);
  auto it = mags.find(loc->inner[1]);
  if (it == mags.end()) return std::nullopt;
  std::string key;
  for (size_t i = 2; i < loc->inner.size(); ++i) key += (key.empty() ? "" : "/") + loc->inner[i];
  return RemotePath{mag_tree(*it->second->path, *layer, it->second->mag), key};
}

}  // namespace wkfs::mount
