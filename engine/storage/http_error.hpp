#pragma once
// How HTTP outcomes become wkfs::Error: 404 -> NotFound (ENOENT), 401/403 -> EACCES,
// timeouts -> ETIMEDOUT, 5xx and broken transfers -> EIO; the message names method, URL and status.
#include <string>

#include "core/error.hpp"

namespace wkfs::storage {

/// The error for a final HTTP status (after retries); `detail` is e.g. S3's error code and message.
Error http_status_error(const std::string& method, const std::string& url, long status, const std::string& detail);
/// The error for a transfer that got no complete answer (connect failure, timeout, dropped body).
Error http_transfer_error(const std::string& method, const std::string& url, const std::string& what,
                          bool timed_out);

}  // namespace wkfs::storage
