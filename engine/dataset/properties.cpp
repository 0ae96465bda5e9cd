#include "dataset/properties.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "dataset/python_json.hpp"

namespace wkfs {

namespace {

struct UnitInfo {
  const char* name;
  const char* abbreviation;
  double nanometers;
};
// wk/dataset_properties/length_unit.py: the full names are written, both forms are read.
constexpr std::array<UnitInfo, 26> kUnits{{
    {"yoctometer", "ym", 1e-15},   {"zeptometer", "zm", 1e-12}, {"attometer", "am", 1e-9},
    {"femtometer", "fm", 1e-6},    {"picometer", "pm", 1e-3},   {"nanometer", "nm", 1.0},
    {"micrometer", "\xC2\xB5m", 1e3}, {"millimeter", "mm", 1e6}, {"centimeter", "cm", 1e7},
    {"decimeter", "dm", 1e8},      {"meter", "m", 1e9},         {"hectometer", "hm", 1e11},
    {"kilometer", "km", 1e12},     {"megameter", "Mm", 1e15},   {"gigameter", "Gm", 1e18},
    {"terameter", "Tm", 1e21},     {"petameter", "Pm", 1e24},   {"exameter", "Em", 1e27},
    {"zettameter", "Zm", 1e30},    {"yottameter", "Ym", 1e33},  {"angstrom", "\xC3\x85", 0.1},
    {"inch", "in", 2.54e7},        {"foot", "ft", 3.048e8},     {"yard", "yd", 9.144e8},
    {"mile", "mi", 1.609344e12},   {"parsec", "pc", 3.0856775814913673e25},
}};


[[noreturn]] void bad(const std::string& where, const std::string& what) {
  fail(ErrorKind::InvalidArgument, "datasource-properties.json: " + where + ": " + what);
}

int64_t get_int(const Json& j, const std::string& where) {
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      bad(where, "integer out of range");
    return j.get<int64_t>();
  }
  if (j.is_number_float()) {  // Python accepts 25.0 where an int is meant
    double d = j.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) return static_cast<int64_t>(d);
  }
  bad(where, "expected an integer, got " + std::string(j.type_name()));
}

int64_t get_coordinate(const Json& j, const std::string& where, int64_t min) {
  int64_t v = get_int(j, where);
  if (v < min || v > kMaxCoordinate)
    bad(where, "value " + std::to_string(v) + (v < min ? " must be >= " + std::to_string(min) : " is too large"));
  return v;
}

const std::string& get_string(const Json& j, const std::string& where) {
  if (!j.is_string()) bad(where, "expected a string, got " + std::string(j.type_name()));
  return j.get_ref<const std::string&>();
}

double get_number(const Json& j, const std::string& where) {
  if (!j.is_number()) bad(where, "expected a number, got " + std::string(j.type_name()));
  double d = j.get<double>();
  if (!std::isfinite(d)) bad(where, "expected a finite number");
  return d;
}

const Json& require(const Json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) bad(where, std::string("missing key \"") + key + "\"");
  return *it;
}

Vec3 get_vec3(const Json& j, const std::string& where, int64_t min) {
  if (!j.is_array() || j.size() != 3) bad(where, "expected a list of 3 integers");
  return {get_coordinate(j[0], where + "[0]", min), get_coordinate(j[1], where + "[1]", min),
          get_coordinate(j[2], where + "[2]", min)};
}

Mag get_mag(const Json& j, const std::string& where) {
  try {
    if (j.is_number()) {
      int64_t v = get_coordinate(j, where, 1);
      return Mag(v, v, v);
    }
    if (j.is_string()) return Mag::parse(j.get<std::string>());
    return Mag(get_vec3(j, where, 1));
  } catch (const Error& e) {
    bad(where, e.what());
  }
}

Json axis_order_3d() { return Json{{"c", 0}, {"x", 1}, {"y", 2}, {"z", 3}}; }

bool is_3d_axis_order(const Json& a) {
  if (a.is_null()) return true;
  Json without_c = Json{{"x", 1}, {"y", 2}, {"z", 3}};
  auto same = [&](const Json& ref) {
    if (a.size() != ref.size()) return false;
    for (auto it = ref.begin(); it != ref.end(); ++it)
      if (!a.contains(it.key()) || a[it.key()] != it.value()) return false;
    return true;
  };
  return same(axis_order_3d()) || same(without_c);
}

