#include "fs/mount_table.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.hpp"

namespace wkfs::mount {

namespace {

/// Lines of /proc/self/mountinfo as (major:minor, mount point) with octal escapes decoded.
std::vector<std::pair<std::string, std::string>> mount_table() {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, parent, dev, root, point;
    ls >> id >> parent >> dev >> root >> point;
    std::string decoded;
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        decoded.push_back(static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8)));
        i += 3;
      } else {
        decoded.push_back(point[i]);
      }
    }
    out.emplace_back(dev, decoded);
  }
  return out;
}

int run_fusermount(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("fusermount3"));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp("fusermount3", argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

fs::path absolute_clean(const fs::path& p) {
  auto a = fs::absolute(p).lexically_normal();
  if (!a.has_filename() && a.has_parent_path() && a != a.root_path()) a = a.parent_path();
  return a;
}

bool is_mount_point(const fs::path& path) {
  auto want = absolute_clean(path).string();
  for (const auto& [dev, point] : mount_table())
    if (point == want) return true;
  return false;
}

bool is_stale_mount(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) != 0 && errno == ENOTCONN;
}

void unmount(const fs::path& mountpoint, bool lazy) {
  auto mp = absolute_clean(mountpoint);
  if (::umount2(mp.c_str(), lazy ? MNT_DETACH : 0) == 0) return;
  int err = errno;
  if (err == EPERM) {
    if (run_fusermount({lazy ? "-uz" : "-u", mp.string()}) == 0) return;
    fail(ErrorKind::Io, "fusermount3 -u " + mp.string() + " failed");
  }
  if (err == EINVAL) fail(ErrorKind::InvalidArgument, mp.string() + " is not a mount point");
  if (err == ENOENT) fail(ErrorKind::NotFound, mp.string() + " does not exist");
  if (err == EBUSY)
    fail(ErrorKind::Io, "cannot unmount " + mp.string() + ": it is busy (files open; `wkfs unmount -l` detaches it)");
  errno = err;
  fail_errno("unmount " + mp.string());
}

bool set_read_ahead(const fs::path& mountpoint, int kib) {
  auto want = absolute_clean(mountpoint).string();
  std::string dev;
  for (const auto& [d, point] : mount_table())
    if (point == want) dev = d;  // the last one is the top of the stack
  if (dev.empty()) return false;
  std::ofstream out("/sys/class/bdi/" + dev + "/read_ahead_kb");
  if (!out) return false;
  out << kib << "\n";
  return static_cast<bool>(out.flush());
}

void set_read_ahead_after_init(const fs::path& mountpoint, int kib) {
  std::thread([mountpoint, kib] {
    // Twice, in case the first write still raced the kernel's handling of the init reply.
    for (int delay_ms : {100, 400}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      set_read_ahead(mountpoint, kib);
    }
  }).detach();
}

}  // namespace wkfs::mount
