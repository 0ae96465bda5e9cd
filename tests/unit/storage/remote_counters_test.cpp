// RemoteCounters: counts, errno names, latency percentiles against percentiles computed here
// from the recorded values (a bucket's bound is at most 2^(1/4) above the true value).
#include "storage/remote_counters.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

using namespace wkfs;
using namespace wkfs::storage;
using namespace std::chrono_literals;

TEST(RemoteCounters, CountsAndSnapshot) {
  RemoteCounters c;
  c.hit(10);
  c.hit(5);
  c.revalidated(7);
  c.miss(100);
  c.error(EIO);
  c.error(EIO);
  c.error(ENOENT);
  {
    RemoteCounters::InFlight a(c), b(c);
    EXPECT_EQ(c.in_flight(), 2u);
    EXPECT_EQ(c.snapshot()["in_flight"], 2);
  }
  EXPECT_EQ(c.in_flight(), 0u);
  Json s = c.snapshot();
  EXPECT_EQ(s["hits"], 2);
  EXPECT_EQ(s["revalidated"], 1);
  EXPECT_EQ(s["misses"], 1);
  EXPECT_EQ(s["bytes_fetched"], 100);
  EXPECT_EQ(s["bytes_from_cache"], 22);
  EXPECT_EQ(s["errors"]["EIO"], 2);
  EXPECT_EQ(s["errors"]["ENOENT"], 1);
  EXPECT_EQ(c.errors("ETIMEDOUT"), 0u);
  EXPECT_EQ(s["fetch_latency"]["count"], 0);
  EXPECT_EQ(s["fetch_latency"]["p99_ms"], 0.0);
}

TEST(RemoteCounters, ErrnoNames) {
  EXPECT_EQ(errno_name(EIO), "EIO");
  EXPECT_EQ(errno_name(ETIMEDOUT), "ETIMEDOUT");
  EXPECT_EQ(errno_name(EACCES), "EACCES");
  EXPECT_EQ(errno_name(98765), "errno 98765");
}

TEST(LatencyHistogram, BucketsCoverEveryDurationInOrder) {
  for (size_t i = 1; i < LatencyHistogram::kBuckets; ++i) {
    ASSERT_LT(LatencyHistogram::bucket_upper_bound(i - 1), LatencyHistogram::bucket_upper_bound(i));
    // a value just above a bound falls in the next bucket, the bound itself in its own
    EXPECT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::bucket_upper_bound(i)), i);
    EXPECT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::bucket_upper_bound(i - 1) + 1ns), i);
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(0ns), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_of(std::chrono::hours(24 * 365)), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, PercentilesWithinOneBucketOfTheTrueValue) {
  std::mt19937 rng(7);
  std::lognormal_distribution<double> dist(std::log(2e6), 1.0);  // ns around 2 ms, wide spread
  std::vector<int64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 5000; ++i) {
    auto v = static_cast<int64_t>(dist(rng)) + 1000;
    values.push_back(v);
    h.record(std::chrono::nanoseconds(v));
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(h.count(), values.size());
  for (double f : {0.5, 0.9, 0.99}) {
    size_t rank = static_cast<size_t>(std::ceil(f * static_cast<double>(values.size())));
    double truth = static_cast<double>(values[rank - 1]);
    double got = static_cast<double>(h.percentile(f).count());
    EXPECT_GE(got, truth) << f;
    EXPECT_LE(got, truth * std::exp2(0.25) + 1) << f;
  }
}

TEST(LatencyHistogram, ThreadsRecordWithoutLoss) {
  LatencyHistogram h;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.record(std::chrono::microseconds(i % 500));
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(h.count(), 40000u);
}
