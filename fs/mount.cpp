#include "fs/mount.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset_lock.hpp"
#include "formats/chunk_cache.hpp"
#include "fs/filesystem.hpp"
#include "fs/fuse_callbacks.hpp"
#include "fs/fuse_session.hpp"
#include "fs/kernel_invalidator.hpp"
#include "fs/remote_dataset.hpp"
#include "storage/remote_cache.hpp"
#include "storage/store_url.hpp"

namespace wkfs::mount {

namespace {

/// More workers than this only queue for the memory cap and the cores: 256 is far above any core
/// count wkfs runs on, and below where thread stacks alone (8 MiB of address space each) matter.
constexpr unsigned kMaxLazyThreads = 256;
/// A remote read that has not answered in an hour is not going to: the bound keeps a typo (say a
/// value in milliseconds) from making reads of a dead server hang for days.
constexpr unsigned kMaxRemoteTimeoutS = 3600;
/// 2^30 MiB (1 EiB) is more disk than any cache folder has: the bound only catches nonsense.
constexpr uint64_t kMaxRemoteCacheMb = uint64_t{1} << 30;
/// Trusting a cached range for more than a day hides a changed dataset for longer than anyone expects.
constexpr unsigned kMaxRemoteRevalidateS = 86400;

/// The machine's physical memory in MiB: no memory cap may promise more.
uint64_t physical_memory_mb() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return uint64_t{1} << 20;  // unknown: 1 TiB
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) >> 20;
}

/// The value of a numeric option, checked against its range; InvalidArgument saying why otherwise.
uint64_t bounded_number(const std::string& key, const std::string& v, uint64_t min, uint64_t max,
                        const std::string& why_max) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 18)
    fail(ErrorKind::InvalidArgument, "option " + key + " wants a number, got '" + v + "'");
  uint64_t n = std::stoull(v);
  if (n < min) fail(ErrorKind::InvalidArgument, "option " + key + "=" + v + " is too small: at least " + std::to_string(min));
  if (n > max)
    fail(ErrorKind::InvalidArgument, "option " + key + "=" + v + " is too large: at most " + std::to_string(max) + " (" + why_max + ")");
  return n;
}

/// True if `inner` is `outer` or below it (both made absolute, symlinks resolved).
bool is_within(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path i = fs::weakly_canonical(inner, ec), o = fs::weakly_canonical(outer, ec);
  const fs::path r = i.lexically_relative(o);
  return !r.empty() && *r.begin() != "..";
}

/// cache_dir= names an existing, writable folder of a read-only mount, outside SOURCE and the
/// mount point (computed files must neither change the dataset nor go through the mount itself).
void check_cache_dir(const MountOptions& o, const fs::path& mountpoint) {
  if (!o.lazy.cache_dir) return;
  const fs::path& dir = *o.lazy.cache_dir;
  const std::string what = "option cache_dir=" + dir.string();
  if (!o.read_only)
    fail(ErrorKind::InvalidArgument, what + " is for read-only mounts (-o ro): a writable mount stores computed files in the dataset");
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(ErrorKind::NotFound, what + ": the folder does not exist");
  if (!fs::is_directory(dir, ec)) fail_errno(ENOTDIR, what + ": not a folder");
  if (::access(dir.c_str(), W_OK | X_OK) != 0) fail_errno(what + ": the folder is not writable");
  if (is_within(dir, o.source)) fail(ErrorKind::InvalidArgument, what + " is inside SOURCE " + o.source.string() + ", which a read-only mount must not change");
  if (is_within(dir, mountpoint)) fail(ErrorKind::InvalidArgument, what + " is inside the mount point " + mountpoint.string());
}

/// remote_cache_dir= lies outside SOURCE, the overlay and the mount point (the cache's files must
/// neither change a dataset nor show up in the mount), and is a cache folder or can become one:
/// opening it here reports a foreign or unwritable folder before anything is mounted. Returns the
/// opened cache (for the probe of a URL SOURCE; the daemon opens its own after the fork), or null.
std::shared_ptr<storage::RemoteCache> open_remote_cache_dir(const MountOptions& o, const fs::path& mountpoint,
                                                            bool remote_source) {
  if (!o.remote_cache_dir) return nullptr;
  const fs::path& dir = *o.remote_cache_dir;
  const std::string what = "option remote_cache_dir=" + dir.string();
  if (!remote_source && is_within(dir, o.source))
    fail(ErrorKind::InvalidArgument, what + " is inside SOURCE " + o.source.string());
  if (o.overlay && is_within(dir, *o.overlay))
    fail(ErrorKind::InvalidArgument, what + " is inside the overlay " + o.overlay->string());
  if (is_within(dir, mountpoint) || is_within(mountpoint, dir))
    fail(ErrorKind::InvalidArgument, what + " and the mount point " + mountpoint.string() + " overlap");
  try {
    return std::make_shared<storage::RemoteCache>(absolute_clean(dir), o.remote_cache_mb << 20);
  } catch (const Error& e) {
    throw Error(e.kind(), what + ": " + e.what(), e.sys_errno());
  }
}

