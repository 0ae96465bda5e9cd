#include "fs/mount_status.hpp"

#include <cstring>
#include <ctime>

#include "fs/wkfs_version.hpp"

namespace wkfs::mount {

namespace {
constexpr const char* kOpNames[] = {"lookup", "getattr", "setattr", "readdir", "open",   "read",
                                    "write",  "create",  "mkdir",   "unlink",  "rmdir",  "rename",
                                    "symlink", "readlink", "xattr", "statfs",  "control", "layer_api"};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == static_cast<size_t>(Op::Count));
constexpr size_t kRecentErrors = 32;
}  // namespace

void MountStatus::error(const std::string& what, const std::string& where, const std::string& message, int err) {
  std::lock_guard lock(mutex_);
  ++error_count_;
  recent_errors_.push_back(Json{{"op", what}, {"path", where}, {"message", message}, {"errno", err},
                                {"time", static_cast<int64_t>(std::time(nullptr))}});
  if (recent_errors_.size() > kRecentErrors) recent_errors_.pop_front();
  if (log_) {
    std::fprintf(log_, "wkfs: %s %s: %s (%s)\n", what.c_str(), where.c_str(), message.c_str(), std::strerror(err));
    std::fflush(log_);
  }
}

void MountStatus::report(LogLevel level, std::string_view component, std::string_view where,
                         std::string_view message, int err) {
  if (level == LogLevel::Error || level == LogLevel::Warn) {
    error(std::string(component), std::string(where), std::string(message), err);
    return;
  }
  if (log_) {
    std::fprintf(log_, "wkfs: %s %.*s %.*s: %.*s\n", log_level_name(level), int(component.size()), component.data(),
                 int(where.size()), where.data(), int(message.size()), message.data());
    std::fflush(log_);
  }
}

void MountStatus::describe_mount(std::vector<std::string> options) {
  std::lock_guard lock(mutex_);
  mount_options_ = std::move(options);
}

Json MountStatus::to_json() const {
  Json ops = Json::object();
  for (size_t i = 0; i < ops_.size(); ++i) ops[kOpNames[i]] = ops_[i].load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  Json recent = Json::array();
  for (const auto& e : recent_errors_) recent.push_back(e);
  return Json{{"version", Json{{"wkfs", kVersion}, {"commit", kGitCommit}}},
              {"mount_options", mount_options_},
              {"operations", ops},
              {"open_files", open_files_.load(std::memory_order_relaxed)},
              {"errors", Json{{"count", error_count_}, {"recent", recent}}}};
}

}  // namespace wkfs::mount
