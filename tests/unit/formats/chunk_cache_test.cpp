// The decoded-chunk cache is an object handed to arrays: arrays opened with it hit on a second
// read, arrays opened without it never touch it, and a rewritten shard is never served stale.
#include <gtest/gtest.h>

#include "formats/array.hpp"
#include "formats/chunk_cache.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {
std::unique_ptr<Array> make(const fs::path& dir) {
  fs::create_directories(dir);
  ArraySpec spec;
  spec.shape = {1, 16, 16, 16};
  spec.chunk_shape = {1, 8, 8, 8};
  spec.shard_shape = {1, 16, 16, 16};
  spec.compress = true;
  return create_array(dir, DataFormat::Zarr3, spec);
}
const NdBox kAll{{0, 0, 0, 0}, {1, 16, 16, 16}};
}  // namespace

TEST(ChunkCache, ArraysOpenedWithTheCacheShareIt) {
  test::TempDir tmp;
  Bytes data(16 * 16 * 16, std::byte{7});
  make(tmp / "a")->write(kAll, data);
  auto cache = std::make_shared<ChunkCache>(size_t{1} << 20);
  auto a = open_array(tmp / "a", cache);
  Bytes out(data.size());
  a->read(kAll, out);
  EXPECT_EQ(cache->misses(), 8u);
  EXPECT_EQ(cache->hits(), 0u);
  open_array(tmp / "a", cache)->read(kAll, out);  // a second array of the same files
  EXPECT_EQ(cache->hits(), 8u);
  EXPECT_EQ(out, data);
  open_array(tmp / "a")->read(kAll, out);  // no cache: decodes, counts nothing
  EXPECT_EQ(cache->hits() + cache->misses(), 16u);
}

TEST(ChunkCache, RewrittenShardIsNotServedStale) {
  test::TempDir tmp;
  auto writer = make(tmp / "a");
  writer->write(kAll, Bytes(16 * 16 * 16, std::byte{1}));
  auto cache = std::make_shared<ChunkCache>(size_t{1} << 20);
  auto a = open_array(tmp / "a", cache);
  Bytes out(16 * 16 * 16);
  a->read(kAll, out);
  writer->write(kAll, Bytes(16 * 16 * 16, std::byte{2}));
  a->read(kAll, out);
  EXPECT_EQ(out, Bytes(16 * 16 * 16, std::byte{2}));
}

TEST(ChunkCache, CapacityBoundsTheBytesHeld) {
  ChunkCache cache(1000);
  for (uint64_t i = 0; i < 10; ++i) cache.put(ChunkKey{"f", 1, 0, 0, i}, std::make_shared<const Bytes>(300));
  EXPECT_LE(cache.size_bytes(), 1000u);
  EXPECT_TRUE(cache.get(ChunkKey{"f", 1, 0, 0, 9}));
  EXPECT_FALSE(cache.get(ChunkKey{"f", 1, 0, 0, 0}));
  cache.set_capacity(0);
  EXPECT_EQ(cache.size_bytes(), 0u);
}

// Under steady writers every rewrite of a shard gave its chunks new keys, and the old versions'
// chunks stayed until the LRU pushed them out: the soak's daemon held its whole 256 MiB capacity,
// nine tenths of it chunks of files that no longer existed.
TEST(ChunkCache, ANewerVersionOfAFileReleasesTheOlderOnesChunks) {
  ChunkCache cache(size_t{1} << 20);
  for (uint64_t i = 0; i < 4; ++i) cache.put(ChunkKey{"f", 1, 100, 50, i}, std::make_shared<const Bytes>(300));
  cache.put(ChunkKey{"g", 7, 100, 50, 0}, std::make_shared<const Bytes>(300));
  EXPECT_EQ(cache.size_bytes(), 1500u);
  cache.put(ChunkKey{"f", 2, 200, 60, 0}, std::make_shared<const Bytes>(300));  // f rewritten (rename: new inode)
  EXPECT_EQ(cache.size_bytes(), 600u);
  EXPECT_FALSE(cache.get(ChunkKey{"f", 1, 100, 50, 1}));
  EXPECT_TRUE(cache.get(ChunkKey{"f", 2, 200, 60, 0}));
  EXPECT_TRUE(cache.get(ChunkKey{"g", 7, 100, 50, 0}));  // other files keep theirs
  cache.put(ChunkKey{"f", 2, 200, 60, 1}, std::make_shared<const Bytes>(300));  // same version: both kept
  EXPECT_EQ(cache.size_bytes(), 900u);
}

TEST(ChunkCache, AnOlderVersionDoesNotEvictTheCurrentOne) {
  ChunkCache cache(size_t{1} << 20);
  cache.put(ChunkKey{"f", 2, 200, 60, 0}, std::make_shared<const Bytes>(300));
  cache.put(ChunkKey{"f", 1, 100, 50, 0}, std::make_shared<const Bytes>(300));  // a reader of a pinned old file
  EXPECT_TRUE(cache.get(ChunkKey{"f", 2, 200, 60, 0}));
  EXPECT_FALSE(cache.get(ChunkKey{"f", 1, 100, 50, 0}));
  EXPECT_EQ(cache.size_bytes(), 300u);
}

TEST(ChunkCache, EvictionAndClearForgetTheFileVersions) {
  ChunkCache cache(600);
  cache.put(ChunkKey{"f", 1, 100, 50, 0}, std::make_shared<const Bytes>(300));
  cache.put(ChunkKey{"g", 1, 100, 50, 0}, std::make_shared<const Bytes>(300));
  cache.put(ChunkKey{"h", 1, 100, 50, 0}, std::make_shared<const Bytes>(300));  // evicts f's only chunk
  cache.put(ChunkKey{"f", 1, 50, 50, 0}, std::make_shared<const Bytes>(300));  // f is unknown again: stored
  EXPECT_TRUE(cache.get(ChunkKey{"f", 1, 50, 50, 0}));
  cache.clear();
  cache.put(ChunkKey{"h", 1, 10, 50, 0}, std::make_shared<const Bytes>(300));
  EXPECT_TRUE(cache.get(ChunkKey{"h", 1, 10, 50, 0}));
}
