// DatasetLock: one holder per dataset, the holder named in the refusal, released with its holder
// (also across fork: the child keeps a lock its parent took).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <optional>

#include "core/error.hpp"
#include "dataset/dataset_lock.hpp"
#include "dataset/properties.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

/// The Busy error of a second lock of `root`, or nullopt if it was granted.
std::optional<Error> refusal(const fs::path& root) {
  try {
    DatasetLock second(root, "second", 0);
    return std::nullopt;
  } catch (const Error& e) {
    return e;
  }
}

}  // namespace

TEST(DatasetLock, SecondHolderRefusedWithTheFirstOneNamed) {
  test::TempDir dir;
  std::optional<DatasetLock> first(std::in_place, dir.path(), "wkfs mount A on /mnt/a");
  EXPECT_TRUE(fs::exists(dir.path() / kStateDir / kMountLockFile));
  auto e = refusal(dir.path());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind(), ErrorKind::Busy);
  const std::string msg = e->what();
  EXPECT_NE(msg.find("pid " + std::to_string(::getpid()) + " on host "), std::string::npos) << msg;
  EXPECT_NE(msg.find("wkfs mount A on /mnt/a"), std::string::npos) << msg;
  first.reset();
  EXPECT_FALSE(refusal(dir.path()).has_value()) << "released with its holder";
}

TEST(DatasetLock, HolderRefusedAfterTheGraceGoneHolderFreesIt) {
  test::TempDir dir;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    DatasetLock held(dir.path(), "child");
    if (::write(ready[1], "x", 1) != 1) ::_exit(1);
    ::usleep(300 * 1000);
    ::_exit(0);  // the lock goes with the process, as with kill -9
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_TRUE(refusal(dir.path()).has_value()) << "the child holds it";
  DatasetLock after(dir.path(), "parent", 3000);  // waited for: granted once the child has exited
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(DatasetLock, ForkedChildKeepsTheLockAfterTheParentIsGone) {
  test::TempDir dir;
  // A process takes the lock and forks; the parent exits at once, like fuse_daemonize's parent.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    DatasetLock lock(dir.path(), "daemon");
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      lock.record_holder();
      pid_t self = ::getpid();
      if (::write(ready[1], &self, sizeof self) != sizeof self) ::_exit(1);
      ::usleep(300 * 1000);
      ::_exit(0);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(middle, &status, 0);
  pid_t grandchild = 0;
  ASSERT_EQ(::read(ready[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  auto e = refusal(dir.path());
  ASSERT_TRUE(e.has_value()) << "the grandchild holds the lock its parent took";
  EXPECT_NE(std::string(e->what()).find("pid " + std::to_string(grandchild) + " on host"), std::string::npos)
      << "names the child: " << e->what();
  // Free again once the grandchild has exited (a zombie holds no files).
  for (int i = 0; i < 300 && refusal(dir.path()); ++i) ::usleep(10 * 1000);
  EXPECT_FALSE(refusal(dir.path()).has_value()) << "still held after the holder exited";
  ::close(ready[0]);
  ::close(ready[1]);
}
