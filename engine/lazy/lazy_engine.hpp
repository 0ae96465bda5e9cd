#pragma once
// The lazy materialisation engine of one dataset: pyramids registered at once (metadata only),
// each shard file of a lazy mag computed from the previous mag the first time anyone opens it,
// written atomically and kept; writes to a finer mag make what depends on them stale.
//
// State model: a shard file of a lazy mag is computed if and only if it exists in the engine's
// store (lazy mags store fill-valued shards too): the backing folder on a writable dataset. Stale =
// deleted. So a crash at any point leaves every file either absent (lazy) or complete; nothing
// else needs to be recovered. A read-only dataset is never changed: its store puts a cache folder
// (LazyConfig::cache_dir) or memory in front of the files it holds (computed_store.hpp).
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/diagnostics.hpp"
#include "core/json.hpp"
#include "dataset/dataset.hpp"
#include "core/file_io.hpp"
#include "lazy/backing_listing.hpp"
#include "lazy/change_intents.hpp"
#include "lazy/computed_store.hpp"
#include "lazy/lazy_registry.hpp"
#include "lazy/mag_state.hpp"
#include "lazy/memory_budget.hpp"
#include "lazy/source_snapshot.hpp"
#include "lazy/work_queue.hpp"

namespace wkfs {

struct LazyConfig {
  size_t memory_cap_bytes = size_t{1} << 30;  // all concurrent computations together
  unsigned threads = 0;                       // background workers; 0 = one per core
  int64_t lazy_shard_edge = 128;              // default shard edge of lazily computed mags
  // Read-only datasets only: where files computed by the mount go (cache_folder_for); unset, they
  // are kept in memory, at most memory_cap_bytes of them (least recently used dropped first).
  std::optional<fs::path> cache_dir;
};

/// Arguments of `downsample` (webknossos-libs Layer.downsample), as strings where the library
/// takes names.
struct DownsampleRequest {
  std::optional<Mag> from_mag;
  std::optional<Mag> coarsest_mag;
  std::string interpolation = "default";
  std::string sampling_mode = "anisotropic";
  bool align_with_other_layers = true;
  bool force_sampling_scheme = false;
  bool allow_overwrite = false;
  MagOptions mag_options;
  std::optional<std::vector<Mag>> explicit_mags;  // downsample-mag(-list): these targets, in order
};

struct UpsampleRequest {
  Mag from_mag;
  std::optional<Mag> finest_mag;
  std::string sampling_mode = "anisotropic";
  MagOptions mag_options;
};

/// A file of a lazy mag: which mag and which shard.
struct LazyFileRef {
  std::string layer;
  Mag mag;
  VecN shard;
};

class LazyEngine {
 public:
  /// Called with the relative path of every lazy file that became stale, so the FUSE layer can
  /// drop kernel caches.
  using InvalidateFn = std::function<void(const fs::path&)>;

  /// Loads the registrations of the dataset; counts what is already computed; replays the source
  /// changes a crash left recorded (their dependents become stale).
  LazyEngine(std::shared_ptr<Dataset> dataset, LazyConfig config, Diagnostics& diagnostics,
             InvalidateFn on_invalidate = {});
  /// Stops the background workers (each finishes the file it computes).
  ~LazyEngine();
  LazyEngine(const LazyEngine&) = delete;
  LazyEngine& operator=(const LazyEngine&) = delete;

  /// Registers the mags of a downsampling run (metadata only); returns them in order.
  std::vector<Mag> downsample(const std::string& layer, const DownsampleRequest& request);
  /// Registers the mags of an upsampling run; returns them in order.
  std::vector<Mag> upsample(const std::string& layer, const UpsampleRequest& request);
  /// Makes every mag of the layer except the finest lazy and stale (recomputed from the finest).
  std::vector<Mag> redownsample(const std::string& layer);
  /// The default pyramid for every layer that has a single mag (mount option pyramid=auto).
  void register_default_pyramids();
  /// Queues every uncomputed file of the lazy mags of `layer` (all layers if empty; one mag if
  /// given) for background computation.
  size_t materialize(const std::string& layer = {}, std::optional<Mag> mag = std::nullopt);
  /// Blocks until the background queue is empty and no computation runs.
  void wait_idle();

