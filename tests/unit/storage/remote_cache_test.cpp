// RemoteCache on its own (no server): round trips, damaged entries never served, the byte bound
// with LRU order, clear/invalidate, several threads and several processes on one folder, and a
// writer killed with SIGKILL. Expected bytes are generated here and compared byte for byte.
#include "storage/remote_cache.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "storage/sha256.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
using namespace wkfs::storage;

namespace {

Bytes pattern(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::byte>(rng());
  return b;
}

GetResult value_of(Bytes data, std::string etag = "\"e1\"", uint64_t size = 1 << 20) {
  GetResult r;
  r.data = std::move(data);
  r.version.etag = std::move(etag);
  r.version.last_modified = "Wed, 02 Dec 2026 10:00:00 GMT";
  r.size = size;
  return r;
}

CacheKey key_of(const std::string& key, ByteRange range = ByteRange::span(0, 4096)) {
  return {"https://example.test/ds", key, range};
}


void overwrite(const fs::path& p, const Bytes& b) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(b.data()),
                                                             static_cast<std::streamsize>(b.size()));
}

}  // namespace

TEST(RemoteCache, RoundTripKeepsBytesVersionAndSize) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 1 << 20);
  Bytes data = pattern(4096, 1);
  EXPECT_FALSE(cache.lookup(key_of("a/b")));
  cache.insert(key_of("a/b"), value_of(data));
  auto e = cache.lookup(key_of("a/b"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->value.data, data);
  EXPECT_EQ(e->value.version.etag, "\"e1\"");
  EXPECT_EQ(e->value.version.last_modified, "Wed, 02 Dec 2026 10:00:00 GMT");
  EXPECT_EQ(e->value.size, 1u << 20);
  // another range, another store, another key: separate entries
  EXPECT_FALSE(cache.lookup(key_of("a/b", ByteRange::span(0, 4095))));
  EXPECT_FALSE(cache.lookup(key_of("a/b", ByteRange::suffix(4096))));
  EXPECT_FALSE(cache.lookup({"https://other.test/ds", "a/b", ByteRange::span(0, 4096)}));
  EXPECT_FALSE(cache.lookup(key_of("a/c")));
  // an empty range is an entry too
  cache.insert(key_of("a/b", ByteRange::suffix(0)), value_of({}));
  auto empty = cache.lookup(key_of("a/b", ByteRange::suffix(0)));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->value.data.empty());
}

TEST(RemoteCache, SurvivesReopening) {
  test::TempDir dir;
  Bytes data = pattern(10000, 2);
  {
    RemoteCache cache(dir / "c", 1 << 20);
    cache.insert(key_of("k", ByteRange::whole()), value_of(data));
  }
  RemoteCache again(dir / "c", 1 << 20);
  auto e = again.lookup(key_of("k", ByteRange::whole()));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->value.data, data);
  EXPECT_GT(again.scan_bytes(), 10000u);
}

TEST(RemoteCache, RefusesAFolderThatIsNotACache) {
  test::TempDir dir;
  fs::create_directories(dir / "home");
  overwrite(dir / "home/precious.txt", pattern(10, 3));
  try {
    RemoteCache cache(dir / "home", 1 << 20);
    FAIL() << "opened a foreign folder";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("home"), std::string::npos);
  }
  EXPECT_TRUE(fs::exists(dir / "home/precious.txt"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "home"), fs::directory_iterator()), 1);
}

