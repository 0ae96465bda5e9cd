#pragma once
// The control protocol shared by the mount and `wkfs ctl`: which hidden files exist, what a reply
// looks like, and how a command says where its relative paths start.
//
// A command is one line written to a `.wkfs-ctl` file (in every dataset and layer folder); reading
// the file gives the reply of the last command written to it, one JSON object per line:
//   {"ok": true,  "command": NAME, "result": ...}
//   {"ok": false, "command": NAME, "error": MESSAGE, "errno": N, "errno_name": TEXT}
// The write itself fails with that errno, so shells see the error too. control/reply.hpp builds
// and reads replies with the keys below.

namespace wkfs::control {

inline constexpr const char* kControlFile = ".wkfs-ctl";  // in every dataset and layer folder, unlisted
inline constexpr const char* kStatusFile = ".wkfs-status";  // at the mount root: the mount-wide status

// Reply members.
inline constexpr const char* kReplyOk = "ok";
inline constexpr const char* kReplyCommand = "command";
inline constexpr const char* kReplyResult = "result";
inline constexpr const char* kReplyError = "error";
inline constexpr const char* kReplyErrno = "errno";
inline constexpr const char* kReplyErrnoName = "errno_name";

/// `--cwd DIR`, which `wkfs ctl` adds to every command: relative path arguments start there
/// (otherwise at the control file's folder).
inline constexpr const char* kCwdOption = "cwd";

}  // namespace wkfs::control
