#pragma once
// RFC 3986 percent-encoding as S3 and SigV4 want it: only A-Z a-z 0-9 - _ . ~ stay as they are.
#include <optional>
#include <string>
#include <string_view>

namespace wkfs::storage {

/// Encodes every byte outside the unreserved set; '/' too unless `keep_slash` (object paths).
std::string percent_encode(std::string_view s, bool keep_slash);
/// Decodes %XX escapes; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace wkfs::storage
