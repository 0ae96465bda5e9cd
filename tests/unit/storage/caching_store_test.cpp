// CachingStore over a real nginx-light (and over a LocalStore for writes): hits make no request
// (nginx's access log says so), a changed object is seen after the revalidation window, a 304
// is counted and served, damaged cache entries are never served, two processes share one cache
// folder. Expected bytes are the files nginx serves.
#include "storage/caching_store.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "storage/http_store.hpp"
#include "storage/local_store.hpp"
#include "storage/open_store.hpp"
#include "storage/s3_store.hpp"
#include "support/test_support.hpp"
#include "unit/storage/test_servers.hpp"

using namespace wkfs;
using namespace wkfs::storage;
using namespace std::chrono_literals;

namespace {

Bytes random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::byte>(rng());
  return b;
}

void write_bytes(const fs::path& p, const Bytes& b) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes slice(const Bytes& b, uint64_t begin, uint64_t end) {
  return Bytes(b.begin() + static_cast<ptrdiff_t>(begin), b.begin() + static_cast<ptrdiff_t>(end));
}

class CachingStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    big_ = random_bytes(1 << 20, 1);
    write_bytes(*dir_ / "root/ds/big.bin", big_);
    server_ = new test::NginxServer(*dir_ / "nginx", *dir_ / "root");
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override { cache_dir_ = *dir_ / ("cache-" + std::to_string(++n_)); }

  static std::shared_ptr<HttpClient> client() {
    HttpOptions o;
    o.backoff_initial = 10ms;
    o.ca_file = server_->ca_file().string();
    return std::make_shared<HttpClient>(o);
  }
  // A file of its own per test, so its access-log lines are its own.
  static Bytes serve(const std::string& name, size_t n, unsigned seed) {
    Bytes b = random_bytes(n, seed);
    write_bytes(*dir_ / "root/ds" / name, b);
    return b;
  }
  CachingStore caching(std::shared_ptr<RemoteCounters> counters, std::chrono::milliseconds revalidate_after,
                       uint64_t cap = 64 << 20, bool with_cache = true) {
    auto cache = with_cache ? std::make_shared<RemoteCache>(cache_dir_, cap) : nullptr;
    return CachingStore(std::make_unique<HttpStore>(StoreUrl::parse(server_->http_url() + "/ds"), client()), cache,
                        std::move(counters), revalidate_after);
  }
  // Waits until nginx has logged every request made so far: a sentinel request is logged after them.
  static void settle_log() {
    static int n = 0;
    std::string key = "sentinel-" + std::to_string(++n) + ".bin";
    write_bytes(*dir_ / "root/ds" / key, random_bytes(10, 0));
    HttpStore(StoreUrl::parse(server_->http_url() + "/ds"), client()).get(key);
    server_->wait_requests_for("/ds/" + key, 1);
  }
  static size_t gets_of(const std::string& name) { return server_->requests_for("\"GET /ds/" + name + " "); }

  static test::TempDir* dir_;
  static test::NginxServer* server_;
  static Bytes big_;
  static int n_;
  fs::path cache_dir_;
};
test::TempDir* CachingStoreTest::dir_ = nullptr;
test::NginxServer* CachingStoreTest::server_ = nullptr;
Bytes CachingStoreTest::big_;
int CachingStoreTest::n_ = 0;

}  // namespace

