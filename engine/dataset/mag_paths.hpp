#pragma once
// The library's rules for where a mag lives (notes 2.3): how a stored mag path resolves, when a mag
// is foreign, and how a path is stored (dump_path).
#include <filesystem>
#include <string>

#include "dataset/properties.hpp"

namespace wkfs {

namespace fs = std::filesystem;

/// True for a URL path ("s3://...", "https://..."): a remote mag.
bool is_remote_path(const std::string& path);
/// Absolute, symlinks followed as far as the path exists (weakly_canonical), else lexically normal.
fs::path resolve_path(const fs::path& path);
/// True if `path` lies strictly below `dir` (both resolved by the caller).
bool is_inside(const fs::path& path, const fs::path& dir);
/// The library's dump_path: "./" + the path relative to the dataset if inside it, else absolute.
std::string dump_path(const fs::path& path, const fs::path& root);

/// The folder of a mag entry as the library resolves it (notes 2.3): stored path relative to the
/// dataset or absolute, else the legacy <layer>/<short> then <layer>/<long> lookup. Symlinks are
/// followed. NotFound for a legacy entry with no folder, Unsupported for a remote (URL) path.
fs::path resolve_mag_path(const fs::path& root, const LayerProperties& layer, const MagEntry& entry);
/// True if the entry's folder is not directly inside <root>/<layer> (or is remote).
bool is_foreign_mag_entry(const fs::path& root, const LayerProperties& layer, const MagEntry& entry);
/// The folder name a mag entry has on disk (its stored path's last part, else the resolved one,
/// else the short name), as the OME metadata and a layer rename store it.
std::string mag_folder_name(const fs::path& root, const LayerProperties& layer, const MagEntry& entry);

/// A mag of another dataset, given by its folder (the source of add_*_mag).
struct SourceMag {
  fs::path dataset_root;
  LayerProperties layer;
  MagEntry entry;
  fs::path dir;  // resolved
};
/// The mag living in `path`, which must be <dataset>/<layer>/<mag> of a dataset with a properties
/// file (the library's MagView._ensure_mag_view); NotFound / InvalidArgument otherwise.
SourceMag locate_source_mag(const fs::path& path);

}  // namespace wkfs
