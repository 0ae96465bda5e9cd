// Fuzzes the two S3 XML documents a server sends us (a ListObjectsV2 page, an <Error> body): any
// bytes from the network give a page or a wkfs::Error, never another exception or a crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "storage/s3_xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  try {
    auto page = wkfs::storage::parse_list_objects_v2(xml, "https://fuzz/bucket");
    if (page.truncated && page.next_continuation_token.empty()) std::abort();  // refused above
  } catch (const wkfs::Error&) {
  }
  (void)wkfs::storage::s3_error_detail(xml);
  return 0;
}
