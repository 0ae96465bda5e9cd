#include "fs/fuse_session.hpp"

#include <systemd/sd-daemon.h>

#include <csignal>

#include "core/error.hpp"

namespace wkfs::mount {

FuseSession::FuseSession(const std::vector<std::string>& args, const fuse_lowlevel_ops& ops, void* userdata) {
  std::vector<std::string> strings = args;
  std::vector<char*> argv;
  for (auto& s : strings) argv.push_back(s.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  session_ = fuse_session_new(&fargs, &ops, sizeof(fuse_lowlevel_ops), userdata);
  // libfuse may have copied the arguments into memory of its own (LeakSanitizer saw 21 bytes)
  fuse_opt_free_args(&fargs);
  if (!session_) fail(ErrorKind::InvalidArgument, "libfuse rejected the options (see the message above)");
  if (fuse_set_signal_handlers(session_) != 0) {
    fuse_session_destroy(session_);
    fail(ErrorKind::Io, "cannot install signal handlers");
  }
  handlers_ = true;
}

FuseSession::~FuseSession() {
  if (mounted_) fuse_session_unmount(session_);
  if (handlers_) fuse_remove_signal_handlers(session_);
  fuse_session_destroy(session_);
}

void FuseSession::mount(const std::filesystem::path& mountpoint) {
  if (fuse_session_mount(session_, mountpoint.c_str()) != 0)
    fail(ErrorKind::Io, "mounting " + mountpoint.string() + " failed (see the message above)");
  mounted_ = true;
}

int FuseSession::loop() {
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(config, 0);
  fuse_loop_cfg_set_idle_threads(config, 10);
  // systemd (Type=notify) learns the mount is up here: it exists and the kernel queues requests
  // until the loop below reads them. Without NOTIFY_SOCKET sd_notify does nothing.
  sd_notify(0, "READY=1");
  int rc = fuse_session_loop_mt(session_, config);
  // SIGTERM/SIGINT (libfuse's handlers) or an unmount ended the loop; the destructor unmounts.
  sd_notify(0, "STOPPING=1");
  // libfuse returns the number of the signal that ended the loop; a stop asked for by SIGTERM,
  // SIGINT or SIGHUP is a clean exit (systemd counts any other code as a failure).
  if (rc == SIGTERM || rc == SIGINT || rc == SIGHUP) rc = 0;
  fuse_loop_cfg_destroy(config);
  return rc;
}

}  // namespace wkfs::mount
