#include "lazy/lazy_engine.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>

#include "core/error.hpp"
#include "dataset/new_mag.hpp"
#include "lazy/file_times.hpp"

namespace wkfs {


namespace {

std::vector<Mag> all_mags(const LayerProperties& layer) {
  std::vector<Mag> out;
  for (const auto& m : layer.mags) out.push_back(m.mag);
  return out;
}

}  // namespace

LazyEngine::LazyEngine(std::shared_ptr<Dataset> dataset, LazyConfig config, Diagnostics& diagnostics,
                       InvalidateFn on_invalidate)
    : dataset_(std::move(dataset)),
      config_(config),
      diag_(diagnostics),
      on_invalidate_(std::move(on_invalidate)),
      budget_(config.memory_cap_bytes),
      store_(make_computed_store(*dataset_, config_)),
      registry_(LazyRegistry::load(dataset_->root())),
      listing_(*dataset_, registry_, diag_),
      intents_(dataset_->root()),
      queue_(config.threads) {
  rebuild_states(true);
  replay_intents();
  scan_offline_changes();
  auto props = dataset_->properties();
  std::lock_guard lock(mu_);
  listing_.reconcile(props, states_);
}

std::shared_ptr<MagState> LazyEngine::make_state(const LazyMag& spec, bool count_existing) const {
  auto props = dataset_->properties();
  const LayerProperties* layer = props.find_layer(spec.layer);
  if (!layer) fail(ErrorKind::NotFound, "lazy mag " + spec.mag.long_name() + " refers to missing layer " + spec.layer);
  auto st = std::make_shared<MagState>();
  st->spec = spec;
  st->rel_dir = fs::path(spec.layer) / spec.mag.short_name();
  st->dir = dataset_->root() / st->rel_dir;
  st->store = store_;
  st->format = layer->data_format;
  st->array = std::shared_ptr<Array>(open_array(st->dir, dataset_->chunk_cache()));
  st->array->set_store_fill_chunks(true);
  const auto& meta = st->array->meta();
  st->grid.emplace(meta, st->format, mag_region(*layer, spec.mag, meta.axis_names));
  st->step = MagStep::make(spec.kind, parse_interpolation_mode(spec.interpolation, layer->category == Category::Segmentation),
                           spec.source_mag, spec.mag, meta.axis_names);
  // A new registration has nothing computed and must not scan; at a remount a complete mag needs
  // no scan either, and an incomplete one is counted by walking what exists (O(computed files),
  // not O(files of the grid): a terabyte layer's pyramid that was barely looked at mounts fast).
  if (count_existing) st->computed = spec.complete ? st->grid->count() : st->count_stored();
  return st;
}

void LazyEngine::rebuild_states(bool count_existing) {
  std::map<std::string, std::shared_ptr<MagState>> next;
  for (const auto& m : registry_.mags()) {
    auto k = mag_key(m.layer, m.mag);
    auto it = states_.find(k);
    if (it != states_.end()) {
      it->second->spec = m;
      next[k] = it->second;
      continue;
    }
    try {
      next[k] = make_state(m, count_existing);
    } catch (const Error& e) {
      diag_.report(LogLevel::Warn, "lazy", dataset_->root().string(), "lazy mag " + k + " ignored: " + e.what());
    }
  }
  states_ = std::move(next);
}

std::shared_ptr<MagState> LazyEngine::state(const std::string& layer, const Mag& mag) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(mag_key(layer, mag));
  return it == states_.end() ? nullptr : it->second;
}

std::vector<Mag> LazyEngine::layer_mags(const LayerProperties& layer) const {
  std::vector<Mag> mags = all_mags(layer);
  std::lock_guard lock(mu_);
  for (const auto& m : registry_.mags())
    if (m.layer == layer.name && !layer.find_mag(m.mag)) mags.push_back(m.mag);
  return mags;
}

