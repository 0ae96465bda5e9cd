#include "core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>

#include "core/error.hpp"

namespace wkfs {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd open_file(const fs::path& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) fail_errno("cannot open " + path.string());
  return UniqueFd(fd);
}

std::optional<Bytes> read_file_if_exists(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("cannot open " + path.string());
  }
  UniqueFd f(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno("cannot stat " + path.string());
  Bytes out(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("cannot read " + path.string());
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

Bytes read_file(const fs::path& path) {
  auto b = read_file_if_exists(path);
  if (!b) fail(ErrorKind::NotFound, "file not found: " + path.string());
  return std::move(*b);
}

Bytes pread_exact(int fd, uint64_t offset, size_t len, const fs::path& path) {
  Bytes out(len);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("cannot read " + path.string());
    }
    if (n == 0)
      fail(ErrorKind::Corrupt, path.string() + ": file ends at " + std::to_string(offset + done) +
                                   ", expected " + std::to_string(len) + " bytes at offset " +
                                   std::to_string(offset));
    done += static_cast<size_t>(n);
  }
  return out;
}

bool is_temp_file_name(const std::string& name) {
  return name.find(kTempMarker) != std::string::npos;
}

namespace {
std::string random_suffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
         std::to_string(rng() % 1000000);
}

void write_all(int fd, const std::byte* data, size_t len, const fs::path& path) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::write(fd, data + done, len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("cannot write " + path.string());
    }
    done += static_cast<size_t>(n);
  }
}
}  // namespace

void write_file_atomic(const fs::path& path, ByteSpan data) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  fs::path tmp = dir / ("." + path.filename().string() + kTempMarker + random_suffix());
  {
    UniqueFd fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    try {
      write_all(fd.get(), data.data(), data.size(), tmp);
      if (::fsync(fd.get()) != 0) fail_errno("cannot fsync " + tmp.string());
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    fail_errno("cannot rename " + tmp.string() + " to " + path.string());
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // makes the rename durable; failure here does not undo the replacement
    ::close(dfd);
  }
}

void write_file_atomic(const fs::path& path, const std::string& text) {
  write_file_atomic(path, ByteSpan(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

size_t remove_temp_files(const fs::path& root) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!is_temp_file_name(it->path().filename().string())) continue;
    if (it->is_directory(ec)) {
      // a StagedDir that a crash left behind: never in place, so never part of the dataset
      it.disable_recursion_pending();
      fs::remove_all(it->path(), ec);
      ++n;
    } else if (it->is_regular_file(ec)) {
      fs::remove(it->path(), ec);
      ++n;
    }
  }
  return n;
}

}  // namespace wkfs
