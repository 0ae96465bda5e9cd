#include "fs/layer_api_ops.hpp"

#include <stdio.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace wkfs::mount {

namespace {

LayerApiChange changed(const PathInfo& p, std::optional<std::string> layer) { return {p.loc, std::move(layer)}; }

// The mag a Layer-API name stands for, refused (EINVAL, before anything changes) unless the name
// is the one the library gives the mag's folder (`mkdir`: the short name; a link may also take
// the long one): "02" or "2-2-2" for mag 2 would add a mag whose folder has another name.
Mag canonical_mag(const std::string& name, const fs::path& where, bool long_allowed) {
  Mag mag = Mag::parse(name);  // "3-3" is InvalidArgument -> EINVAL
  if (name != mag.short_name() && !(long_allowed && name == mag.long_name()))
    fail(ErrorKind::InvalidArgument, "'" + name + "' in " + where.string() + " is not a mag folder name: mag " +
                                         mag.long_name() + " lives in '" + mag.short_name() + "'");
  return mag;
}

bool is_array_metadata_name(const std::string& n) { return n == "zarr.json" || n == ".zarray" || n == "header.wkw"; }

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
  // an existing mag answers EEXIST (add_mag), whatever its spelling; a new one needs its folder's name
  if (!(layer && layer->find_mag(mag))) canonical_mag(name, parent.rel, false);
  ds.add_mag(parent.layer, mag);
  return changed(parent, parent.layer);
}

std::optional<LayerApiChange> LayerApiOps::unlink(const PathInfo& path) {
  const auto backing = paths_.backing(path.rel);
  if (path.kind == PathKind::InMag && path.in_dataset.parent_path().parent_path() == path.layer &&
      is_array_metadata_name(path.rel.filename().string())) {
    auto mag = tree_.classify(path.rel.parent_path());
    if (mag.kind == PathKind::Mag) return unlist_with_metadata(mag, backing);
    if (auto forgotten = forget_pending_with_metadata(path, backing)) return forgotten;
  }
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

// rm -r LAYER/MAG removes files first, then folders; whatever the order, a mag must never be
// listed without its metadata. So the metadata file going is the moment delete_mag happens: the
// mag is unlisted first (refused, changing nothing, while lazy mags are computed from it), then
// the file goes; the remaining files are plain files of an unlisted folder, which rm -r then
// removes. A kill at any point leaves a valid dataset: the mag listed with its metadata (maybe
// fewer chunks, which read as fill value) or an unlisted folder.
LayerApiChange LayerApiOps::unlist_with_metadata(const PathInfo& mag, const fs::path& metadata) {
  auto& ds = mag.loc->dataset;
  LazyEngine* engine = tree_.engines().serving(ds);
  if (engine) engine->require_no_pending_dependents(mag.layer, *mag.mag);
  ds->unlist_mag(mag.layer, *mag.mag);
  if (engine) engine->forget_mag(mag.layer, *mag.mag);
  if (::unlink(metadata.c_str()) != 0 && errno != ENOENT)
    fail_errno("mag " + mag.mag->long_name() + " was unlisted, but its metadata " + metadata.string() +
               " could not be removed");
  return changed(mag, mag.layer);
}

// A pending lazy mag is not in the backing properties, so its metadata going cannot make the
// backing dataset invalid; its registration stays until the folder goes (rmdir), so that `rm -r`
// still finds the listed files it read before (forgetting it here made rm -r fail with ENOENT on
// them). Refused, changing nothing, while lazy mags are computed from it.
std::optional<LayerApiChange> LayerApiOps::forget_pending_with_metadata(const PathInfo& file, const fs::path&) {
  if (!file.lazy) return std::nullopt;
  std::optional<Mag> mag;
  try {
    mag = Mag::parse(file.rel.parent_path().filename().string());
  } catch (const Error&) {
    return std::nullopt;
  }
  if (file.rel.parent_path().filename().string() != mag->short_name() || !file.lazy->is_pending_mag(file.layer, *mag))
    return std::nullopt;
  file.lazy->require_no_pending_dependents(file.layer, *mag);
  return std::nullopt;  // a plain unlink of the file
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
  auto mag = canonical_mag(name, parent.rel, true);
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
    if (ec) {
      // an error reply changes nothing: take the mag back out (unlisted, then its link removed)
      const int err = ec.value();
      tree_.engines().delete_mag(parent.loc->dataset, parent.layer, mag);
      fail_errno(err, "cannot name the mag link " + (parent.rel / name).string() + "; the mag was not added");
    }
    fs::remove(made, ec);
  }
  return changed(parent, parent.layer);
}

