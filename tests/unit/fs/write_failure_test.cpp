// Issue 11 item 14 without a kernel mount: a write handle whose write, truncate or publish fails
// keeps the errno of the failing call and never publishes its copy (the file keeps its last
// complete version); the properties editor keeps an edit whose fsync hit a full disk, so that the
// next fsync stores it. Real failing write(2)s come from RLIMIT_FSIZE (EFBIG).
#include <gtest/gtest.h>

#include <fcntl.h>

#include <cerrno>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "fs/open_file.hpp"
#include "fs/properties_editor.hpp"
#include "support/file_size_limit.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
using namespace wkfs::mount;

namespace {

constexpr size_t kOld = 8 * 1024;

struct Target {
  test::TempDir dir;
  fs::path file = dir / "0";
  std::string old = std::string(kOld, 'o');
  int publishes = 0;

  Target() { write_file_atomic(file, old); }
  /// A handle writing on a private copy of the file, as the mount opens chunk files.
  std::unique_ptr<BackingFile> open(bool truncate, PublishFn publish = nullptr) {
    if (!publish) publish = [this](const std::function<void()>& swap) {
      ++publishes;
      swap();
    };
    return std::make_unique<BackingFile>("color/1/0", file, open_file(file, O_RDONLY), truncate, 0644,
                                         std::move(publish));
  }
  std::string content() const {
    auto b = read_file(file);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  size_t entries() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()));
  }
};

int errno_thrown_by(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return errno_of(e);
  }
  return 0;
}

}  // namespace

TEST(WriteFailure, AWriteThatFillsTheDiskFailsWholeAndIsNeverPublished) {
  for (bool truncate : {true, false}) {
    Target t;
    auto h = t.open(truncate);
    const std::string data(64 * 1024, 'n');
    {
      test::FileSizeLimit limit(kOld * 2);  // the copy can take 16 KiB of the 64 KiB written
      // the short pwrite must not be the answer: the kernel would hand the rest to a copy with a hole
      EXPECT_EQ(errno_thrown_by([&] { h->write(data.data(), data.size(), 0); }), EFBIG) << "truncate " << truncate;
    }
    // space again: the handle stays failed, its copy is gone
    EXPECT_EQ(errno_thrown_by([&] { h->write("x", 1, 0); }), EFBIG);
    EXPECT_EQ(errno_thrown_by([&] { h->fsync(false); }), EFBIG);
    EXPECT_EQ(errno_thrown_by([&] { h->fsync(true); }), EFBIG);  // every fsync: nothing became durable
    EXPECT_EQ(errno_thrown_by([&] { h->flush(); }), EFBIG);      // close reports it
    EXPECT_EQ(errno_thrown_by([&] { h->flush(); }), 0);          // release's flush after it stays quiet
    char buf[16];
    EXPECT_EQ(h->read(buf, sizeof buf, 0), sizeof buf);  // the handle reads the file as it is
    EXPECT_EQ(std::string(buf, sizeof buf), t.old.substr(0, sizeof buf));
    EXPECT_EQ(h->attr()->st_size, static_cast<off_t>(kOld));
    h.reset();
    EXPECT_EQ(t.publishes, 0);
    EXPECT_EQ(t.content(), t.old);
    EXPECT_EQ(t.entries(), 1u) << "the private copy was left";
  }
}

TEST(WriteFailure, ANewFileWhoseWriteFailsNeverAppears) {
  test::TempDir dir;
  const fs::path file = dir / "new";
  int publishes = 0;
  BackingFile h("color/1/new", file, UniqueFd(), true, 0644, [&](const std::function<void()>& swap) {
    ++publishes;
    swap();
  });
  const std::string data(64 * 1024, 'n');
  {
    test::FileSizeLimit limit(16 * 1024);
    EXPECT_EQ(errno_thrown_by([&] { h.write(data.data(), data.size(), 0); }), EFBIG);
  }
  EXPECT_EQ(h.attr()->st_size, 0);  // the dropped copy, emptied: its blocks are free already
  EXPECT_EQ(errno_thrown_by([&] { h.flush(); }), EFBIG);
  EXPECT_EQ(publishes, 0);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(fs::is_empty(dir.path())) << "the private copy was left";
}

