#pragma once
// The libfuse session of a mount as one object: created with its options, signal handlers
// installed, mounted, and on destruction unmounted and destroyed in the right order, whatever
// step failed.
#include <filesystem>
#include <string>
#include <vector>

#include "fs/fuse_api.hpp"

namespace wkfs::mount {

class FuseSession {
 public:
  /// A session over `ops` with `userdata`; `args` as libfuse's command line ("-o", "...", "-d").
  FuseSession(const std::vector<std::string>& args, const fuse_lowlevel_ops& ops, void* userdata);
  ~FuseSession();
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  /// Mounts at `mountpoint`; Io if the kernel refuses (libfuse printed why).
  void mount(const std::filesystem::path& mountpoint);
  /// Tells systemd READY=1, serves requests on several threads until unmounted or signalled
  /// (SIGTERM), then STOPPING=1; libfuse's return code.
  int loop();
  fuse_session* get() const { return session_; }

 private:
  fuse_session* session_ = nullptr;
  bool handlers_ = false;
  bool mounted_ = false;
};

}  // namespace wkfs::mount
