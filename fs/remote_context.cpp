#include "fs/remote_context.hpp"

#include "core/error.hpp"

namespace wkfs::mount {

RemoteContext::RemoteContext(RemoteConfig config, Diagnostics* diagnostics)
    : config_(std::move(config)), diagnostics_(diagnostics), counters_(std::make_shared<storage::RemoteCounters>()) {}

namespace {
/// The context of `config` over `client` and `cache`: the probe's before the fork, the daemon's after.
storage::StoreContext context_of(const RemoteConfig& config, std::shared_ptr<storage::HttpClient> client,
                                 std::shared_ptr<storage::RemoteCache> cache) {
  storage::StoreContext c;
  c.client = std::move(client);
  c.auth_token = config.auth_token;
  c.cache = std::move(cache);
  c.revalidate_after = config.revalidate_after;
  return c;
}
}  // namespace

storage::StoreContext RemoteContext::probe(const RemoteConfig& config, std::shared_ptr<storage::RemoteCache> cache) {
  return context_of(config, std::make_shared<storage::HttpClient>(config.http), std::move(cache));
}

storage::StoreContext RemoteContext::get() {
  std::lock_guard lock(mutex_);
  if (!context_) {
    context_ = context_of(config_, std::make_shared<storage::HttpClient>(config_.http, diagnostics_), cache());
    context_->counters = counters_;
  }
  return *context_;
}

std::shared_ptr<storage::RemoteCache> RemoteContext::cache() {
  if (!config_.cache_dir) return nullptr;
  std::lock_guard lock(cache_mutex_);
  if (!cache_) cache_ = std::make_shared<storage::RemoteCache>(*config_.cache_dir, config_.cache_bytes, diagnostics_);
  return cache_;
}

Json RemoteContext::counters() const {
  return counters_->snapshot();  // reads: hits, revalidated, misses, bytes fetched, latencies, errors
}

void RemoteContext::add_status(Json& j) {
  {
    std::lock_guard lock(mutex_);
    if (context_) {
      const auto& st = context_->client->stats();
      j["http"] = Json{{"requests", st.requests.load()},
                       {"retries", st.retries.load()},
                       {"bytes_received", st.bytes_received.load()},
                       {"in_flight", st.in_flight.load()}};
    }
  }
  if (!config_.cache_dir) return;
  try {
    j["cache"] = cache()->status();
    j["cache"]["revalidate_after_s"] = config_.revalidate_after.count();
  } catch (const std::exception& e) {
    j["cache"] = Json{{"dir", config_.cache_dir->string()}, {"error", e.what()}};
  }
}

Json RemoteContext::clear_cache() {
  if (!config_.cache_dir)
    fail(ErrorKind::InvalidArgument, "cache-clear: the mount has no remote cache (no remote_cache_dir= option)");
  auto c = cache();
  const uint64_t before = c->bytes_used();
  c->clear();
  blocks_->clear();
  return Json{{"dir", c->dir().string()}, {"bytes_dropped", before}};
}

}  // namespace wkfs::mount
