#pragma once
// WKW array (header.wkw + z*/y*/x*.wkw files).
#include <memory>
#include <string_view>

#include "formats/array.hpp"

namespace wkfs {

/// Opens the array whose metadata is in mag_dir; InvalidArgument/Corrupt with the reason otherwise.
std::unique_ptr<Array> open_wkw_array(const fs::path& mag_dir);
/// The array described by header.wkw bytes at `location` (a folder or URL); no IO.
std::unique_ptr<Array> wkw_array_from_header(const fs::path& location, ByteSpan header_bytes);
/// Writes the metadata of a new array (as webknossos-libs writes it) and opens it.
std::unique_ptr<Array> create_wkw_array(const fs::path& mag_dir, const ArraySpec& spec);

}  // namespace wkfs
