#include "core/diagnostics.hpp"

#include <cstring>

namespace wkfs {

const char* log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::Error: return "error";
    case LogLevel::Warn: return "warn";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "error";
}

void StderrDiagnostics::report(LogLevel level, std::string_view component, std::string_view where,
                               std::string_view message, int err) {
  if (!out_) return;
  std::fprintf(out_, "wkfs: %s %.*s %.*s: %.*s", log_level_name(level), int(component.size()), component.data(),
               int(where.size()), where.data(), int(message.size()), message.data());
  if (err) std::fprintf(out_, " (%s)", std::strerror(err));
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace wkfs
