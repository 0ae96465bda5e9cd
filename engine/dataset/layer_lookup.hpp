#pragma once
// The layer of a name in a dataset's properties, or a NotFound error naming the dataset: shared by the
// files that hold Dataset's operations (dataset.cpp, mag_import.cpp, largest_segment_id.cpp).

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "dataset/properties.hpp"

namespace wkfs {

inline LayerProperties& require_layer(DatasetProperties& p, const std::string& name, const std::filesystem::path& root) {
  auto* l = p.find_layer(name);
  if (!l) fail(ErrorKind::NotFound, "layer '" + name + "' not found in " + root.string());
  return *l;
}

inline const LayerProperties& require_layer(const DatasetProperties& p, const std::string& name, const std::filesystem::path& root) {
  auto* l = p.find_layer(name);
  if (!l) fail(ErrorKind::NotFound, "layer '" + name + "' not found in " + root.string());
  return *l;
}

}  // namespace wkfs
