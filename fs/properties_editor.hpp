#pragma once
// datasource-properties.json opened for writing through the mount: the text is collected in
// memory, checked as it arrives, and committed through the Dataset (validated as a whole, stored
// atomically) on flush, fsync or release. The backing file is never written piecewise, so it is
// always a complete, valid document.
#include <functional>
#include <mutex>
#include <string>

#include "fs/open_file.hpp"

namespace wkfs::mount {

class PropertiesEditor final : public OpenFile {
 public:
  /// Commits a complete text (validates and stores it; throws if the Dataset refuses it).
  using Commit = std::function<void(const std::string& text)>;

  /// `fd` is the backing file, for attributes; `text` what it holds now (empty with O_TRUNC).
  PropertiesEditor(fs::path rel, UniqueFd fd, std::string text, bool truncated, Commit commit);

  size_t read(char* buf, size_t size, off_t off) override;
  /// Refuses (EINVAL) the write that makes the text invalid: shells ignore errors of close().
  size_t write(const char* buf, size_t size, off_t off) override;
  /// Commits; a failure is reported here and the edit is dropped (release commits nothing after it).
  void flush() override { commit(); }
  /// Commits; a failed system call (ENOSPC) keeps the edit, so the next fsync or the close retries.
  void fsync(bool) override;
  void truncate(off_t size) override;
  std::optional<struct stat> attr() const override;

  /// Stores the edited text if it changed and is valid; nothing if a write was refused.
  void commit();

  /// Throws InvalidArgument for a text that can no longer become valid: a syntax error before its
  /// end, or a complete document the library rejects. An unfinished document passes.
  static void check_so_far(const std::string& text);

 private:
  UniqueFd fd_;
  Commit commit_;
  mutable std::mutex mutex_;
  std::string buffer_;
  bool dirty_ = false;
  bool rejected_ = false;  // a write made the text invalid: nothing is committed
};

}  // namespace wkfs::mount
