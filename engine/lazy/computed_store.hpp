#pragma once
// Where the lazy engine keeps the files it computed, named by their path relative to the dataset
// root: the dataset itself (a writable mount), or, on a read-only mount, a cache folder or memory
// in front of what the dataset already holds (read_only_store.hpp). The state model holds in each:
// a lazy file is computed iff its store has it.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "core/bytes.hpp"
#include "core/file_io.hpp"

namespace wkfs {

namespace fs = std::filesystem;

class Dataset;
struct LazyConfig;

class ComputedStore {
 public:
  virtual ~ComputedStore() = default;
  /// The stored file opened for reading; invalid if there is none.
  virtual UniqueFd open(const fs::path& rel) const = 0;
  /// True if the file is stored.
  virtual bool contains(const fs::path& rel) const = 0;
  /// Stores the file (atomically: readers see the old version or this one) and returns it opened
  /// for reading. The descriptor stays valid however the store changes afterwards.
  virtual UniqueFd put(const fs::path& rel, ByteSpan bytes) = 0;
  /// Forgets the file; true if there was one.
  virtual bool remove(const fs::path& rel) = 0;
  /// Calls `fn` with every stored file below `rel_dir` (paths relative to `rel_dir`).
  virtual void for_each_under(const fs::path& rel_dir, const std::function<void(const fs::path&)>& fn) const = 0;
  /// The stored file's modification time (ns since the epoch); nullopt if there is none.
  virtual std::optional<int64_t> modified_at(const fs::path& rel) const = 0;
  /// Where the engine may keep state of its own next to the files (its offline-change scan times);
  /// nullopt: nowhere (memory).
  virtual std::optional<fs::path> state_dir() const = 0;
};

/// The store of a dataset's lazy engine: the dataset folder on a writable dataset; on a read-only
/// one the dataset's files as they are (never changed) under `config.cache_dir` or memory.
std::unique_ptr<ComputedStore> make_computed_store(const Dataset& dataset, const LazyConfig& config);

/// The folder of `cache_dir` that holds one dataset's computed files: the dataset's folder name
/// plus a hash of its absolute path (two datasets of the same name never share one), below it
/// layer/mag/file as in the dataset.
fs::path cache_folder_for(const fs::path& cache_dir, const fs::path& dataset_root);

}  // namespace wkfs
