#include "fs/mount.hpp"
#include "lazy/lazy_engine_registry.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <chrono>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/chunk_cache.hpp"
#include "fs/filesystem.hpp"

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

fs::path absolute_clean(const fs::path& p) {
  auto a = fs::absolute(p).lexically_normal();
  if (!a.has_filename() && a.has_parent_path() && a != a.root_path()) a = a.parent_path();
  return a;
}

}  // namespace

void apply_option_string(MountOptions& o, const std::string& text) {
  std::stringstream ss(text);
  std::string opt;
  while (std::getline(ss, opt, ',')) {
    if (opt.empty() || opt == "defaults" || opt == "auto" || opt == "noauto" || opt == "user" || opt == "nouser" ||
        opt == "users" || opt == "nofail" || opt == "_netdev" || opt == "rw" || opt.rfind("x-", 0) == 0 ||
        opt.rfind("comment=", 0) == 0)
      continue;
    if (opt == "ro") {
      o.read_only = true;
    } else if (opt.rfind("log=", 0) == 0) {
      o.log_file = opt.substr(4);
    } else if (opt == "foreground") {
      o.foreground = true;
    } else if (opt == "pyramid=auto") {
      o.auto_pyramid = true;
    } else if (opt == "pyramid=none") {
      o.auto_pyramid = false;
    } else if (opt.rfind("lazy_memory_mb=", 0) == 0 || opt.rfind("lazy_threads=", 0) == 0 ||
               opt.rfind("chunk_cache_mb=", 0) == 0) {
      auto eq = opt.find('=');
      const std::string key = opt.substr(0, eq), v = opt.substr(eq + 1);
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9)
        fail(ErrorKind::InvalidArgument, "option " + key + " wants a positive number, got '" + v + "'");
      if (key == "lazy_memory_mb") o.lazy.memory_cap_bytes = static_cast<size_t>(std::stoull(v)) << 20;
      else if (key == "lazy_threads") o.lazy.threads = static_cast<unsigned>(std::stoul(v));
      else o.chunk_cache_bytes = static_cast<size_t>(std::stoull(v)) << 20;
    } else {
      o.fuse_options.push_back(opt);
    }
  }
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

int run_mount(const MountOptions& options) {
  // glibc gives each busy thread its own arena (8 per core) and keeps what was freed there: with
  // FUSE threads and lazy workers each touching shard-sized buffers, the daemon's peak RSS in
  // `wkfs bench downsample` (1 GiB layers) was 685 MiB against 512 MiB of caps; with two arenas
  // 623 MiB (full-pyramid throughput with it: 262 MB/s color, 462 MB/s segmentation, 2 cores).
  ::mallopt(M_ARENA_MAX, 2);
  if (::access("/dev/fuse", R_OK | W_OK) != 0)
    fail(ErrorKind::NotFound, std::string("cannot use /dev/fuse: ") + std::strerror(errno) +
                                  " (is the fuse module loaded and the device accessible?)");
  std::error_code ec;
  if (!fs::exists(options.source, ec)) fail(ErrorKind::NotFound, "source " + options.source.string() + " does not exist");
  auto mountpoint = absolute_clean(options.mountpoint);
  if (is_stale_mount(mountpoint)) {
    // The daemon of an earlier mount died (SIGKILL): detach the dead mount, then mount anew.
    unmount(mountpoint, true);
  }
  if (!fs::is_directory(mountpoint, ec))
    fail(ErrorKind::NotFound, "mountpoint " + mountpoint.string() + " is not a folder");
  if (is_mount_point(mountpoint))
    fail(ErrorKind::AlreadyExists, "mountpoint " + mountpoint.string() + " is busy: something is mounted there");

  std::FILE* log = stderr;
  if (options.log_file) {
    log = std::fopen(options.log_file->c_str(), "a");
    if (!log) fail_errno("open log file " + options.log_file->string());
  }
  FilesystemConfig config;
  config.source = absolute_clean(options.source);
  config.mountpoint = mountpoint;
  config.read_only = options.read_only;
  config.log = log;
  config.lazy = options.lazy;
  config.auto_pyramid = options.auto_pyramid;
  config.chunk_cache = std::make_shared<ChunkCache>(options.chunk_cache_bytes.value_or(default_chunk_cache_bytes()));
  Filesystem filesystem(config);  // throws for a SOURCE that is not a dataset
  remove_temp_files(config.source);

  std::string opts = "fsname=" + config.source.string() + ",subtype=wkfs,default_permissions";
  if (options.read_only) opts += ",ro";
  for (const auto& o : options.fuse_options) opts += "," + o;
  std::vector<std::string> arg_strings = {"wkfs", "-o", opts};
  if (options.debug) arg_strings.push_back("-d");
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* se = fuse_session_new(&args, &Filesystem::operations(), sizeof(fuse_lowlevel_ops), &filesystem);
  if (!se) fail(ErrorKind::InvalidArgument, "libfuse rejected the options: " + opts);
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    fail(ErrorKind::Io, "cannot install signal handlers");
  }
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    fail(ErrorKind::Io, "mounting " + mountpoint.string() + " failed (see the message above)");
  }
  // The mount exists now; the parent returns (exit 0) and the child serves it.
  if (fuse_daemonize(options.foreground ? 1 : 0) != 0) {
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    fail(ErrorKind::Io, "cannot daemonise");
  }
  filesystem.start(se);
  if (options.auto_pyramid) {  // register the default pyramids now (metadata only), not on first access
    for (const auto& root : filesystem.catalog().dataset_roots()) {
      // The mount is up: a dataset that cannot be opened must not end the daemon (it is reported
      // when accessed); lazy problems are reported by the engines themselves.
      try {
        if (auto loc = filesystem.catalog().locate(root)) filesystem.lazy_engines().serving(loc->dataset);
      } catch (const std::exception& e) {
        filesystem.status().error("mount", (config.source / root).string(),
                                  std::string("pyramid=auto skipped: ") + e.what(), EIO);
      }
    }
  }
  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 0);
  fuse_loop_cfg_set_idle_threads(loop, 10);
  int rc = fuse_session_loop_mt(se, loop);
  fuse_loop_cfg_destroy(loop);
  // Workers are joined before the session goes: their callbacks notify the kernel through it.
  filesystem.lazy_engines().clear();
  filesystem.stop();
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  if (log != stderr) std::fclose(log);
  return rc == 0 ? 0 : 1;
}

}  // namespace wkfs::mount
