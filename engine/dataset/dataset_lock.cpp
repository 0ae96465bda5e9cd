#include "dataset/dataset_lock.hpp"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "dataset/properties.hpp"

namespace wkfs {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

/// The holder line the lock file holds now, or "" (a holder between truncate and write, or none).
std::string read_holder(const fs::path& path) {
  auto bytes = read_file_if_exists(path);
  if (!bytes) return "";
  std::string text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

}  // namespace

DatasetLock::DatasetLock(const fs::path& root, std::string purpose, int grace_ms)
    : path_(root / kStateDir / kMountLockFile), purpose_(std::move(purpose)) {
  std::error_code ec;
  fs::create_directories(root / kStateDir, ec);
  if (ec) fail_errno(ec.value(), "cannot create " + (root / kStateDir).string() + " for the dataset's lock");
  // O_RDWR, not O_RDONLY: NFS emulates flock with POSIX locks, and an exclusive one needs write access.
  fd_ = open_file(path_, O_RDWR | O_CREAT, 0644);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) fail_errno("cannot lock " + path_.string());
    // A daemon killed an instant ago holds the lock until the kernel has closed its files (after
    // its memory is torn down): an immediate remount after `kill -9` would be refused without this
    // wait, and so would a mount right after `wkfs unmount`, whose daemon is still joining its lazy
    // workers (they may still write). A live holder is told from a going one only by waiting: a
    // shortcut for holders that look alive in /proc (200 ms) was tried and dropped for that reason.
    // A live holder still holds it at the deadline.
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string holder = read_holder(path_);
      fail(ErrorKind::Busy, "dataset " + root.string() + " is in use by " +
                                (holder.empty() ? std::string("another process") : holder) +
                                " (lock " + path_.string() +
                                "): one writable mount per dataset; unmount that one first, or mount with -o ro");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  record_holder();
}

void DatasetLock::record_holder() const {
  const std::string line = "pid " + std::to_string(::getpid()) + " on host " + host_name() + " (" + purpose_ + ")\n";
  // Only the message of a refused lock reads this: no fsync, no atomic replacement needed.
  if (::ftruncate(fd_.get(), 0) != 0 || ::pwrite(fd_.get(), line.data(), line.size(), 0) < 0)
    fail_errno("cannot write the holder of " + path_.string());
}

}  // namespace wkfs
