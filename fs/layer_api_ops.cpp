#include "fs/layer_api_ops.hpp"

#include <stdio.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace wkfs::mount {

namespace {

LayerApiChange changed(const PathInfo& p, std::optional<std::string> layer) { return {p.loc, std::move(layer)}; }

}  // namespace

bool LayerApiOps::folder_empty(const fs::path& dir, bool ignore_group_metadata) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto n = e.path().filename().string();
    if (is_temp_file_name(n)) continue;
    // delete_mag rewrites LAYER/zarr.json after `rm -r` removed it
    if (ignore_group_metadata && (n == "zarr.json" || n == ".zgroup" || n == ".zattrs")) continue;
    return false;
  }
  return true;
}

std::optional<LayerApiChange> LayerApiOps::mkdir(const PathInfo& parent, const std::string& name) {
  if (parent.kind != PathKind::Layer || !looks_like_mag(name)) return std::nullopt;
  auto& ds = *parent.loc->dataset;
  auto mag = Mag::parse(name);  // "3" is InvalidArgument -> EINVAL
  auto props = ds.properties();
  const auto* layer = props.find_layer(parent.layer);
  std::error_code ec;
  if (layer && layer->find_mag(mag) && !fs::exists(ds.mag_path(parent.layer, mag), ec)) return std::nullopt;
  ds.add_mag(parent.layer, mag);
  return changed(parent, parent.layer);
}

std::optional<LayerApiChange> LayerApiOps::unlink(const PathInfo& path) {
  const auto backing = paths_.backing(path.rel);
  struct stat st {};
  if (::lstat(backing.c_str(), &st) != 0) {
    if (errno == ENOENT && overlay_.remove(path, false)) return LayerApiChange{};  // a lazy file not computed yet
    return std::nullopt;
  }
  if (!S_ISLNK(st.st_mode) || path.kind != PathKind::Mag) return std::nullopt;
  // a symlinked mag: rm LAYER/MAG is delete_mag
  tree_.engines().delete_mag(path.loc->dataset, path.layer, *path.mag);
  if (::lstat(backing.c_str(), &st) == 0 && ::unlink(backing.c_str()) != 0) fail_errno("unlink " + path.rel.string());
  return changed(path, path.layer);
}

std::optional<LayerApiChange> LayerApiOps::rmdir(const PathInfo& path) {
  const auto backing = paths_.backing(path.rel);
  std::error_code ec;
  const bool exists = fs::exists(backing, ec);
  if ((!exists || folder_empty(backing)) && overlay_.remove(path, true))
    return LayerApiChange{};  // a pending lazy mag, or a lazy folder with nothing computed
  if (path.kind == PathKind::Mag) {
    if (!folder_empty(backing)) fail(ErrorKind::NotEmpty, "mag folder " + path.rel.string() + " is not empty");
    tree_.engines().delete_mag(path.loc->dataset, path.layer, *path.mag);
    if (fs::exists(backing, ec)) fs::remove_all(backing, ec);  // temp leftovers only
    return changed(path, path.layer);
  }
  if (path.kind == PathKind::Layer) {
    if (!folder_empty(backing, true)) fail(ErrorKind::NotEmpty, "layer folder " + path.rel.string() + " is not empty");
    tree_.engines().delete_layer(path.loc->dataset, path.layer);
    if (fs::exists(backing, ec)) fs::remove_all(backing, ec);
    return changed(path, std::nullopt);
  }
  return std::nullopt;
}

std::optional<LayerApiChange> LayerApiOps::symlink(const PathInfo& parent, const std::string& name,
                                                   const std::string& link) {
  if (parent.kind != PathKind::Layer || !looks_like_mag(name)) return std::nullopt;
  auto& ds = *parent.loc->dataset;
  auto mag = Mag::parse(name);  // validates the name
  fs::path target(link);
  std::optional<Mag> target_mag;
  try {
    target_mag = Mag::parse(target.lexically_normal().filename().string());
  } catch (const Error&) {
  }
  if (!target_mag || !(*target_mag == mag))
    fail(ErrorKind::InvalidArgument, "a mag symlink is named as its target mag: " + name + " -> " + link);
  const bool relative = target.is_relative();
  const auto layer_dir = paths_.backing(parent.rel);
  auto resolved = relative ? (layer_dir / target).lexically_normal() : paths_.resolve_argument(link, parent.rel, "");
  ds.add_symlink_mag(parent.layer, resolved, relative);
  const auto here = layer_dir / name;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(here, ec))) {
    // The library names the link by the mag's short name ("2"); "2-2-2" is served by that link.
    auto made = layer_dir / mag.short_name();
    fs::create_directory_symlink(fs::read_symlink(made, ec), here, ec);
    if (ec) fail_errno(ec.value(), "cannot name the mag link " + (parent.rel / name).string());
    fs::remove(made, ec);
  }
  return changed(parent, parent.layer);
}

std::optional<LayerApiChange> LayerApiOps::rename(const PathInfo& from, const std::string& new_name, unsigned flags) {
  if (from.kind != PathKind::Layer) return std::nullopt;
  if (flags & RENAME_EXCHANGE) fail(ErrorKind::InvalidArgument, "layers cannot be exchanged");
  tree_.engines().rename_layer(from.loc->dataset, from.layer, new_name);
  return changed(from, std::nullopt);
}

}  // namespace wkfs::mount