void LazyEngine::reopen_mag(const std::string& layer, const Mag& mag) {
  std::lock_guard lock(mu_);
  auto it = states_.find(mag_key(layer, mag));
  if (it == states_.end()) return;
  // the new state replaces the old one, which retires it: a computation still running drops its result
  it->second = make_state(it->second->spec, true);
}

// --- files ------------------------------------------------------------------------------------

std::optional<LazyFileRef> LazyEngine::lazy_file(const fs::path& rel) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, st] : states_) {
    auto r = rel.lexically_relative(st->rel_dir);
    if (r.empty() || *r.begin() == "..") continue;
    if (auto idx = st->grid->parse(r)) return LazyFileRef{st->spec.layer, st->spec.mag, *idx};
  }
  return std::nullopt;
}

std::optional<std::vector<std::pair<std::string, bool>>> LazyEngine::lazy_children(const fs::path& rel) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, st] : states_) {
    if (rel == st->rel_dir) return st->grid->children("");
    auto r = rel.lexically_relative(st->rel_dir);
    if (r.empty() || *r.begin() == "..") continue;
    return st->grid->children(r);
  }
  return std::nullopt;
}

bool LazyEngine::computed(const LazyFileRef& ref) const {
  auto st = state(ref.layer, ref.mag);
  if (!st) return true;
  return st->stored(ref.shard);
}

uint64_t LazyEngine::estimated_size(const LazyFileRef& ref) const {
  auto st = state(ref.layer, ref.mag);
  if (!st) return 0;
  if (dataset_->read_only()) {
    // what a reader's fstat must see: a shard index is read at the end of the file
    struct stat sb {};
    if (UniqueFd fd = store_->open(st->rel_file(ref.shard)); fd && ::fstat(fd.get(), &sb) == 0)
      return static_cast<uint64_t>(sb.st_size);
  }
  const auto& m = st->array->meta();
  const uint64_t chunks = static_cast<uint64_t>(prod(m.chunks_per_shard()));
  const uint64_t chunk_raw = static_cast<uint64_t>(prod(m.chunk_shape)) * m.elem_size();
  // Incompressible data grows: zstd by 1/256 + 64 bytes at most, LZ4 1/255 + 16, deflate ~1/1000
  // + headers, blosc 16, plus a 4-byte checksum; 1/128 + 128 bytes per chunk covers them all.
  const bool compressed = st->array->compressed();
  const uint64_t payload = chunks * (compressed ? chunk_raw + chunk_raw / 128 + 128 : chunk_raw);
  if (st->format == DataFormat::Wkw) return 16 + payload + (compressed ? 8 * chunks : 0);
  if (st->format == DataFormat::Zarr3 && chunks > 1) return payload + 16 * chunks + 4;
  return payload;
}

void LazyEngine::ensure(const LazyFileRef& ref) {
  auto st = state(ref.layer, ref.mag);
  if (!st || st->stored(ref.shard)) return;
  open(ref);
}

