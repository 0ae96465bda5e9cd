#include "fs/dir_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "core/error.hpp"

namespace wkfs::mount {

namespace {

int64_t ns(const struct timespec& t) { return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

unsigned char dirent_type(bool is_dir) { return static_cast<unsigned char>(is_dir ? DT_DIR : DT_REG); }

}  // namespace

ino_t lazy_ino(const std::string& name) { return static_cast<ino_t>(std::hash<std::string>{}(name) | 1); }

std::shared_ptr<const DirListing::Snapshot> DirListing::find(const std::string& rel, const struct stat& st) {
  std::lock_guard lock(mutex_);
  auto it = by_path_.find(rel);
  if (it == by_path_.end()) return nullptr;
  const auto& s = *it->second;
  if (s.ino != st.st_ino || ns(s.mtime) != ns(st.st_mtim)) return nullptr;
  return it->second;
}

void DirListing::store(const std::string& rel, const struct stat& st, const Listing& entries) {
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  if (ns(now) - ns(st.st_mtim) < kQuietNs) return;  // changed just now: may change again unseen
  auto snap = std::make_shared<const Snapshot>(Snapshot{st.st_ino, st.st_mtim, entries});
  std::lock_guard lock(mutex_);
  if (by_path_.size() >= kMaxFolders) by_path_.clear();
  by_path_[rel] = std::move(snap);
}

Listing DirListing::read_backing(int fd, const PathInfo& dir) const {
  int dup_fd = ::dup(fd);
  if (dup_fd < 0) fail_errno("dup " + dir.rel.string());
  std::unique_ptr<DIR, DirCloser> d(::fdopendir(dup_fd));
  if (!d) {
    int err = errno;
    ::close(dup_fd);
    fail_errno(err, "fdopendir " + dir.rel.string());
  }
  Listing out{{".", 0, DT_DIR}, {"..", 0, DT_DIR}};
  const bool dataset_root = dir.in_dataset_root();
  while (auto* e = ::readdir(d.get())) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || is_temp_file_name(n) || (dataset_root && is_state_name(n))) continue;
    out.push_back({std::move(n), e->d_ino, e->d_type});
  }
  return out;
}

std::unique_ptr<OpenDir> DirListing::open(const fs::path& backing, const PathInfo& dir) {
  auto d = std::make_unique<OpenDir>();
  d->rel = dir.rel;
  // folders of (and inside) a mag may hold lazy files that are listed before they exist
  const bool in_mag = dir.loc && dir.loc->inner.size() >= 2;
  auto lazy_entries = in_mag ? overlay_.entries(dir) : std::vector<std::pair<std::string, bool>>{};
  int fd = ::open(backing.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 && errno == ENOENT && !lazy_entries.empty()) {
    // a folder of a lazy mag that holds no computed file yet
    d->entries = {{".", 0, DT_DIR}, {"..", 0, DT_DIR}};
    for (auto& [name, is_dir] : lazy_entries) d->entries.push_back({name, lazy_ino(name), dirent_type(is_dir)});
    return d;
  }
  if (fd < 0) fail_errno("opendir " + dir.rel.string());
  d->fd = UniqueFd(fd);
  struct stat st {};
  const bool have_st = ::fstat(fd, &st) == 0;
  if (auto cached = have_st ? find(dir.rel.string(), st) : nullptr) {
    d->entries = cached->entries;
  } else {
    d->entries = read_backing(fd, dir);
    if (have_st) store(dir.rel.string(), st, d->entries);
  }
  if (!lazy_entries.empty()) {
    // files of a lazy mag are listed whether computed or not
    std::set<std::string> present;
    for (const auto& e : d->entries) present.insert(e.name);
    for (auto& [name, is_dir] : lazy_entries)
      if (!present.count(name)) d->entries.push_back({name, lazy_ino(name), dirent_type(is_dir)});
  }
  return d;
}

}  // namespace wkfs::mount
