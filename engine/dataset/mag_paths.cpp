#include "dataset/mag_paths.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace wkfs {

bool is_remote_path(const std::string& path) { return path.find("://") != std::string::npos; }

fs::path resolve_path(const fs::path& path) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(fs::absolute(path), ec);
  return ec ? fs::absolute(path).lexically_normal() : r;
}

bool is_inside(const fs::path& path, const fs::path& dir) {
  auto rel = path.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

std::string dump_path(const fs::path& path, const fs::path& root) {
  fs::path rp = resolve_path(path), rr = resolve_path(root);
  if (is_inside(rp, rr)) return "./" + rp.lexically_relative(rr).generic_string();
  return rp.generic_string();
}

fs::path resolve_mag_path(const fs::path& root, const LayerProperties& layer, const MagEntry& entry) {
  if (entry.path) {
    if (is_remote_path(*entry.path))
      fail(ErrorKind::Unsupported, "mag " + entry.mag.long_name() + " of layer '" + layer.name +
                                       "' is remote (" + *entry.path + "): it has no local folder; its data is read through its mag view");
    fs::path p(*entry.path);
    return resolve_path(p.is_absolute() ? p : root / p);
  }
  for (const auto& name : {entry.mag.short_name(), entry.mag.long_name()}) {
    fs::path p = root / layer.name / name;
    if (fs::exists(p)) return resolve_path(p);
  }
  fail(ErrorKind::NotFound, "mag " + entry.mag.long_name() + " of layer '" + layer.name + "': neither " +
                                (root / layer.name / entry.mag.short_name()).string() + " nor " +
                                entry.mag.long_name() + " exists");
}

bool is_foreign_mag_entry(const fs::path& root, const LayerProperties& layer, const MagEntry& entry) {
  if (entry.path && is_remote_path(*entry.path)) return true;
  try {
    return resolve_mag_path(root, layer, entry).parent_path() != resolve_path(root / layer.name);
  } catch (const Error&) {
    return false;  // legacy entry without a folder: it would be created inside the layer
  }
}

std::string mag_folder_name(const fs::path& root, const LayerProperties& layer, const MagEntry& entry) {
  if (entry.path) return fs::path(*entry.path).lexically_normal().filename().string();
  try {
    return resolve_mag_path(root, layer, entry).filename().string();
  } catch (const Error&) {
    return entry.mag.short_name();
  }
}

SourceMag locate_source_mag(const fs::path& path) {
  fs::path dir = resolve_path(path);
  if (!fs::is_directory(dir)) fail(ErrorKind::NotFound, "source mag folder not found: " + path.string());
  fs::path ds_root = dir.parent_path().parent_path();
  if (!fs::exists(ds_root / kPropertiesFile))
    fail(ErrorKind::InvalidArgument, "source " + path.string() +
                                         " must be a mag folder <dataset>/<layer>/<mag> of a dataset with " + kPropertiesFile);
  Bytes text = read_file(ds_root / kPropertiesFile);
  auto props = DatasetProperties::parse(std::string(reinterpret_cast<const char*>(text.data()), text.size()));
  const std::string layer_name = dir.parent_path().filename().string();
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "layer '" + layer_name + "' not found in " + ds_root.string());
  for (const auto& m : layer->mags) {
    try {
      if (resolve_mag_path(ds_root, *layer, m) == dir) return {ds_root, *layer, m, dir};
    } catch (const Error&) {
    }
  }
  fail(ErrorKind::NotFound, "no mag of layer '" + layer->name + "' in " + ds_root.string() + " lives in " + dir.string());
}

}  // namespace wkfs