Json get_axis_order(const Json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "expected an object of axis indices");
  for (auto it = j.begin(); it != j.end(); ++it) get_coordinate(it.value(), where + "." + it.key(), 0);
  for (const char* axis : {"x", "y", "z"})
    if (!j.contains(axis)) bad(where, std::string("axis \"") + axis + "\" missing");
  return j;
}

void split_known(const Json& obj, std::initializer_list<const char*> known, Json& extra) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool is_known = std::any_of(known.begin(), known.end(), [&](const char* k) { return it.key() == k; });
    if (!is_known) extra[it.key()] = it.value();
  }
}

VoxelSize parse_scale(const Json& j) {
  VoxelSize vs;
  const Json* factor = &j;
  if (j.is_object()) {
    factor = &require(j, "factor", "scale");
    if (j.contains("unit")) vs.unit = parse_length_unit(get_string(j["unit"], "scale.unit"));
  }
  if (!factor->is_array() || factor->size() != 3) bad("scale", "expected a list of 3 numbers or {\"factor\", \"unit\"}");
  vs.factor = {get_number((*factor)[0], "scale[0]"), get_number((*factor)[1], "scale[1]"),
               get_number((*factor)[2], "scale[2]")};
  return vs;
}

MagEntry parse_mag_entry(const Json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "expected an object");
  MagEntry m;
  m.mag = get_mag(require(j, "mag", where), where + ".mag");
  if (j.contains("path") && !j["path"].is_null()) {
    m.path = get_string(j["path"], where + ".path");
    if (m.path->empty()) bad(where + ".path", "empty path");
  }
  if (j.contains("cubeLength") && !j["cubeLength"].is_null())
    m.cube_length = get_coordinate(j["cubeLength"], where + ".cubeLength", 1);
  if (j.contains("axisOrder") && !j["axisOrder"].is_null())
    m.axis_order = get_axis_order(j["axisOrder"], where + ".axisOrder");
  if (j.contains("channelIndex") && !j["channelIndex"].is_null())
    m.channel_index = get_coordinate(j["channelIndex"], where + ".channelIndex", 0);
  split_known(j, {"mag", "path", "cubeLength", "axisOrder", "channelIndex"}, m.extra);
  return m;
}

MagEntry parse_wkw_resolution(const Json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "expected an object");
  MagEntry m;
  m.mag = get_mag(require(j, "resolution", where), where + ".resolution");
  if (j.contains("cubeLength") && !j["cubeLength"].is_null())
    m.cube_length = get_coordinate(j["cubeLength"], where + ".cubeLength", 1);
  split_known(j, {"resolution", "cubeLength"}, m.extra);
  return m;
}

void parse_bounding_box(const Json& j, const std::string& where, LayerProperties& l,
                        std::optional<int>& bbox_channels) {
  if (!j.is_object()) bad(where, "expected an object");
  l.bounding_box.top_left = get_vec3(require(j, "topLeft", where), where + ".topLeft", 0);
  l.bounding_box.size = {get_coordinate(require(j, "width", where), where + ".width", 0),
                         get_coordinate(require(j, "height", where), where + ".height", 0),
                         get_coordinate(require(j, "depth", where), where + ".depth", 0)};
  if (j.contains("axisOrder") && !j["axisOrder"].is_null())
    l.bbox_axis_order = get_axis_order(j["axisOrder"], where + ".axisOrder");
  if (j.contains("channelIndex") && !j["channelIndex"].is_null())
    l.bbox_channel_index = get_coordinate(j["channelIndex"], where + ".channelIndex", 0);
  if (j.contains("numChannels") && !j["numChannels"].is_null())
    bbox_channels = static_cast<int>(get_coordinate(j["numChannels"], where + ".numChannels", 1));
  split_known(j, {"topLeft", "width", "height", "depth", "axisOrder", "channelIndex", "numChannels"}, l.bbox_extra);
}

