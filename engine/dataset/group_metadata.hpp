#pragma once
// The OME-Zarr group files the library writes beside the properties (notes 1.5): zarr.json or
// .zgroup at the root, and per Zarr layer a group with OME multiscales metadata.
#include <filesystem>

#include "dataset/properties.hpp"

namespace wkfs {

namespace fs = std::filesystem;

/// Rewrites the root and per-layer group files for `props` (files whose text is unchanged are left
/// alone); layers whose folder is absent or outside the dataset get none.
void write_group_files(const fs::path& root, const DatasetProperties& props);

}  // namespace wkfs
