#pragma once
// Mounting and unmounting: checks that fail early with a clear message, the libfuse session,
// daemonising once the mount is in place, and the multi-threaded session loop.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fs/mount_table.hpp"
#include "lazy/lazy_engine.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;

struct MountOptions {
  fs::path source;
  fs::path mountpoint;
  bool foreground = false;
  bool read_only = false;
  bool s3_write = false;                  // an s3:// SOURCE takes the changes (S3WriteBack); a local one is rw anyway
  bool debug = false;                     // libfuse request tracing (-d)
  std::vector<std::string> fuse_options;  // passed to libfuse as -o (allow_other, ...)
  std::optional<fs::path> log_file;       // error lines; stderr when unset
  LazyConfig lazy;                        // lazy_memory_mb=N, lazy_threads=N, cache_dir=DIR
  std::optional<size_t> chunk_cache_bytes;  // chunk_cache_mb=N: the decoded-chunk cache's cap
  bool auto_pyramid = false;              // pyramid=auto: default lazy pyramid for single-mag layers
  std::optional<fs::path> overlay;        // overlay=DIR: the local folder taking the changes of a URL SOURCE
  std::string ca_file;                    // ca_file=PATH: PEM bundle for private https/s3 endpoints
  std::string auth_token;                 // auth_token=TOKEN: X-Auth-Token for http(s) stores
  unsigned remote_timeout_s = 30;         // remote_timeout_s=N: a remote read gives EIO after at most N s
  std::optional<fs::path> remote_cache_dir;  // remote_cache_dir=DIR: remote bytes kept there across mounts
  uint64_t remote_cache_mb = 1024;           // remote_cache_mb=N: its cap, 1..2^30 MiB
  unsigned remote_revalidate_s = 60;         // remote_revalidate_s=S: a cached range is trusted S s, 0..86400
  std::vector<std::string> given;            // every -o word taken, as typed (auth_token's value hidden): logs, .wkfs-status
};

/// Parses a mount(8)-style option string ("ro,allow_other,log=/x") into `options`; drops the
/// fstab-only words (defaults, auto, noauto, user, nofail, _netdev, x-*...). InvalidArgument for a
/// number out of range (lazy_threads <= 256, lazy_memory_mb and chunk_cache_mb <= physical memory,
/// 1 <= remote_timeout_s <= 3600, 1 <= remote_cache_mb <= 2^30, remote_revalidate_s <= 86400) or an
/// empty overlay=, ca_file=, auth_token=, remote_cache_dir=.
void apply_option_string(MountOptions& options, const std::string& text);

/// Detaches every FUSE mount at `mountpoint` whose daemon is gone (killed); Busy if the daemon of
/// one does not answer.
void detach_dead_mounts(const fs::path& mountpoint);

/// Mounts and serves until unmounted; a writable mount locks each dataset (DatasetLock) first. Without `foreground`, returns in the parent (exit code 0)
/// once the mount is ready while a child serves it. Throws wkfs::Error for failures before that.
int run_mount(const MountOptions& options);

}  // namespace wkfs::mount