void check_axes(const LayerProperties& l, const std::string& where) {
  if (l.is_plain_3d()) return;
  std::set<int64_t> indices;
  std::set<std::string> names;
  Json order = l.effective_axis_order();
  for (auto it = order.begin(); it != order.end(); ++it) {
    names.insert(it.key());
    if (!indices.insert(it.value().get<int64_t>()).second) bad(where, "two axes share index " + it.value().dump());
  }
  for (const auto& a : l.additional_axes) {
    if (!names.insert(a.name).second) bad(where, "axis \"" + a.name + "\" given twice");
    if (!indices.insert(a.index).second) bad(where, "two axes share index " + std::to_string(a.index));
  }
  if (*indices.rbegin() >= static_cast<int64_t>(indices.size()) || *indices.begin() != 0)
    bad(where, "axis indices must be 0.." + std::to_string(indices.size() - 1));
}

// "mags" (or the legacy "wkwResolutions") of a layer; every mag once, all with one axisOrder.
void parse_layer_mags(const Json& j, const std::string& where, LayerProperties& l) {
  if (j.contains("mags") && !j["mags"].is_null()) {
    const Json& mags = j["mags"];
    if (!mags.is_array()) bad(where + ".mags", "expected a list");
    for (size_t i = 0; i < mags.size(); ++i)
      l.mags.push_back(parse_mag_entry(mags[i], where + ".mags[" + std::to_string(i) + "]"));
  } else if (j.contains("wkwResolutions")) {
    if (l.data_format != DataFormat::Wkw) bad(where, "wkwResolutions is only valid for dataFormat wkw");
    const Json& res = j["wkwResolutions"];
    if (!res.is_array()) bad(where + ".wkwResolutions", "expected a list");
    for (size_t i = 0; i < res.size(); ++i)
      l.mags.push_back(parse_wkw_resolution(res[i], where + ".wkwResolutions[" + std::to_string(i) + "]"));
  } else {
    bad(where, "missing key \"mags\"");
  }
  for (size_t i = 0; i < l.mags.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      if (l.mags[i].mag == l.mags[k].mag) bad(where + ".mags", "mag " + l.mags[i].mag.long_name() + " given twice");
  // All mags carry the same axisOrder (structuring.py asserts this).
  for (const auto& m : l.mags)
    if (!m.axis_order.is_null() && !l.mags.front().axis_order.is_null() && m.axis_order != l.mags.front().axis_order)
      bad(where + ".mags", "mags have different axisOrder values");
}

void parse_additional_axes(const Json& j, const std::string& where, LayerProperties& l) {
  if (j.contains("additionalAxes") && !j["additionalAxes"].is_null()) {
    const Json& axes = j["additionalAxes"];
    if (!axes.is_array()) bad(where + ".additionalAxes", "expected a list");
    for (const auto& a : axes) {
      std::string aw = where + ".additionalAxes[]";
      if (!a.is_object()) bad(aw, "expected an object");
      AdditionalAxis ax;
      ax.name = get_string(require(a, "name", aw), aw + ".name");
      const Json& b = require(a, "bounds", aw);
      if (!b.is_array() || b.size() != 2) bad(aw + ".bounds", "expected [lower, upper]");
      ax.lower = get_coordinate(b[0], aw + ".bounds[0]", -kMaxCoordinate);
      ax.upper = get_coordinate(b[1], aw + ".bounds[1]", -kMaxCoordinate);
      if (ax.upper < ax.lower) bad(aw + ".bounds", "upper bound below lower bound");
      ax.index = get_coordinate(require(a, "index", aw), aw + ".index", 0);
      l.additional_axes.push_back(ax);
    }
  }
}

LayerProperties parse_layer(const Json& j, const std::string& where_in) {
  if (!j.is_object()) bad(where_in, "expected an object");
  LayerProperties l;
  l.name = get_string(require(j, "name", where_in), where_in + ".name");
  std::string where = "layer \"" + l.name + "\"";
  if (!is_valid_layer_name(l.name)) bad(where, "invalid layer name");
  l.category = parse_category(get_string(require(j, "category", where), where + ".category"));
  std::optional<int> bbox_channels;
  parse_bounding_box(require(j, "boundingBox", where), where + ".boundingBox", l, bbox_channels);
  try {
    l.data_format = parse_data_format(get_string(require(j, "dataFormat", where), where + ".dataFormat"));
  } catch (const Error& e) {
    bad(where + ".dataFormat", e.what());
  }
  parse_layer_mags(j, where, l);

  if (j.contains("numChannels") && !j["numChannels"].is_null())
    l.num_channels = static_cast<int>(get_coordinate(j["numChannels"], where + ".numChannels", 1));
  else if (bbox_channels)
    l.num_channels = *bbox_channels;
  if (l.num_channels > 4096) bad(where + ".numChannels", "too many channels");
  try {
    l.dtype = dtype_from_element_class(get_string(require(j, "elementClass", where), where + ".elementClass"),
                                       l.num_channels);
  } catch (const Error& e) {
    bad(where + ".elementClass", e.what());
  }
  if (j.contains("defaultViewConfiguration")) l.default_view_configuration = j["defaultViewConfiguration"];
  if (j.contains("coordinateTransformations")) {
    l.coordinate_transformations = j["coordinateTransformations"];
    if (!l.coordinate_transformations.is_null() && !l.coordinate_transformations.is_array())
      bad(where + ".coordinateTransformations", "expected a list");
  }
  if (j.contains("largestSegmentId") && !j["largestSegmentId"].is_null())
    l.largest_segment_id = get_int(j["largestSegmentId"], where + ".largestSegmentId");
  if (j.contains("mappings") && !j["mappings"].is_null()) {
    if (!j["mappings"].is_array()) bad(where + ".mappings", "expected a list of names");
    for (const auto& m : j["mappings"]) l.mappings.push_back(get_string(m, where + ".mappings[]"));
  }
  if (j.contains("attachments")) {
    l.attachments = j["attachments"];
    if (!l.attachments.is_null() && !l.attachments.is_object()) bad(where + ".attachments", "expected an object");
  }
  parse_additional_axes(j, where, l);
  split_known(j, {"name", "category", "boundingBox", "dataFormat", "mags", "wkwResolutions", "numChannels",
                  "elementClass", "defaultViewConfiguration", "coordinateTransformations", "largestSegmentId",
                  "mappings", "attachments", "additionalAxes"},
              l.extra);
  // Normalise: every mag carries the layer's axis order and channel index, as the library writes it.
  Json order = l.effective_axis_order();
  for (auto& m : l.mags) {
    m.axis_order = order;
    if (!m.channel_index && l.bbox_channel_index) m.channel_index = l.bbox_channel_index;
  }
  check_axes(l, where);
  return l;
}

bool attachments_empty(const Json& a) {
  if (a.is_null()) return true;
  if (!a.is_object()) return false;
  for (const auto& v : a)
    if (!v.is_null() && !(v.is_array() && v.empty()) && !(v.is_object() && v.empty())) return false;
  return true;
}

void append_extra(Json& obj, const Json& extra) {
  for (auto it = extra.begin(); it != extra.end(); ++it)
    if (!obj.contains(it.key())) obj[it.key()] = it.value();
}

std::string element_class_name(DType t, int channels) {
  std::string ec = element_class(t, channels);
  if (ec == "float32") return "float";  // dtype_conversion.py maps the total width back
  if (ec == "float64") return "double";
  return ec;
}

Json layer_to_json(const LayerProperties& l) {
  Json o = Json::object();
  o["name"] = l.name;
  o["category"] = category_name(l.category);
  Json bb = Json::object();
  const auto& b = l.bounding_box;
  bb["topLeft"] = Json::array({b.top_left.x, b.top_left.y, b.top_left.z});
  bb["width"] = b.size.x;
  bb["height"] = b.size.y;
  bb["depth"] = b.size.z;
  if (l.mags.empty()) {  // structuring.py moves these to the mags only when there are mags
    bb["axisOrder"] = l.effective_axis_order();
    if (l.bbox_channel_index.value_or(0) != 0) bb["channelIndex"] = *l.bbox_channel_index;
  }
  append_extra(bb, l.bbox_extra);
  o["boundingBox"] = bb;
  o["dataFormat"] = data_format_name(l.data_format);
  Json mags = Json::array();
  Json order = l.effective_axis_order();
  for (const auto& m : l.mags) {
    Json e = Json::object();
    e["mag"] = Json::array({m.mag.x(), m.mag.y(), m.mag.z()});
    if (m.path) e["path"] = *m.path;
    if (l.data_format == DataFormat::Wkw && m.cube_length) e["cubeLength"] = *m.cube_length;
    e["axisOrder"] = order;
    if (m.channel_index.value_or(0) != 0) e["channelIndex"] = *m.channel_index;
    append_extra(e, m.extra);
    mags.push_back(e);
  }
  o["mags"] = mags;
  if (!l.default_view_configuration.is_null()) o["defaultViewConfiguration"] = l.default_view_configuration;
  if (!l.coordinate_transformations.is_null() && !l.coordinate_transformations.empty())
    o["coordinateTransformations"] = l.coordinate_transformations;
  if (l.largest_segment_id) o["largestSegmentId"] = *l.largest_segment_id;
  if (!l.mappings.empty()) o["mappings"] = l.mappings;
  if (!attachments_empty(l.attachments)) o["attachments"] = l.attachments;
  if (!l.additional_axes.empty()) {
    Json axes = Json::array();
    for (const auto& a : l.additional_axes)
      axes.push_back(Json{{"name", a.name}, {"bounds", Json::array({a.lower, a.upper})}, {"index", a.index}});
    o["additionalAxes"] = axes;
  }
  o["numChannels"] = l.num_channels;
  o["elementClass"] = element_class_name(l.dtype, l.num_channels);
  append_extra(o, l.extra);
  return o;
}

}  // namespace

