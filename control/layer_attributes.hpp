#pragma once
// A layer's properties as extended attributes of its folder: user.wk.<python property name>.
// bounding_box, largest_segment_id and default_view_configuration are settable; the rest read-only.
#include <optional>
#include <string>
#include <vector>

#include "dataset/dataset.hpp"

namespace wkfs::control {

inline constexpr const char* kLayerAttributePrefix = "user.wk.";

/// True for names in the user.wk. namespace (handled here, never passed to the backing folder).
bool is_layer_attribute(const std::string& name);
/// Every attribute name a layer folder lists.
std::vector<std::string> layer_attribute_names(const LayerProperties& layer);
/// The attribute's value as text; NotFound for an unknown name (ENODATA at the boundary).
std::string get_layer_attribute(const Dataset& dataset, const LayerProperties& layer, const std::string& name);
/// Sets a settable attribute through the Dataset; ReadOnly for read-only ones, NotFound for unknown.
void set_layer_attribute(Dataset& dataset, const std::string& layer, const std::string& name,
                         const std::string& value);
/// Removes (unsets) largest_segment_id or default_view_configuration.
void remove_layer_attribute(Dataset& dataset, const std::string& layer, const std::string& name);

}  // namespace wkfs::control
