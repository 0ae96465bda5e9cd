#pragma once
// A Store in front of a remote one that serves reads from a RemoteCache and counts what happens
// in RemoteCounters. A cached range younger than `revalidate_after` is served without a request;
// an older one is revalidated with get_if_changed (a 304 serves it and restarts its clock);
// anything else is fetched and stored. A HEAD that finds a new version drops the old one's ranges
// (a caller told "version B" never reads cached bytes of A after). Concurrent misses of one range
// share one request. Without a cache it only counts. Writes go through and drop the object's cached ranges.
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>

#include "storage/remote_cache.hpp"
#include "storage/remote_counters.hpp"
#include "storage/store.hpp"

namespace wkfs::storage {

class CachingStore : public Store {
 public:
  /// `cache` and `counters` may each be null (no caching, no counting).
  CachingStore(std::unique_ptr<Store> inner, std::shared_ptr<RemoteCache> cache,
               std::shared_ptr<RemoteCounters> counters, std::chrono::milliseconds revalidate_after);

  GetResult get(const std::string& key, ByteRange range = ByteRange::whole()) override;
  std::optional<GetResult> get_if_changed(const std::string& key, const Version& version,
                                          ByteRange range = ByteRange::whole()) override;
  HeadResult head(const std::string& key) override;
  ListResult list(const std::string& prefix, const std::string& delimiter = "") override;
  void put(const std::string& key, ByteSpan data) override;
  void remove(const std::string& key) override;
  std::string describe() const override { return describe_; }

  /// The store reads go to on a miss.
  Store& inner() { return *inner_; }

 private:
  template <typename F>
  auto remote(F&& call) -> decltype(call());  // one request to inner_: in flight, latency, errors
  bool fresh(const CachedObject& entry) const;
  GetResult refresh(const CacheKey& id, std::optional<CachedObject> entry);  // revalidate or fetch, and store
  GetResult once(const std::string& identity, const std::function<GetResult()>& fetch);  // one flight per range

  std::unique_ptr<Store> inner_;
  std::shared_ptr<RemoteCache> cache_;
  std::shared_ptr<RemoteCounters> counters_;
  std::chrono::milliseconds revalidate_after_;
  std::string describe_;
  std::mutex flights_mutex_;
  std::map<std::string, std::shared_future<GetResult>> flights_;  // fetches in flight, by CacheKey::identity
};

}  // namespace wkfs::storage
