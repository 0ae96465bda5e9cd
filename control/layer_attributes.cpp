#include "control/layer_attributes.hpp"

#include "dataset/mag_paths.hpp"
#include "storage/store_url.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "control/text_values.hpp"

namespace wkfs::control {

namespace {
const std::vector<std::string> kSettable = {"bounding_box", "largest_segment_id", "default_view_configuration"};
const std::vector<std::string> kReadOnly = {"category",     "dtype_per_layer", "dtype_per_channel", "num_channels",
                                            "data_format",  "read_only",       "mags",              "path",
                                            "is_remote_to_dataset", "remote_mags", "finest_mag"};

std::string short_name(const std::string& name) { return name.substr(std::string(kLayerAttributePrefix).size()); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

bool is_layer_attribute(const std::string& name) { return name.rfind(kLayerAttributePrefix, 0) == 0; }

std::vector<std::string> layer_attribute_names(const LayerProperties& layer) {
  std::vector<std::string> out;
  for (const auto& n : kSettable) {
    if (n == "largest_segment_id" && layer.category != Category::Segmentation) continue;
    out.push_back(kLayerAttributePrefix + n);
  }
  for (const auto& n : kReadOnly) {
    if (n == "finest_mag" && layer.mags.empty()) continue;
    out.push_back(kLayerAttributePrefix + n);
  }
  return out;
}

std::string get_layer_attribute(const Dataset& ds, const LayerProperties& l, const std::string& name) {
  const auto n = short_name(name);
  if (n == "bounding_box") return format_bounding_box(l.bounding_box);
  if (n == "largest_segment_id" && l.category == Category::Segmentation)
    return l.largest_segment_id ? std::to_string(*l.largest_segment_id) : "none";
  if (n == "default_view_configuration")
    return l.default_view_configuration.is_null() ? "{}" : l.default_view_configuration.dump();
  if (n == "category") return l.category == Category::Color ? "color" : "segmentation";
  if (n == "dtype_per_layer") return element_class(l.dtype, l.num_channels);
  if (n == "dtype_per_channel") return dtype_name(l.dtype);
  if (n == "num_channels") return std::to_string(l.num_channels);
  if (n == "data_format") return data_format_name(l.data_format);
  if (n == "read_only") return ds.read_only() ? "true" : "false";
  if (n == "mags") {
    std::string s;
    for (const auto& m : l.mags) s += (s.empty() ? "" : ",") + m.mag.long_name();
    return s;
  }
  if (n == "path") return (ds.root() / l.name).string();
  if (n == "is_remote_to_dataset")  // the layer folder, symlinks followed, is not directly in the dataset
    return resolve_path(ds.root() / l.name).parent_path() == resolve_path(ds.root()) ? "false" : "true";
  if (n == "remote_mags") {  // mags whose path is a URL (add_remote_mag of a remote dataset's mag)
    std::string s;
    for (const auto& m : l.mags)
      if (m.path && storage::StoreUrl::is_url(*m.path)) s += (s.empty() ? "" : ",") + m.mag.long_name();
    return s;
  }
  if (n == "finest_mag")
    if (auto m = ds.finest_mag(l.name)) return m->long_name();
  fail(ErrorKind::NotFound, "layer " + l.name + " has no attribute " + name);
}

void set_layer_attribute(Dataset& ds, const std::string& layer, const std::string& name, const std::string& value) {
  const auto n = short_name(name);
  if (n == "bounding_box") return ds.set_bounding_box(layer, parse_bounding_box(value));
  if (n == "largest_segment_id") return ds.set_largest_segment_id(layer, parse_optional_int(value, name));
  if (n == "default_view_configuration") {
    Json j = Json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      fail(ErrorKind::InvalidArgument, name + " must be a JSON object, got: " + value);
    return ds.set_default_view_configuration(layer, j);
  }
  if (contains(kReadOnly, n)) fail(ErrorKind::ReadOnly, name + " of layer " + layer + " is read-only");
  fail(ErrorKind::NotFound, "layers have no attribute " + name);
}

void remove_layer_attribute(Dataset& ds, const std::string& layer, const std::string& name) {
  const auto n = short_name(name);
  if (n == "largest_segment_id") return ds.set_largest_segment_id(layer, std::nullopt);
  if (n == "default_view_configuration") return ds.set_default_view_configuration(layer, Json());
  if (contains(kSettable, n) || contains(kReadOnly, n))
    fail(ErrorKind::ReadOnly, name + " of layer " + layer + " cannot be removed");
  fail(ErrorKind::NotFound, "layers have no attribute " + name);
}

}  // namespace wkfs::control
