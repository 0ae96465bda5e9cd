#pragma once
// The persistent list of mags whose chunks wkfs computes on demand, kept in
// <dataset>/.wkfs/lazy.json (written atomically), so registrations survive unmount and remount.
//
// A lazy mag is NOT in the backing datasource-properties.json until every one of its files is
// computed (then it is added, marked complete, and stays registered so that later writes to its
// source can make it stale again). So the backing dataset opened without wkfs only ever shows
// complete mags.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/data_format.hpp"
#include "core/mag.hpp"
#include "core/vec.hpp"
#include "dataset/properties.hpp"

namespace wkfs {

namespace fs = std::filesystem;

enum class LazyKind { Downsample, Upsample };

struct LazyMag {
  std::string layer;
  Mag mag;
  Mag source_mag;           // computed from this mag (the previous one in the chain)
  LazyKind kind = LazyKind::Downsample;
  std::string interpolation;  // resolved mode: median, mode, max, min, nearest, bilinear, bicubic
  bool complete = false;      // every file computed and the mag listed in the backing properties
  uint64_t generation = 0;    // bumped whenever the whole mag is made stale (redownsample)
};

class LazyRegistry {
 public:
  /// Loads <dataset>/.wkfs/lazy.json if present (empty registry otherwise); Corrupt if unreadable.
  static LazyRegistry load(const fs::path& dataset_root);
  /// Writes the registry atomically.
  void save() const;

  const std::vector<LazyMag>& mags() const { return mags_; }
  std::vector<LazyMag>& mags() { return mags_; }
  /// Entry for (layer, mag) or nullptr.
  const LazyMag* find(const std::string& layer, const Mag& mag) const;
  LazyMag* find(const std::string& layer, const Mag& mag);
  /// Removes (layer, mag); true if it was there.
  bool remove(const std::string& layer, const Mag& mag);
  /// Renames every entry of a layer.
  void rename_layer(const std::string& from, const std::string& to);
  /// <dataset>/.wkfs (the folder wkfs keeps its own state in).
  static fs::path state_dir(const fs::path& dataset_root) { return dataset_root / kStateDir; }

 private:
  fs::path root_;
  std::vector<LazyMag> mags_;
};

}  // namespace wkfs