UniqueFd LazyEngine::open(const LazyFileRef& ref) {
  auto st = state(ref.layer, ref.mag);
  if (!st) return {};
  const std::string file = st->rel_file(ref.shard).string();
  for (int race = 0;; ++race) {
    if (UniqueFd fd = open_stored(*st, ref.shard)) return fd;
    std::promise<std::shared_ptr<UniqueFd>> promise;
    std::shared_ptr<Flight> flight;
    bool leader = false, joined_stale = false, stored_meanwhile = false;
    {
      std::lock_guard lock(mu_);
      auto it = inflight_.find(file);
      if (it != inflight_.end()) {
        flight = it->second;
        joined_stale = flight->stale;
      } else if (st->stored(ref.shard)) {
        // Another caller's flight stored the file and ended between our open_stored and this lock:
        // open what it stored instead of computing it a second time (seen as "computed twice"
        // under load in e2e_lazy_layers).
        stored_meanwhile = true;
      } else {
        flight = std::make_shared<Flight>();
        flight->result = promise.get_future().share();
        inflight_.emplace(file, flight);
        leader = true;
      }
    }
    if (stored_meanwhile) continue;
    if (!leader) {
      // A computation that began before a source change this caller must see: wait, then anew.
      if (joined_stale) {
        flight->result.wait();
        continue;
      }
      auto r = flight->result.get();  // rethrows the leader's error
      if (!r) return {};
      int fd = ::fcntl(r->get(), F_DUPFD_CLOEXEC, 0);
      if (fd < 0) fail_errno("dup " + file);
      return UniqueFd(fd);
    }
    Computed c;
    try {
      // Retried only when a source change deleted the stored file before it could be opened (a
      // window of microseconds); a busy source never makes a reader fail (issue 11 item 13).
      for (int attempt = 0;; ++attempt) {
        c = compute(*st, ref.shard, *flight);
        if (!c.retry) break;
        if (attempt == kMaxStoreRaces)
          fail(ErrorKind::Io, "lazy file " + file + ": deleted " + std::to_string(attempt) + " times before it could be opened");
      }
      promise.set_value(c.fd);
    } catch (...) {
      ++st->errors;
      promise.set_exception(std::current_exception());
    }
    {
      std::lock_guard lock(mu_);
      inflight_.erase(file);
    }
    flight->result.get();  // rethrows
    if (!c.fd) return {};
    int fd = ::fcntl(c.fd->get(), F_DUPFD_CLOEXEC, 0);  // the shared one may still be dup'd by joiners
    if (fd < 0) fail_errno("dup " + file);
    return UniqueFd(fd);
  }
}

UniqueFd LazyEngine::open_stored(MagState& st, const VecN& shard) {
  const fs::path file = st.rel_file(shard);
  UniqueFd fd = store_->open(file);
  if (!fd) return {};
  // A direct source newer than the file was changed behind the mount's back (another process
  // writing the backing folder): the file is stale. One level only: 8 stats for a 2x step, a
  // few microseconds per open; deeper chains are caught by the invalidation cascade of writes
  // through the mount and by replayed intents.
  struct stat own {};
  if (::fstat(fd.get(), &own) != 0) fail_errno("cannot stat " + file.string());
  std::shared_ptr<Array> source = source_of(st);
  const NdBox target = st.grid->shard_box(shard).intersect(st.grid->region());
  bool stale = false;
  if (source->remote()) {
    // No mtimes to stat over the network: the source shards' ETags against those it was computed from.
    const int64_t own_ns = static_cast<int64_t>(own.st_mtim.tv_sec) * 1000000000 + own.st_mtim.tv_nsec;
    stale = st.remote_sources.changed(file, *source, st.step.source_box(target), own_ns);
  } else {
    for (const auto& s : shards_covering(source->meta(), st.step.source_box(target))) {
      struct stat sb {};
      if (::stat(source->shard_path(s).c_str(), &sb) != 0) continue;
      if (changed_at(sb) > static_cast<int64_t>(own.st_mtim.tv_sec) * 1000000000 + own.st_mtim.tv_nsec) {
        stale = true;
        break;
      }
    }
  }
  if (!stale) return fd;
  st.remote_sources.forget(file);
  diag_.report(LogLevel::Info, "lazy", file.string(),
               source->remote() ? "a remote source changed (ETag): computed again"
                                : "a source is newer (changed outside the mount): computed again");
  std::vector<fs::path> changed;
  invalidate(st, target, changed);
  notify(changed);
  return {};
}

