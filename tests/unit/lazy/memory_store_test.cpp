// The in-memory store of a read-only mount: bounded by bytes, least recently used dropped first,
// a file larger than the cap served but not kept, descriptors that nobody can write through.
#include <gtest/gtest.h>

#include <unistd.h>

#include "lazy/memory_store.hpp"

using namespace wkfs;

namespace {

Bytes filled(size_t n, unsigned char v) { return Bytes(n, static_cast<std::byte>(v)); }

std::string read_all(const UniqueFd& fd) {
  std::string out(1 << 16, '\0');
  ssize_t n = ::pread(fd.get(), out.data(), out.size(), 0);
  EXPECT_GE(n, 0);
  out.resize(static_cast<size_t>(std::max<ssize_t>(n, 0)));
  return out;
}

TEST(MemoryStore, KeepsAtMostTheCapDroppingTheLeastRecentlyUsed) {
  MemoryStore store(300);
  store.put("a", filled(100, 1));
  store.put("b", filled(100, 2));
  store.put("c", filled(100, 3));
  EXPECT_TRUE(store.open("a"));  // a is now the most recently used
  store.put("d", filled(100, 4));
  EXPECT_TRUE(store.contains("a"));
  EXPECT_FALSE(store.contains("b"));
  EXPECT_TRUE(store.contains("c"));
  EXPECT_TRUE(store.contains("d"));
  EXPECT_EQ(store.bytes(), 300u);
  EXPECT_EQ(read_all(store.open("d")), std::string(100, '\x04'));
}

TEST(MemoryStore, ALargerFileIsServedNotKept) {
  MemoryStore store(100);
  store.put("x", filled(50, 1));
  UniqueFd big = store.put("x", filled(1000, 9));
  ASSERT_TRUE(big);
  EXPECT_EQ(read_all(big), std::string(1000, '\x09'));
  EXPECT_FALSE(store.contains("x")) << "the older, smaller version must not be served instead";
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(MemoryStore, DescriptorsAreReadOnlyAndOutliveRemoval) {
  MemoryStore store(1000);
  UniqueFd fd = store.put("layer/2/c/0/0/0/0", filled(10, 5));
  EXPECT_LT(::write(fd.get(), "z", 1), 0);
  EXPECT_TRUE(store.remove("layer/2/c/0/0/0/0"));
  EXPECT_EQ(read_all(fd), std::string(10, '\x05'));
  size_t n = 0;
  store.put("layer/2/c/0/0/0/1", filled(1, 1));
  store.put("layer/4/c/0/0/0/0", filled(1, 1));
  store.for_each_under("layer/2", [&](const fs::path& r) {
    EXPECT_EQ(r, fs::path("c/0/0/0/1"));
    ++n;
  });
  EXPECT_EQ(n, 1u);
}

}  // namespace
