#include "storage/caching_store.hpp"

#include "core/error.hpp"

namespace wkfs::storage {

namespace {

using Clock = std::chrono::steady_clock;

// Times one read as its caller sees it (hits included) into the counters, if any.
class ReadTimer {
 public:
  explicit ReadTimer(RemoteCounters* c) : c_(c), start_(Clock::now()) {}
  ~ReadTimer() {
    if (c_) c_->read_latency(Clock::now() - start_);
  }
  ReadTimer(const ReadTimer&) = delete;
  ReadTimer& operator=(const ReadTimer&) = delete;

 private:
  RemoteCounters* c_;
  Clock::time_point start_;
};

}  // namespace

CachingStore::CachingStore(std::unique_ptr<Store> inner, std::shared_ptr<RemoteCache> cache,
                           std::shared_ptr<RemoteCounters> counters, std::chrono::milliseconds revalidate_after)
    : inner_(std::move(inner)),
      cache_(std::move(cache)),
      counters_(std::move(counters)),
      revalidate_after_(revalidate_after) {
  if (!inner_) fail(ErrorKind::InvalidArgument, "CachingStore needs a store to read from");
  describe_ = inner_->describe();
}

template <typename F>
auto CachingStore::remote(F&& call) -> decltype(call()) {
  if (!counters_) return call();
  RemoteCounters::InFlight in_flight(*counters_);
  auto start = Clock::now();
  try {
    auto r = call();
    counters_->fetch_latency(Clock::now() - start);
    return r;
  } catch (...) {
    counters_->fetch_latency(Clock::now() - start);
    counters_->error(errno_of_current());
    throw;
  }
}

bool CachingStore::fresh(const CachedObject& entry) const {
  return std::chrono::system_clock::now() - entry.validated < revalidate_after_;
}

GetResult CachingStore::get(const std::string& key, ByteRange range) {
  ReadTimer timer(counters_.get());
  CacheKey id{describe_, key, range};
  std::optional<CachedObject> entry;
  if (cache_) {
    uint64_t corrupt_before = cache_->corrupt_dropped();
    entry = cache_->lookup(id);
    if (counters_ && cache_->corrupt_dropped() != corrupt_before) counters_->corrupt_entry();
  }
  if (entry && fresh(*entry)) {
    if (counters_) counters_->hit(entry->value.data.size());
    return std::move(entry->value);
  }
  if (!cache_) {
    GetResult r = remote([&] { return inner_->get(key, range); });
    if (counters_) counters_->miss(r.data.size());
    return r;
  }
  return once(id.identity(), [&] { return refresh(id, std::move(entry)); });
}

GetResult CachingStore::refresh(const CacheKey& id, std::optional<CachedObject> entry) {
  if (entry && !entry->value.version.empty()) {
    std::optional<GetResult> changed =
        remote([&] { return inner_->get_if_changed(id.key, entry->value.version, id.range); });
    if (!changed) {
      cache_->mark_validated(id);
      if (counters_) counters_->revalidated(entry->value.data.size());
      return std::move(entry->value);
    }
    if (counters_) counters_->miss(changed->data.size());
    cache_->insert(id, *changed);
    return std::move(*changed);
  }
  GetResult r = remote([&] { return inner_->get(id.key, id.range); });
  if (counters_) counters_->miss(r.data.size());
  cache_->insert(id, r);
  return r;
}

GetResult CachingStore::once(const std::string& identity, const std::function<GetResult()>& fetch) {
  std::promise<GetResult> promise;
  std::shared_future<GetResult> theirs;
  {
    std::lock_guard lock(flights_mutex_);
    auto it = flights_.find(identity);
    if (it != flights_.end())
      theirs = it->second;
    else
      flights_.emplace(identity, promise.get_future().share());
  }
  if (theirs.valid()) {
    GetResult r = theirs.get();  // rethrows the fetch's error
    if (counters_) counters_->joined();
    return r;
  }
  // Leave the map before waking the waiters: later readers find the stored entry instead.
  auto leave = [&] {
    std::lock_guard lock(flights_mutex_);
    flights_.erase(identity);
  };
  try {
    GetResult r = fetch();
    leave();
    promise.set_value(r);
    return r;
  } catch (...) {
    leave();
    promise.set_exception(std::current_exception());
    throw;
  }
}

std::optional<GetResult> CachingStore::get_if_changed(const std::string& key, const Version& version, ByteRange range) {
  ReadTimer timer(counters_.get());
  CacheKey id{describe_, key, range};
  std::optional<CachedObject> entry;
  if (cache_) entry = cache_->lookup(id);
  if (entry && fresh(*entry)) {
    if (counters_) counters_->hit(entry->value.data.size());
    if (entry->value.version == version) return std::nullopt;
    return std::move(entry->value);
  }
  std::optional<GetResult> changed = remote([&] { return inner_->get_if_changed(key, version, range); });
  if (!changed) {
    // Current as the caller knows it; our entry is too if it is that version.
    if (entry && entry->value.version == version) {
      cache_->mark_validated(id);
      if (counters_) counters_->revalidated(0);
    }
    return std::nullopt;
  }
  if (counters_) counters_->miss(changed->data.size());
  if (cache_) cache_->insert(id, *changed);
  return changed;
}

HeadResult CachingStore::head(const std::string& key) {
  HeadResult h = remote([&] { return inner_->head(key); });
  // Whoever asked (the lazy engine records source versions so) must not then read older cached
  // ranges of the object as if they were this version: they would be computed from and never redone.
  if (cache_) cache_->observe_version(describe_, key, h.version);
  return h;
}

ListResult CachingStore::list(const std::string& prefix, const std::string& delimiter) {
  return remote([&] { return inner_->list(prefix, delimiter); });
}

void CachingStore::put(const std::string& key, ByteSpan data) {
  remote([&] {
    inner_->put(key, data);
    return 0;
  });
  if (cache_) cache_->invalidate_object(describe_, key);
}

void CachingStore::remove(const std::string& key) {
  remote([&] {
    inner_->remove(key);
    return 0;
  });
  if (cache_) cache_->invalidate_object(describe_, key);
}

}  // namespace wkfs::storage