std::string category_name(Category c) { return c == Category::Color ? "color" : "segmentation"; }

Category parse_category(const std::string& s) {
  if (s == "color") return Category::Color;
  if (s == "segmentation") return Category::Segmentation;
  fail(ErrorKind::InvalidArgument, "unknown category '" + s + "' (expected color or segmentation)");
}

std::string parse_length_unit(const std::string& s) {
  for (const auto& u : kUnits)
    if (s == u.name || s == u.abbreviation) return u.name;
  if (s == "\xCE\xBCm" || s == "um") return "micrometer";  // Greek mu, as users type it
  fail(ErrorKind::InvalidArgument, "unknown length unit '" + s + "'");
}

double nanometers_per_unit(const std::string& unit) {
  for (const auto& u : kUnits)
    if (unit == u.name) return u.nanometers;
  fail(ErrorKind::InvalidArgument, "unknown length unit '" + unit + "'");
}

Vec3d VoxelSize::in_nanometers() const {
  double f = nanometers_per_unit(unit);
  return {factor.x * f, factor.y * f, factor.z * f};
}

bool is_valid_layer_name(const std::string& name) {
  static const std::regex re(R"(^[A-Za-z0-9_$@\-]+[A-Za-z0-9_$@\-\.]*$)");
  return name.size() <= 255 && std::regex_match(name, re);
}