std::shared_ptr<Array> LazyEngine::source_of(const MagState& st) const {
  std::lock_guard lock(st.source_mu);
  if (!st.source_array) {
    auto src_state = state(st.spec.layer, st.spec.source_mag);
    if (src_state)
      st.source_array = src_state->array;
    else if (dataset_->is_remote_mag(st.spec.layer, st.spec.source_mag))
      st.source_array = std::shared_ptr<Array>(open_remote_array(dataset_->mag_location(st.spec.layer, st.spec.source_mag),
                                                                 dataset_->store_context(), dataset_->chunk_cache()));
    else
      st.source_array = std::shared_ptr<Array>(open_array(dataset_->mag_path(st.spec.layer, st.spec.source_mag)));
  }
  return st.source_array;
}

bool LazyEngine::retired(const MagState& st) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(mag_key(st.spec.layer, st.spec.mag));
  return it == states_.end() || it->second.get() != &st;
}

std::shared_ptr<Array> LazyEngine::pin_sources(const MagState& st, const NdBox& target, SourceSnapshot& snapshot) {
  // The source first (recursively, before holding any memory budget, so nested computations
  // never wait on a budget their callers hold).
  const NdBox source_box = st.step.source_box(target);
  auto source_state = state(st.spec.layer, st.spec.source_mag);
  if (!source_state) {
    // A remote source has no files to pin: each of its shards is read as one version (ETag).
    if (dataset_->is_remote_mag(st.spec.layer, st.spec.source_mag)) return source_of(st);
    auto source = std::shared_ptr<Array>(open_array(dataset_->mag_path(st.spec.layer, st.spec.source_mag), dataset_->chunk_cache()));
    snapshot.add_by_path(*source, source_box);
    return source;
  }
  const auto shards = source_state->grid->shards_in(source_box);
  std::vector<VecN> missing;
  for (const auto& s : shards)
    if (!source_state->stored(s)) missing.push_back(s);
  // Several missing sources: the background workers take some (front of the queue) while this
  // thread works through them too; open() joins whatever a worker has started. Finer files
  // never wait on coarser ones, so nobody waits in a circle.
  if (missing.size() > 1) help_with(source_state, missing);
  for (const auto& s : shards) snapshot.add(s, open(LazyFileRef{st.spec.layer, st.spec.source_mag, s}));
  return source_state->array;
}

LazyEngine::Computed LazyEngine::compute(MagState& st, const VecN& shard, Flight& flight) {
  auto t0 = std::chrono::steady_clock::now();
  ++st.in_progress;
  struct Done {
    MagState& s;
    ~Done() { --s.in_progress; }
  } done{st};
  const auto& meta = st.array->meta();
  NdBox target = st.grid->shard_box(shard).intersect(st.grid->region()).intersect(NdBox{VecN(meta.rank(), 0), meta.shape});
  const fs::path file = st.rel_file(shard);
  {
    std::lock_guard lock(mu_);
    flight.stale = false;  // marks from before this computation's snapshot are moot
  }
  SourceSnapshot snapshot;
  std::shared_ptr<Array> source = pin_sources(st, target, snapshot);
  // Taken before the read: a source that changes meanwhile then differs from the record at the
  // next open (computed again), never the other way round (a new ETag recorded with old data).
  std::optional<RemoteSourceVersions::Versions> remote_versions;
  if (source->remote()) remote_versions = RemoteSourceVersions::read(*source, st.step.source_box(target));

  size_t out_bytes = static_cast<size_t>(target.volume()) * meta.elem_size();
  size_t tile_budget = std::max<size_t>(size_t{16} << 20, config_.memory_cap_bytes / 8);
  MemoryBudget::Reservation hold(budget_, out_bytes * 2 + tile_budget * 2);
  Bytes out(out_bytes);
  if (!target.empty()) {
    const auto pinned = snapshot.pinned();
    st.step.compute(*source, meta, target, out, tile_budget, &pinned);
  }
  if (retired(st)) return {};
  auto encoded = st.array->encode(target, out);
  if (!encoded) fail(ErrorKind::Io, "lazy file " + file.string() + ": the format stored nothing for it");
  auto fd = std::make_shared<UniqueFd>(store_->put(file, *encoded));
  if (!*fd) return {nullptr, !retired(st)};  // made stale between storing and opening
  bool stale = false;
  {
    std::lock_guard lock(mu_);
    stale = flight.stale;
  }
  if (stale || retired(st)) {
    // Computed from the version before a source change: its askers get it (their open came
    // first), the file must not stand.
    store_->remove(file);
    return {retired(st) ? nullptr : fd, false};
  }
  if (remote_versions) st.remote_sources.record(file, std::move(*remote_versions));
  struct stat sb {};
  if (::fstat(fd->get(), &sb) == 0) st.bytes += static_cast<uint64_t>(sb.st_size);
  ++st.computed;
  st.compute_ns += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  mark_complete_if_done(st);
  return {fd, false};
}