TEST(RemoteCache, DamagedEntriesAreNeverServed) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 1 << 20);
  Bytes data = pattern(4096, 4);
  fs::path p = cache.entry_path(key_of("x"));
  auto fresh_entry = [&] {
    cache.insert(key_of("x"), value_of(data));
    return fs::file_size(p);
  };
  uint64_t full = fresh_entry();
  Bytes good = read_file(p);
  ASSERT_EQ(good.size(), full);

  std::vector<std::pair<std::string, Bytes>> damages;
  for (uint64_t cut : {uint64_t{0}, uint64_t{7}, uint64_t{40}, full / 2, full - 1})
    damages.push_back({"truncated at " + std::to_string(cut), Bytes(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut))});
  for (uint64_t at : {uint64_t{3}, uint64_t{20}, uint64_t{60}, full - 4096, full - 1}) {
    Bytes b = good;
    b[at] ^= std::byte{0x10};
    damages.push_back({"bit flipped at " + std::to_string(at), b});
  }
  Bytes zeros(full);  // what a crash can leave of a file whose blocks were never written
  damages.push_back({"zeros", zeros});
  Bytes longer = good;
  longer.push_back(std::byte{0});
  damages.push_back({"one byte too many", longer});

  uint64_t dropped = 0;
  for (auto& [what, bytes] : damages) {
    fresh_entry();
    overwrite(p, bytes);
    EXPECT_FALSE(cache.lookup(key_of("x"))) << what;
    EXPECT_FALSE(fs::exists(p)) << what << ": a damaged entry is deleted";
    EXPECT_EQ(cache.corrupt_dropped(), ++dropped) << what;
  }
  // A file larger than the whole cache at an entry's place is dropped without being read.
  fresh_entry();
  fs::resize_file(p, (1 << 20) + 1);
  EXPECT_FALSE(cache.lookup(key_of("x")));
  EXPECT_FALSE(fs::exists(p));
  // An intact entry of another key copied over this key's file is not served either.
  cache.insert(key_of("y"), value_of(pattern(4096, 5)));
  fs::copy_file(cache.entry_path(key_of("y")), p, fs::copy_options::overwrite_existing);
  EXPECT_FALSE(cache.lookup(key_of("x")));
  auto y = cache.lookup(key_of("y"));
  ASSERT_TRUE(y);
  EXPECT_EQ(y->value.data, pattern(4096, 5));
}

// Format 1 (SHA-256) entries, left by an older wkfs in the same folder, are outdated: never read
// as entries of format 2, dropped as plain misses (not counted as damage), and fetched again.
TEST(RemoteCache, FormatOneEntriesAreMissesAndDropped) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 1 << 20);
  const CacheKey k = key_of("old");
  const GetResult v = value_of(pattern(4096, 8));
  cache.insert(k, v);  // a current version file and folder, as an upgrade finds them
  // The format-1 layout, written here from its description: magic, texts, sizes, SHA-256, data.
  Bytes old;
  auto put = [&](const void* p, size_t n) {
    auto b = reinterpret_cast<const std::byte*>(p);
    old.insert(old.end(), b, b + n);
  };
  auto u32 = [&](uint32_t x) { put(&x, 4); };  // little-endian machine
  auto u64 = [&](uint64_t x) { put(&x, 8); };
  auto text = [&](const std::string& t) {
    u32(static_cast<uint32_t>(t.size()));
    put(t.data(), t.size());
  };
  put("WKFSRC01", 8);
  text(k.identity());
  text(v.version.etag);
  text(v.version.last_modified);
  u64(v.size);
  u64(v.data.size());
  Sha256 h;
  h.update_u64(k.identity().size()).update(k.identity());
  h.update_u64(v.version.etag.size()).update(v.version.etag);
  h.update_u64(v.version.last_modified.size()).update(v.version.last_modified);
  h.update_u64(v.size).update_u64(v.data.size()).update(v.data);
  Sha256Digest sum = h.finish();
  put(sum.data(), sum.size());
  put(v.data.data(), v.data.size());
  overwrite(cache.entry_path(k), old);
  EXPECT_FALSE(cache.lookup(k));
  EXPECT_FALSE(fs::exists(cache.entry_path(k)));
  EXPECT_EQ(cache.corrupt_dropped(), 0u);
  cache.insert(k, v);
  auto again = cache.lookup(k);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->value.data, v.data);
}

