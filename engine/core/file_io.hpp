#pragma once
// File access with RAII descriptors, and the one way wkfs replaces files: atomically.
#include <filesystem>
#include <optional>
#include <string>

#include "core/bytes.hpp"

namespace wkfs {

namespace fs = std::filesystem;

/// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

/// Opens with open(2); throws Error (NotFound, Io...) naming the path on failure.
UniqueFd open_file(const fs::path& path, int flags, int mode = 0644);

/// Whole file contents; throws NotFound if it does not exist.
Bytes read_file(const fs::path& path);
/// Whole file contents, or nullopt if the file does not exist.
std::optional<Bytes> read_file_if_exists(const fs::path& path);
/// Reads exactly `len` bytes at `offset`; Corrupt if the file is shorter.
Bytes pread_exact(int fd, uint64_t offset, size_t len, const fs::path& path_for_errors);

/// Suffix marker of wkfs temp files; such files are never listed and are removed on mount.
inline constexpr const char* kTempMarker = ".wkfs-tmp.";
/// True for names made by write_file_atomic's temp files.
bool is_temp_file_name(const std::string& name);

/// Replaces `path` atomically: temp file in the same folder, fsync, rename, fsync of the folder.
void write_file_atomic(const fs::path& path, ByteSpan data);
void write_file_atomic(const fs::path& path, const std::string& text);

/// Removes leftover wkfs temp files and staged folders below `root` (after a crash); returns how many.
size_t remove_temp_files(const fs::path& root);

}  // namespace wkfs
