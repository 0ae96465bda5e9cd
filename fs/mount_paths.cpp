#include "fs/mount_paths.hpp"

namespace wkfs::mount {

fs::path MountPaths::resolve_argument(const std::string& arg, const fs::path& dir_rel, const std::string& cwd) const {
  fs::path p(arg);
  if (p.is_relative()) p = (cwd.empty() ? mountpoint_ / dir_rel : fs::path(cwd)) / p;
  p = p.lexically_normal();
  if (mountpoint_.empty()) return p;
  auto rel = p.lexically_relative(mountpoint_);
  if (!rel.empty() && *rel.begin() != "..") return backing(rel == "." ? fs::path() : rel).lexically_normal();
  return p;
}

}  // namespace wkfs::mount