void LazyEngine::mark_complete_if_done(MagState& st, bool recount) {
  if (!recount && st.computed.load() < st.grid->count()) return;
  std::lock_guard lock(mu_);
  listing_.complete_if_done(st);
}

// --- invalidation -----------------------------------------------------------------------------

bool LazyEngine::has_pending_mags() const {
  std::lock_guard lock(mu_);
  return std::any_of(registry_.mags().begin(), registry_.mags().end(), [](const LazyMag& m) { return !m.complete; });
}

bool LazyEngine::is_pending_mag(const std::string& layer, const Mag& mag) const {
  std::lock_guard lock(mu_);
  const LazyMag* m = registry_.find(layer, mag);
  return m && !m->complete;
}

void LazyEngine::require_no_pending_dependents(const std::string& layer, const Mag& mag) const {
  std::lock_guard lock(mu_);
  for (const auto& m : registry_.mags())
    if (m.layer == layer && m.source_mag == mag && !m.complete)
      fail(ErrorKind::NotEmpty, "mag " + mag.short_name() + " of layer " + layer + " is the source of lazy mag " +
                                    m.mag.short_name() + ", which is not computed yet: materialize or delete " +
                                    m.mag.short_name() + " first");
}

bool LazyEngine::delete_lazy_mag(const std::string& layer, const Mag& mag) {
  require_writable("delete a lazy mag");
  std::lock_guard lock(mu_);
  LazyMag* m = registry_.find(layer, mag);
  if (!m) return false;
  if (m->complete) return false;  // listed: the Dataset deletes it, forget_mag follows
  registry_.remove(layer, mag);
  registry_.save();
  states_.erase(mag_key(layer, mag));
  std::error_code ec;
  fs::remove_all(dataset_->root() / layer / mag.short_name(), ec);
  return true;
}

void LazyEngine::rename_layer(const std::string& from, const std::string& to) {
  require_writable("rename a layer");
  std::lock_guard lock(mu_);
  registry_.rename_layer(from, to);
  registry_.save();
  states_.clear();
  rebuild_states(true);
}

void LazyEngine::forget_layer(const std::string& layer) {
  require_writable("delete a layer");
  std::lock_guard lock(mu_);
  auto& v = registry_.mags();
  v.erase(std::remove_if(v.begin(), v.end(), [&](const LazyMag& m) { return m.layer == layer; }), v.end());
  registry_.save();
  rebuild_states(false);
}

bool LazyEngine::forget_mag(const std::string& layer, const Mag& mag) {
  require_writable("delete a mag");
  std::lock_guard lock(mu_);
  LazyRegistry before = registry_;
  if (!registry_.remove(layer, mag)) return false;
  try {
    registry_.save();
  } catch (...) {
    registry_ = std::move(before);
    throw;
  }
  states_.erase(mag_key(layer, mag));  // retires it: a computation still running drops its result
  return true;
}

std::string LazyEngine::mounted_properties() const {
  auto props = dataset_->properties();
  std::lock_guard lock(mu_);
  return listing_.mounted_properties(std::move(props), states_);
}

std::string LazyEngine::strip_pending_mags(const std::string& text) const {
  auto props = DatasetProperties::parse(text);
  std::lock_guard lock(mu_);
  return listing_.strip_pending_mags(std::move(props));
}

