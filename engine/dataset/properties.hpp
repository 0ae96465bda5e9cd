#pragma once
// The datasource-properties.json model: typed access to every key the library knows, unknown keys
// kept verbatim, and serialisation in the library's key order and format (json.dumps indent=4).
#include <map>
#include "core/json.hpp"
#include <optional>
#include <string>
#include <vector>

#include "core/bounding_box.hpp"
#include "core/data_format.hpp"
#include "core/dtype.hpp"
#include "core/mag.hpp"

namespace wkfs {

/// The properties file at the dataset root, the lock file the library's writers take beside it,
/// and the hidden folder where wkfs keeps its own state (lazy registrations).
inline constexpr const char* kPropertiesFile = "datasource-properties.json";
inline constexpr const char* kLockFile = "datasource-properties.json.__lock";
inline constexpr const char* kStateDir = ".wkfs";

enum class Category { Color, Segmentation };

struct VoxelSize {
  Vec3d factor{1, 1, 1};
  std::string unit = "nanometer";  // full lower-case name
  /// factor converted to nanometers.
  Vec3d in_nanometers() const;
};

struct MagEntry {
  Mag mag;
  std::optional<std::string> path;       // as stored ("./color/1", absolute, relative, URL)
  std::optional<int64_t> cube_length;    // WKW only
  Json axis_order;                       // {"c":0,"x":1,"y":2,"z":3} or nD; null if absent
  std::optional<int64_t> channel_index;  // only when not 0
  Json extra = Json::object();           // unknown keys, kept
};

struct AdditionalAxis {
  std::string name;
  int64_t lower = 0, upper = 0;  // [lower, upper)
  int64_t index = 0;             // array axis index
};

struct LayerProperties {
  std::string name;
  Category category = Category::Color;
  BoundingBox bounding_box;
  DataFormat data_format = DataFormat::Zarr3;
  std::vector<MagEntry> mags;
  int num_channels = 1;
  DType dtype = DType::UInt8;  // per channel
  Json default_view_configuration;  // null if absent
  Json coordinate_transformations;  // null if absent
  std::optional<int64_t> largest_segment_id;  // segmentation only
  std::vector<std::string> mappings;          // segmentation only
  Json attachments;                           // null if absent
  std::vector<AdditionalAxis> additional_axes;
  Json bbox_axis_order;  // axisOrder found inside boundingBox (kept for layers with no mags)
  Json extra = Json::object();
  std::optional<int64_t> bbox_channel_index;  // channelIndex found inside boundingBox
  Json bbox_extra = Json::object();           // unknown keys of boundingBox, kept

  /// The axisOrder every mag is written with: {"c":0,"x":1,"y":2,"z":3} for plain 3D layers.
  Json effective_axis_order() const;
  /// True for (c,x,y,z) layers: no additional axes and the default axis order.
  bool is_plain_3d() const;

  /// Entry for `mag` or nullptr.
  const MagEntry* find_mag(const Mag& mag) const;
  MagEntry* find_mag(const Mag& mag);
  /// Array axis names in array order: c,x,y,z for 3D; e.g. c,t,z,y,x for nD.
  std::vector<std::string> array_axes() const;
};

struct DatasetProperties {
  Json id = Json{{"name", ""}, {"team", ""}};
  VoxelSize voxel_size;
  std::vector<LayerProperties> layers;
  int version = 1;
  Json default_view_configuration;  // null if absent
  Json extra = Json::object();

  /// Parses and validates; InvalidArgument with the reason for anything the library rejects.
  static DatasetProperties parse(const std::string& text);
  /// Serialises exactly as the library writes it (indent 4, library key order, no trailing newline).
  std::string dump() const;
  const LayerProperties* find_layer(const std::string& name) const;
  LayerProperties* find_layer(const std::string& name);
};

/// True if `name` is a valid layer name (the library's regex).
bool is_valid_layer_name(const std::string& name);

/// The largest coordinate or extent a properties file may hold: keeps every sum of coordinates far
/// from overflow (the parser's limit; a bounding box is held to the tighter ones below).
inline constexpr int64_t kMaxCoordinate = int64_t{1} << 50;
/// A bounding box's bottom-right corner on each axis: WEBKNOSSOS reads boxes as 32-bit ints.
inline constexpr int64_t kMaxBoxCorner = (int64_t{1} << 31) - 1;
/// A bounding box's voxel count: 2^53, the integers a JSON reader's double holds exactly, and
/// several times the largest datasets published (H01, MICrONS: ~2^50-2^51 voxels at mag 1).
inline constexpr int64_t kMaxBoxVoxels = int64_t{1} << 53;
/// The one check of a bounding box, on every path that sets one (properties file, xattr, `set`,
/// `add-layer`, a mag import that grows the box): InvalidArgument unless topLeft and size are >= 0,
/// topLeft + size <= kMaxBoxCorner on each axis and the voxel count is at most kMaxBoxVoxels.
void check_bounding_box(const BoundingBox& box, const std::string& where = "bounding box");
/// check_bounding_box for every layer of `next` whose box differs from the one in `current` (an old
/// box is not rechecked, so an edit elsewhere is never refused because of it).
void check_new_bounding_boxes(const DatasetProperties& current, const DatasetProperties& next);

/// "color" / "segmentation".
std::string category_name(Category c);
/// Parses a category; InvalidArgument otherwise.
Category parse_category(const std::string& s);
/// Full lower-case unit name for a unit or its abbreviation ("nm" -> "nanometer"); InvalidArgument otherwise.
std::string parse_length_unit(const std::string& s);
/// Nanometers per one `unit` (a full name as parse_length_unit returns).
double nanometers_per_unit(const std::string& unit);

}  // namespace wkfs
