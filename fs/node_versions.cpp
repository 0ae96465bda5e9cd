#include "fs/node_versions.hpp"

#include <unistd.h>

#include "core/error.hpp"

namespace wkfs::mount {

struct stat FileVersion::attr() const {
  if (text) return text_attr;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_errno("fstat " + rel.string());
  return st;
}

size_t FileVersion::read(char* buf, size_t size, off_t off) const {
  if (text) return read_text_at(*text, buf, size, off);
  ssize_t n = ::pread(fd.get(), buf, size, off);
  if (n < 0) fail_errno("read " + rel.string());
  return static_cast<size_t>(n);
}

std::shared_ptr<const FileVersion> NodeVersions::open_version(Ino ino) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(ino);
  return it == open_.end() ? nullptr : it->second.lock();
}

std::shared_ptr<const FileVersion> NodeVersions::share(Ino ino, FileVersion made, bool& fresh) {
  auto version = std::make_shared<const FileVersion>(std::move(made));
  std::lock_guard lock(mu_);
  auto& slot = open_[ino];
  if (auto first = slot.lock()) {
    fresh = false;
    return first;
  }
  slot = version;
  fresh = true;
  return version;
}

void NodeVersions::remember(Ino ino, const struct stat& st) {
  std::lock_guard lock(mu_);
  last_[ino] = st;
}

std::optional<struct stat> NodeVersions::attr(Ino ino) const {
  if (auto v = open_version(ino)) return v->attr();
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
