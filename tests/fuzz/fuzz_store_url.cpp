// Fuzzes the parser of remote locations (mag paths and mount sources: https://, http://, s3://):
// any text gives a StoreUrl or a wkfs::Error, and a parsed URL prints to a form that parses back to
// the same location, and joins keys without leaving its root.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "storage/store_url.hpp"

using wkfs::storage::StoreUrl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)StoreUrl::is_url(text);
  StoreUrl url = [&] {
    try {
      return StoreUrl::parse(text);
    } catch (const wkfs::Error&) {
      return StoreUrl::parse("https://unparsed/");
    }
  }();
  const std::string printed = url.to_string();
  StoreUrl again = StoreUrl::parse(printed);  // our own output must parse
  if (again.to_string() != printed || again.key() != url.key() || again.bucket() != url.bucket() ||
      again.authority() != url.authority())
    std::abort();
  (void)url.request_url();
  (void)url.endpoint();
  try {
    StoreUrl child = url.join("zarr.json");
    if (child.authority() != url.authority() || child.bucket() != url.bucket()) std::abort();
  } catch (const wkfs::Error&) {
  }
  return 0;
}
