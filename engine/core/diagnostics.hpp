#pragma once
// Where the engine's messages go: one sink, injected by whoever builds the objects. The mount's
// status implements it (its log and `.wkfs-status`), so a detached daemon loses no line; tools and
// tests use StderrDiagnostics.
#include <cstdio>
#include <string_view>

namespace wkfs {

/// How much a message matters; a log shows messages at its level and above.
enum class LogLevel { Error, Warn, Info, Debug };

/// The lower-case name of a level ("error", "warn", "info", "debug").
const char* log_level_name(LogLevel level) noexcept;

class Diagnostics {
 public:
  virtual ~Diagnostics() = default;
  /// One message: which component, what it was working on, what happened, and the errno if any.
  virtual void report(LogLevel level, std::string_view component, std::string_view where, std::string_view message,
                      int err = 0) = 0;
};

/// Writes "wkfs: LEVEL COMPONENT WHERE: MESSAGE" lines to a stream (stderr by default).
class StderrDiagnostics final : public Diagnostics {
 public:
  explicit StderrDiagnostics(std::FILE* out = stderr) : out_(out) {}
  void report(LogLevel level, std::string_view component, std::string_view where, std::string_view message,
              int err = 0) override;

 private:
  std::FILE* out_;
};

/// A sink that drops everything (benches, tests that provoke errors on purpose).
class NullDiagnostics final : public Diagnostics {
 public:
  void report(LogLevel, std::string_view, std::string_view, std::string_view, int = 0) override {}
};

}  // namespace wkfs