const MagEntry* LayerProperties::find_mag(const Mag& mag) const {
  for (const auto& m : mags)
    if (m.mag == mag) return &m;
  return nullptr;
}

MagEntry* LayerProperties::find_mag(const Mag& mag) {
  for (auto& m : mags)
    if (m.mag == mag) return &m;
  return nullptr;
}

Json LayerProperties::effective_axis_order() const {
  Json order;
  for (const auto& m : mags)
    if (!m.axis_order.is_null()) {
      order = m.axis_order;
      break;
    }
  if (order.is_null()) order = bbox_axis_order;
  // Without additional axes, a (c,)x,y,z order at 0..3 is the plain layout; channelIndex only
  // shifts the channel range (MagView) and does not change the axes.
  if (is_3d_axis_order(order)) return axis_order_3d();
  return order;
}

bool LayerProperties::is_plain_3d() const {
  return additional_axes.empty() && effective_axis_order() == axis_order_3d();
}

std::vector<std::string> LayerProperties::array_axes() const {
  if (is_plain_3d()) return {"c", "x", "y", "z"};
  std::vector<std::pair<int64_t, std::string>> axes;
  Json order = effective_axis_order();
  for (auto it = order.begin(); it != order.end(); ++it) axes.emplace_back(it.value().get<int64_t>(), it.key());
  for (const auto& a : additional_axes) axes.emplace_back(a.index, a.name);
  std::sort(axes.begin(), axes.end());
  std::vector<std::string> names;
  for (auto& a : axes) names.push_back(a.second);
  return names;
}

