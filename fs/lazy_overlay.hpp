#pragma once
// What lazy mags add to the mount's tree before their files are computed: folders and files that
// are listed and stat-able but not yet in the backing folder, the properties file with the pending
// mags, and the hooks that compute a file on open and make files stale on writes. Every method
// takes the path's classification (MountTree), so nothing is located twice.
#include <sys/stat.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fs/mount_tree.hpp"

namespace wkfs::mount {

class LazyOverlay {
 public:
  explicit LazyOverlay(bool read_only) : read_only_(read_only) {}

  /// Attributes of a lazy file or folder that is not in the backing folder (yet).
  std::optional<struct stat> stat(const PathInfo& path) const;
  /// Names to list in a folder beyond those in the backing folder (name, is_folder).
  std::vector<std::pair<std::string, bool>> entries(const PathInfo& dir) const;
  /// Computes the lazy file if it is one and not computed yet; true if it was lazy.
  bool ensure(const PathInfo& path) const;
  /// Opens a lazy file for reading, computed first (one consistent version of its sources);
  /// nullopt if the path is not a lazy file, an invalid descriptor if its mag went meanwhile.
  std::optional<UniqueFd> open(const PathInfo& path) const;
  /// Durably records that a file in a mag is about to change (LazyEngine::begin_source_change).
  ChangeIntents::Intent begin_change(const PathInfo& path) const;
  /// True for a file of a lazy mag (computed or not): its data can change under the page cache.
  bool is_lazy_file(const PathInfo& path) const;
  /// The properties text the mount shows (backing + pending lazy mags) if it differs from the backing.
  std::optional<std::string> properties(const PathInfo& props) const;
  /// The text to store when `text` is written to the properties file through the mount.
  std::string stored_properties(const PathInfo& props, const std::string& text) const;
  /// A backing file was changed through the mount: dependent lazy files become stale.
  void written(const PathInfo& path) const;
  /// rmdir of a pending lazy mag, or rm of a lazy file/folder that is not computed: true if handled.
  bool remove(const PathInfo& path, bool is_dir) const;

 private:
  bool read_only_;
};

}  // namespace wkfs::mount