// A key longer than the first read of an entry (its header then takes a second read) round-trips,
// and damage to it is still found.
TEST(RemoteCache, LongKeysRoundTrip) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 1 << 20);
  const CacheKey k = key_of(std::string(6000, 'k') + "/c/0");
  const Bytes data = pattern(10000, 9);
  cache.insert(k, value_of(data));
  auto got = cache.lookup(k);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value.data, data);
  Bytes b = read_file(cache.entry_path(k));
  b[5000] ^= std::byte{1};  // in the key
  overwrite(cache.entry_path(k), b);
  EXPECT_FALSE(cache.lookup(k));
  EXPECT_EQ(cache.corrupt_dropped(), 1u);
}

TEST(RemoteCache, BoundHoldsAndLeastRecentlyUsedGoesFirst) {
  test::TempDir dir;
  const uint64_t cap = 100 * 1024;
  RemoteCache cache(dir / "c", cap);
  const size_t n = 4000;  // ~4 KB + header per entry: about 24 fit
  cache.insert(key_of("keep"), value_of(pattern(n, 99)));
  for (int i = 0; i < 300; ++i) {
    cache.insert(key_of("k" + std::to_string(i)), value_of(pattern(n, static_cast<unsigned>(i))));
    ASSERT_LE(cache.scan_bytes(), cap) << "after insert " << i;
    ASSERT_TRUE(cache.lookup(key_of("keep"))) << "the entry read after every insert was evicted at " << i;
  }
  EXPECT_GT(cache.evicted(), 250u);
  EXPECT_EQ(cache.bytes_used(), cache.scan_bytes());
  Json status = cache.status();
  EXPECT_EQ(status["max_bytes"], cap);
  EXPECT_EQ(status["bytes_used"], cache.scan_bytes());
  EXPECT_EQ(status["evicted"], cache.evicted());
  EXPECT_FALSE(cache.lookup(key_of("k0")));
  EXPECT_FALSE(cache.lookup(key_of("k100")));
  auto last = cache.lookup(key_of("k299"));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->value.data, pattern(n, 299));
  // A value larger than the cap is not kept (and evicts nothing).
  cache.insert(key_of("huge"), value_of(pattern(cap + 1, 1)));
  EXPECT_FALSE(cache.lookup(key_of("huge")));
  EXPECT_TRUE(cache.lookup(key_of("k299")));
}

TEST(RemoteCache, ReopeningWithASmallerCapEvicts) {
  test::TempDir dir;
  {
    RemoteCache cache(dir / "c", 1 << 20);
    for (int i = 0; i < 50; ++i) cache.insert(key_of("k" + std::to_string(i)), value_of(pattern(4000, static_cast<unsigned>(i))));
  }
  RemoteCache small(dir / "c", 50000);
  EXPECT_LE(small.scan_bytes(), 50000u);
  EXPECT_TRUE(small.lookup(key_of("k49")));
}

TEST(RemoteCache, InvalidateAndClear) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 1 << 20);
  cache.insert(key_of("a", ByteRange::span(0, 10)), value_of(pattern(10, 1)));
  cache.insert(key_of("a", ByteRange::suffix(10)), value_of(pattern(10, 2)));
  cache.insert(key_of("b"), value_of(pattern(10, 3)));
  cache.invalidate_object("https://example.test/ds", "a");
  EXPECT_FALSE(cache.lookup(key_of("a", ByteRange::span(0, 10))));
  EXPECT_FALSE(cache.lookup(key_of("a", ByteRange::suffix(10))));
  EXPECT_TRUE(cache.lookup(key_of("b")));
  cache.clear();
  EXPECT_FALSE(cache.lookup(key_of("b")));
  EXPECT_EQ(cache.scan_bytes(), 0u);
  EXPECT_TRUE(fs::exists(dir / "c/wkfs-remote-cache"));
  cache.insert(key_of("b"), value_of(pattern(10, 3)));  // usable after a clear
  EXPECT_TRUE(cache.lookup(key_of("b")));
}

