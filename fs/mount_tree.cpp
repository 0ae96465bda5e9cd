#include "fs/mount_tree.hpp"

#include <regex>

#include "control/protocol.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "fs/link_view.hpp"

namespace wkfs::mount {

bool looks_like_mag(const std::string& name) {
  static const std::regex re("[0-9]+(-[0-9]+-[0-9]+)?");
  return std::regex_match(name, re);
}

// The lazy registry folder and the properties lock file are wkfs's own, not the dataset's.
bool is_state_name(const std::string& name) { return name == kStateDir || name == kLockFile; }

namespace {

// A registered mag is stored by its folder's path; a symlinked mag by its target's path, and the
// link in the layer folder is the mag.
bool is_registered_mag_folder(const Dataset& ds, const std::string& layer, const Mag& mag, const fs::path& here) {
  fs::path registered;
  try {
    registered = ds.mag_path(layer, mag).lexically_normal();
  } catch (const Error& e) {
    // the properties changed since the caller read them (a lazy mag unlisted while it goes stale)
    if (e.kind() == ErrorKind::NotFound) return false;
    throw;
  }
  if (registered == here.lexically_normal()) return true;
  std::error_code ec;
  return fs::is_symlink(here, ec) && fs::equivalent(here, registered, ec);
}

}  // namespace

PathInfo MountTree::classify(const fs::path& rel) const {
  PathInfo info;
  info.rel = rel;
  const std::string name = rel.filename().string();
  if (rel.empty()) info.kind = catalog_.single() ? PathKind::DatasetRoot : PathKind::Root;
  if (rel == control::kStatusFile) {
    info.kind = PathKind::Status;
    return info;
  }
  if (in_link_view(rel)) return classify_link_view(rel);
  if (!rel.empty() && is_temp_file_name(name)) {
    info.kind = PathKind::Hidden;
    return info;
  }
  // A URL SOURCE without a local dataset (no overlay) still has a control file at its root, for
  // the mount-wide commands (cache-clear); asked before the remote tree, which would look it up there.
  if (rel == control::kControlFile && remote_ && remote_->has_source() && !catalog_.single()) {
    info.kind = PathKind::Control;
    return info;
  }
  if (remote_)
    if (auto r = remote_->find(rel, catalog_, catalog_.source())) {
      info.kind = PathKind::Remote;
      info.remote = std::move(*r);
      // A layer of the overlay's dataset that only the store has yet still takes Layer-API commands
      // (downsample into the overlay): its dataset is the overlay's.
      const size_t layer_depth = catalog_.single() ? 1 : 2;
      if (remote_->has_overlay() && std::distance(rel.begin(), rel.end()) == static_cast<long>(layer_depth))
        if (auto loc = catalog_.locate(rel); loc && loc->inner.size() == 1 &&
                                             loc->dataset->properties().find_layer(loc->inner[0])) {
          info.layer = loc->inner[0];
          info.loc = std::move(loc);
          info.in_dataset = info.layer;
          info.lazy = engines_.serving(info.loc->dataset);
          info.overlay_layer = true;
        }
      return info;
    }
  info.loc = catalog_.locate(rel);
  if (!info.loc) return info;
  for (const auto& c : info.loc->inner) info.in_dataset /= c;
  info.lazy = engines_.serving(info.loc->dataset);
  const auto& inner = info.loc->inner;
  const size_t d = inner.size();
  if (d == 0) {
    info.kind = PathKind::DatasetRoot;
    return info;
  }
  info.layer = inner[0];
  if (d >= 3) {
    info.kind = PathKind::InMag;
    return info;
  }
  if (name == control::kControlFile) {
    // a control file lives in a dataset root or a layer folder, nowhere else; a layer the overlay
    // of a URL SOURCE lacks is a remote folder, yet its dataset (the overlay) takes its commands
    auto parent = classify(rel.parent_path());
    info.kind = parent.has_control_file() ? PathKind::Control : PathKind::Plain;
    return info;
  }
  if (d == 1) {
    if (name == kPropertiesFile) info.kind = PathKind::Properties;
    else if (is_state_name(name)) info.kind = PathKind::Hidden;
    else if (info.loc->dataset->properties().find_layer(name)) info.kind = PathKind::Layer;
    return info;
  }
  // d == 2: DATASET/LAYER/NAME
  if (!looks_like_mag(name)) return info;
  auto props = info.loc->dataset->properties();
  const auto* layer = props.find_layer(info.layer);
  if (!layer) return info;
  Mag mag;
  try {
    mag = Mag::parse(name);
  } catch (const Error&) {
    return info;
  }
  if (!layer->find_mag(mag)) return info;
  if (!is_registered_mag_folder(*info.loc->dataset, info.layer, mag, catalog_.source() / rel)) return info;
  info.kind = PathKind::Mag;
  info.mag = mag;
  return info;
}

bool MountTree::is_outside_mag_link(const PathInfo& mag) const {
  if (mag.kind != PathKind::Mag || !mag.loc) return false;
  const fs::path link = catalog_.source() / mag.rel;
  std::error_code ec;
  if (!fs::is_symlink(link, ec)) return false;
  const fs::path root = fs::weakly_canonical(catalog_.source() / mag.loc->dataset_rel, ec);
  if (ec) return false;
  const fs::path target = fs::weakly_canonical(link, ec);
  if (ec) return true;  // unresolvable: never handed to the kernel to follow
  const auto rel = target.lexically_relative(root);
  return rel.empty() || *rel.begin() == "..";
}

PathInfo MountTree::classify_link_view(const fs::path& rel) const {
  PathInfo info;
  info.rel = rel;
  info.kind = PathKind::LinkView;
  const fs::path inner = link_view_inner(rel);
  PathInfo shown = classify(inner);
  if (shown.kind == PathKind::Root || shown.kind == PathKind::DatasetRoot || shown.kind == PathKind::Layer)
    return info;  // on the way to a mag
  if (shown.loc && shown.loc->inner.size() >= 2) {
    fs::path mag_rel = shown.loc->dataset_rel / shown.loc->inner[0] / shown.loc->inner[1];
    if (is_outside_mag_link(shown.kind == PathKind::Mag ? shown : classify(mag_rel))) return info;
  }
  info.kind = PathKind::Hidden;
  return info;
}

}  // namespace wkfs::mount
