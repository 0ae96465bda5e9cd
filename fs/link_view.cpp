#include "fs/link_view.hpp"

namespace wkfs::mount {

bool in_link_view(const fs::path& rel) { return !rel.empty() && *rel.begin() == kLinkViewDir; }

fs::path link_view_inner(const fs::path& rel) {
  fs::path inner;
  for (auto it = std::next(rel.begin()); it != rel.end(); ++it) inner /= *it;
  return inner;
}

std::string link_view_target(const fs::path& link_rel) {
  // relative, so it holds wherever the mount is reached from (another mountpoint path, a bind mount)
  fs::path up;
  for (auto it = std::next(link_rel.begin()); it != link_rel.end(); ++it) up /= "..";
  return (up / kLinkViewDir / link_rel).string();
}

}  // namespace wkfs::mount