TEST_F(CachingStoreTest, SecondReadIsAHitWithoutARequest) {
  Bytes file = serve("hit.bin", 200000, 2);
  auto counters = std::make_shared<RemoteCounters>();
  {
    CachingStore s = caching(counters, 1h);
    EXPECT_EQ(s.get("hit.bin", ByteRange::span(1000, 5000)).data, slice(file, 1000, 6000));
    EXPECT_EQ(s.get("hit.bin", ByteRange::suffix(4096)).data, slice(file, file.size() - 4096, file.size()));
    GetResult again = s.get("hit.bin", ByteRange::span(1000, 5000));
    EXPECT_EQ(again.data, slice(file, 1000, 6000));
    EXPECT_EQ(again.size, file.size());
    EXPECT_EQ(s.get("hit.bin", ByteRange::suffix(4096)).data, slice(file, file.size() - 4096, file.size()));
  }
  // A later mount on the same cache folder: still hits.
  CachingStore later = caching(counters, 1h);
  EXPECT_EQ(later.get("hit.bin", ByteRange::span(1000, 5000)).data, slice(file, 1000, 6000));
  settle_log();
  EXPECT_EQ(gets_of("hit.bin"), 2u);
  EXPECT_EQ(counters->misses(), 2u);
  EXPECT_EQ(counters->hits(), 3u);
  EXPECT_EQ(counters->bytes_fetched(), 5000u + 4096u);
  EXPECT_EQ(counters->bytes_from_cache(), 2 * 5000u + 4096u);
  EXPECT_EQ(counters->fetch_latency().count(), 2u);
  EXPECT_EQ(counters->read_latency().count(), 5u);
  EXPECT_EQ(counters->in_flight(), 0u);
}

TEST_F(CachingStoreTest, StoresRootedAtDifferentFoldersShareAnObjectsEntries) {
  Bytes file = serve("sub/shared.bin", 20000, 12);
  auto counters = std::make_shared<RemoteCounters>();
  auto cache = std::make_shared<RemoteCache>(cache_dir_, 1 << 20);
  CachingStore top(std::make_unique<HttpStore>(StoreUrl::parse(server_->http_url() + "/ds"), client()), cache, counters, 1h);
  CachingStore sub(std::make_unique<HttpStore>(StoreUrl::parse(server_->http_url() + "/ds/sub/"), client()), cache, counters, 1h);
  EXPECT_EQ(top.get("sub/shared.bin", ByteRange::span(0, 100)).data, slice(file, 0, 100));
  EXPECT_EQ(sub.get("shared.bin", ByteRange::span(0, 100)).data, slice(file, 0, 100));
  EXPECT_EQ(counters->misses(), 1u);
  EXPECT_EQ(counters->hits(), 1u);
}

TEST_F(CachingStoreTest, ChangedObjectIsSeenAfterTheRevalidationWindow) {
  Bytes old_bytes = serve("change.bin", 100000, 3);
  auto counters = std::make_shared<RemoteCounters>();
  CachingStore trusting = caching(counters, 1h);
  CachingStore checking = caching(counters, 0ms);
  EXPECT_EQ(checking.get("change.bin", ByteRange::span(0, 8192)).data, slice(old_bytes, 0, 8192));
  // Same size, new bytes, and a clearly later mtime (nginx's ETag is mtime-size).
  Bytes new_bytes = random_bytes(100000, 4);
  write_bytes(*dir_ / "root/ds/change.bin", new_bytes);
  fs::last_write_time(*dir_ / "root/ds/change.bin", fs::last_write_time(*dir_ / "root/ds/change.bin") + 100s);
  // Inside its window the cached range is trusted (that is what the window means)...
  EXPECT_EQ(trusting.get("change.bin", ByteRange::span(0, 8192)).data, slice(old_bytes, 0, 8192));
  // ... past it the server is asked and the new bytes come, and are cached.
  EXPECT_EQ(checking.get("change.bin", ByteRange::span(0, 8192)).data, slice(new_bytes, 0, 8192));
  EXPECT_EQ(trusting.get("change.bin", ByteRange::span(0, 8192)).data, slice(new_bytes, 0, 8192));
  EXPECT_EQ(counters->misses(), 2u);
  EXPECT_EQ(counters->hits(), 2u);
  EXPECT_EQ(counters->revalidations(), 0u);
}