  /// The lazy file at a path relative to the dataset root, if it is one (computed or not).
  std::optional<LazyFileRef> lazy_file(const fs::path& relative) const;
  /// Entries (name, is_folder) of a folder of a lazy mag that must be listed although they may
  /// not exist yet; nullopt if the folder is not inside a lazy mag.
  std::optional<std::vector<std::pair<std::string, bool>>> lazy_children(const fs::path& relative_dir) const;
  /// True if the file is stored (in the backing folder, on a writable dataset).
  bool computed(const LazyFileRef& ref) const;
  /// The size stat reports before a file is computed: an upper bound (uncompressed plus the
  /// worst-case growth of the compressor). On a read-only dataset the size of the version served
  /// once there is one (the cache's or memory's; the dataset's own file when it is not stale).
  uint64_t estimated_size(const LazyFileRef& ref) const;
  /// Computes the file if it is not computed yet (one computation however many callers).
  void ensure(const LazyFileRef& ref);
  /// Opens the file for reading, computed first if need be (or if a direct source is newer than
  /// it: changed behind the mount's back). Its data come from one consistent version of the
  /// sources; a source change during the computation leaves the caller that version and the next
  /// open a new one. Invalid if the mag was removed or replaced meanwhile.
  UniqueFd open(const LazyFileRef& ref);

  /// True if some registered lazy mag is not complete (the mount's properties differ from the backing ones).
  bool has_pending_mags() const;
  /// True if (layer, mag) is registered as lazy and not complete.
  bool is_pending_mag(const std::string& layer, const Mag& mag) const;
  /// NotEmpty if a lazy mag that is not complete yet is computed from (layer, mag): deleting
  /// its source would leave it nothing to be computed from.
  void require_no_pending_dependents(const std::string& layer, const Mag& mag) const;
  /// Forgets a lazy mag and removes its folder (rm -r of a lazy mag); false if not lazy.
  bool delete_lazy_mag(const std::string& layer, const Mag& mag);
  /// Reopens a lazy mag's array after its folder was replaced behind the engine (compress): the
  /// engine caches the array, codec included.
  void reopen_mag(const std::string& layer, const Mag& mag);
  /// Follows a layer rename.
  void rename_layer(const std::string& from, const std::string& to);
  /// Forgets the lazy mags of a deleted layer.
  void forget_layer(const std::string& layer);
  /// Forgets the registration of a lazy mag the Dataset deleted (a complete one is listed, so
  /// delete_mag removes its folder); false if it was not registered.
  bool forget_mag(const std::string& layer, const Mag& mag);

  /// The properties file as the mount shows it: the backing one plus the pending lazy mags.
  std::string mounted_properties() const;
  /// Removes pending lazy mags from a properties text written through the mount.
  std::string strip_pending_mags(const std::string& text) const;

  /// A backing file (relative path) was changed: files computed from it become stale.
  void source_changed(const fs::path& relative);
  /// Durably records that a backing file is about to change, when lazy mags of its layer exist
  /// (else records nothing): change it, call source_changed, then drop the intent.
  ChangeIntents::Intent begin_source_change(const fs::path& relative) const;

  /// Per layer and mag: files total / computed / stale, bytes, compute time, queue.
  Json status() const;
  const std::shared_ptr<Dataset>& dataset() const { return dataset_; }

 private:
  std::shared_ptr<MagState> state(const std::string& layer, const Mag& mag) const;
  std::shared_ptr<MagState> make_state(const LazyMag& spec, bool count_existing) const;
  /// Makes states for registrations that have none; `count_existing` scans for computed files.
  void rebuild_states(bool count_existing);

  // registration.cpp
  std::vector<Mag> register_chain(const std::string& layer, const Mag& from, const std::vector<Mag>& targets,
                                  LazyKind kind, const std::string& interpolation, const MagOptions& options,
                                  bool allow_overwrite);
  /// Drops the states of replaced mags (mu_ held); returns the lazy mags computed from them.
  std::vector<std::shared_ptr<MagState>> retire_replaced(const std::string& layer, const std::vector<Mag>& targets);
  /// The mags a downsampling run adds after `from` (the library's sequence).
  std::vector<Mag> downsampling_targets(const DatasetProperties& props, const LayerProperties& layer,
                                        const Mag& from, const DownsampleRequest& request) const;

