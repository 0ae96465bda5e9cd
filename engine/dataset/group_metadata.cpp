#include "dataset/group_metadata.hpp"

#include "core/file_io.hpp"
#include "dataset/mag_paths.hpp"
#include "dataset/python_json.hpp"

namespace wkfs {

namespace {

Json ome_axes() {
  Json axes = Json::array();
  axes.push_back(Json{{"name", "c"}, {"type", "channel"}});
  for (const char* a : {"x", "y", "z"}) axes.push_back(Json{{"name", a}, {"type", "space"}, {"unit", "nanometer"}});
  return axes;
}

/// ome_metadata.py: one dataset per mag with the voxel size in nanometers times the mag.
Json ome_datasets(const fs::path& root, const DatasetProperties& p, const LayerProperties& l) {
  Json datasets = Json::array();
  Vec3d nm = p.voxel_size.in_nanometers();
  for (const auto& m : l.mags) {
    Json scale = Json::array({1.0, nm.x * static_cast<double>(m.mag.x()), nm.y * static_cast<double>(m.mag.y()),
                              nm.z * static_cast<double>(m.mag.z())});
    datasets.push_back(Json{{"path", mag_folder_name(root, l, m)},
                            {"coordinateTransformations", Json::array({Json{{"type", "scale"}, {"scale", scale}}})}});
  }
  return datasets;
}

void write_if_changed(const fs::path& path, const std::string& text) {
  auto old = read_file_if_exists(path);
  if (old && std::string(reinterpret_cast<const char*>(old->data()), old->size()) == text) return;
  write_file_atomic(path, text);
}

}  // namespace

void write_group_files(const fs::path& root, const DatasetProperties& p) {
  bool any_zarr3 = false, any_zarr2 = false;
  const std::string zgroup = python_json_dumps(Json{{"zarr_format", "2"}});
  fs::path rroot = resolve_path(root);
  for (const auto& l : p.layers) {
    if (l.data_format == DataFormat::Zarr3) any_zarr3 = true;
    if (l.data_format == DataFormat::Zarr) any_zarr2 = true;
    if (l.data_format != DataFormat::Zarr3 && l.data_format != DataFormat::Zarr) continue;
    fs::path dir = root / l.name;
    if (!fs::is_directory(dir) || resolve_path(dir).parent_path() != rroot) continue;  // absent or foreign
    if (l.data_format == DataFormat::Zarr3) {
      Json ms = Json::array({Json{{"axes", ome_axes()}, {"datasets", ome_datasets(root, p, l)}}});
      Json doc = Json{{"zarr_format", 3},
                      {"node_type", "group"},
                      {"attributes", Json{{"ome", Json{{"version", "0.5"}, {"multiscales", ms}}}}}};
      write_if_changed(dir / "zarr.json", python_json_dumps(doc));
    } else {
      write_if_changed(dir / ".zgroup", zgroup);
      Json ms = Json::array({Json{{"version", "0.4"}, {"axes", ome_axes()}, {"datasets", ome_datasets(root, p, l)}}});
      write_if_changed(dir / ".zattrs", python_json_dumps(Json{{"multiscales", ms}}));
    }
  }
  if (any_zarr3) write_if_changed(root / "zarr.json", python_json_dumps(Json{{"zarr_format", 3}, {"node_type", "group"}}));
  if (any_zarr2) write_if_changed(root / ".zgroup", zgroup);
}

}  // namespace wkfs
