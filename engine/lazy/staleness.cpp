// The staleness side of the lazy engine: a change of a source file deletes the files computed
// from it (all levels), durably (change intents replayed at load), and changes made while no
// daemon ran are found at load. On a read-only dataset nothing here writes to it: stale files are
// masked by the store, intents stay recorded, scan times go to the cache folder or nowhere.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "core/error.hpp"
#include "dataset/new_mag.hpp"
#include "lazy/file_times.hpp"
#include "lazy/lazy_engine.hpp"

namespace wkfs {

void LazyEngine::replay_intents() {
  for (const auto& [record, rel] : intents_.leftovers()) {
    try {
      source_changed(rel);
      diag_.report(LogLevel::Info, "lazy", rel.string(),
                   "a change of this file was interrupted (crash): the files computed from it are stale");
      // a read-only mount only masks them: the next writable one must still delete them
      if (!dataset_->read_only()) ChangeIntents::remove(record);
    } catch (const std::exception& e) {
      diag_.report(LogLevel::Error, "lazy", rel.string(), std::string("replaying an interrupted change: ") + e.what(),
                   errno_of(e));
    }
  }
}

void LazyEngine::invalidate_older(const std::string& layer, const Mag& mag, const NdBox& box, int64_t when,
                                  std::vector<fs::path>& changed) {
  for (const auto& d : dependents_of(layer, mag))
    for (const auto& s : d->grid->shards_in(d->step.affected_target(box))) {
      const auto m = store_->modified_at(d->rel_file(s));
      if (m && *m < when) invalidate(*d, d->grid->shard_box(s), changed);
    }
}

namespace {

constexpr const char* kScanTimesFile = "source-scan.json";

/// The scan times kept in `file`: mag key -> ns; empty if absent or unreadable (scan everything once).
Json read_scan_times(const fs::path& file) {
  try {
    if (auto bytes = read_file_if_exists(file)) {
      Json j = Json::parse(std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
      if (j.is_object()) return j;
    }
  } catch (const std::exception&) {
  }
  return Json::object();
}

int64_t scan_time(const Json& times, const std::string& key) {
  return times.contains(key) && times[key].is_number_integer() ? times[key].get<int64_t>() : 0;
}

}  // namespace

void LazyEngine::scan_offline_changes() {
  // Where this engine keeps its scan times: .wkfs/ of a writable dataset, the cache folder of a
  // read-only one (nowhere for memory). A read-only mount also trusts the dataset's own times:
  // what changed before them, the writable mount that wrote them made stale already.
  const std::optional<fs::path> own_dir = store_->state_dir();
  const Json stamps_before = own_dir ? read_scan_times(*own_dir / kScanTimesFile) : Json::object();
  Json stamps = stamps_before;
  const Json dataset_stamps = dataset_->read_only()
                                  ? read_scan_times(LazyRegistry::state_dir(dataset_->root()) / kScanTimesFile)
                                  : stamps_before;
  // the source mags that are no lazy mag themselves and have something computed from them
  std::map<std::string, std::pair<std::string, Mag>> sources;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, st] : states_)
      if (st->computed.load() > 0 && !states_.count(mag_key(st->spec.layer, st->spec.source_mag)))
        sources.emplace(mag_key(st->spec.layer, st->spec.source_mag), std::make_pair(st->spec.layer, st->spec.source_mag));
  }
  if (sources.empty()) return;
  auto props = dataset_->properties();
  std::vector<fs::path> changed;
  bool any = false;
  for (const auto& [key, lm] : sources) {
    const auto& [layer, mag] = lm;
    const LayerProperties* lp = props.find_layer(layer);
    if (!lp) continue;
    const int64_t started = now_ns();  // a file changed during the scan is seen by the next one
    // the files of the store are as new as the older of both times (a cache without times: none)
    const int64_t since = std::min(scan_time(dataset_stamps, key), own_dir ? scan_time(stamps_before, key) : INT64_MAX);
    try {
      // A remote source has no folder to scan: its ETags are checked when a dependent is opened.
      if (dataset_->is_remote_mag(layer, mag)) continue;
      const fs::path dir = dataset_->mag_path(layer, mag);
      std::shared_ptr<Array> arr(open_array(dir));
      NdBox whole{VecN(arr->meta().rank(), 0), arr->meta().shape};
      ShardGrid grid(arr->meta(), lp->data_format, whole);
      std::error_code ec;
      for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
           !ec && it != end; it.increment(ec)) {
        struct stat st {};
        if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        const int64_t when = changed_at(st);
        if (when <= since) continue;
        if (auto idx = grid.parse(it->path().lexically_relative(dir))) invalidate_older(layer, mag, grid.shard_box(*idx), when, changed);
      }
      stamps[key] = started;
      any = true;
    } catch (const std::exception& e) {
      diag_.report(LogLevel::Warn, "lazy", key, std::string("checking for changes made outside the mount: ") + e.what(),
                   errno_of(e));
    }
  }
  if (!changed.empty())
    diag_.report(LogLevel::Info, "lazy", dataset_->root().string(),
                 std::to_string(changed.size()) + " computed files were older than their sources (changed outside the mount): stale");
  notify(changed);
  if (any && own_dir) {
    const fs::path stamps_file = *own_dir / kScanTimesFile;
    try {
      std::error_code ec;
      fs::create_directories(*own_dir, ec);  // a new cache folder
      write_file_atomic(stamps_file, stamps.dump());
    } catch (const std::exception& e) {
      diag_.report(LogLevel::Warn, "lazy", stamps_file.string(), std::string("not saved: ") + e.what(), errno_of(e));
    }
  }
}

