// DatasetLock: one holder per dataset, the holder named in the refusal, released with its holder
// (also across fork: the child keeps a lock its parent took).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
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

TEST(DatasetLock, GraceWaitsForAHolderThatIsGoing) {
  test::TempDir dir;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    DatasetLock held(dir.path(), "child");
    ::usleep(300 * 1000);
    ::_exit(0);  // the lock goes with the process, as with kill -9
  }
  ::usleep(100 * 1000);
  EXPECT_TRUE(refusal(dir.path()).has_value()) << "the child holds it";
  DatasetLock after(dir.path(), "parent", 2000);  // granted once the child has exited
  int status = 0;
  ::waitpid(child, &status, 0);
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
      if (::write(ready[1], "x", 1) != 1) ::_exit(1);
      ::usleep(500 * 1000);
      ::_exit(0);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(middle, &status, 0);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  auto e = refusal(dir.path());
  ASSERT_TRUE(e.has_value()) << "the grandchild holds the lock its parent took";
  std::ifstream in(dir.path() / kStateDir / kMountLockFile);
  std::string holder;
  std::getline(in, holder);
  EXPECT_EQ(holder.find("pid " + std::to_string(middle) + " "), std::string::npos) << "names the child: " << holder;
  DatasetLock after(dir.path(), "test", 3000);  // the grandchild exits: free again
  ::close(ready[0]);
  ::close(ready[1]);
}