// The lazy engine records a remote source's version with a HEAD, then computes from reads: a HEAD
// that reports a new version must leave no older cached range to be read inside the window, or a
// file computed from old bytes would be recorded as computed from the new ones (never redone).
TEST_F(CachingStoreTest, AHeadThatSeesANewVersionRetiresTheOldRanges) {
  Bytes old_bytes = serve("headed.bin", 50000, 13);
  auto counters = std::make_shared<RemoteCounters>();
  CachingStore trusting = caching(counters, 1h);
  EXPECT_EQ(trusting.get("headed.bin", ByteRange::span(100, 4000)).data, slice(old_bytes, 100, 4100));
  const Version before = trusting.head("headed.bin").version;
  EXPECT_EQ(trusting.get("headed.bin", ByteRange::span(100, 4000)).data, slice(old_bytes, 100, 4100));  // same version: a hit
  Bytes new_bytes = random_bytes(50000, 14);
  write_bytes(*dir_ / "root/ds/headed.bin", new_bytes);
  fs::last_write_time(*dir_ / "root/ds/headed.bin", fs::last_write_time(*dir_ / "root/ds/headed.bin") + 100s);
  const HeadResult now = trusting.head("headed.bin");
  EXPECT_NE(now.version, before);
  GetResult r = trusting.get("headed.bin", ByteRange::span(100, 4000));
  EXPECT_EQ(r.data, slice(new_bytes, 100, 4100));
  EXPECT_EQ(r.version, now.version);
  EXPECT_EQ(counters->hits(), 1u);
  EXPECT_EQ(counters->misses(), 2u);
}

TEST_F(CachingStoreTest, UnchangedObjectIsRevalidatedWith304) {
  Bytes file = serve("reval.bin", 100000, 5);
  auto counters = std::make_shared<RemoteCounters>();
  CachingStore s = caching(counters, 0ms);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s.get("reval.bin", ByteRange::span(500, 3000)).data, slice(file, 500, 3500));
  settle_log();
  EXPECT_EQ(gets_of("reval.bin"), 3u);
  EXPECT_EQ(server_->requests_for(" 304 \"GET /ds/reval.bin "), 2u);
  EXPECT_EQ(counters->misses(), 1u);
  EXPECT_EQ(counters->revalidations(), 2u);
  EXPECT_EQ(counters->bytes_fetched(), 3000u);
  EXPECT_EQ(counters->bytes_from_cache(), 6000u);
}

TEST_F(CachingStoreTest, DamagedEntriesAreNeverServed) {
  Bytes file = serve("damage.bin", 100000, 6);
  auto counters = std::make_shared<RemoteCounters>();
  auto cache = std::make_shared<RemoteCache>(cache_dir_, 64 << 20);
  CachingStore s(std::make_unique<HttpStore>(StoreUrl::parse(server_->http_url() + "/ds"), client()), cache, counters, 1h);
  ByteRange r = ByteRange::span(10000, 20000);
  Bytes expect = slice(file, 10000, 30000);
  fs::path entry = cache->entry_path({s.describe(), "damage.bin", r});
  EXPECT_EQ(s.get("damage.bin", r).data, expect);
  Bytes good = read_file(entry);
  std::vector<std::pair<std::string, Bytes>> damages;
  damages.push_back({"truncated to half", slice(good, 0, good.size() / 2)});
  damages.push_back({"header only (a writer killed after its first write)", slice(good, 0, good.size() - expect.size())});
  damages.push_back({"empty", {}});
  Bytes flipped = good;
  flipped[good.size() - 777] ^= std::byte{1};
  damages.push_back({"one bit flipped in the data", flipped});
  Bytes zeros(good.size());
  damages.push_back({"zeros", zeros});
  size_t gets = 1;
  for (auto& [what, bytes] : damages) {
    write_bytes(entry, bytes);
    EXPECT_EQ(s.get("damage.bin", r).data, expect) << what;
    ++gets;
    EXPECT_EQ(read_file(entry), good) << what << ": the refetched entry replaced the damaged one";
  }
  EXPECT_EQ(s.get("damage.bin", r).data, expect);  // and now a hit again
  settle_log();
  EXPECT_EQ(gets_of("damage.bin"), gets);
  EXPECT_EQ(counters->corrupt_entries(), damages.size());
  EXPECT_EQ(counters->hits(), 1u);
}