ChangeIntents::Intent LazyEngine::begin_source_change(const fs::path& rel) const {
  if (rel.empty() || dataset_->read_only()) return {};  // nothing changes it through this engine
  const std::string layer = rel.begin()->string();
  {
    std::lock_guard lock(mu_);
    bool any = false;
    for (const auto& m : registry_.mags()) any = any || m.layer == layer;
    if (!any) return {};
  }
  return intents_.record(rel);
}

LazyEngine::~LazyEngine() = default;

void LazyEngine::invalidate(MagState& st, const NdBox& box, std::vector<fs::path>& changed) {
  std::vector<fs::path> present;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : st.grid->shards_in(box)) {
      fs::path file = st.rel_file(s);
      auto it = inflight_.find(file.string());
      if (it != inflight_.end()) it->second->stale = true;  // its computation may have read the old source
      if (st.stored(s)) present.push_back(std::move(file));
    }
    if (!present.empty()) listing_.mark_pending(st);  // unlisted before any file goes
  }
  uint64_t removed = 0;
  for (auto& rel : present)
    if (store_->remove(rel)) {
      ++removed;
      changed.push_back(std::move(rel));
    }
  st.stale += removed;
  st.computed -= std::min<uint64_t>(removed, st.computed.load());
  // everything computed from this mag depends on the same region
  for (const auto& d : dependents_of(st.spec.layer, st.spec.mag)) invalidate(*d, d->step.affected_target(box), changed);
}

std::vector<std::shared_ptr<MagState>> LazyEngine::dependents_of(const std::string& layer, const Mag& mag) const {
  std::vector<std::shared_ptr<MagState>> dependents;
  std::lock_guard lock(mu_);
  for (const auto& [k, d] : states_)
    if (d->spec.layer == layer && d->spec.source_mag == mag) dependents.push_back(d);
  return dependents;
}

void LazyEngine::source_changed(const fs::path& rel) {
  // wkfs's own temp files (a write_file_atomic through the mount) are no data until renamed; as
  // names that are no shard key they would make the whole mag's dependents stale
  if (is_temp_file_name(rel.filename().string())) return;
  auto props = dataset_->properties();
  std::vector<fs::path> changed;
  // Every mag whose folder holds `rel` (a folder may serve several layers: add-mag-as-ref),
  // lazy ones included: a write into a pending mag makes what is computed from it stale too.
  for (const auto& layer : props.layers) {
    for (const auto& mag : layer_mags(layer)) {
      const auto dependents = dependents_of(layer.name, mag);
      if (dependents.empty()) continue;
      const std::shared_ptr<MagState> own = state(layer.name, mag);
      fs::path mag_dir;
      try {
        mag_dir = own ? own->dir : dataset_->mag_path(layer.name, mag);
      } catch (const Error&) {
        continue;
      }
      // The mount names a symlinked mag by its link, which resolving (mag_path) loses: try the
      // layer's own folder names for the mag as well.
      fs::path r;
      for (const auto& dir : {mag_dir.lexically_relative(dataset_->root()), fs::path(layer.name) / mag.short_name(),
                              fs::path(layer.name) / mag.long_name()}) {
        r = rel.lexically_relative(dir);
        if (!r.empty() && *r.begin() != ".." && r != ".") break;
        r.clear();
      }
      if (r.empty()) continue;
      // the changed file's box in the source mag; the whole mag if the name is not a shard key
      std::shared_ptr<Array> arr = own ? own->array : std::shared_ptr<Array>(open_array(mag_dir, dataset_->chunk_cache()));
      NdBox whole{VecN(arr->meta().rank(), 0), arr->meta().shape};
      NdBox box = whole;
      try {
        ShardGrid g(arr->meta(), layer.data_format, whole);
        if (auto idx = g.parse(r)) box = g.shard_box(*idx);
      } catch (const Error&) {
      }
      for (const auto& d : dependents) invalidate(*d, d->step.affected_target(box), changed);
    }
  }
  notify(changed);
}

void LazyEngine::notify(const std::vector<fs::path>& changed) const {
  if (on_invalidate_)
    for (const auto& c : changed) on_invalidate_(c);
}

// --- registry maintenance ----------------------------------------------------------------------

}  // namespace wkfs