std::optional<LayerApiChange> LayerApiOps::rename(const PathInfo& from, const PathInfo& to, unsigned flags) {
  refuse_rename(from, to);
  if (from.kind != PathKind::Layer) return std::nullopt;
  if (flags & RENAME_EXCHANGE) fail(ErrorKind::InvalidArgument, "layers cannot be exchanged");
  const std::string new_name = to.rel.filename().string();
  tree_.engines().rename_layer(from.loc->dataset, from.layer, new_name);
  return changed(from, std::nullopt);
}

void LayerApiOps::refuse_rename(const PathInfo& from, const PathInfo& to) const {
  const bool same_dataset_folder = to.loc && to.loc->inner.size() == 1 && to.loc->dataset_rel == from.loc->dataset_rel;
  if (from.kind == PathKind::Layer && !same_dataset_folder)
    fail_errno(EXDEV, "layer " + from.rel.string() + " can only be renamed within its dataset folder (mv DATASET/OLD "
                      "DATASET/NEW); to move it elsewhere, copy it and remove it with rm -r");
  // The library has no mag rename: moving a mag folder would leave its entry pointing at nothing.
  if (from.kind == PathKind::Mag || to.kind == PathKind::Mag)
    fail_errno(EBUSY, "mag folder " + (from.kind == PathKind::Mag ? from : to).rel.string() +
                      " cannot be renamed or replaced: add the new mag (mkdir, add-mag) and delete the old one "
                      "(rm -r, delete-mag)");
  // Replacing the metadata by a rename is a write (tools save that way); moving it away is not.
  if (from.kind == PathKind::InMag && is_array_metadata_name(from.rel.filename().string()) &&
      from.in_dataset.parent_path().parent_path() == from.layer &&
      tree_.classify(from.rel.parent_path()).kind == PathKind::Mag)
    fail_errno(EBUSY, "the array metadata " + from.rel.string() + " of a listed mag cannot be moved away: "
                      "remove the mag with rm -r or delete-mag");
  // A layer or mag name made by a rename is not a Layer-API call: it would be a folder nobody listed
  // that add_mag or the lazy engine could later write through (if it is a link, outside SOURCE).
  if (to.kind == PathKind::Layer && !(from.kind == PathKind::Layer))
    fail_errno(EBUSY, "layer folder " + to.rel.string() + " cannot be replaced by a rename");
}

void LayerApiOps::refuse_outside_source(const PathInfo& path) const {
  if (path.kind == PathKind::LinkView) {
    std::error_code ec;
    const fs::path target = fs::weakly_canonical(paths_.backing(path.rel), ec);
    fail_errno(EROFS, "/" + link_view_inner(path.rel).string() + " is inside a symlinked mag whose target " +
                          target.string() +
                          " lies outside its dataset: the mag belongs to its link target, write it there");
  }
  // Inside a mag folder that is a symlink (a foreign mag) the backing path leads into another
  // dataset: the change would happen outside SOURCE. The folder it happens in, resolved, must lie
  // in the dataset's own folder.
  if (path.kind != PathKind::InMag || !path.loc) return;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(paths_.backing(path.loc->dataset_rel), ec);
  if (ec) return;
  const fs::path parent = fs::weakly_canonical(paths_.backing(path.rel).parent_path(), ec);
  if (ec) return;  // a missing parent: the operation itself answers ENOENT
  const auto rel = parent.lexically_relative(root);
  if (!rel.empty() && *rel.begin() != "..") return;
  fail_errno(EROFS, path.rel.string() + " is inside a symlink to " + parent.string() +
                    ", outside the dataset: foreign (symlinked) mags are read-only through wkfs");
}

}  // namespace wkfs::mount
