#include "core/error.hpp"

#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

namespace wkfs {

void fail(ErrorKind kind, const std::string& message) { throw Error(kind, message); }

void fail_errno(const std::string& what) { fail_errno(errno, what); }

void fail_errno(int err, const std::string& what) {
  throw Error(kind_of_errno(err), what + ": " + std::strerror(err), err);
}

ErrorKind kind_of_errno(int err) noexcept {
  switch (err) {
    case ENOENT: return ErrorKind::NotFound;
    case EEXIST: return ErrorKind::AlreadyExists;
    case ENOTEMPTY: return ErrorKind::NotEmpty;
    case EROFS: return ErrorKind::ReadOnly;
    case EINVAL: return ErrorKind::InvalidArgument;
    case ENOTSUP: return ErrorKind::Unsupported;
    case EBUSY: return ErrorKind::Busy;
    case EXDEV: return ErrorKind::CrossDevice;
    default: return ErrorKind::Io;
  }
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
    case ErrorKind::Busy: return EBUSY;
    case ErrorKind::CrossDevice: return EXDEV;
  }
  return EIO;
}

int to_errno(const Error& error) noexcept { return error.sys_errno() ? error.sys_errno() : to_errno(error.kind()); }

int errno_of(const std::exception& e) noexcept {
  if (auto* w = dynamic_cast<const Error*>(&e)) return to_errno(*w);
  if (dynamic_cast<const std::bad_alloc*>(&e)) return ENOMEM;  // a huge request, not a broken disk
  if (auto* s = dynamic_cast<const std::system_error*>(&e)) {
    // std::filesystem reports errno values in the generic (or system) category
    int v = s->code().value();
    if (v > 0 && (s->code().category() == std::generic_category() || s->code().category() == std::system_category()))
      return v;
  }
  return EIO;
}

int errno_of_current() noexcept {
  try {
    throw;
  } catch (const std::exception& e) {
    return errno_of(e);
  } catch (...) {
    return EIO;
  }
}

}  // namespace wkfs
