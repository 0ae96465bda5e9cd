#pragma once
// Which dataset a path of the mount belongs to: SOURCE is one dataset or a folder of datasets.
// Datasets are opened on first use and re-read when their properties file changes on disk.
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dataset/dataset.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;


/// A mount-relative path split at its dataset: `inner` are the components below the dataset root
/// (inner[0] a layer folder, inner[1] a mag folder...).
struct Location {
  std::shared_ptr<Dataset> dataset;
  fs::path dataset_rel;             // the dataset root, relative to the mount root
  std::vector<std::string> inner;
};

class DatasetCatalog {
 public:
  /// Throws NotFound for a missing SOURCE, InvalidArgument if it is neither a dataset nor holds one.
  /// Datasets are opened with `cache` for their arrays' decoded chunks (null: none).
  DatasetCatalog(fs::path source, bool read_only, std::shared_ptr<ChunkCache> cache = nullptr);

  const fs::path& source() const { return source_; }
  /// True if SOURCE itself is a dataset (the mount root is the dataset root).
  bool single() const { return single_; }
  bool read_only() const { return read_only_; }
  /// The dataset holding `rel` (mount-relative) and the rest of the path; nullopt outside datasets.
  std::optional<Location> locate(const fs::path& rel);
  /// Mount-relative roots of all datasets currently present.
  std::vector<fs::path> dataset_roots() const;

 private:
  std::shared_ptr<Dataset> open_cached(const fs::path& rel);

  fs::path source_;
  bool single_;
  bool read_only_;
  std::shared_ptr<ChunkCache> cache_;
  std::mutex mutex_;
  struct Entry {
    std::shared_ptr<Dataset> dataset;
    fs::file_time_type mtime;
    uintmax_t size = 0;
  };
  std::map<std::string, Entry> open_;
};

}  // namespace wkfs::mount
