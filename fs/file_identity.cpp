#include "fs/file_identity.hpp"

namespace wkfs::mount {

bool FileIdentities::Version::operator==(const Version& o) const {
  return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
         mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
}

bool FileIdentities::changed(Ino ino, const struct stat& st) {
  Version v{st.st_dev, st.st_ino, st.st_mtim, st.st_ctim, st.st_size};
  std::lock_guard lock(mu_);
  auto [it, inserted] = versions_.try_emplace(ino, v);
  if (inserted) return false;  // first open of the node: the kernel has nothing of it cached
  const bool differs = !(it->second == v);
  it->second = v;
  return differs;
}

void FileIdentities::forget(Ino ino) {
  std::lock_guard lock(mu_);
  versions_.erase(ino);
}

}  // namespace wkfs::mount