DatasetProperties DatasetProperties::parse(const std::string& text) {
  try {
    Json j = Json::parse(text);
    if (!j.is_object()) bad("top level", "expected an object");
    DatasetProperties p;
    if (j.contains("id")) p.id = j["id"];
    p.voxel_size = parse_scale(require(j, "scale", "top level"));
    const Json& layers = require(j, "dataLayers", "top level");
    if (!layers.is_array()) bad("dataLayers", "expected a list");
    for (size_t i = 0; i < layers.size(); ++i) {
      auto layer = parse_layer(layers[i], "dataLayers[" + std::to_string(i) + "]");
      if (p.find_layer(layer.name)) bad("dataLayers", "layer name \"" + layer.name + "\" given twice");
      p.layers.push_back(std::move(layer));
    }
    if (j.contains("version") && !j["version"].is_null()) {
      if (!j["version"].is_number_integer() || get_int(j["version"], "version") != 1)
        bad("version", "only version 1 is supported, got " + j["version"].dump());
    }
    if (j.contains("defaultViewConfiguration")) p.default_view_configuration = j["defaultViewConfiguration"];
    split_known(j, {"id", "scale", "dataLayers", "version", "defaultViewConfiguration"}, p.extra);
    return p;
  } catch (const Json::exception& e) {
    std::string msg = e.what();  // may quote the offending input: keep the message on one line
    for (char& c : msg)
      if (c == '\n' || c == '\r') c = ' ';
    fail(ErrorKind::InvalidArgument, "datasource-properties.json: invalid JSON: " + msg);
  } catch (const std::regex_error& e) {
    fail(ErrorKind::InvalidArgument, std::string("datasource-properties.json: ") + e.what());
  }
}

std::string DatasetProperties::dump() const {
  Json o = Json::object();
  o["id"] = id;
  Json factor = Json::array({voxel_size.factor.x, voxel_size.factor.y, voxel_size.factor.z});
  o["scale"] = Json{{"factor", factor}, {"unit", voxel_size.unit}};
  Json layers_json = Json::array();
  for (const auto& l : layers) layers_json.push_back(layer_to_json(l));
  o["dataLayers"] = layers_json;
  o["version"] = version;
  if (!default_view_configuration.is_null()) o["defaultViewConfiguration"] = default_view_configuration;
  append_extra(o, extra);
  return python_json_dumps(o);
}

const LayerProperties* DatasetProperties::find_layer(const std::string& name) const {
  for (const auto& l : layers)
    if (l.name == name) return &l;
  return nullptr;
}

LayerProperties* DatasetProperties::find_layer(const std::string& name) {
  for (auto& l : layers)
    if (l.name == name) return &l;
  return nullptr;
}

void check_bounding_box(const BoundingBox& box, const std::string& where) {
  const std::string what = where + " " + box.top_left.to_string() + "," + box.size.to_string();
  if (box.top_left.min_dim() < 0 || box.size.min_dim() < 0)
    fail(ErrorKind::InvalidArgument, what + ": topLeft and size must not be negative");
  // each value is checked before the sum, so the sum cannot overflow
  if (box.top_left.max_dim() > kMaxBoxCorner || box.size.max_dim() > kMaxBoxCorner ||
      (box.top_left + box.size).max_dim() > kMaxBoxCorner)
    fail(ErrorKind::InvalidArgument, what + " is too large: topLeft + size must be at most 2^31-1 on each axis "
                                            "(WEBKNOSSOS reads boxes as 32-bit integers)");
  // at most 2^31 per axis: the product of two fits in int64, the third is compared by division
  const int64_t xy = box.size.x * box.size.y;
  if (xy > 0 && box.size.z > kMaxBoxVoxels / xy)
    fail(ErrorKind::InvalidArgument, what + " is too large: at most 2^53 voxels");
}

void check_new_bounding_boxes(const DatasetProperties& current, const DatasetProperties& next) {
  for (const auto& l : next.layers) {
    const LayerProperties* old = current.find_layer(l.name);
    if (old && old->bounding_box == l.bounding_box) continue;
    check_bounding_box(l.bounding_box, "bounding box of layer '" + l.name + "'");
  }
}

}  // namespace wkfs
