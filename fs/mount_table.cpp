#include "fs/mount_table.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace wkfs::mount {

namespace {

/// One line of /proc/self/mountinfo.
struct MountLine {
  std::string device;  // major:minor
  std::string point;   // octal escapes decoded
  std::string fstype;
};

std::string decode_octal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

/// The lines of /proc/self/mountinfo, in mount order (a later line at a point is on top).
std::vector<MountLine> mount_table() {
  std::vector<MountLine> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL FIELDS...] - FSTYPE SOURCE SUPEROPTIONS
    std::istringstream ls(line);
    std::string id, parent, dev, root, point, word, fstype;
    ls >> id >> parent >> dev >> root >> point;
    while (ls >> word && word != "-") {
    }
    ls >> fstype;
    out.push_back({dev, decode_octal(point), fstype});
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
  for (const auto& m : mount_table())
    if (m.point == want) return true;
  return false;
}

std::optional<MountEntry> mount_at(const fs::path& path) {
  auto want = absolute_clean(path).string();
  std::optional<MountEntry> top;
  for (const auto& m : mount_table())
    if (m.point == want) top = MountEntry{m.device, m.fstype};
  return top;
}

fs::path fuse_connection_dir(const MountEntry& entry) {
  auto colon = entry.device.find(':');
  if (entry.fstype.rfind("fuse", 0) != 0 || colon == std::string::npos) return {};
  return fs::path("/sys/fs/fuse/connections") / entry.device.substr(colon + 1);
}

MountState probe_mount(const fs::path& path, std::chrono::milliseconds timeout) {
  auto entry = mount_at(path);
  if (!entry) return MountState::None;
  if (entry->fstype != "fuse" && entry->fstype.rfind("fuse.", 0) != 0) return MountState::Live;
  // stat() of a dead FUSE mount succeeds from the attribute cache (wkfs gives the kernel long
  // timeouts): after `kill -9`, 20 of 20 immediate remounts saw a "live" mount that way. statfs()
  // always goes to the daemon: once its last /dev/fuse descriptor is closed the kernel has aborted
  // the connection and answers ENOTCONN (ECONNABORTED for a request that was in flight at the
  // abort). A daemon that is still exiting answers nothing until its files are closed, so the call
  // blocks until then: that is the wait an immediate remount needs. fusectl is no help here: its
  // files (waiting, abort, max_background, congestion_threshold) say nothing about whether the
  // daemon still holds the device.
  struct Probe {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<int> err;  // 0 or statfs's errno, once it returned
  };
  auto probe = std::make_shared<Probe>();
  std::thread([probe, p = absolute_clean(path)] {
    struct statfs st {};
    int err = ::statfs(p.c_str(), &st) == 0 ? 0 : errno;
    std::lock_guard lock(probe->mutex);
    probe->err = err;
    probe->done.notify_all();
  }).detach();  // a hung daemon keeps it blocked; its request wait is killable, so exit still ends it
  std::unique_lock lock(probe->mutex);
  if (!probe->done.wait_for(lock, timeout, [&] { return probe->err.has_value(); })) return MountState::Unresponsive;
  return *probe->err == ENOTCONN || *probe->err == ECONNABORTED ? MountState::Dead : MountState::Live;
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
  for (const auto& m : mount_table())
    if (m.point == want) dev = m.device;  // the last one is the top of the stack
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