TEST_F(CachingStoreTest, TwoProcessesShareOneCacheFolder) {
  { RemoteCache create(cache_dir_, 300000); }
  auto run = [&](unsigned seed) {
    // Everything made after fork: a process must not inherit another's HTTP thread.
    CachingStore s = caching(nullptr, 1h, 300000);  // small cap: both processes evict all the time
    std::mt19937 rng(seed);
    int wrong = 0;
    for (int i = 0; i < 400; ++i) {
      uint64_t off = (rng() % 200) * 4096, len = 4096 + rng() % 8192;
      wrong += s.get("big.bin", ByteRange::span(off, len)).data != slice(big_, off, off + len);
    }
    return wrong;
  };
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int wrong = 1;
    try {
      wrong = run(1);
    } catch (...) {
    }
    _exit(wrong == 0 ? 0 : 1);
  }
  EXPECT_EQ(run(2), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the other process read wrong bytes or failed";
  RemoteCache after(cache_dir_, 300000);
  EXPECT_LE(after.scan_bytes(), 300000u);
}

TEST_F(CachingStoreTest, WithoutACacheItOnlyCounts) {
  Bytes file = serve("count.bin", 50000, 7);
  auto counters = std::make_shared<RemoteCounters>();
  CachingStore s = caching(counters, 1h, 0, false);
  EXPECT_EQ(s.get("count.bin", ByteRange::span(0, 100)).data, slice(file, 0, 100));
  EXPECT_EQ(s.get("count.bin", ByteRange::span(0, 100)).data, slice(file, 0, 100));
  EXPECT_EQ(s.head("count.bin").size, file.size());
  try {
    s.get("missing.bin");
    FAIL() << "a missing object read";
  } catch (const Error& e) {
    EXPECT_EQ(to_errno(e), ENOENT);
  }
  settle_log();
  EXPECT_EQ(gets_of("count.bin"), 2u);
  EXPECT_EQ(counters->misses(), 2u);
  EXPECT_EQ(counters->hits(), 0u);
  EXPECT_EQ(counters->bytes_fetched(), 200u);
  EXPECT_EQ(counters->errors("ENOENT"), 1u);
  EXPECT_EQ(counters->fetch_latency().count(), 4u);  // two gets, the head, the failed get
  Json snap = counters->snapshot();
  EXPECT_EQ(snap["errors"]["ENOENT"], 1);
  EXPECT_GT(snap["fetch_latency"]["p99_ms"].get<double>(), 0.0);
}

TEST_F(CachingStoreTest, OpenStoreWrapsRemoteStoresWhenAskedTo) {
  Bytes file = serve("opened.bin", 30000, 8);
  StoreContext context;
  context.client = client();
  context.cache = std::make_shared<RemoteCache>(cache_dir_, 1 << 20);
  context.counters = std::make_shared<RemoteCounters>();
  context.revalidate_after = 1h;
  std::unique_ptr<Store> s = open_store(server_->https_url() + "/ds", context);
  EXPECT_NE(dynamic_cast<CachingStore*>(s.get()), nullptr);
  EXPECT_EQ(s->get("opened.bin", ByteRange::span(5, 10)).data, slice(file, 5, 15));
  EXPECT_EQ(s->get("opened.bin", ByteRange::span(5, 10)).data, slice(file, 5, 15));
  EXPECT_EQ(context.counters->hits(), 1u);
  // Local folders and a context without cache or counters are not wrapped.
  EXPECT_EQ(dynamic_cast<CachingStore*>(open_store((*dir_ / "root").string(), context).get()), nullptr);
  StoreContext plain;
  plain.client = context.client;
  EXPECT_EQ(dynamic_cast<CachingStore*>(open_store(server_->https_url() + "/ds", plain).get()), nullptr);
}

