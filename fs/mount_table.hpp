#pragma once
// What the kernel's mount table says about a folder, and the calls that change it (unmount, the
// mount's readahead), for the mount command and the benches.
#include <filesystem>

namespace wkfs::mount {

namespace fs = std::filesystem;

/// Absolute, normalised, without a trailing slash.
fs::path absolute_clean(const fs::path& p);
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
