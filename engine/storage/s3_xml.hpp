#pragma once
// The two S3 XML documents we read: a ListObjectsV2 result page and an error body.
#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace wkfs::storage {

struct ListPage {
  ListResult result;                  // keys and prefixes as the server sent them (full keys)
  bool truncated = false;
  std::string next_continuation_token;
};

/// Parses a ListBucketResult; throws Error(Corrupt) naming `url` if it is not one.
ListPage parse_list_objects_v2(std::string_view xml, const std::string& url);
/// "Code: Message" from an S3 <Error> body, or "" if the body is not one.
std::string s3_error_detail(std::string_view xml);

}  // namespace wkfs::storage
