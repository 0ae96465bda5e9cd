#pragma once
// Mounting and unmounting: checks that fail early with a clear message, the libfuse session,
// daemonising once the mount is in place, and the multi-threaded session loop.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lazy/lazy_engine.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;

struct MountOptions {
  fs::path source;
  fs::path mountpoint;
  bool foreground = false;
  bool read_only = false;
  bool debug = false;                     // libfuse request tracing (-d)
  std::vector<std::string> fuse_options;  // passed to libfuse as -o (allow_other, ...)
  std::optional<fs::path> log_file;       // error lines; stderr when unset
  LazyConfig lazy;                        // lazy_memory_mb=N, lazy_threads=N
  std::optional<size_t> chunk_cache_bytes;  // chunk_cache_mb=N: the decoded-chunk cache's cap
  bool auto_pyramid = false;              // pyramid=auto: default lazy pyramid for single-mag layers
};

/// Parses a mount(8)-style option string ("ro,allow_other,log=/x") into `options`; drops the
/// fstab-only words (defaults, auto, noauto, user, nofail, _netdev, x-*...).
void apply_option_string(MountOptions& options, const std::string& text);

/// Mounts and serves until unmounted. Without `foreground`, returns in the parent (exit code 0)
/// once the mount is ready while a child serves it. Throws wkfs::Error for failures before that.
int run_mount(const MountOptions& options);

/// True if `path` is listed as a mount point in /proc/self/mountinfo.
bool is_mount_point(const fs::path& path);
/// True if stat(path) fails with ENOTCONN (a FUSE mount whose daemon died).
bool is_stale_mount(const fs::path& path);
/// Unmounts (umount2, or fusermount3 -u when not permitted); `lazy` detaches a busy mount.
void unmount(const fs::path& mountpoint, bool lazy);
/// Sets the mount's bdi read_ahead_kb (1 MiB requests for sequential reads); false if not possible.
bool set_read_ahead(const fs::path& mountpoint, int kib);
/// The kernel sets the bdi's readahead when it processes the FUSE_INIT reply, overwriting an
/// earlier value: call this from the init callback; it sets read_ahead_kb shortly afterwards.
void set_read_ahead_after_init(const fs::path& mountpoint, int kib);

}  // namespace wkfs::mount
