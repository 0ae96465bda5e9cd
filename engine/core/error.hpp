#pragma once
// Engine errors: exceptions that carry a kind (mapped to errno only at the FUSE boundary) and a
// message that says what failed and where.
#include <stdexcept>
#include <string>

namespace wkfs {

enum class ErrorKind {
  InvalidArgument,  // bad input: malformed JSON, unknown codec, mag "3", bad name  -> EINVAL
  NotFound,         // missing dataset, layer, mag, file                           -> ENOENT
  AlreadyExists,    // mag or layer exists                                         -> EEXIST
  NotEmpty,         // folder not empty                                            -> ENOTEMPTY
  ReadOnly,         // read-only layer, mag or mount                               -> EROFS
  Corrupt,          // stored data does not decode (bad CRC, truncated shard...)   -> EIO
  Io,               // the operating system refused a read or write                -> EIO
  Unsupported,      // valid but not implemented here                              -> ENOTSUP
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// Throws Error(kind, message); a one-liner for the common case.
[[noreturn]] void fail(ErrorKind kind, const std::string& message);

/// Throws Error(Io) with strerror(errno) appended to `what`.
[[noreturn]] void fail_errno(const std::string& what);

/// errno value for an error kind (EINVAL, ENOENT, ...).
int to_errno(ErrorKind kind) noexcept;

}  // namespace wkfs
