// LocalStore over a temp folder: ranges, versions, listing with and without a delimiter, atomic put.
#include "storage/local_store.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>

#include "core/error.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
using namespace wkfs::storage;

namespace {
Bytes bytes_of(const std::string& s) {
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}
}  // namespace

TEST(LocalStore, GetRangesClipLikePread) {
  test::TempDir dir;
  LocalStore s(dir.path());
  s.put("ds/a.bin", bytes_of("0123456789"));
  EXPECT_EQ(s.get("ds/a.bin").data, bytes_of("0123456789"));
  EXPECT_EQ(s.get("ds/a.bin", ByteRange::span(2, 3)).data, bytes_of("234"));
  EXPECT_EQ(s.get("ds/a.bin", ByteRange::suffix(4)).data, bytes_of("6789"));
  EXPECT_EQ(s.get("ds/a.bin", ByteRange::suffix(40)).data, bytes_of("0123456789"));
  EXPECT_EQ(s.get("ds/a.bin", ByteRange::span(8, 5)).data, bytes_of("89"));
  EXPECT_TRUE(s.get("ds/a.bin", ByteRange::span(12, 5)).data.empty());
  EXPECT_EQ(s.get("ds/a.bin", ByteRange::span(12, 5)).size, 10u);
  EXPECT_EQ(s.head("ds/a.bin").size, 10u);
}

TEST(LocalStore, MissingIsEnoentAndEscapesAreRefused) {
  test::TempDir dir;
  LocalStore s(dir.path());
  try {
    s.get("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(to_errno(e), ENOENT);
  }
  try {
    s.head("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(to_errno(e), ENOENT);
  }
  for (const char* k : {"../x", "a/../../x", "/etc/passwd", "a//b", "", "a/"}) EXPECT_THROW(s.get(k), Error) << k;
  s.remove("nope");  // S3 semantics: no error
}

TEST(LocalStore, GetIfChangedSeesAtomicRewrites) {
  test::TempDir dir;
  LocalStore s(dir.path());
  s.put("k", bytes_of("one"));
  GetResult g = s.get("k");
  EXPECT_FALSE(s.get_if_changed("k", g.version));
  s.put("k", bytes_of("two"));
  auto c = s.get_if_changed("k", g.version);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->data, bytes_of("two"));
  s.remove("k");
  EXPECT_THROW(s.get("k"), Error);
}

TEST(LocalStore, ListWithAndWithoutDelimiter) {
  test::TempDir dir;
  LocalStore s(dir.path());
  for (const char* k : {"ds/datasource-properties.json", "ds/color/1/zarr.json", "ds/color/1/c/0/0/0",
                        "ds/color/2-2-1/zarr.json", "ds/segm/1/zarr.json", "dsx/other", "top"})
    s.put(k, bytes_of("x"));
  ListResult all = s.list("ds/");
  std::vector<std::string> keys;
  for (auto& o : all.objects) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"ds/color/1/c/0/0/0", "ds/color/1/zarr.json", "ds/color/2-2-1/zarr.json",
                                            "ds/datasource-properties.json", "ds/segm/1/zarr.json"}));
  EXPECT_TRUE(all.prefixes.empty());

  ListResult level = s.list("ds/", "/");
  ASSERT_EQ(level.objects.size(), 1u);
  EXPECT_EQ(level.objects[0].key, "ds/datasource-properties.json");
  EXPECT_EQ(level.objects[0].size, 1u);
  EXPECT_EQ(level.prefixes, (std::vector<std::string>{"ds/color/", "ds/segm/"}));

  ListResult partial = s.list("ds/col", "/");
  EXPECT_EQ(partial.prefixes, (std::vector<std::string>{"ds/color/"}));
  ListResult root = s.list("", "/");
  EXPECT_EQ(root.prefixes, (std::vector<std::string>{"ds/", "dsx/"}));
  ASSERT_EQ(root.objects.size(), 1u);
  EXPECT_EQ(root.objects[0].key, "top");
  ListResult string_prefix = s.list("ds");
  EXPECT_EQ(string_prefix.objects.size(), 6u) << "prefixes are strings, not folders: dsx/other matches too";
}