void LazyEngine::require_writable(const char* what) const {
  if (dataset_->read_only())
    fail(ErrorKind::ReadOnly, std::string("cannot ") + what + ": dataset " + dataset_->root().string() + " is read-only");
}

// --- background -------------------------------------------------------------------------------

size_t LazyEngine::materialize(const std::string& layer, std::optional<Mag> mag) {
  std::vector<std::shared_ptr<MagState>> todo;
  {
    std::lock_guard lock(mu_);
    for (const auto& m : registry_.mags()) {  // registry order = chain order, fine to coarse
      if (!layer.empty() && m.layer != layer) continue;
      if (mag && !(m.mag == *mag)) continue;
      auto it = states_.find(mag_key(m.layer, m.mag));
      if (it != states_.end()) todo.push_back(it->second);
    }
  }
  if (!layer.empty() && todo.empty())
    fail(ErrorKind::NotFound, "no lazy mag" + (mag ? " " + mag->long_name() : std::string()) + " in layer " + layer);
  std::vector<WorkQueue::Job> jobs;
  std::vector<std::shared_ptr<MagState>> nothing_to_do;
  for (const auto& st : todo) {
    const size_t before = jobs.size();
    st->grid->for_each([&](const VecN& s) {
      if (!st->stored(s)) jobs.push_back(job_for(st, s));
    });
    if (jobs.size() == before) nothing_to_do.push_back(st);
  }
  const size_t n = jobs.size();
  queue_.push_back(std::move(jobs));
  // every file is there (perhaps computed before a counter drifted): list the mag now
  for (const auto& st : nothing_to_do) mark_complete_if_done(*st, true);
  return n;
}

void LazyEngine::help_with(const std::shared_ptr<MagState>& st, const std::vector<VecN>& shards) {
  std::vector<WorkQueue::Job> jobs;
  for (const auto& s : shards) jobs.push_back(job_for(st, s));
  queue_.push_front(std::move(jobs));
}

WorkQueue::Job LazyEngine::job_for(const std::shared_ptr<MagState>& st, const VecN& shard) {
  ++st->queued;
  return [this, st, shard] {
    --st->queued;
    try {
      ensure(LazyFileRef{st->spec.layer, st->spec.mag, shard});
    } catch (const std::exception& e) {
      diag_.report(LogLevel::Error, "lazy", (st->rel_dir / to_string(shard)).string(),
                   std::string("materialize: ") + e.what(), errno_of(e));
    }
  };
}

void LazyEngine::wait_idle() { queue_.wait_idle(); }

Json LazyEngine::status() const {
  Json out = Json::array();
  std::lock_guard lock(mu_);
  for (const auto& m : registry_.mags()) {
    auto it = states_.find(mag_key(m.layer, m.mag));
    if (it == states_.end()) continue;
    const auto& st = *it->second;
    out.push_back({{"layer", m.layer},
                   {"mag", m.mag.short_name()},
                   {"source_mag", m.source_mag.short_name()},
                   {"kind", m.kind == LazyKind::Upsample ? "upsample" : "downsample"},
                   {"interpolation", m.interpolation},
                   {"complete", m.complete},
                   {"files_total", st.grid->count()},
                   {"files_computed", st.computed.load()},
                   {"files_stale", st.stale.load()},
                   {"bytes_written", st.bytes.load()},
                   {"compute_seconds", static_cast<double>(st.compute_ns.load()) / 1e9},
                   {"queued", st.queued.load()},
                   {"in_progress", st.in_progress.load()},
                   {"errors", st.errors.load()}});
  }
  return Json{{"mags", out}, {"memory_cap_bytes", budget_.cap()}, {"memory_in_use_bytes", budget_.in_use()},
          {"memory_peak_bytes", budget_.peak()}};
}

}  // namespace wkfs
