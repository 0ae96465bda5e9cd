#pragma once
// A real failing write(2) without root or a full disk: while a FileSizeLimit lives, files of this
// process cannot grow past a size (RLIMIT_FSIZE); a write beyond it is short, the next one fails
// with EFBIG (SIGXFSZ is ignored meanwhile).
#include <sys/resource.h>

#include <csignal>

namespace wkfs::test {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit r = saved_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = SIG_DFL;
};

}  // namespace wkfs::test
