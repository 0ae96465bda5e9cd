#include "fs/open_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace wkfs::mount {

size_t OpenFile::write(const char*, size_t, off_t) { fail_errno(EACCES, rel_.string() + " is not writable"); }

void OpenFile::truncate(off_t) { fail_errno(EACCES, rel_.string() + " cannot be truncated"); }

size_t BackingFile::read(char* buf, size_t size, off_t off) {
  ssize_t n = ::pread(fd_.get(), buf, size, off);
  if (n < 0) fail_errno("read " + rel().string());
  return static_cast<size_t>(n);
}

size_t BackingFile::write(const char* buf, size_t size, off_t off) {
  ssize_t n = ::pwrite(fd_.get(), buf, size, off);
  if (n < 0) fail_errno("write " + rel().string());
  written_ = true;
  return static_cast<size_t>(n);
}

void BackingFile::fsync(bool datasync) {
  if ((datasync ? ::fdatasync(fd_.get()) : ::fsync(fd_.get())) != 0) fail_errno("fsync " + rel().string());
}

void BackingFile::truncate(off_t size) {
  if (::ftruncate(fd_.get(), size) != 0) fail_errno("truncate " + rel().string());
  written_ = true;
}

std::optional<struct stat> BackingFile::attr() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) fail_errno("fstat " + rel().string());
  return st;
}

size_t TextFile::read(char* buf, size_t size, off_t off) { return read_text_at(text_, buf, size, off); }

size_t read_text_at(const std::string& text, char* buf, size_t size, off_t off) {
  if (off < 0 || static_cast<size_t>(off) >= text.size()) return 0;
  size_t n = std::min(size, text.size() - static_cast<size_t>(off));
  std::memcpy(buf, text.data() + off, n);
  return n;
}

}  // namespace wkfs::mount
