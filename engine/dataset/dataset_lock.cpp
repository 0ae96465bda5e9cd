#include "dataset/dataset_lock.hpp"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
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

/// True if `holder` names a process of this host that is alive and not exiting: its lock will not
/// go away by waiting. A killed process is exiting (PF_EXITING, or a zombie leader) until the kernel
/// has closed its files, and the lock goes with them.
bool holder_lives_here(const std::string& holder) {
  std::istringstream in(holder);
  std::string pid_word, on, host_word, host;
  long pid = 0;
  if (!(in >> pid_word >> pid >> on >> host_word >> host) || pid_word != "pid" || host != host_name()) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  if (paren == std::string::npos) return false;  // gone
  std::istringstream fields(text.substr(paren + 1));
  char state = 0;
  long ppid = 0, pgrp = 0, session = 0, tty = 0, tpgid = 0;
  unsigned long flags = 0;
  if (!(fields >> state >> ppid >> pgrp >> session >> tty >> tpgid >> flags)) return false;
  constexpr unsigned long kPfExiting = 0x4;  // include/linux/sched.h
  return state != 'Z' && state != 'X' && (flags & kPfExiting) == 0;
}

}  // namespace

DatasetLock::DatasetLock(const fs::path& root, std::string purpose, int grace_ms)
    : path_(root / kStateDir / kMountLockFile), purpose_(std::move(purpose)) {
  std::error_code ec;
  fs::create_directories(root / kStateDir, ec);
  if (ec) fail_errno(ec.value(), "cannot create " + (root / kStateDir).string() + " for the dataset's lock");
  // O_RDWR, not O_RDONLY: NFS emulates flock with POSIX locks, and an exclusive one needs write access.
  fd_ = open_file(path_, O_RDWR | O_CREAT, 0644);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) fail_errno("cannot lock " + path_.string());
    // A daemon killed an instant ago holds the lock until the kernel has closed its files (after
    // its memory is torn down): an immediate remount after `kill -9` would be refused without this
    // wait. A holder of this host that looks alive is given 200 ms only: a SIGKILL just sent may
    // not have woken it into exit yet (PF_EXITING is set by the dying thread itself).
    std::string holder = read_holder(path_);
    const auto now = std::chrono::steady_clock::now();
    if (holder_lives_here(holder)) deadline = std::min(deadline, now + std::chrono::milliseconds(200));
    if (now >= deadline) {
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
