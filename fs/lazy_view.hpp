#pragma once
// What lazy mags add to the mount's tree before their files are computed: folders and files that
// are listed and stat-able but not yet in the backing folder, the properties file with the pending
// mags, and the hooks that compute a file on open and make files stale on writes.
#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fs/dataset_catalog.hpp"
#include "lazy/lazy_engine_registry.hpp"

namespace wkfs::mount {

class LazyView {
 public:
  LazyView(DatasetCatalog& catalog, LazyEngineRegistry& engines) : catalog_(catalog), engines_(engines) {}

  /// Attributes of a lazy file or folder at mount-relative `rel` that is not in the backing folder.
  std::optional<struct stat> stat(const fs::path& rel, bool read_only) const;
  /// Names to list in folder `rel` beyond those in the backing folder (name, is_folder).
  std::vector<std::pair<std::string, bool>> entries(const fs::path& rel) const;
  /// True for names wkfs keeps to itself (the dataset's `.wkfs` state folder).
  bool hidden(const fs::path& dir_rel, const std::string& name) const;
  /// Computes the lazy file at `rel` if it is one and not computed yet; true if it was lazy.
  bool ensure(const fs::path& rel) const;
  /// True if `rel` is a file of a lazy mag (computed or not): its data can change under the page cache.
  bool is_lazy_file(const fs::path& rel) const;
  /// The properties text the mount shows (backing + pending lazy mags) if it differs from the backing.
  std::optional<std::string> properties(const fs::path& props_rel) const;
  /// The text to store when `text` is written to the properties file through the mount.
  std::string stored_properties(const fs::path& props_rel, const std::string& text) const;
  /// A backing file at `rel` was written through the mount: dependent lazy files become stale.
  void written(const fs::path& rel) const;
  /// rmdir of a pending lazy mag, or rm of a lazy file/folder that is not computed: true if handled.
  bool remove(const fs::path& rel, bool is_dir) const;

 private:
  struct Target;
  std::optional<Target> target(const fs::path& rel) const;
  DatasetCatalog& catalog_;
  LazyEngineRegistry& engines_;
};

}  // namespace wkfs::mount
