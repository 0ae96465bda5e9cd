#include "fs/open_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace wkfs::mount {

size_t OpenFile::write(const char*, size_t, off_t) { fail_errno(EACCES, rel_.string() + " is not writable"); }

void OpenFile::truncate(off_t) { fail_errno(EACCES, rel_.string() + " cannot be truncated"); }

namespace {

std::string copy_suffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "." + std::to_string(counter++) + ".w";
}

// Copies all of `from` into `to`: copy_file_range (in-kernel, no user-space buffer), read/write
// where that is not supported (another filesystem type, old kernels).
void copy_content(int from, int to, const fs::path& what) {
  struct stat st {};
  if (::fstat(from, &st) != 0) fail_errno("fstat " + what.string());
  off_t in = 0, out = 0;
  while (in < st.st_size) {
    ssize_t n = ::copy_file_range(from, &in, to, &out, static_cast<size_t>(st.st_size - in), 0);
    if (n > 0) continue;
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) fail_errno("copy " + what.string());
    std::vector<char> buf(size_t{1} << 20);
    while (true) {
      ssize_t r = ::pread(from, buf.data(), buf.size(), in);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail_errno("read " + what.string());
      if (r == 0) return;
      for (ssize_t done = 0; done < r;) {
        ssize_t w = ::pwrite(to, buf.data() + done, static_cast<size_t>(r - done), out);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) fail_errno("write copy of " + what.string());
        done += w;
        out += w;
      }
      in += r;
    }
  }
}

}  // namespace

std::pair<fs::path, UniqueFd> private_copy(const fs::path& target, int from, mode_t mode) {
  fs::path copy = target.parent_path() / ("." + target.filename().string() + kTempMarker + copy_suffix());
  struct stat st {};
  const bool have_from = from >= 0 && ::fstat(from, &st) == 0;
  UniqueFd fd = open_file(copy, O_RDWR | O_CREAT | O_EXCL, have_from ? (st.st_mode & 07777) : mode);
  try {
    if (have_from) {
      if (::fchown(fd.get(), st.st_uid, st.st_gid) != 0) {
      }  // as root the copy keeps the owner; as a user it is ours anyway
      if (::fchmod(fd.get(), st.st_mode & 07777) != 0) fail_errno("chmod " + copy.string());
      // A reflink shares the blocks (btrfs, xfs): O(1) whatever the size; ext4 and tmpfs copy.
      if (::ioctl(fd.get(), FICLONE, from) != 0) copy_content(from, fd.get(), target);
    }
  } catch (...) {
    ::unlink(copy.c_str());
    throw;
  }
  return {copy, std::move(fd)};
}

BackingFile::BackingFile(fs::path rel, fs::path target, UniqueFd current, bool empty, mode_t mode, PublishFn publish)
    : OpenFile(std::move(rel)), fd_(std::move(current)), target_(std::move(target)), mode_(mode),
      publish_(std::move(publish)), written_(false) {
  // The copy is made at the first change: a handle opened O_RDWR only to read copies nothing.
  std::lock_guard lock(mu_);
  if (empty) ensure_copy(true);
  pending_ = empty;  // truncated or new: a change even if nothing is written
}

BackingFile::~BackingFile() {
  if (!copy_.empty()) ::unlink(copy_.c_str());
}

void BackingFile::ensure_copy(bool empty) {
  if (target_.empty() || !copy_.empty()) return;
  auto [path, fd] = private_copy(target_, empty ? -1 : fd_.get(), mode_);
  copy_ = std::move(path);
  fd_ = std::move(fd);
}

void BackingFile::publish_locked() {
  if (target_.empty() || !pending_) return;
  if (::fsync(fd_.get()) != 0) fail_errno("fsync " + rel().string());
  publish_([this] {
    if (::rename(copy_.c_str(), target_.c_str()) != 0) fail_errno("replace " + rel().string());
    copy_.clear();  // fd_ is the file itself now
    UniqueFd dir(::open(target_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir && ::fsync(dir.get()) != 0) fail_errno("fsync folder of " + rel().string());
  });
  pending_ = false;
}

size_t BackingFile::read(char* buf, size_t size, off_t off) {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!target_.empty()) lock.lock();
  ssize_t n = ::pread(fd_.get(), buf, size, off);
  if (n < 0) fail_errno("read " + rel().string());
  return static_cast<size_t>(n);
}

size_t BackingFile::write(const char* buf, size_t size, off_t off) {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!target_.empty()) lock.lock();
  ensure_copy(false);
  ssize_t n = ::pwrite(fd_.get(), buf, size, off);
  if (n < 0) fail_errno("write " + rel().string());
  if (target_.empty()) written_ = true;
  else pending_ = true;
  return static_cast<size_t>(n);
}

void BackingFile::flush() {
  if (target_.empty()) return;
  std::lock_guard lock(mu_);
  publish_locked();
}

void BackingFile::fsync(bool datasync) {
  if (!target_.empty()) {
    std::lock_guard lock(mu_);
    if (pending_) return publish_locked();
  }
  if ((datasync ? ::fdatasync(fd_.get()) : ::fsync(fd_.get())) != 0) fail_errno("fsync " + rel().string());
}

void BackingFile::truncate(off_t size) {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!target_.empty()) lock.lock();
  ensure_copy(size == 0);
  if (::ftruncate(fd_.get(), size) != 0) fail_errno("truncate " + rel().string());
  if (target_.empty()) written_ = true;
  else pending_ = true;
}

std::optional<struct stat> BackingFile::attr() const {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!target_.empty()) lock.lock();
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) fail_errno("fstat " + rel().string());
  return st;
}

int BackingFile::fd() const {
  std::lock_guard lock(mu_);
  return fd_.get();
}

size_t TextFile::read(char* buf, size_t size, off_t off) { return read_text_at(text_, buf, size, off); }

size_t read_text_at(const std::string& text, char* buf, size_t size, off_t off) {
  if (off < 0 || static_cast<size_t>(off) >= text.size()) return 0;
  size_t n = std::min(size, text.size() - static_cast<size_t>(off));
  std::memcpy(buf, text.data() + off, n);
  return n;
}

}  // namespace wkfs::mount