TEST_F(CachingStoreTest, WritesDropTheObjectsCachedRanges) {
  fs::path root = *dir_ / "local-root";
  write_bytes(root / "obj.bin", random_bytes(1000, 9));
  auto counters = std::make_shared<RemoteCounters>();
  CachingStore s(std::make_unique<LocalStore>(root.string()), std::make_shared<RemoteCache>(cache_dir_, 1 << 20),
                 counters, 1h);
  EXPECT_EQ(s.get("obj.bin", ByteRange::span(0, 100)).data, slice(random_bytes(1000, 9), 0, 100));
  Bytes next = random_bytes(1000, 10);
  s.put("obj.bin", next);
  EXPECT_EQ(s.get("obj.bin", ByteRange::span(0, 100)).data, slice(next, 0, 100));
  s.remove("obj.bin");
  EXPECT_THROW(s.get("obj.bin", ByteRange::span(0, 100)), Error);
  EXPECT_EQ(counters->hits(), 0u);
}

namespace {
struct RecordingDiagnostics : Diagnostics {
  std::vector<std::string> lines;
  void report(LogLevel, std::string_view, std::string_view where, std::string_view message, int err) override {
    lines.push_back(std::string(where) + ": " + std::string(message) + " errno " + std::to_string(err));
  }
};
}  // namespace

TEST_F(CachingStoreTest, ACacheThatCannotWriteStillServesReads) {
  Bytes file = serve("nowrite.bin", 30000, 11);
  RecordingDiagnostics diag;
  auto cache = std::make_shared<RemoteCache>(cache_dir_, 1 << 20, &diag);
  fs::remove_all(cache_dir_ / "tmp");
  write_bytes(cache_dir_ / "tmp", random_bytes(3, 1));  // entries can no longer be written (ENOTDIR)
  auto counters = std::make_shared<RemoteCounters>();
  CachingStore s(std::make_unique<HttpStore>(StoreUrl::parse(server_->http_url() + "/ds"), client()), cache, counters, 1h);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(s.get("nowrite.bin", ByteRange::span(100, 1000)).data, slice(file, 100, 1100));
  EXPECT_EQ(counters->misses(), 2u);
  ASSERT_EQ(diag.lines.size(), 2u);
  EXPECT_NE(diag.lines[0].find("cannot write a remote cache entry"), std::string::npos) << diag.lines[0];
  EXPECT_NE(diag.lines[0].find("errno " + std::to_string(ENOTDIR)), std::string::npos) << diag.lines[0];
}

// Readers of one range at the same time share one request. How many overlap depends on the
// scheduler, so the test checks that the counts agree with nginx's log and every reader gets the
// bytes; over /slow/ (2 KB/s) a 6 KB range takes seconds, so in practice all of them join one.
TEST_F(CachingStoreTest, ConcurrentMissesOfOneRangeShareARequest) {
  Bytes file = serve("flight.bin", 20000, 13);
  auto counters = std::make_shared<RemoteCounters>();
  CachingStore s(std::make_unique<HttpStore>(StoreUrl::parse(server_->http_url() + "/slow/ds"), client()),
                 std::make_shared<RemoteCache>(cache_dir_, 1 << 20), counters, 1h);
  const int n = 6;
  std::atomic<int> wrong{0}, ready{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i)
    ts.emplace_back([&] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();
      wrong += s.get("flight.bin", ByteRange::span(1000, 6000)).data != slice(file, 1000, 7000);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong.load(), 0);
  settle_log();
  EXPECT_EQ(server_->requests_for("\"GET /slow/ds/flight.bin "), counters->misses());
  EXPECT_EQ(counters->misses() + counters->joins() + counters->hits(), static_cast<uint64_t>(n));
  EXPECT_GE(counters->misses(), 1u);
  std::cerr << "concurrent readers: " << counters->misses() << " fetched, " << counters->joins() << " joined, "
            << counters->hits() << " hit\n";
}

