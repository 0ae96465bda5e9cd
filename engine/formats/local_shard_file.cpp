#include "formats/local_shard_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.hpp"

namespace wkfs {

LocalShardFile::LocalShardFile(UniqueFd owned, int fd, const std::string& path)
    : ShardFile(path), owned_(std::move(owned)), fd_(fd) {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail_errno("cannot stat " + path);
  version_.inode = static_cast<uint64_t>(st.st_ino);
  version_.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  version_.size = static_cast<uint64_t>(st.st_size);
}

std::unique_ptr<LocalShardFile> LocalShardFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return nullptr;
    fail_errno("cannot open " + path);
  }
  UniqueFd owned(fd);
  return std::make_unique<LocalShardFile>(std::move(owned), fd, path);
}

std::unique_ptr<LocalShardFile> LocalShardFile::borrow(int fd, const std::string& path) {
  return std::make_unique<LocalShardFile>(UniqueFd(), fd, path);
}

Bytes LocalShardFile::read(storage::ByteRange range) {
  using Kind = storage::ByteRange::Kind;
  const uint64_t size = version_.size;
  switch (range.kind()) {
    case Kind::Whole: return pread_exact(fd_, 0, size, name());
    case Kind::Suffix: {
      uint64_t n = std::min<uint64_t>(range.length(), size);
      return pread_exact(fd_, size - n, n, name());
    }
    case Kind::Span: break;
  }
  return pread_exact(fd_, range.offset(), range.length(), name());
}

ByteSpan LocalShardFile::read_scratch(uint64_t offset, size_t len) {
  // Per thread, not per handle: a handle lives for one shard of one read, a thread reads many.
  thread_local Bytes scratch;
  if (scratch.size() < len) scratch.resize(len);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd_, scratch.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("cannot read " + name());
    }
    if (n == 0)
      fail(ErrorKind::Corrupt, name() + ": file ends at " + std::to_string(offset + done) + ", expected " +
                                   std::to_string(len) + " bytes at offset " + std::to_string(offset));
    done += static_cast<size_t>(n);
  }
  return ByteSpan(scratch.data(), len);
}

}  // namespace wkfs
