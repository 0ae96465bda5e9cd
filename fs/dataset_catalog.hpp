#pragma once
// Which dataset a path of the mount belongs to: SOURCE is one dataset or a folder of datasets.
// Datasets are opened on first use and re-read when their properties file changes on disk.
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dataset/dataset.hpp"
#include "dataset/dataset_lock.hpp"
#include "fs/remote_context.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;


/// A mount-relative path split at its dataset: `inner` are the components below the dataset root
/// (inner[0] a layer folder, inner[1] a mag folder...).
struct Location {
  std::shared_ptr<Dataset> dataset;
  fs::path dataset_rel;             // the dataset root, relative to the mount root
  std::vector<std::string> inner;
  std::string busy;  // set if another mount holds the dataset's lock: why writes to it are refused
};

class DatasetCatalog {
 public:
  /// Throws NotFound for a missing SOURCE, InvalidArgument if it is neither a dataset nor holds one.
  /// Datasets are opened with `cache` for their arrays' decoded chunks (null: none). On a writable
  /// catalog, a dataset that appears later (made or copied in after the mount) is locked when it is
  /// first opened, with `lock_purpose` as the holder's purpose; those present now are the mount's
  /// to lock (run_mount locks them before it serves).
  /// `may_be_empty`: SOURCE may hold no dataset (the local overlay of a remote SOURCE).
  /// `remote`: the mount's context the datasets' URL mags are read through (its client, CA file,
  /// token, timeouts, cache; it outlives the catalog); null: each dataset makes a default one.
  DatasetCatalog(fs::path source, bool read_only, std::shared_ptr<ChunkCache> cache = nullptr,
                 std::string lock_purpose = "wkfs mount", bool may_be_empty = false, RemoteContext* remote = nullptr);

  const fs::path& source() const { return source_; }
  /// True if SOURCE itself is a dataset (the mount root is the dataset root).
  bool single() const { return single_; }
  bool read_only() const { return read_only_; }
  /// The dataset holding `rel` (mount-relative) and the rest of the path; nullopt outside datasets.
  std::optional<Location> locate(const fs::path& rel);
  /// Mount-relative roots of all datasets currently present.
  std::vector<fs::path> dataset_roots() const;

 private:
  /// The dataset at `rel`, opened once (and re-read when its properties change); `busy` is set
  /// when another mount holds its lock.
  std::shared_ptr<Dataset> open_cached(const fs::path& rel, std::string& busy);

  fs::path source_;
  bool single_;
  bool read_only_;
  std::shared_ptr<ChunkCache> cache_;
  std::string lock_purpose_;
  std::set<std::string> at_mount_;  // the datasets present when the catalog was made
  std::mutex mutex_;
  struct Entry {
    std::shared_ptr<Dataset> dataset;
    fs::file_time_type mtime;
    uintmax_t size = 0;
    std::optional<DatasetLock> lock;  // held while the entry lives (a dataset found later)
    std::string busy;                 // another mount's lock refused ours: opened read-only
  };
  std::map<std::string, Entry> open_;
  RemoteContext* remote_;
};

}  // namespace wkfs::mount