TEST(RemoteCache, ValidationTimeIsWriteOrMarkTime) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 1 << 20);
  auto before = std::chrono::system_clock::now();
  cache.insert(key_of("a"), value_of(pattern(10, 1)));
  auto e1 = cache.lookup(key_of("a"));
  ASSERT_TRUE(e1);
  EXPECT_GE(e1->validated, before - std::chrono::seconds(1));
  cache.mark_validated(key_of("a"));
  auto e2 = cache.lookup(key_of("a"));
  ASSERT_TRUE(e2);
  EXPECT_GE(e2->validated, e1->validated);
}

namespace {

// Reads and writes random ranges of one object through `cache`; returns the number of wrong reads.
int exercise(RemoteCache& cache, unsigned seed, int rounds, const Bytes& object) {
  std::mt19937 rng(seed);
  int wrong = 0;
  for (int i = 0; i < rounds; ++i) {
    uint64_t off = (rng() % 64) * 1024, len = 1024 + rng() % 3000;
    CacheKey k = key_of("obj", ByteRange::span(off, len));
    Bytes expect(object.begin() + static_cast<ptrdiff_t>(off), object.begin() + static_cast<ptrdiff_t>(off + len));
    if (auto e = cache.lookup(k)) {
      wrong += e->value.data != expect;
    } else {
      cache.insert(k, value_of(expect));
    }
  }
  return wrong;
}

}  // namespace

TEST(RemoteCache, ThreadsShareOneCache) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 60000);  // small: eviction runs all the time
  Bytes object = pattern(70 * 1024, 11);
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < 4; ++t) ts.emplace_back([&, t] { wrong += exercise(cache, t, 1500, object); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(cache.corrupt_dropped(), 0u);
  EXPECT_LE(cache.scan_bytes(), 60000u);
}

TEST(RemoteCache, ProcessesShareOneFolder) {
  test::TempDir dir;
  Bytes object = pattern(70 * 1024, 12);
  { RemoteCache create(dir / "c", 60000); }
  std::vector<pid_t> kids;
  for (unsigned p = 0; p < 3; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int wrong = 1;
      try {
        RemoteCache cache(dir / "c", 60000);
        wrong = exercise(cache, 100 + p, 2000, object) + static_cast<int>(cache.corrupt_dropped());
      } catch (...) {
      }
      _exit(wrong == 0 ? 0 : 1);
    }
    kids.push_back(pid);
  }
  RemoteCache cache(dir / "c", 60000);
  EXPECT_EQ(exercise(cache, 7, 2000, object), 0);
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a process read wrong bytes or failed";
  }
  EXPECT_EQ(cache.corrupt_dropped(), 0u);
  // Each process's last insert may have pushed past the cap just before another evicted: a scan now settles it.
  cache.insert(key_of("settle"), value_of(pattern(100, 1)));
  EXPECT_LE(cache.scan_bytes(), 60000u);
}

TEST(RemoteCache, AWriterKilledMidWayLeavesNothingWrong) {
  test::TempDir dir;
  Bytes object = pattern(70 * 1024, 13);
  { RemoteCache create(dir / "c", 1 << 20); }
  for (int round = 0; round < 5; ++round) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(ready[0]);
      RemoteCache cache(dir / "c", 1 << 20);
      std::mt19937 rng(static_cast<unsigned>(round));
      for (long i = 0;; ++i) {
        uint64_t off = (rng() % 64) * 1024, len = 1024 + rng() % 3000;
        Bytes v(object.begin() + static_cast<ptrdiff_t>(off), object.begin() + static_cast<ptrdiff_t>(off + len));
        cache.insert(key_of("obj", ByteRange::span(off, len)), value_of(v));
        if (i == 50 && write(ready[1], "x", 1) != 1) _exit(2);
      }
    }
    close(ready[1]);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    kill(pid, SIGKILL);  // somewhere in the middle of writing an entry, most likely
    waitpid(pid, nullptr, 0);
  }
  RemoteCache cache(dir / "c", 1 << 20);
  int served = 0;
  for (auto& e : fs::recursive_directory_iterator(dir / "c/entries")) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();  // bytes-OFF-LEN
    if (name == "version") continue;
    ASSERT_EQ(name.rfind("bytes-", 0), 0u) << name;
    uint64_t off = std::stoull(name.substr(6)), len = std::stoull(name.substr(name.rfind('-') + 1));
    auto got = cache.lookup(key_of("obj", ByteRange::span(off, len)));
    if (!got) continue;
    ++served;
    EXPECT_EQ(got->value.data,
              Bytes(object.begin() + static_cast<ptrdiff_t>(off), object.begin() + static_cast<ptrdiff_t>(off + len)));
  }
  EXPECT_GT(served, 0);
}

