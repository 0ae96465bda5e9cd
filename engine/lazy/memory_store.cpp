#include "lazy/memory_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.hpp"
#include "lazy/file_times.hpp"

namespace wkfs {

namespace {

int dup_fd(int fd) {
  int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) fail_errno("dup of an in-memory lazy file");
  return d;
}

/// A sealed memfd holding `bytes`, reopened read-only: readers can neither change nor resize it.
UniqueFd sealed_memfd(const std::string& name, ByteSpan bytes) {
  UniqueFd rw(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!rw) fail_errno("memfd_create for " + name);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(rw.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("writing " + name + " to memory");  // ENOMEM/ENOSPC keep their errno
    done += static_cast<size_t>(n);
  }
  if (::fcntl(rw.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    fail_errno("sealing " + name);
  const std::string self = "/proc/self/fd/" + std::to_string(rw.get());
  UniqueFd ro(::open(self.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ro) fail_errno("reopening " + name + " read-only");
  return ro;
}

}  // namespace

UniqueFd MemoryStore::open(const fs::path& rel) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(rel.generic_string());
  if (it == files_.end()) return {};
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return UniqueFd(dup_fd(it->second.fd.get()));
}

bool MemoryStore::contains(const fs::path& rel) const {
  std::lock_guard lock(mu_);
  return files_.count(rel.generic_string()) > 0;
}

UniqueFd MemoryStore::put(const fs::path& rel, ByteSpan bytes) {
  const std::string key = rel.generic_string();
  UniqueFd fd = sealed_memfd(key, bytes);
  if (bytes.size() > cap_) {
    remove(rel);  // an older version must not be served instead
    return fd;
  }
  std::lock_guard lock(mu_);
  if (auto it = files_.find(key); it != files_.end()) {
    bytes_ -= it->second.size;
    lru_.erase(it->second.lru);
    files_.erase(it);
  }
  while (bytes_ + bytes.size() > cap_ && !lru_.empty()) {
    auto victim = files_.find(lru_.back());
    bytes_ -= victim->second.size;
    files_.erase(victim);
    lru_.pop_back();
  }
  lru_.push_front(key);
  File f;
  f.fd = UniqueFd(dup_fd(fd.get()));
  f.size = bytes.size();
  f.modified = now_ns();
  f.lru = lru_.begin();
  files_.emplace(key, std::move(f));
  bytes_ += bytes.size();
  return fd;
}

bool MemoryStore::remove(const fs::path& rel) {
  std::lock_guard lock(mu_);
  auto it = files_.find(rel.generic_string());
  if (it == files_.end()) return false;
  bytes_ -= it->second.size;
  lru_.erase(it->second.lru);
  files_.erase(it);
  return true;
}

void MemoryStore::for_each_under(const fs::path& rel_dir, const std::function<void(const fs::path&)>& fn) const {
  std::vector<fs::path> under;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, f] : files_) {
      fs::path r = fs::path(key).lexically_relative(rel_dir);
      if (!r.empty() && *r.begin() != "..") under.push_back(std::move(r));
    }
  }
  for (const auto& r : under) fn(r);  // unlocked: fn may ask the store
}

std::optional<int64_t> MemoryStore::modified_at(const fs::path& rel) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(rel.generic_string());
  if (it == files_.end()) return std::nullopt;
  return it->second.modified;
}

size_t MemoryStore::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace wkfs
