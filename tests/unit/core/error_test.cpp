// Errors keep the errno of the call that failed, so the FUSE reply is exact (ENOSPC stays ENOSPC).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "support/file_size_limit.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

int errno_thrown_by(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return errno_of(e);
  }
  ADD_FAILURE() << "nothing was thrown";
  return 0;
}

size_t entries_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST(Error, FailErrnoKeepsTheErrnoAndNamesIt) {
  for (int err : {ENOSPC, EDQUOT, EACCES, EXDEV, ENAMETOOLONG, EROFS, ENOENT}) {
    try {
      fail_errno(err, "write /x");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.sys_errno(), err);
      EXPECT_EQ(to_errno(e), err);
      EXPECT_EQ(e.kind(), kind_of_errno(err));
      EXPECT_NE(std::string(e.what()).find(std::strerror(err)), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("write /x", 0), 0u) << e.what();
    }
  }
}

TEST(Error, KindsWithoutErrnoMapAsBefore) {
  EXPECT_EQ(to_errno(Error(ErrorKind::InvalidArgument, "x")), EINVAL);
  EXPECT_EQ(to_errno(Error(ErrorKind::Corrupt, "x")), EIO);
  EXPECT_EQ(to_errno(Error(ErrorKind::Busy, "x")), EBUSY);
  EXPECT_EQ(to_errno(Error(ErrorKind::CrossDevice, "x")), EXDEV);
  EXPECT_EQ(kind_of_errno(ENOSPC), ErrorKind::Io);
  EXPECT_EQ(kind_of_errno(ENOTEMPTY), ErrorKind::NotEmpty);
}

TEST(Error, StdFilesystemErrorsKeepTheirErrno) {
  wkfs::test::TempDir dir;
  // a real failing call: creating a folder inside a regular file is ENOTDIR
  write_file_atomic(dir / "file", std::string("x"));
  EXPECT_EQ(errno_thrown_by([&] { fs::create_directory(dir / "file" / "sub"); }), ENOTDIR);
  EXPECT_EQ(errno_thrown_by([&] { fs::remove(dir / "missing" / "x"), fs::rename(dir / "missing", dir / "y"); }), ENOENT);
  EXPECT_EQ(errno_thrown_by([] { throw std::runtime_error("no errno here"); }), EIO);
}

TEST(Error, ARealSyscallFailureReachesTheBoundaryWithItsErrno) {
  wkfs::test::TempDir dir;
  // open_file on a path whose parent is a file: ENOTDIR from open(2), not a generic EIO
  write_file_atomic(dir / "file", std::string("x"));
  EXPECT_EQ(errno_thrown_by([&] { open_file(dir / "file" / "child", O_RDONLY); }), ENOTDIR);
  EXPECT_EQ(errno_thrown_by([&] { read_file(dir / "missing"); }), ENOENT);
}

TEST(Error, LevelIsAPropertyOfTheError) {
  EXPECT_EQ(Error(ErrorKind::NotFound, "x").level(), LogLevel::Error);
  EXPECT_EQ(Error(ErrorKind::NotFound, "x", ENOENT, LogLevel::Debug).level(), LogLevel::Debug);
}

TEST(Error, BadAllocIsEnomemNotEio) {
  EXPECT_EQ(errno_thrown_by([] { throw std::bad_alloc(); }), ENOMEM);
}

TEST(Error, AFailingAtomicWriteKeepsItsErrnoAndTheOldFile) {
  wkfs::test::TempDir dir;
  write_file_atomic(dir / "f", std::string("old"));
  const std::string big(64 * 1024, 'n');
  {
    wkfs::test::FileSizeLimit limit(16 * 1024);
    try {
      write_file_atomic(dir / "f", big);
      FAIL() << "a write past the file size limit succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.sys_errno(), EFBIG) << e.what();
      EXPECT_EQ(errno_of(e), EFBIG);
      EXPECT_EQ(e.kind(), ErrorKind::Io);
    }
  }
  auto text = read_file(dir / "f");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(text.data()), text.size()), "old");
  EXPECT_EQ(entries_in(dir.path()), 1u) << "the temp file was left";
}

TEST(Error, AFullDiskIsEnospcWithTheOldFileKept) {
  wkfs::test::TempDir dir;
  const fs::path disk = dir / "disk";
  fs::create_directory(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=64k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << "); e2e_disk_full covers it";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{disk};
  write_file_atomic(disk / "f", std::string("old"));
  const std::string big(128 * 1024, 'n');
  EXPECT_EQ(errno_thrown_by([&] { write_file_atomic(disk / "f", big); }), ENOSPC);
  auto text = read_file(disk / "f");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(text.data()), text.size()), "old");
  EXPECT_EQ(entries_in(disk), 1u) << "the temp file was left";
  // space again: the same write succeeds
  write_file_atomic(disk / "f", std::string(32 * 1024, 'm'));
  EXPECT_EQ(read_file(disk / "f").size(), 32u * 1024);
}