// The same over S3 (Swift's s3api behind nginx's TLS front, real SigV4): an object replaced by an
// independent writer (boto3) is seen after the window, an unchanged one revalidates with 304, and
// a put through the store drops the cached ranges. One test: the server takes seconds to start.
TEST(CachingStoreS3, RevalidatesAndInvalidatesAgainstSwift) {
  test::TempDir dir;
  std::istringstream ports(test::run_command("bash " WKFS_SOURCE_DIR "/tests/servers/swift_s3.sh start '" +
                                             (dir / "swift").string() + "'"));
  int http_port = 0, tls_port = 0;
  ports >> http_port >> tls_port;
  ASSERT_GT(tls_port, 0);
  struct Stop {
    fs::path d;
    ~Stop() {
      int rc = std::system(("bash " WKFS_SOURCE_DIR "/tests/servers/swift_s3.sh stop '" + d.string() + "'").c_str());
      (void)rc;
    }
  } stop{dir / "swift"};
  const std::string endpoint = "https://127.0.0.1:" + std::to_string(tls_port);
  const fs::path ca = dir / "swift/front/cert.pem";
  std::ofstream(dir / "boto.py") << R"PY(
import sys, boto3
from botocore.config import Config
endpoint, ca, cmd, key, path = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, aws_access_key_id="test:tester",
                  aws_secret_access_key="testing", region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
if cmd == "put":
    try: s3.create_bucket(Bucket="wk-cache")
    except Exception: pass
    s3.upload_file(path, "wk-cache", key)
print("ok")
)PY";
  auto boto_put = [&](const std::string& key, const Bytes& b) {
    write_bytes(dir / "upload.bin", b);
    test::run_command("/usr/bin/python3 " + (dir / "boto.py").string() + " " + endpoint + " " + ca.string() + " put '" +
                      key + "' " + (dir / "upload.bin").string());
  };
  Bytes v1 = random_bytes(50000, 21), v2 = random_bytes(50000, 22), v3 = random_bytes(50000, 23);
  boto_put("ds/obj.bin", v1);

  std::string suffix = "127_0_0_1_" + std::to_string(tls_port) + "__WK_CACHE";
  setenv(("AWS_ACCESS_KEY_ID__" + suffix).c_str(), "test:tester", 1);
  setenv(("AWS_SECRET_ACCESS_KEY__" + suffix).c_str(), "testing", 1);
  HttpOptions o;
  o.ca_file = ca.string();
  o.backoff_initial = 20ms;
  StoreContext context;
  context.client = std::make_shared<HttpClient>(o);
  context.cache = std::make_shared<RemoteCache>(dir / "cache", 1 << 20);
  context.counters = std::make_shared<RemoteCounters>();
  context.revalidate_after = 0ms;  // every read asks the server
  std::unique_ptr<Store> s = open_store("s3://127.0.0.1:" + std::to_string(tls_port) + "/wk-cache/ds", context);
  ASSERT_NE(dynamic_cast<CachingStore*>(s.get()), nullptr);
  RemoteCounters& c = *context.counters;

  ByteRange r = ByteRange::span(4000, 10000);
  EXPECT_EQ(s->get("obj.bin", r).data, slice(v1, 4000, 14000));
  EXPECT_EQ(s->get("obj.bin", r).data, slice(v1, 4000, 14000));
  EXPECT_EQ(c.misses(), 1u);
  EXPECT_EQ(c.revalidations(), 1u) << "Swift answers If-None-Match with 304";
  boto_put("ds/obj.bin", v2);
  EXPECT_EQ(s->get("obj.bin", r).data, slice(v2, 4000, 14000));
  EXPECT_EQ(c.misses(), 2u);
  s->put("obj.bin", v3);
  EXPECT_EQ(s->get("obj.bin", r).data, slice(v3, 4000, 14000));
  EXPECT_EQ(s->get("obj.bin", ByteRange::suffix(100)).data, slice(v3, v3.size() - 100, v3.size()));
  EXPECT_EQ(c.misses(), 4u);
  EXPECT_EQ(c.errors("EIO") + c.errors("EACCES"), 0u);
}
