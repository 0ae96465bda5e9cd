#pragma once
// The misses that are the normal answer of a query (lookup of an absent name, an unset xattr, a
// remote name the store lacks): they carry their errno to the reply but are logged at debug level
// only, or every `ls` of a folder would fill the log.
#include <string>

#include "core/error.hpp"

namespace wkfs::mount {

/// Throws an Error with `err` as its errno, logged at debug level only.
[[noreturn]] inline void quiet_fail(int err, const std::string& what) {
  throw Error(kind_of_errno(err), what, err, LogLevel::Debug);
}

}  // namespace wkfs::mount
