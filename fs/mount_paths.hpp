#pragma once
// Where a path of the mount lives in the backing folder (SOURCE), and how a path argument of a
// command or symlink is read: relative to the folder it was given in, and through our own mount
// point mapped to SOURCE (the daemon must never read through itself).
#include <filesystem>
#include <string>

#include "fs/link_view.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;

class MountPaths {
 public:
  MountPaths(fs::path source, fs::path mountpoint) : source_(std::move(source)), mountpoint_(std::move(mountpoint)) {}

  const fs::path& source() const { return source_; }
  const fs::path& mountpoint() const { return mountpoint_; }
  /// The backing path of mount-relative `rel` (a path in the link view: of the path it shows).
  fs::path backing(const fs::path& rel) const {
    if (in_link_view(rel)) return backing(link_view_inner(rel));
    return rel.empty() ? source_ : source_ / rel;
  }
  /// A path argument given in folder `dir_rel` (or `cwd`, if not empty) as a backing path.
  fs::path resolve_argument(const std::string& arg, const fs::path& dir_rel, const std::string& cwd) const;

 private:
  fs::path source_;
  fs::path mountpoint_;  // absolute; empty when not mounted (tests)
};

}  // namespace wkfs::mount
