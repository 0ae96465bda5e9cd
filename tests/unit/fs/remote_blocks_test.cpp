// The mount's table of remote blocks (fs/remote_blocks.hpp) on its own: one fetch per block for
// every reader, ready blocks kept up to the cap (least recently used out first) and for the hold
// time only, failed and changed objects dropped, fetches under way never dropped.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "fs/remote_blocks.hpp"

using namespace wkfs;
using namespace wkfs::mount;

namespace {

/// A start function that counts its calls and makes a ready block of `index`'s value.
struct Starter {
  int calls = 0;
  RemoteBlockFuture operator()(uint64_t index) {
    ++calls;
    std::promise<RemoteBlock> p;
    p.set_value(RemoteBlock{Bytes(4, std::byte(index)), storage::Version{"e" + std::to_string(index), ""}});
    return p.get_future().share();
  }
};

RemoteBlockFuture get(RemoteBlocks& t, Starter& s, const std::string& url, uint64_t i) {
  return t.get(url, i, [&] { return s(i); });
}

}  // namespace

TEST(RemoteBlocks, EveryReaderOfABlockGetsTheOneFetch) {
  RemoteBlocks t(8, std::chrono::seconds(60));
  Starter s;
  auto a = get(t, s, "http://h/x", 3);
  auto b = get(t, s, "http://h/x", 3);
  EXPECT_EQ(s.calls, 1);
  EXPECT_EQ(&a.get(), &b.get());  // the same shared state
  EXPECT_EQ(a.get().data[0], std::byte(3));
  get(t, s, "http://h/y", 3);  // another object: another block
  EXPECT_EQ(s.calls, 2);
}

TEST(RemoteBlocks, ReadyBlocksBeyondTheCapGoLeastRecentlyUsedFirst) {
  RemoteBlocks t(2, std::chrono::seconds(60));
  Starter s;
  get(t, s, "u", 0);
  get(t, s, "u", 1);
  get(t, s, "u", 0);  // 0 used again: 1 is now the least recent
  get(t, s, "u", 2);  // three ready, cap 2: 1 goes
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(s.calls, 3);
  get(t, s, "u", 0);
  get(t, s, "u", 2);
  EXPECT_EQ(s.calls, 3);
  get(t, s, "u", 1);  // fetched again
  EXPECT_EQ(s.calls, 4);
}

TEST(RemoteBlocks, BlocksUnderWayAreNeverDroppedAndReadyOnesOnlyLiveForTheHold) {
  RemoteBlocks t(0, std::chrono::milliseconds(50));
  std::promise<RemoteBlock> slow;
  auto pending = slow.get_future().share();
  int calls = 0;
  t.get("u", 0, [&] { ++calls; return pending; });
  Starter s;
  get(t, s, "u", 1);  // cap 0: the ready block goes at once, the one under way stays
  t.clear();          // cache-clear keeps it too
  EXPECT_EQ(t.size(), 1u);
  auto again = t.get("u", 0, [&] { ++calls; return pending; });
  EXPECT_EQ(calls, 1);
  slow.set_value(RemoteBlock{Bytes(1), {}});
  RemoteBlocks held(8, std::chrono::milliseconds(50));
  Starter h;
  get(held, h, "u", 0);
  EXPECT_EQ(h.calls, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  get(held, h, "u", 0);  // past the hold: fetched again
  EXPECT_EQ(h.calls, 2);
}

TEST(RemoteBlocks, DropForgetAndClearMakeTheNextReadFetch) {
  RemoteBlocks t(16, std::chrono::seconds(60));
  Starter s;
  for (uint64_t i = 0; i < 3; ++i) {
    get(t, s, "a", i);
    get(t, s, "ab", i);  // a URL that begins with another is another object
  }
  t.drop("a", 1);
  EXPECT_EQ(t.size(), 5u);
  t.forget("a");
  EXPECT_EQ(t.size(), 3u);  // only "ab" is left
  get(t, s, "ab", 2);
  EXPECT_EQ(s.calls, 6);
  get(t, s, "a", 0);
  EXPECT_EQ(s.calls, 7);
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  // "not now" (no slot for a read-ahead) is not kept
  EXPECT_FALSE(t.get("a", 9, [] { return RemoteBlockFuture(); }).valid());
  EXPECT_EQ(t.size(), 0u);
}
