#pragma once
// What an open file handle of the mount is: a backing file passed through, or one of the
// daemon's own files (a text snapshot, the properties editor, a control file). The FUSE adapter
// keeps the handle in fi->fh and hands it back to the core on every request.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

#include "core/file_io.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;

class OpenFile {
 public:
  explicit OpenFile(fs::path rel) : rel_(std::move(rel)) {}
  virtual ~OpenFile() = default;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  /// The path it was opened at, relative to the mount root.
  const fs::path& rel() const { return rel_; }
  /// Reads up to `size` bytes at `off` into `buf`; returns how many.
  virtual size_t read(char* buf, size_t size, off_t off) = 0;
  /// Writes at `off`; returns how many bytes were taken. The default refuses (EACCES).
  virtual size_t write(const char* buf, size_t size, off_t off);
  /// close(): what must be complete when close returns.
  virtual void flush() {}
  /// fsync(2)/fdatasync(2).
  virtual void fsync(bool datasync) { (void)datasync; }
  /// Truncates the open file; the default refuses (EACCES).
  virtual void truncate(off_t size);
  /// The open file's own attributes, or nullopt to use the path's.
  virtual std::optional<struct stat> attr() const { return std::nullopt; }
  /// The descriptor for chmod/chown/utimens on the backing file, or -1.
  virtual int fd() const { return -1; }
  /// True once if the backing data changed through this handle since the last call.
  virtual bool take_written() { return false; }

 private:
  fs::path rel_;
};

/// A backing file passed through with pread/pwrite.
class BackingFile final : public OpenFile {
 public:
  /// `changed`: the file was created or truncated on open, a change even if nothing is written.
  BackingFile(fs::path rel, UniqueFd fd, bool changed) : OpenFile(std::move(rel)), fd_(std::move(fd)), written_(changed) {}
  size_t read(char* buf, size_t size, off_t off) override;
  size_t write(const char* buf, size_t size, off_t off) override;
  void fsync(bool datasync) override;
  void truncate(off_t size) override;
  std::optional<struct stat> attr() const override;
  int fd() const override { return fd_.get(); }
  bool take_written() override { return written_.exchange(false); }

 private:
  UniqueFd fd_;
  std::atomic<bool> written_;
};

/// A text fixed at open: the status snapshot, the properties file with pending lazy mags.
class TextFile final : public OpenFile {
 public:
  TextFile(fs::path rel, std::string text) : OpenFile(std::move(rel)), text_(std::move(text)) {}
  size_t read(char* buf, size_t size, off_t off) override;

 private:
  std::string text_;
};

/// Copies the part of `text` at `off` into `buf` (a read of a daemon-made file).
size_t read_text_at(const std::string& text, char* buf, size_t size, off_t off);

}  // namespace wkfs::mount
