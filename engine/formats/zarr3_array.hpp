#pragma once
// Zarr v3 array (zarr.json, codec chains, sharding_indexed).
#include <memory>
#include <string_view>

#include "formats/array.hpp"

namespace wkfs {

/// Opens the array whose metadata is in mag_dir; InvalidArgument/Corrupt with the reason otherwise.
std::unique_ptr<Array> open_zarr3_array(const fs::path& mag_dir);
/// The array described by zarr.json `text` at `location` (a folder or URL); no IO.
std::unique_ptr<Array> zarr3_array_from_metadata(const fs::path& location, std::string_view text);
/// Writes the metadata of a new array (as webknossos-libs writes it) and opens it.
std::unique_ptr<Array> create_zarr3_array(const fs::path& mag_dir, const ArraySpec& spec);

}  // namespace wkfs