TEST(RemoteCache, ANewVersionOfAnObjectDropsItsOtherRanges) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 1 << 20);
  CacheKey index = key_of("shard", ByteRange::suffix(16)), chunk = key_of("shard", ByteRange::span(0, 100));
  CacheKey other = key_of("other-shard", ByteRange::span(0, 100));
  cache.insert(index, value_of(pattern(16, 1), "\"v1\""));
  cache.insert(chunk, value_of(pattern(100, 2), "\"v1\""));
  cache.insert(other, value_of(pattern(100, 3), "\"v1\""));
  // The index is fetched again and the server has a new version: the old chunk must not be served.
  cache.insert(index, value_of(pattern(16, 4), "\"v2\""));
  auto got = cache.lookup(index);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value.version.etag, "\"v2\"");
  EXPECT_EQ(got->value.data, pattern(16, 4));
  EXPECT_FALSE(cache.lookup(chunk));
  EXPECT_TRUE(cache.lookup(other)) << "another object keeps its entries";
  // A late writer with the old version (fetched before the change) flips the object back to v1:
  // then the v2 index is not served either, and the two versions are never mixed.
  cache.insert(chunk, value_of(pattern(100, 2), "\"v1\""));
  EXPECT_FALSE(cache.lookup(index));
  EXPECT_TRUE(cache.lookup(chunk));
  // A damaged version file serves nothing of the object.
  overwrite(cache.entry_path(chunk).parent_path() / "version", pattern(30, 9));
  EXPECT_FALSE(cache.lookup(chunk));
  EXPECT_EQ(cache.corrupt_dropped(), 0u);
}

// Random damage of every kind and place: a lookup gives the exact bytes or nothing, never others.
TEST(RemoteCache, RandomDamageNeverServesOtherBytes) {
  test::TempDir dir;
  RemoteCache cache(dir / "c", 1 << 20);
  Bytes data = pattern(3000, 31);
  CacheKey k = key_of("r");
  fs::path p = cache.entry_path(k);
  cache.insert(k, value_of(data));
  const Bytes good = read_file(p);
  std::mt19937 rng(5);
  for (int i = 0; i < 400; ++i) {
    Bytes b = good;
    switch (rng() % 4) {
      case 0: b[rng() % b.size()] ^= static_cast<std::byte>(1u << (rng() % 8)); break;         // one bit
      case 1: b.resize(rng() % b.size()); break;                                                // truncated
      case 2: b.insert(b.begin() + static_cast<ptrdiff_t>(rng() % b.size()), std::byte{0}); break;  // a byte too many
      case 3:                                                                                   // a run overwritten
        for (size_t at = rng() % b.size(), n = 1 + rng() % 64; n-- && at < b.size(); ++at) b[at] = static_cast<std::byte>(rng());
        break;
    }
    overwrite(p, b);
    auto got = cache.lookup(k);
    if (got) {
      ASSERT_EQ(b, good) << "round " << i << ": a changed entry was served";
      ASSERT_EQ(got->value.data, data);
    }
    cache.insert(k, value_of(data));
  }
}
