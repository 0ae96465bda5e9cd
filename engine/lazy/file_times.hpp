#pragma once
// File times as the staleness rules compare them, in ns since the epoch.
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace wkfs {

/// When a file last changed: the later of mtime and ctime (rsync -a keeps mtime, but a rename or
/// any write sets ctime).
inline int64_t changed_at(const struct stat& st) {
  auto ns = [](const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; };
  return std::max(ns(st.st_mtim), ns(st.st_ctim));
}

/// The wall clock now.
inline int64_t now_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

}  // namespace wkfs
