#pragma once
// What mkdir, rm, rmdir, ln -s and mv mean on the layer and mag folders of a dataset: the Layer
// API of webknossos-libs, done through the Dataset and the lazy engines. Each method either does
// the Layer-API call and says what changed, or returns nullopt: then the request is a plain file
// operation on the backing folder.
#include <optional>
#include <string>

#include "fs/lazy_overlay.hpp"
#include "fs/mount_paths.hpp"
#include "fs/mount_tree.hpp"

namespace wkfs::mount {

/// What a Layer-API call changed: a dataset's properties (and a layer's folder), or with no
/// dataset only the lazy overlay's listing of the parent folder.
struct LayerApiChange {
  std::optional<Location> dataset;
  std::optional<std::string> layer;
};

class LayerApiOps {
 public:
  LayerApiOps(MountTree& tree, const LazyOverlay& overlay, const MountPaths& paths)
      : tree_(tree), overlay_(overlay), paths_(paths) {}

  /// mkdir LAYER/MAG is add_mag with the library's defaults (a registered mag whose folder is
  /// missing, as `cp -r` into the mount makes it, is a plain mkdir).
  std::optional<LayerApiChange> mkdir(const PathInfo& parent, const std::string& name);
  /// rm of a lazy file not computed yet (nothing stored), of a symlinked mag (delete_mag), or of a
  /// listed mag's metadata file (the mag is unlisted first: the step of rm -r where delete_mag happens).
  std::optional<LayerApiChange> unlink(const PathInfo& path);
  /// rmdir of a pending lazy mag, of a mag (delete_mag) or of a layer (delete_layer); their folders
  /// must be empty but for temp files (and, for a layer, the Zarr group files the library rewrites).
  std::optional<LayerApiChange> rmdir(const PathInfo& path);
  /// ln -s TARGET LAYER/MAG is add_symlink_mag (a relative TARGET means make_relative).
  std::optional<LayerApiChange> symlink(const PathInfo& parent, const std::string& name, const std::string& target);
  /// mv DATASET/OLD DATASET/NEW of a layer (within its folder) is the layer's name setter; any
  /// rename that would leave the properties wrong is refused first (refuse_rename).
  std::optional<LayerApiChange> rename(const PathInfo& from, const PathInfo& to, unsigned flags);
  /// EXDEV for a layer moved out of its dataset folder, EBUSY for a mag folder moved or replaced, a
  /// listed mag's metadata moved away, and for a layer folder replaced by another name.
  void refuse_rename(const PathInfo& from, const PathInfo& to) const;
  /// EROFS in the link view (a symlinked mag leading outside its dataset), and if the folder `path`
  /// is in resolves outside its dataset (through a symlinked mag or layer). Every change calls it.
  void refuse_outside_source(const PathInfo& path) const;

  /// Empty apart from temp files and, with `ignore_group_metadata`, the Zarr group files.
  static bool folder_empty(const fs::path& dir, bool ignore_group_metadata = false);

 private:
  /// rm LAYER/MAG/<metadata> of a listed mag: unlist it, then remove the file.
  LayerApiChange unlist_with_metadata(const PathInfo& mag, const fs::path& metadata);
  /// rm LAYER/MAG/<metadata> of a pending lazy mag: forget its registration, then remove the file.
  std::optional<LayerApiChange> forget_pending_with_metadata(const PathInfo& file, const fs::path& metadata);

  MountTree& tree_;
  const LazyOverlay& overlay_;
  const MountPaths& paths_;
};

}  // namespace wkfs::mount
