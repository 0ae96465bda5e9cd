#pragma once
// What an open file handle of the mount is: a backing file passed through, or one of the
// daemon's own files (a text snapshot, the properties editor, a control file). The FUSE adapter
// keeps the handle in fi->fh and hands it back to the core on every request.
#include <sys/stat.h>
#include <sys/uio.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <filesystem>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "core/file_io.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;

/// Bytes of a read as pieces of buffers a handle already holds, replied without a copy into a
/// reply buffer; `keep` holds the buffers until the reply is sent.
struct ReadView {
  std::vector<iovec> parts;
  std::shared_ptr<const void> keep;
};

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
  /// The bytes read() would give, as views into the handle's own buffers; nullopt (the default)
  /// means read() is the way.
  virtual std::optional<ReadView> read_view(size_t size, off_t off) {
    (void)size;
    (void)off;
    return std::nullopt;
  }
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

/// How a write handle's private copy becomes the file: the handle passes `swap` (rename of the
/// copy over the target, fsync of the folder); the caller runs it between what must happen before
/// the file changes (the durable intent of item 1) and after it (dependents stale, kernel caches).
using PublishFn = std::function<void(const std::function<void()>& swap)>;

/// A backing file: read/written with pread/pwrite, either in place (read-only handles, wkfs's own
/// temp names) or, for a handle opened for writing, on a private copy in the same folder that
/// replaces the file atomically on fsync() and close(): after a crash the file is the old or the
/// new complete version. Other handles of the path see the old file until then; of two writers
/// of one file, the last to publish wins (each publishes its whole copy). A write, truncate or
/// publish that fails (ENOSPC, EDQUOT, EIO) drops the copy: the file keeps its last published
/// version, and later writes and fsyncs of the handle, and its next close, fail with that errno
/// (a copy with a hole where the failed write was must never be published).
class BackingFile final : public OpenFile {
 public:
  /// In place. `changed`: the file was created or truncated on open, a change even if nothing is written.
  BackingFile(fs::path rel, UniqueFd fd, bool changed) : OpenFile(std::move(rel)), fd_(std::move(fd)), written_(changed) {}
  /// On a private copy of `target` (empty if `empty`: O_TRUNC or a new file; else a reflink or a
  /// copy of `current`), published through `publish`; `mode` for a new file.
  BackingFile(fs::path rel, fs::path target, UniqueFd current, bool empty, mode_t mode, PublishFn publish);
  /// Removes a copy that was never published (an error in publish; the caller was told).
  ~BackingFile() override;
  size_t read(char* buf, size_t size, off_t off) override;
  size_t write(const char* buf, size_t size, off_t off) override;
  void flush() override;
  void fsync(bool datasync) override;
  void truncate(off_t size) override;
  std::optional<struct stat> attr() const override;
  int fd() const override;
  bool take_written() override { return written_.exchange(false); }

 private:
  /// Makes a private copy of the current version if there is none (after a publish). mu_ held.
  void ensure_copy(bool empty);
  /// Publishes the private copy if it has changes. mu_ held.
  void publish_locked();
  /// Drops the private copy after a failure with `err`; the handle reads the file as it is. mu_ held.
  void drop_copy(int err);
  /// Throws the errno of the failure that dropped the copy, if one did. mu_ held.
  void require_intact() const;

  mutable std::mutex mu_;  // fd_ and copy_: a write after a flush starts a new copy
  UniqueFd fd_;            // the private copy while copy_ is set, else the file itself
  fs::path target_;        // empty: in place
  fs::path copy_;          // the private copy's path; empty once published
  bool pending_ = false;   // the copy differs from the file (or the file does not exist yet)
  int failed_ = 0;         // errno of the failure that dropped the copy; 0: none
  bool failure_told_ = false;  // a flush (close) returned failed_: release's flush stays quiet
  mode_t mode_ = 0644;
  PublishFn publish_;
  std::atomic<bool> written_;
};

/// Makes a private copy of `target` next to it: a hidden temp name (removed at the next mount
/// after a crash), with `from`'s content (reflink if the filesystem can, else copy_file_range)
/// unless `from` is -1, and `from`'s mode and owner (`mode` if -1). Returns its path and descriptor.
std::pair<fs::path, UniqueFd> private_copy(const fs::path& target, int from, mode_t mode);

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
