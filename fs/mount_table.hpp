#pragma once
// What the kernel's mount table says about a folder, and the calls that change it (unmount, the
// mount's readahead), for the mount command and the benches.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace wkfs::mount {

namespace fs = std::filesystem;

/// Absolute, normalised, without a trailing slash.
fs::path absolute_clean(const fs::path& p);
/// True if `path` is listed as a mount point in /proc/self/mountinfo.
bool is_mount_point(const fs::path& path);
/// What stands at a mount point.
enum class MountState {
  None,          // nothing is mounted there
  Live,          // a mount that answers (or one that is not FUSE)
  Dead,          // a FUSE mount whose daemon is gone: every request fails with ENOTCONN
  Unresponsive,  // a FUSE mount whose daemon did not answer within the timeout (hung or stopped)
};
/// The top mount at `path` as /proc/self/mountinfo lists it.
struct MountEntry {
  std::string device;  // "major:minor"; for FUSE, the minor names /sys/fs/fuse/connections/<minor>
  std::string fstype;  // "fuse.wkfs", "ext4", ...
};
/// The top mount at `path`, if something is mounted there.
std::optional<MountEntry> mount_at(const fs::path& path);
/// Probes the top mount at `path`: a FUSE mount is asked statfs(), which the kernel never answers
/// from a cache, unlike stat(); waits at most `timeout` for the answer.
MountState probe_mount(const fs::path& path, std::chrono::milliseconds timeout);
/// The connection's folder in fusectl (/sys/fs/fuse/connections/<minor>) for a FUSE mount, or "".
fs::path fuse_connection_dir(const MountEntry& entry);
/// Unmounts (umount2, or fusermount3 -u when not permitted); `lazy` detaches a busy mount.
void unmount(const fs::path& mountpoint, bool lazy);
/// Sets the mount's bdi read_ahead_kb (1 MiB requests for sequential reads); false if not possible.
bool set_read_ahead(const fs::path& mountpoint, int kib);
/// The kernel sets the bdi's readahead when it processes the FUSE_INIT reply, overwriting an
/// earlier value: call this from the init callback; it sets read_ahead_kb shortly afterwards.
void set_read_ahead_after_init(const fs::path& mountpoint, int kib);

}  // namespace wkfs::mount
