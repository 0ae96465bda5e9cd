#pragma once
// What the lazy engine knows of one registered lazy mag at run time: its registration, its array
// and shard grid, the step that computes it, and its counters.
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <set>
#include <string>

#include "core/data_format.hpp"
#include "formats/array.hpp"
#include "lazy/computed_store.hpp"
#include "lazy/lazy_registry.hpp"
#include "lazy/mag_step.hpp"
#include "lazy/remote_source_versions.hpp"
#include "lazy/shard_grid.hpp"

namespace wkfs {

struct MagState {
  LazyMag spec;
  fs::path dir;       // absolute mag folder
  fs::path rel_dir;   // relative to the dataset root
  DataFormat format = DataFormat::Zarr3;
  std::shared_ptr<Array> array;
  std::optional<ShardGrid> grid;
  MagStep step;
  mutable std::mutex source_mu;
  mutable std::shared_ptr<Array> source_array;  // for the source's shard paths (freshness checks)
  RemoteSourceVersions remote_sources;          // what files were computed from, when the source is remote
  std::atomic<uint64_t> computed{0}, stale{0}, bytes{0}, compute_ns{0}, queued{0}, in_progress{0}, errors{0};

  std::shared_ptr<ComputedStore> store;  // where its computed files are

  /// The file of a shard, relative to the dataset root (its name in the store).
  fs::path rel_file(const VecN& shard) const { return rel_dir / grid->relative_path(shard); }
  /// Computed = stored (the state model): the one existence check every path uses.
  bool stored(const VecN& shard) const { return store->contains(rel_file(shard)); }
  /// Stored files of the mag that are shards of its grid (temp files and metadata are not).
  uint64_t count_stored() const;
};

/// Key of a lazy mag in MagStates: layer + "/" + mag long name.
inline std::string mag_key(const std::string& layer, const Mag& mag) { return layer + "/" + mag.long_name(); }

using MagStates = std::map<std::string, std::shared_ptr<MagState>>;

}  // namespace wkfs
