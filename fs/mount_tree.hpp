#pragma once
// What a path of the mount is, said once per request: the mount root, a dataset root, its
// properties file, a layer or mag folder, something inside a mag (chunk and shard files), a
// control or status file, wkfs's own hidden state, or a plain file. Every operation of the core
// asks classify() once and decides on the answer.
#include <filesystem>
#include <optional>
#include <string>

#include "core/mag.hpp"
#include "fs/dataset_catalog.hpp"
#include "fs/remote_catalog.hpp"
#include "lazy/lazy_engine_registry.hpp"

namespace wkfs::mount {

enum class PathKind {
  Root,         // the mount root of a folder of datasets
  DatasetRoot,  // a dataset folder (the mount root when SOURCE is one dataset)
  Properties,   // DATASET/datasource-properties.json
  Layer,        // DATASET/LAYER of a layer in the properties
  Mag,          // DATASET/LAYER/MAG of a mag in the properties (its folder or its symlink)
  InMag,        // DATASET/LAYER/X/...: chunk and shard files and their folders
  Control,      // DATASET/.wkfs-ctl or DATASET/LAYER/.wkfs-ctl
  Status,       // .wkfs-status at the mount root
  Hidden,       // wkfs's own: the .wkfs state folder, the properties lock, temp files
  Plain,        // anything else: passed through
  LinkView,     // .wkfs-links/...: a symlinked mag whose target is outside its dataset, read-only
  Remote,       // a file or folder of a remote store (fs/remote_catalog.hpp), read-only
};

struct PathInfo {
  PathKind kind = PathKind::Plain;
  fs::path rel;                 // relative to the mount root
  std::optional<Location> loc;  // set inside a dataset
  fs::path in_dataset;          // relative to the dataset root
  std::string layer;            // Layer, Mag; the first component below the dataset for InMag
  std::optional<Mag> mag;       // Mag
  LazyEngine* lazy = nullptr;   // the dataset's lazy engine, if lazy features are on for it
  RemotePath remote;            // Remote: its tree and key
  bool overlay_layer = false;   // Remote: a layer folder only the remote store has, of an overlay dataset (loc set)

  bool in_dataset_root() const { return loc && loc->inner.empty(); }
  /// A folder that holds a control file: a dataset root or a layer (also one still only remote).
  bool has_control_file() const {
    return kind == PathKind::DatasetRoot || kind == PathKind::Layer || overlay_layer;
  }
};

/// True for names the Layer API reads as a mag ("1", "2-2-1").
bool looks_like_mag(const std::string& name);
/// True for the names of wkfs's own state in a dataset root (never listed, never found).
bool is_state_name(const std::string& name);

class MountTree {
 public:
  /// `remote`, if given, decides first which paths are remote.
  MountTree(DatasetCatalog& catalog, LazyEngineRegistry& engines, RemoteCatalog* remote = nullptr)
      : catalog_(catalog), engines_(engines), remote_(remote) {}
  /// The remote catalog given at construction, or null.
  RemoteCatalog* remote() const { return remote_; }

  /// What `rel` (relative to the mount root) is; `backing` is SOURCE (for the symlinked-mag check).
  PathInfo classify(const fs::path& rel) const;
  /// The symlinked mag link at mount-relative `rel` leads outside its dataset (another dataset, or
  /// outside SOURCE): readlink answers it with its path in the link view.
  bool is_outside_mag_link(const PathInfo& mag) const;
  DatasetCatalog& catalog() const { return catalog_; }
  LazyEngineRegistry& engines() const { return engines_; }

 private:
  /// A path in the link view: LinkView on the way to a listed mag link that leads outside its
  /// dataset and below it, Hidden anywhere else (the view shows those mags only).
  PathInfo classify_link_view(const fs::path& rel) const;

  DatasetCatalog& catalog_;
  LazyEngineRegistry& engines_;
  RemoteCatalog* remote_;
};

}  // namespace wkfs::mount
