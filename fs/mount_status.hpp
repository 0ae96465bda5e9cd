#pragma once
// What the mount has done: operation counts, open files, and the recent errors (one log line each).
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/diagnostics.hpp"
#include "core/json.hpp"

namespace wkfs::mount {

enum class Op : int {
  Lookup, Getattr, Setattr, Readdir, Open, Read, Write, Create, Mkdir, Unlink, Rmdir, Rename, Symlink,
  Readlink, Xattr, Statfs, Control, LayerApi, Count
};

/// Also the mount's diagnostics sink: every engine message reaches its log and `.wkfs-status`.
class MountStatus final : public Diagnostics {
 public:
  /// Where error lines go (stderr by default; nullptr silences them).
  explicit MountStatus(std::FILE* log = stderr) : log_(log) {}
  void count(Op op) { ops_[static_cast<int>(op)].fetch_add(1, std::memory_order_relaxed); }
  void file_opened() { open_files_.fetch_add(1, std::memory_order_relaxed); }
  void file_closed() { open_files_.fetch_sub(1, std::memory_order_relaxed); }
  /// Records and logs one error: "<what> <where>: <message> (errno N)".
  void error(const std::string& what, const std::string& where, const std::string& message, int err);
  /// Errors and warnings are recorded as error() does; info and debug are only logged.
  void report(LogLevel level, std::string_view component, std::string_view where, std::string_view message,
              int err = 0) override;
  /// The -o words the mount was made with (shown as "mount_options").
  void describe_mount(std::vector<std::string> options);
  /// {"version":{"wkfs":V,"commit":C},"mount_options":[...],"operations":{...},"open_files":N,
  ///  "errors":{"count":N,"recent":[...]}}
  Json to_json() const;

 private:
  std::FILE* log_;
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Op::Count)> ops_{};
  std::atomic<int64_t> open_files_{0};
  mutable std::mutex mutex_;
  uint64_t error_count_ = 0;
  std::deque<Json> recent_errors_;
  std::vector<std::string> mount_options_;
};

}  // namespace wkfs::mount
