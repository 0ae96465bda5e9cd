// The staleness side of the lazy engine: a change of a source file deletes the files computed
// from it (all levels), durably (change intents replayed at load), and changes made while no
// daemon ran are found at load.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

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
      ChangeIntents::remove(record);
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
      struct stat st {};
      if (::stat(d->file(s).c_str(), &st) != 0) continue;
      const int64_t m = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      if (m < when) invalidate(*d, d->grid->shard_box(s), changed);
    }
}

void LazyEngine::scan_offline_changes() {
  const fs::path stamps_file = LazyRegistry::state_dir(dataset_->root()) / "source-scan.json";
  Json stamps = Json::object();
  try {
    if (auto bytes = read_file_if_exists(stamps_file))
      stamps = Json::parse(std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  } catch (const std::exception&) {
    stamps = Json::object();  // unreadable: scan everything once
  }
  if (!stamps.is_object()) stamps = Json::object();
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
    const int64_t since = stamps.contains(key) && stamps[key].is_number_integer() ? stamps[key].get<int64_t>() : 0;
    try {
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
  if (any) {
    try {
      write_file_atomic(stamps_file, stamps.dump());
    } catch (const std::exception& e) {
      diag_.report(LogLevel::Warn, "lazy", stamps_file.string(), std::string("not saved: ") + e.what(), errno_of(e));
    }
  }
}

ChangeIntents::Intent LazyEngine::begin_source_change(const fs::path& rel) const {
  if (rel.empty()) return {};
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
      const std::string file = st.file(s).string();
      auto it = inflight_.find(file);
      if (it != inflight_.end()) it->second->stale = true;  // its computation may have read the old source
      if (st.stored(s)) present.push_back(st.rel_dir / st.grid->relative_path(s));
    }
    if (!present.empty()) listing_.mark_pending(st);  // unlisted before any file goes
  }
  uint64_t removed = 0;
  for (auto& rel : present)
    if (::unlink((dataset_->root() / rel).c_str()) == 0) {
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
