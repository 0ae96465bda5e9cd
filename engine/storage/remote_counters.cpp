#include "storage/remote_counters.hpp"

#include <cmath>
#include <cstring>

namespace wkfs::storage {

namespace {
constexpr double kBase = 1000.0;  // ns: the first bucket holds everything up to 1 us
constexpr double kPerDoubling = 4.0;
}  // namespace

std::chrono::nanoseconds LatencyHistogram::bucket_upper_bound(size_t i) {
  return std::chrono::nanoseconds(static_cast<int64_t>(std::ceil(kBase * std::exp2(static_cast<double>(i) / kPerDoubling))));
}

size_t LatencyHistogram::bucket_of(std::chrono::nanoseconds d) {
  double ns = static_cast<double>(d.count());
  if (ns <= kBase) return 0;
  size_t i = static_cast<size_t>(std::ceil(std::log2(ns / kBase) * kPerDoubling));
  // Rounding in log2 may put a value on a bound one bucket off: settle it against the bounds.
  while (i > 0 && bucket_upper_bound(i - 1) >= d) --i;
  while (i + 1 < kBuckets && bucket_upper_bound(i) < d) ++i;
  return std::min(i, kBuckets - 1);
}

void LatencyHistogram::record(std::chrono::nanoseconds d) {
  buckets_[bucket_of(d)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::chrono::nanoseconds LatencyHistogram::percentile(double fraction) const {
  std::array<uint64_t, kBuckets> snap;
  uint64_t total = 0;
  for (size_t i = 0; i < kBuckets; ++i) total += snap[i] = buckets_[i].load(std::memory_order_relaxed);
  if (total == 0) return std::chrono::nanoseconds(0);
  // The smallest bucket whose cumulative count reaches ceil(fraction * total) (at least one value).
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(total))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += snap[i];
    if (seen >= rank) return bucket_upper_bound(i);
  }
  return bucket_upper_bound(kBuckets - 1);
}

Json LatencyHistogram::to_json() const {
  auto ms = [&](double f) { return static_cast<double>(percentile(f).count()) / 1e6; };
  return Json{{"count", count()}, {"p50_ms", ms(0.5)}, {"p90_ms", ms(0.9)}, {"p99_ms", ms(0.99)}};
}

void RemoteCounters::hit(uint64_t bytes) {
  hits_.fetch_add(1, std::memory_order_relaxed);
  bytes_from_cache_.fetch_add(bytes, std::memory_order_relaxed);
}

void RemoteCounters::revalidated(uint64_t bytes) {
  revalidated_.fetch_add(1, std::memory_order_relaxed);
  bytes_from_cache_.fetch_add(bytes, std::memory_order_relaxed);
}

void RemoteCounters::miss(uint64_t bytes) {
  misses_.fetch_add(1, std::memory_order_relaxed);
  bytes_fetched_.fetch_add(bytes, std::memory_order_relaxed);
}

void RemoteCounters::joined() { joined_.fetch_add(1, std::memory_order_relaxed); }

void RemoteCounters::error(int err) {
  std::lock_guard lock(errors_mutex_);
  ++errors_[errno_name(err)];
}

void RemoteCounters::corrupt_entry() { corrupt_entries_.fetch_add(1, std::memory_order_relaxed); }

uint64_t RemoteCounters::errors(const std::string& name) const {
  std::lock_guard lock(errors_mutex_);
  auto it = errors_.find(name);
  return it == errors_.end() ? 0 : it->second;
}

Json RemoteCounters::snapshot() const {
  Json errors = Json::object();
  {
    std::lock_guard lock(errors_mutex_);
    for (auto& [name, n] : errors_) errors[name] = n;
  }
  return Json{{"hits", hits()},
              {"revalidated", revalidations()},
              {"misses", misses()},
              {"joined", joins()},
              {"bytes_fetched", bytes_fetched()},
              {"bytes_from_cache", bytes_from_cache()},
              {"in_flight", in_flight()},
              {"corrupt_cache_entries", corrupt_entries()},
              {"errors", std::move(errors)},
              {"fetch_latency", fetch_latency_.to_json()},
              {"read_latency", read_latency_.to_json()}};
}

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? std::string(name) : "errno " + std::to_string(err);
}

}  // namespace wkfs::storage