  /// One computation of a file, joined by everyone who asks for it meanwhile.
  struct Flight {
    std::shared_future<std::shared_ptr<UniqueFd>> result;  // null: the mag was retired
    bool stale = false;  // a source changed after it began (mu_): later askers must not join it
  };
  /// What one computation left: the opened result (unlinked again if it turned stale), or
  /// nothing: `retry` if the file went between storing and opening it, else the mag is retired.
  struct Computed {
    std::shared_ptr<UniqueFd> fd;
    bool retry = false;
  };
  /// Computes and stores one file from a snapshot of its sources.
  Computed compute(MagState& st, const VecN& shard, Flight& flight);
  /// Opens the sources of `target` once each (computing lazy ones first); returns the source array.
  std::shared_ptr<Array> pin_sources(const MagState& st, const NdBox& target, SourceSnapshot& snapshot);
  /// Opens the stored file if it is as new as its direct sources; invalid if absent or stale (then deleted).
  UniqueFd open_stored(MagState& st, const VecN& shard);
  /// True once the state is no longer the registered one for its mag (overwritten, deleted, renamed).
  bool retired(const MagState& st) const;
  /// The array `st` is computed from (its lazy source's, a remote mag's, or the local mag's),
  /// opened once per state.
  std::shared_ptr<Array> source_of(const MagState& st) const;
  /// Makes the dependents of the changes a crash left recorded stale.
  void replay_intents();
  /// Writes made while no daemon ran (the library or a cluster job writing a source mag directly):
  /// every source file changed since the last load's scan makes the computed files older than it
  /// stale. Stats each file of the source mags (measured: see the report), keeps one time per mag
  /// in .wkfs/source-scan.json so only files changed since cost more than a stat.
  void scan_offline_changes();
  /// Makes the files computed from `box` of (layer, mag) that are older than `changed_at` stale.
  void invalidate_older(const std::string& layer, const Mag& mag, const NdBox& box, int64_t changed_at,
                        std::vector<fs::path>& changed);
  static constexpr int kMaxStoreRaces = 100;
  /// ReadOnly for a change of the registrations of a read-only dataset.
  void require_writable(const char* what) const;
  void invalidate(MagState& st, const NdBox& target_box, std::vector<fs::path>& changed);
  /// The lazy mags computed from (layer, mag).
  std::vector<std::shared_ptr<MagState>> dependents_of(const std::string& layer, const Mag& mag) const;
  /// Tells on_invalidate_ of every changed file.
  void notify(const std::vector<fs::path>& changed) const;
  /// Lists the mag once every file exists; `recount` checks the disk even if the counter says no.
  void mark_complete_if_done(MagState& st, bool recount = false);
  /// Puts files at the front of the background queue: a computation's missing sources, so that
  /// the workers compute them alongside the thread that needs them.
  void help_with(const std::shared_ptr<MagState>& st, const std::vector<VecN>& shards);
  /// The background job that computes one file.
  WorkQueue::Job job_for(const std::shared_ptr<MagState>& st, const VecN& shard);
  /// The layer's listed mags plus its pending lazy ones.
  std::vector<Mag> layer_mags(const LayerProperties& layer) const;

  std::shared_ptr<Dataset> dataset_;
  LazyConfig config_;
  Diagnostics& diag_;
  InvalidateFn on_invalidate_;
  MemoryBudget budget_;
  std::shared_ptr<ComputedStore> store_;
  mutable std::mutex mu_;  // registry_, states_, inflight_, and the listing's calls
  LazyRegistry registry_;
  BackingListing listing_;  // of registry_ and *dataset_
  MagStates states_;
  std::map<std::string, std::shared_ptr<Flight>> inflight_;
  ChangeIntents intents_;
  // Declared last, so destroyed first: its workers stop before anything they use goes.
  WorkQueue queue_;
};

}  // namespace wkfs