TEST(WriteFailure, ATruncateThatFailsLeavesTheFile) {
  Target t;
  auto h = t.open(false);
  {
    test::FileSizeLimit limit(kOld * 2);
    EXPECT_EQ(errno_thrown_by([&] { h->truncate(1 << 20); }), EFBIG);
  }
  EXPECT_EQ(errno_thrown_by([&] { h->flush(); }), EFBIG);
  h.reset();
  EXPECT_EQ(t.content(), t.old);
  EXPECT_EQ(t.entries(), 1u);
}

TEST(WriteFailure, APublishThatFailsBeforeTheSwapDropsTheCopy) {
  Target t;
  // the durable intent before the swap could not be written (a full disk)
  auto h = t.open(true, [](const std::function<void()>&) { fail_errno(ENOSPC, "cannot write intent"); });
  h->write("new", 3, 0);
  EXPECT_EQ(errno_thrown_by([&] { h->fsync(false); }), ENOSPC);
  EXPECT_EQ(t.content(), t.old);
  EXPECT_EQ(t.entries(), 1u) << "the copy must go at once: it holds space on a full disk";
  EXPECT_EQ(errno_thrown_by([&] { h->write("x", 1, 0); }), ENOSPC);
  EXPECT_EQ(errno_thrown_by([&] { h->flush(); }), ENOSPC);
  h.reset();
  EXPECT_EQ(t.content(), t.old);
}

TEST(WriteFailure, AWriteAfterSuccessfulOnesStillPublishesWhenAllSucceed) {
  Target t;
  auto h = t.open(true);
  const std::string data(64 * 1024, 'n');
  h->write(data.data(), data.size(), 0);
  h->flush();
  EXPECT_EQ(t.publishes, 1);
  EXPECT_EQ(t.content(), data);
  EXPECT_EQ(t.entries(), 1u);
}

TEST(WriteFailure, PropertiesEditKeptAfterAFailedFsyncIsStoredByTheNextOne) {
  test::TempDir dir;
  write_file_atomic(dir / "p", std::string("{}"));
  std::vector<std::string> stored;
  int failures = 1;
  PropertiesEditor ed("datasource-properties.json", open_file(dir / "p", O_RDONLY), "", true,
                      [&](const std::string& text) {
                        if (failures-- > 0) fail_errno(ENOSPC, "cannot write datasource-properties.json");
                        stored.push_back(text);
                      });
  const std::string text = "{\"id\": {\"name\": \"x\", \"team\": \"\"}, \"scale\": [1, 1, 1], \"dataLayers\": []}";
  ed.write(text.data(), text.size(), 0);
  EXPECT_EQ(errno_thrown_by([&] { ed.fsync(false); }), ENOSPC);
  EXPECT_TRUE(stored.empty());
  ed.fsync(false);  // space was freed: the edit is still there and is stored now
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0], text);
  ed.flush();  // nothing left to store
  EXPECT_EQ(stored.size(), 1u);
}

TEST(WriteFailure, PropertiesEditRefusedAtCloseIsNotRetriedAtRelease) {
  test::TempDir dir;
  write_file_atomic(dir / "p", std::string("{}"));
  int calls = 0;
  PropertiesEditor ed("datasource-properties.json", open_file(dir / "p", O_RDONLY), "", true,
                      [&](const std::string&) {
                        ++calls;
                        fail_errno(ENOSPC, "cannot write datasource-properties.json");
                      });
  const std::string text = "{\"id\": {\"name\": \"x\", \"team\": \"\"}, \"scale\": [1, 1, 1], \"dataLayers\": []}";
  ed.write(text.data(), text.size(), 0);
  EXPECT_EQ(errno_thrown_by([&] { ed.flush(); }), ENOSPC);  // close
  ed.flush();                                               // release
  EXPECT_EQ(calls, 1);
}
