#include "core/error.hpp"

#include <cerrno>
#include <cstring>

namespace wkfs {

void fail(ErrorKind kind, const std::string& message) { throw Error(kind, message); }

void fail_errno(const std::string& what) {
  int e = errno;
  ErrorKind kind = ErrorKind::Io;
  if (e == ENOENT) kind = ErrorKind::NotFound;
  else if (e == EEXIST) kind = ErrorKind::AlreadyExists;
  else if (e == ENOTEMPTY) kind = ErrorKind::NotEmpty;
  else if (e == EROFS) kind = ErrorKind::ReadOnly;
  throw Error(kind, what + ": " + std::strerror(e));
}

int to_errno(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidArgument: return EINVAL;
    case ErrorKind::NotFound: return ENOENT;
    case ErrorKind::AlreadyExists: return EEXIST;
    case ErrorKind::NotEmpty: return ENOTEMPTY;
    case ErrorKind::ReadOnly: return EROFS;
    case ErrorKind::Corrupt: return EIO;
    case ErrorKind::Io: return EIO;
    case ErrorKind::Unsupported: return ENOTSUP;
  }
  return EIO;
}

}  // namespace wkfs