/// The HTTP client options of a mount: its CA file and one bound on every remote read (all its
/// attempts and backoff together), so that a slow or dead server gives EIO within that time.
storage::HttpOptions http_options(const MountOptions& o) {
  storage::HttpOptions h;
  h.ca_file = o.ca_file;
  h.deadline = std::chrono::seconds(o.remote_timeout_s);
  h.attempt_timeout = h.deadline;
  h.connect_timeout = std::min<std::chrono::milliseconds>(h.deadline, std::chrono::seconds(10));
  return h;
}

/// The checks of the remote options; for a URL SOURCE also the URL itself and the overlay folder.
void check_remote_options(const MountOptions& o, const fs::path& mountpoint, bool remote_source) {
  std::error_code ec;
  if (!o.ca_file.empty() && ::access(o.ca_file.c_str(), R_OK) != 0)
    fail_errno("option ca_file=" + o.ca_file + ": cannot read it");
  if (!o.ca_file.empty() && fs::is_directory(o.ca_file, ec))
    fail(ErrorKind::InvalidArgument, "option ca_file=" + o.ca_file + " is a folder, not a PEM file");
  if (!remote_source) {
    if (o.overlay) fail(ErrorKind::InvalidArgument, "option overlay= is for a URL SOURCE (https://, http://, s3://)");
    if (o.s3_write) fail(ErrorKind::InvalidArgument, "option s3_write is for an s3:// SOURCE (a local one is writable anyway)");
    return;
  }
  const auto url = storage::StoreUrl::parse(o.source.string());  // InvalidArgument naming what is wrong
  if (o.s3_write) {
    const std::string what = "option s3_write with " + url.to_string() + ": ";
    if (url.scheme() != storage::StoreUrl::Scheme::S3)
      fail(ErrorKind::InvalidArgument, what + "only an s3:// store can be written (an HTTP server takes no "
                                              "writes); -o overlay=DIR keeps changes in a local folder");
    if (o.read_only) fail(ErrorKind::InvalidArgument, what + "-o ro and -o s3_write exclude each other");
    if (o.overlay)
      fail(ErrorKind::InvalidArgument, what + "-o s3_write writes every change to the store, -o overlay=DIR keeps them "
                                              "local: give one of them");
    // Lazy files would be computed into the private staging folder, lost at unmount, while S3
    // listed their mags: the lazy engine has no write-back yet.
    if (o.auto_pyramid)
      fail(ErrorKind::InvalidArgument, what + "pyramid=auto registers lazy mags, which a writable S3 mount cannot "
                                              "keep yet: mount with -o overlay=DIR to compute them into a local folder");
  }
  if (!o.overlay) return;
  const fs::path& dir = *o.overlay;
  const std::string what = "option overlay=" + dir.string();
  if (!fs::exists(dir, ec)) fail(ErrorKind::NotFound, what + ": the folder does not exist");
  if (!fs::is_directory(dir, ec)) fail_errno(ENOTDIR, what + ": not a folder");
  if (::access(dir.c_str(), W_OK | X_OK) != 0) fail_errno(what + ": the folder is not writable");
  if (is_within(dir, mountpoint) || is_within(mountpoint, dir))
    fail(ErrorKind::InvalidArgument, what + " and the mount point " + mountpoint.string() + " overlap");
}

