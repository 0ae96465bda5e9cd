#pragma once
// What the remote side of a mount did, for .wkfs-status and the bench: reads served from the
// local cache (hits), served after a 304 (revalidated), fetched (misses), served by another
// reader's fetch of the same range (joined), bytes fetched, requests in flight, latency
// percentiles and errors by errno name. Thread-safe; one per mount, shared by its CachingStores.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "core/json.hpp"

namespace wkfs::storage {

/// Durations in log-spaced buckets (4 per doubling, 1 us to ~17 min): percentiles to within 19 %.
class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = 120;
  /// Counts one duration.
  void record(std::chrono::nanoseconds d);
  /// The duration below which `fraction` (0..1) of the recorded ones lie (a bucket's upper bound); 0 when empty.
  std::chrono::nanoseconds percentile(double fraction) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  /// {"count", "p50_ms", "p90_ms", "p99_ms"}.
  Json to_json() const;
  /// Upper bound of bucket `i` (exposed for tests).
  static std::chrono::nanoseconds bucket_upper_bound(size_t i);
  /// The bucket a duration falls in (exposed for tests).
  static size_t bucket_of(std::chrono::nanoseconds d);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
};

class RemoteCounters {
 public:
  /// A read answered from the cache without asking the server.
  void hit(uint64_t bytes);
  /// A read answered from the cache after the server said the entry is current (304).
  void revalidated(uint64_t bytes);
  /// A read whose bytes came from the server.
  void miss(uint64_t bytes);
  /// A read that waited for another reader's fetch of the same range instead of sending its own.
  void joined();
  /// A failed call, by its errno (EIO, ENOENT, ETIMEDOUT, EACCES...).
  void error(int err);
  /// A cache entry that failed its checksum (dropped and refetched).
  void corrupt_entry();
  /// Latency of one request to the server.
  void fetch_latency(std::chrono::nanoseconds d) { fetch_latency_.record(d); }
  /// Latency of one read as the caller saw it (hits included).
  void read_latency(std::chrono::nanoseconds d) { read_latency_.record(d); }

  /// Counts a request to the server as in flight while alive.
  class InFlight {
   public:
    explicit InFlight(RemoteCounters& c) : c_(c) { c_.in_flight_.fetch_add(1, std::memory_order_relaxed); }
    ~InFlight() { c_.in_flight_.fetch_sub(1, std::memory_order_relaxed); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    RemoteCounters& c_;
  };

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t revalidations() const { return revalidated_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  uint64_t joins() const { return joined_.load(std::memory_order_relaxed); }
  uint64_t bytes_fetched() const { return bytes_fetched_.load(std::memory_order_relaxed); }
  uint64_t bytes_from_cache() const { return bytes_from_cache_.load(std::memory_order_relaxed); }
  uint64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  uint64_t corrupt_entries() const { return corrupt_entries_.load(std::memory_order_relaxed); }
  /// Errors seen with errno `name` ("EIO").
  uint64_t errors(const std::string& name) const;
  const LatencyHistogram& fetch_latency() const { return fetch_latency_; }
  const LatencyHistogram& read_latency() const { return read_latency_; }

  /// Everything above as one JSON object (the "remote" member of .wkfs-status).
  Json snapshot() const;

 private:
  std::atomic<uint64_t> hits_{0}, revalidated_{0}, misses_{0}, joined_{0}, bytes_fetched_{0}, bytes_from_cache_{0};
  std::atomic<uint64_t> in_flight_{0}, corrupt_entries_{0};
  mutable std::mutex errors_mutex_;
  std::map<std::string, uint64_t> errors_;
  LatencyHistogram fetch_latency_, read_latency_;
};

/// "EIO" for EIO (strerrorname_np), "errno 1234" for a number without a name.
std::string errno_name(int err);

}  // namespace wkfs::storage
