#pragma once
// The values the filesystem core returns to the FUSE adapter: node ids, attributes with how long
// the kernel may cache them, and directory entries. Nothing here depends on libfuse, so the core
// is driven by unit tests without a kernel mount.
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wkfs::mount {

/// A node id as the kernel sees it (fuse_ino_t); the mount root is kRootIno.
using Ino = uint64_t;
inline constexpr Ino kRootIno = 1;

/// Attributes and how long the kernel may keep them (seconds).
struct Attr {
  struct stat st {};
  double timeout = 0;
};

/// A looked-up name: its node (0 for a cached miss, a "negative entry") and attributes.
struct Entry {
  Ino ino = 0;
  struct stat attr {};
  double timeout = 0;  // both the entry and the attribute timeout
};

/// One name of a folder listing.
struct DirEntry {
  std::string name;
  ino_t ino = 0;
  unsigned char type = 0;  // DT_REG, DT_DIR, ...
};

using Listing = std::vector<DirEntry>;

}  // namespace wkfs::mount
