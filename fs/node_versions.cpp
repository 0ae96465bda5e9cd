#include "fs/node_versions.hpp"

namespace wkfs::mount {

std::shared_ptr<const NodeVersions::Version> NodeVersions::open_version(Ino ino) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(ino);
  return it == open_.end() ? nullptr : it->second.lock();
}

std::shared_ptr<const NodeVersions::Version> NodeVersions::share(Ino ino, fs::path rel, UniqueFd fd, bool& fresh) {
  auto made = std::make_shared<const Version>(Version{std::move(rel), std::move(fd)});
  std::lock_guard lock(mu_);
  auto& slot = open_[ino];
  if (auto first = slot.lock()) {
    fresh = false;
    return first;
  }
  slot = made;
  fresh = true;
  return made;
}

bool NodeVersions::unlinked(Ino ino) const {
  auto v = open_version(ino);
  struct stat st {};
  return v && ::fstat(v->fd.get(), &st) == 0 && st.st_nlink == 0;
}

void NodeVersions::remember(Ino ino, const struct stat& st) {
  std::lock_guard lock(mu_);
  last_[ino] = st;
}

std::optional<struct stat> NodeVersions::attr(Ino ino) const {
  if (auto v = open_version(ino)) {
    struct stat st {};
    if (::fstat(v->fd.get(), &st) == 0) return st;
  }
  std::lock_guard lock(mu_);
  auto it = last_.find(ino);
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

void NodeVersions::forget(Ino ino) {
  std::lock_guard lock(mu_);
  open_.erase(ino);
  last_.erase(ino);
}

}  // namespace wkfs::mount
