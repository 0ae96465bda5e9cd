#include "storage/http_error.hpp"

#include <cerrno>

namespace wkfs::storage {

Error http_status_error(const std::string& method, const std::string& url, long status, const std::string& detail) {
  std::string msg = method + " " + url + ": HTTP " + std::to_string(status);
  if (!detail.empty()) msg += " (" + detail + ")";
  if (status == 404) return Error(ErrorKind::NotFound, msg, ENOENT, LogLevel::Debug);
  if (status == 401 || status == 403) return Error(ErrorKind::Io, msg, EACCES);
  if (status == 416) return Error(ErrorKind::InvalidArgument, msg, EINVAL);
  return Error(ErrorKind::Io, msg, EIO);
}

Error http_transfer_error(const std::string& method, const std::string& url, const std::string& what,
                          bool timed_out) {
  return Error(ErrorKind::Io, method + " " + url + ": " + what, timed_out ? ETIMEDOUT : EIO);
}

}  // namespace wkfs::storage
