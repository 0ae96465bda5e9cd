// Which file a node is while the kernel holds it (fs/node_versions.hpp). The kernel keeps one size
// and one page cache per node and sends fstat(2) as a GETATTR without the file handle, so:
//  - an open file whose name was replaced (rename over it) or removed still answers getattr with
//    its own attributes (POSIX: fstat of an unlinked file works, nlink 0), not ESTALE;
//  - a lazy file made stale and recomputed under the same name: the handles open on the old
//    version keep a node whose size is that version's, while the name gets a new node;
//  - the soak in miniature (issue 11 item 13): readers that look up, getattr without the handle and
//    read a lazy file to the end while a writer keeps making it stale always read exactly the size
//    getattr said, and never fail.
#include <atomic>
#include <thread>

#include "unit/fs/core_test_helpers.hpp"

using namespace wkfs::test::core;

namespace {

Json ctl_ok(Filesystem& f, const std::string& dir, const std::string& command) {
  auto o = f.open(lookup_path(f, dir + "/.wkfs-ctl"), O_RDWR);
  write_str(f, o, command);
  auto reply = Json::parse(read_all(f, o));
  f.release(std::move(o.file));
  return reply;
}

/// Rewrites the mag-1 shard through the core with its own bytes: its dependents go stale.
void rewrite_source(Filesystem& f, const fs::path& src) {
  const std::string shard = "ds/color/1/c/0/0/0/0";
  const auto original = file_text(src / shard);
  auto o = f.open(lookup_path(f, shard), O_WRONLY);
  write_str(f, o, original);
  f.flush(*o.file);
  f.release(std::move(o.file));
}

constexpr const char* kLazy = "ds/color/2/c/0/0/0/0";

TEST(CoreVersions, GetattrOfAFileRenamedOverAnswersWithItsOwnAttributes) {
  Mount m;
  put_file(m.src / "a.txt", "four");
  put_file(m.src / "b.txt", "eight...");
  auto a = m->lookup(kRootIno, "a.txt");
  auto o = m->open(a.ino, O_RDONLY);
  m->lookup(kRootIno, "b.txt");
  m->rename(kRootIno, "b.txt", kRootIno, "a.txt", 0);  // an atomic rewrite of a.txt
  Attr attr{};
  ASSERT_EQ(errno_from([&] { attr = m->getattr(a.ino, nullptr); }), 0) << "fstat of the open file failed";
  EXPECT_EQ(attr.st.st_size, 4);
  EXPECT_EQ(attr.st.st_nlink, 0u);
  EXPECT_EQ(read_all(*m, o), "four");
  m->release(std::move(o.file));
  auto now = m->lookup(kRootIno, "a.txt");
  EXPECT_NE(now.ino, a.ino);
  EXPECT_EQ(now.attr.st_size, 8);
  EXPECT_EQ(m->getattr(now.ino, nullptr).st.st_size, 8);
}

TEST(CoreVersions, GetattrOfAnUnlinkedOpenFileIsNotEstale) {
  Mount m;
  put_file(m.src / "a.txt", "four");
  auto a = m->lookup(kRootIno, "a.txt");
  auto o = m->open(a.ino, O_RDONLY);
  m->unlink(kRootIno, "a.txt");
  Attr attr{};
  ASSERT_EQ(errno_from([&] { attr = m->getattr(a.ino, nullptr); }), 0);
  EXPECT_EQ(attr.st.st_size, 4);
  EXPECT_EQ(attr.st.st_nlink, 0u);
  m->release(std::move(o.file));
}

TEST(CoreVersions, AStaleLazyFileKeepsItsVersionForTheHandlesOpenOnIt) {
  Mount m;
  ctl_ok(*m, "ds/color", "downsample --interpolation-mode max");
  const Ino dir = lookup_path(*m, "ds/color/2/c/0/0/0");
  auto e = m->lookup(dir, "0");
  auto o = m->open(e.ino, O_RDONLY);
  const auto v1 = *o.file->attr();
  const auto bytes = file_text(m.src / kLazy);
  ASSERT_EQ(static_cast<off_t>(bytes.size()), v1.st_size);
  EXPECT_EQ(m->getattr(e.ino, nullptr).st.st_size, v1.st_size);

  rewrite_source(*m, m.src);
  ASSERT_FALSE(fs::exists(m.src / kLazy)) << "the lazy file did not go stale";
  // fstat of the open handle: its own version's size, not the estimate of the uncomputed name
  EXPECT_EQ(m->getattr(e.ino, nullptr).st.st_size, v1.st_size);
  // another open of the node the kernel holds reads the same version
  auto again = m->open(e.ino, O_RDONLY);
  EXPECT_EQ(again.file->attr()->st_ino, v1.st_ino);
  EXPECT_EQ(read_all(*m, again), bytes);
  m->release(std::move(again.file));

  // the name has a new node, and opening it computes a new version
  auto fresh = m->lookup(dir, "0");
  EXPECT_NE(fresh.ino, e.ino);
  auto o2 = m->open(fresh.ino, O_RDONLY);
  const auto v2 = *o2.file->attr();
  EXPECT_NE(v2.st_ino, v1.st_ino);
  EXPECT_EQ(m->getattr(fresh.ino, nullptr).st.st_size, v2.st_size);
  EXPECT_EQ(m->getattr(e.ino, nullptr).st.st_size, v1.st_size);
  EXPECT_EQ(read_all(*m, o), bytes);
  m->release(std::move(o.file));
  m->release(std::move(o2.file));
  m->forget(e.ino, 2);
  m->forget(fresh.ino, 1);
}

TEST(CoreVersions, ReadersOfALazyFileUnderAWriterReadWhatGetattrSays) {
  Mount m;
  ctl_ok(*m, "ds/color", "downsample --interpolation-mode max");
  read_path(*m, kLazy);
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, failures{0}, wrong{0};
  std::string first_failure;
  std::mutex mu;
  auto fail_with = [&](const std::string& what) {
    std::lock_guard lock(mu);
    if (first_failure.empty()) first_failure = what;
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!stop) {
        try {
          // what the kernel does for open(2) + fstat(2) + read to the end + close
          auto e = m->lookup(lookup_path(*m, "ds/color/2/c/0/0/0"), "0");
          auto o = m->open(e.ino, O_RDONLY);
          const auto size = m->getattr(e.ino, nullptr).st.st_size;
          const auto data = read_all(*m, o);
          m->release(std::move(o.file));
          m->forget(e.ino, 1);
          if (static_cast<off_t>(data.size()) != size) {
            ++wrong;
            fail_with("read " + std::to_string(data.size()) + " bytes, getattr said " + std::to_string(size));
          }
          ++reads;
        } catch (const std::exception& ex) {
          ++failures;
          fail_with(ex.what());
        }
      }
    });
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  int writes = 0;
  while (std::chrono::steady_clock::now() < until) {
    rewrite_source(*m, m.src);
    ++writes;
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(writes, 5);
  EXPECT_GT(reads.load(), 20);
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(wrong.load(), 0) << first_failure;
}

}  // namespace

namespace {

TEST(CoreVersions, APropertiesReaderKeepsItsTextWhenTheViewChanges) {
  Mount m;
  auto e = m->lookup(lookup_path(*m, "ds"), "datasource-properties.json");
  auto o = m->open(e.ino, O_RDONLY);
  const auto before = file_text(m.props_path());
  // downsample registers pending lazy mags: the mount's view of the file grows
  ctl_ok(*m, "ds/color", "downsample --interpolation-mode max");
  auto now = m->lookup(lookup_path(*m, "ds"), "datasource-properties.json");
  ASSERT_GT(now.attr.st_size, static_cast<off_t>(before.size()));
  // what read_file() does: fstat for the size, read that much
  EXPECT_EQ(m->getattr(e.ino, nullptr).st.st_size, static_cast<off_t>(before.size()));
  EXPECT_EQ(read_all(*m, o), before);
  m->release(std::move(o.file));
  EXPECT_NE(now.ino, e.ino);
  auto o2 = m->open(now.ino, O_RDONLY);
  EXPECT_EQ(static_cast<off_t>(read_all(*m, o2).size()), m->getattr(now.ino, nullptr).st.st_size);
  m->release(std::move(o2.file));
}

}  // namespace
