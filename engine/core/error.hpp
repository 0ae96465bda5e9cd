#pragma once
// Engine errors: exceptions that carry a kind, the errno of the system call that failed (if one
// did), and a log level, with a message that says what failed and where. They become an errno
// only at the boundary (the FUSE reply, the CLI's exit), through errno_of().
#include <exception>
#include <stdexcept>
#include <string>

#include "core/diagnostics.hpp"

namespace wkfs {

enum class ErrorKind {
  InvalidArgument,  // bad input: malformed JSON, unknown codec, mag "3", bad name  -> EINVAL
  NotFound,         // missing dataset, layer, mag, file                           -> ENOENT
  AlreadyExists,    // mag or layer exists                                         -> EEXIST
  NotEmpty,         // folder not empty                                            -> ENOTEMPTY
  ReadOnly,         // read-only layer, mag or mount                               -> EROFS
  Corrupt,          // stored data does not decode (bad CRC, truncated shard...)   -> EIO
  Io,               // the operating system refused a read or write                -> EIO (or its errno)
  Unsupported,      // valid but not implemented here                              -> ENOTSUP
  Busy,             // in use: a pending lazy mag's source, a mounted folder        -> EBUSY
  CrossDevice,      // a move that would leave its dataset                          -> EXDEV
};

class Error : public std::runtime_error {
 public:
  /// `sys_errno` is the errno of the failing call (0: none, the kind decides).
  Error(ErrorKind kind, const std::string& message, int sys_errno = 0, LogLevel level = LogLevel::Error)
      : std::runtime_error(message), kind_(kind), sys_errno_(sys_errno), level_(level) {}
  ErrorKind kind() const noexcept { return kind_; }
  /// The errno of the system call that failed, or 0.
  int sys_errno() const noexcept { return sys_errno_; }
  /// How loudly the boundary logs it (a missing name in a lookup is Debug, not Error).
  LogLevel level() const noexcept { return level_; }

 private:
  ErrorKind kind_;
  int sys_errno_;
  LogLevel level_;
};

/// Throws Error(kind, message); a one-liner for the common case.
[[noreturn]] void fail(ErrorKind kind, const std::string& message);

/// Throws Error with strerror(errno) appended to `what`, keeping errno (ENOSPC stays ENOSPC).
[[noreturn]] void fail_errno(const std::string& what);
/// As fail_errno, for an errno value already taken.
[[noreturn]] void fail_errno(int err, const std::string& what);

/// errno value for an error kind (EINVAL, ENOENT, ...).
int to_errno(ErrorKind kind) noexcept;
/// errno for an error: the system call's own if it has one, else its kind's.
int to_errno(const Error& error) noexcept;
/// The error kind an errno stands for (ENOENT -> NotFound, anything unnamed -> Io).
ErrorKind kind_of_errno(int err) noexcept;

/// errno for any exception: wkfs::Error, std::system_error (std::filesystem's errors), std::bad_alloc
/// (ENOMEM), else EIO.
int errno_of(const std::exception& e) noexcept;
/// errno for the exception being handled (call inside a catch block); EIO for non-std exceptions.
int errno_of_current() noexcept;

}  // namespace wkfs