/// An empty folder of our own as the local side of a read-only URL SOURCE, removed at exit.
class PrivateFolder {
 public:
  PrivateFolder() {
    std::string tmpl = (fs::temp_directory_path() / "wkfs-remote-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail_errno("make a private folder in " + fs::temp_directory_path().string());
    path_ = tmpl;
  }
  ~PrivateFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  PrivateFolder(const PrivateFolder&) = delete;
  PrivateFolder& operator=(const PrivateFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

void apply_option_string(MountOptions& o, const std::string& text) {
  std::stringstream ss(text);
  std::string opt;
  while (std::getline(ss, opt, ',')) {
    if (opt.empty() || opt == "defaults" || opt == "auto" || opt == "noauto" || opt == "user" || opt == "nouser" ||
        opt == "users" || opt == "nofail" || opt == "_netdev" || opt == "rw" || opt.rfind("x-", 0) == 0 ||
        opt.rfind("comment=", 0) == 0)
      continue;
    o.given.push_back(opt.rfind("auth_token=", 0) == 0 ? "auth_token=(hidden)" : opt);
    if (opt == "ro") {
      o.read_only = true;
    } else if (opt == "s3_write") {  // not "rw": mount(8) passes rw to every helper by default
      o.s3_write = true;
    } else if (opt.rfind("log=", 0) == 0) {
      o.log_file = opt.substr(4);
    } else if (opt.rfind("cache_dir=", 0) == 0) {
      if (opt.size() == 10) fail(ErrorKind::InvalidArgument, "option cache_dir= wants a folder");
      o.lazy.cache_dir = fs::path(opt.substr(10));
    } else if (opt.rfind("overlay=", 0) == 0) {
      if (opt.size() == 8) fail(ErrorKind::InvalidArgument, "option overlay= wants a folder");
      o.overlay = fs::path(opt.substr(8));
    } else if (opt.rfind("ca_file=", 0) == 0) {
      if (opt.size() == 8) fail(ErrorKind::InvalidArgument, "option ca_file= wants a PEM file");
      o.ca_file = opt.substr(8);
    } else if (opt.rfind("auth_token=", 0) == 0) {
      if (opt.size() == 11) fail(ErrorKind::InvalidArgument, "option auth_token= wants a token");
      o.auth_token = opt.substr(11);
    } else if (opt.rfind("remote_cache_dir=", 0) == 0) {
      if (opt.size() == 17) fail(ErrorKind::InvalidArgument, "option remote_cache_dir= wants a folder");
      o.remote_cache_dir = fs::path(opt.substr(17));
    } else if (opt.rfind("remote_cache_mb=", 0) == 0) {
      o.remote_cache_mb = bounded_number("remote_cache_mb", opt.substr(16), 1, kMaxRemoteCacheMb, "2^30 MiB");
    } else if (opt.rfind("remote_revalidate_s=", 0) == 0) {
      o.remote_revalidate_s = static_cast<unsigned>(
          bounded_number("remote_revalidate_s", opt.substr(20), 0, kMaxRemoteRevalidateS, "one day"));
    } else if (opt.rfind("remote_timeout_s=", 0) == 0) {
      o.remote_timeout_s = static_cast<unsigned>(
          bounded_number("remote_timeout_s", opt.substr(17), 1, kMaxRemoteTimeoutS, "one hour"));
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
      const std::string ram = "this machine's memory in MiB";
      // lazy_memory_mb=0 would reserve nothing (a reservation is capped at the cap): no cap at all.
      if (key == "lazy_memory_mb")
        o.lazy.memory_cap_bytes = static_cast<size_t>(bounded_number(key, v, 1, physical_memory_mb(), ram)) << 20;
      else if (key == "lazy_threads")  // 0: one worker per core
        o.lazy.threads = static_cast<unsigned>(bounded_number(key, v, 0, kMaxLazyThreads, "0 is one per core"));
      else  // 0: no chunk cache
        o.chunk_cache_bytes = static_cast<size_t>(bounded_number(key, v, 0, physical_memory_mb(), ram)) << 20;
    } else {
      o.fuse_options.push_back(opt);
    }
  }
}

void detach_dead_mounts(const fs::path& mountpoint) {
  // A FUSE daemon that exits within this long after a kill -9 is waited for (the probe blocks until
  // the kernel has closed its device); one that is alive but does not answer is reported.
  constexpr std::chrono::seconds kProbeTimeout{5};
  for (int stacked = 0; stacked < 64; ++stacked) {  // dead mounts may be stacked (kill, mount over, kill)
    switch (probe_mount(mountpoint, kProbeTimeout)) {
      case MountState::None:
      case MountState::Live:
        return;  // a live mount is refused by the caller ("busy")
      case MountState::Dead:
        unmount(mountpoint, true);  // nobody can use it any more: detach, then look again
        break;
      case MountState::Unresponsive: {
        auto entry = mount_at(mountpoint);
        auto conn = entry ? fuse_connection_dir(*entry) : fs::path();
        std::error_code ec;
        std::string how = fs::exists(conn / "abort", ec)
                              ? "`echo 1 > " + (conn / "abort").string() + "`"
                              : "`mount -t fusectl none /sys/fs/fuse/connections`, then `echo 1 > " +
                                    (conn / "abort").string() + "`";
        fail(ErrorKind::Busy, "mountpoint " + mountpoint.string() + " is busy: its FUSE daemon has not answered for " +
                                  std::to_string(kProbeTimeout.count()) + " s; if it is hung, end it (" + how +
                                  ", or kill it) and mount again");
      }
    }
  }
  fail(ErrorKind::Busy, "mountpoint " + mountpoint.string() + " has too many dead mounts stacked on it");
}

int run_mount(const MountOptions& options) {
  // glibc gives each busy thread its own arena (8 per core) and keeps what was freed there: with
  // FUSE threads and lazy workers each touching shard-sized buffers, the daemon's peak RSS in
  // `wkfs bench downsample` (1 GiB layers) was 685 MiB against 512 MiB of caps; with two arenas
  // 623 MiB (full-pyramid throughput with it: 262 MB/s color, 462 MB/s segmentation, 2 cores).
  ::mallopt(M_ARENA_MAX, 2);
  // glibc raises its mmap threshold to the largest block freed (up to 32 MiB), after which shard and
  // tile buffers come from the heaps and stay there when freed: under steady writers (soak, 2
  // writers, caps 64 + 128 MiB) RSS ratcheted up with every coincidence of computations, 140 MiB at
  // 20 s -> 157 MiB at 100 s, ~80 MiB of it free chunks (malloc_info). A fixed 1 MiB threshold maps
  // such buffers and gives them back when freed: RSS 94-126 MiB over the same run, median 107 MiB.
  // The threshold sits just above 1 MiB: a remote file's 1 MiB blocks (RemoteFile::kBlock) then come
  // from the heap, not from fresh pages each (page faults and clearing were ~25% of a warm-cache
  // read's profile; 8 readers of 4 MiB slices 590-650 -> 780-840 MB/s), while the soak's RSS stayed
  // as it was (median 103 MiB, peak 114).
  ::mallopt(M_MMAP_THRESHOLD, (1 << 20) + (128 << 10));
  if (::access("/dev/fuse", R_OK | W_OK) != 0)
    fail(ErrorKind::NotFound, std::string("cannot use /dev/fuse: ") + std::strerror(errno) +
                                  " (is the fuse module loaded and the device accessible?)");
  std::error_code ec;
  const bool remote_source = storage::StoreUrl::is_url(options.source.string());
  if (!remote_source && !fs::exists(options.source, ec))
    fail(ErrorKind::NotFound, "source " + options.source.string() + " does not exist");
  auto mountpoint = absolute_clean(options.mountpoint);
  detach_dead_mounts(mountpoint);
  if (!fs::is_directory(mountpoint, ec))
    fail(ErrorKind::NotFound, "mountpoint " + mountpoint.string() + " is not a folder");
  if (is_mount_point(mountpoint))
    fail(ErrorKind::AlreadyExists, "mountpoint " + mountpoint.string() + " is busy: something is mounted there");
  check_cache_dir(options, mountpoint);
  check_remote_options(options, mountpoint, remote_source);
  // Closed before the fork: its flock would otherwise be shared with the daemon's own.
  auto probe_cache = open_remote_cache_dir(options, mountpoint, remote_source);
  const bool s3_write = remote_source && options.s3_write;  // checked: an s3:// SOURCE, no overlay
  const bool read_only = options.read_only || (remote_source && !options.overlay && !s3_write);
  RemoteConfig remote;
  remote.source_url = remote_source ? options.source.string() : std::string();
  remote.http = http_options(options);
  remote.auth_token = options.auth_token;
  if (options.remote_cache_dir) remote.cache_dir = absolute_clean(*options.remote_cache_dir);
  remote.cache_bytes = options.remote_cache_mb << 20;
  remote.revalidate_after = std::chrono::seconds(options.remote_revalidate_s);
  remote.writable = s3_write;
  std::optional<PrivateFolder> private_folder;
  if (remote_source) {
    // Reachable and a dataset (or, on S3, a prefix with objects) before mounting, so a wrong URL,
    // certificate or credential is reported here. The client goes before the fork (its thread
    // would not survive it); the daemon makes its own at first use. With a cache, the metadata
    // read here comes from it and lands in it, so a remount asks the server nothing it cached.
    const storage::StoreContext probe = RemoteContext::probe(remote, probe_cache);
    auto tree = open_remote_dataset(probe, options.source.string());
    if (options.overlay && !options.read_only) seed_overlay(*tree, *options.overlay);  // -o ro writes nothing
    else private_folder.emplace();
    if (s3_write) seed_overlay(*tree, private_folder->path());  // the staging folder of the write-back
  }
  probe_cache.reset();

  std::unique_ptr<std::FILE, decltype(&std::fclose)> log_file(nullptr, &std::fclose);
  if (options.log_file) {
    log_file.reset(std::fopen(options.log_file->c_str(), "a"));
    if (!log_file) fail_errno("open log file " + options.log_file->string());
  }
  FilesystemConfig config;
  config.source = remote_source ? absolute_clean(options.overlay ? *options.overlay : private_folder->path())
                                 : absolute_clean(options.source);
  config.mountpoint = mountpoint;
  config.read_only = read_only;
  config.remote = remote;  // the core's RemoteContext: the daemon's one client, made after the fork
  config.log = log_file ? log_file.get() : stderr;
  config.lazy = options.lazy;
  config.auto_pyramid = options.auto_pyramid;
  config.chunk_cache = std::make_shared<ChunkCache>(options.chunk_cache_bytes.value_or(default_chunk_cache_bytes()));
  Filesystem filesystem(config);  // throws for a SOURCE that is not a dataset
  filesystem.status().describe_mount(options.given);
  // Before anything writes to a dataset: its lock, so that a second writable mount is refused here,
  // before mounting, and never removes the first one's temp files or recovers under its feet.
  // Datasets created through the mount later are not locked (issue 15 coordinates mounts).
  // A read-only mount takes none (it may coexist with a writer) and writes nothing: not even the
  // temp files of interrupted writes are removed (issue 11 item 8); the mount hides them.
  std::vector<DatasetLock> locks;
  if (!read_only) {
    const std::string purpose = "wkfs mount " + config.source.string() + " on " + mountpoint.string();
    for (const auto& root : filesystem.catalog().dataset_roots())
      locks.emplace_back(root.empty() ? config.source : config.source / root, purpose);
    remove_temp_files(config.source);
  }

  std::string fsname = remote_source ? options.source.string() : config.source.string();
  for (auto& c : fsname)
    if (c == ',') c = '_';  // a comma would end the option
  std::string opts = "fsname=" + fsname + ",subtype=wkfs,default_permissions";
  // A URL SOURCE without an overlay is read-only in the daemon, which refuses every change with a
  // log line naming the URL; the kernel's ro flag would refuse them silently (an explicit -o ro sets it).
  if (options.read_only || (read_only && !remote_source)) opts += ",ro";
  for (const auto& o : options.fuse_options) opts += "," + o;
  std::vector<std::string> args = {"wkfs", "-o", opts};
  if (options.debug) args.push_back("-d");
  FuseSession session(args, fuse_operations(), &filesystem);
  session.mount(mountpoint);
  // The mount exists now; the parent returns (exit 0) and the child serves it. Said on stdout as
  // rclone-class tools do, flushed before the fork so that it is written once.
  std::fprintf(stdout, "mounted %s at %s\n", options.source.c_str(), mountpoint.c_str());
  std::fflush(stdout);
  if (fuse_daemonize(options.foreground ? 1 : 0) != 0) fail(ErrorKind::Io, "cannot daemonise");
  // The child serves: it holds the locks through the descriptors it inherited (flock locks belong to
  // the open file description, which the parent's exit does not close); name it as the holder.
  for (const auto& lock : locks) lock.record_holder();
  KernelInvalidator invalidator(session.get());  // its thread must be started in the child
  filesystem.attach_kernel(&invalidator);
  // Lazy workers notify the kernel through the invalidator and the session: they are joined before
  // those go, on every way out of here.
  struct Detach {
    Filesystem& f;
    ~Detach() {
      f.lazy_engines().clear();
      f.attach_kernel(nullptr);
    }
  } detach{filesystem};
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
  return session.loop() == 0 ? 0 : 1;
}

}  // namespace wkfs::mount
