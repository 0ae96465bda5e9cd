#pragma once
// The store context of a mount's remote reads, built in this one place: one HTTP client (made at
// first use: the daemon forks after the filesystem is built, and a client's thread would not
// survive that), the auth token, the revalidation window, the remote cache (opened at first use,
// in the daemon) and the reads' counters. The mount's core makes one and hands it down: the remote
// catalog (a URL SOURCE's tree, URL mags' trees) and every dataset the dataset catalog opens (ctl
// commands, lazy sources reading URL mags) read through it.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/diagnostics.hpp"
#include "core/json.hpp"
#include "fs/remote_blocks.hpp"
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
  bool writable = false;  // -o s3_write: the s3:// SOURCE takes the mount's changes (fs/s3_write_back.hpp)
};

class RemoteContext {
 public:
  /// `diagnostics` gets the client's retry warnings and the cache's.
  RemoteContext(RemoteConfig config, Diagnostics* diagnostics);
  RemoteContext(const RemoteContext&) = delete;
  RemoteContext& operator=(const RemoteContext&) = delete;

  const RemoteConfig& config() const { return config_; }
  /// The mount's store context, its client made now if not yet (never before the daemon forks).
  storage::StoreContext get();
  /// A context of `config`'s options with a client of its own and `cache` (null: none), for the
  /// checks run_mount makes before the fork; the caller drops it before forking.
  static storage::StoreContext probe(const RemoteConfig& config, std::shared_ptr<storage::RemoteCache> cache);

  /// The mount's one table of remote files' blocks (shared by every remote tree).
  const std::shared_ptr<RemoteBlocks>& blocks() const { return blocks_; }
  /// The reads' counters (RemoteCounters::snapshot), counted from the mount's start.
  Json counters() const;
  /// Adds to a status document "http" (the client's counters, once it is made) and, with
  /// remote_cache_dir, "cache" (its status, or the error opening it). Never throws for the cache.
  void add_status(Json& j);
  /// Drops every entry of the remote cache and the blocks held in memory (`cache-clear`);
  /// InvalidArgument (EINVAL) without remote_cache_dir. Returns {"dir", "bytes_dropped"}.
  Json clear_cache();

 private:
  /// The cache, opened at first use (in the daemon, after the fork); null without remote_cache_dir.
  std::shared_ptr<storage::RemoteCache> cache();

  RemoteConfig config_;
  Diagnostics* diagnostics_;
  std::shared_ptr<storage::RemoteCounters> counters_;
  std::shared_ptr<RemoteBlocks> blocks_ = std::make_shared<RemoteBlocks>();  // made with the context: status shows them from the start
  std::mutex cache_mutex_;  // cache_ (not mutex_, which may be held while a client is made)
  std::shared_ptr<storage::RemoteCache> cache_;
  std::mutex mutex_;  // context_
  std::optional<storage::StoreContext> context_;
};

}  // namespace wkfs::mount
