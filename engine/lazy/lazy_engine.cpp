#include "lazy/lazy_engine.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "downsample/mag_sequence.hpp"

namespace wkfs {


struct LazyEngine::MagState {
  LazyMag spec;
  fs::path dir;       // absolute mag folder
  fs::path rel_dir;   // relative to the dataset root
  DataFormat format = DataFormat::Zarr3;
  std::shared_ptr<Array> array;
  std::optional<ShardGrid> grid;
  MagStep step;
  std::set<std::string> dirty;  // files made stale while being computed (LazyEngine::mu_)
  std::atomic<uint64_t> computed{0}, stale{0}, bytes{0}, compute_ns{0}, queued{0}, in_progress{0}, errors{0};

  fs::path file(const VecN& shard) const { return dir / grid->relative_path(shard); }
  /// Computed = stored (the state model): the one existence check every path uses.
  bool stored(const VecN& shard) const { return ::access(file(shard).c_str(), F_OK) == 0; }
};

namespace {

std::string key_of(const std::string& layer, const Mag& mag) { return layer + "/" + mag.long_name(); }

// The region the eager computation writes, in the target mag's array coordinates: the layer bbox
// aligned outward to the mag (notes 5.1), all channels, the whole range of extra axes.
NdBox layer_region(const LayerProperties& layer, const Mag& mag, const std::vector<std::string>& axes) {
  BoundingBox b = layer.bounding_box.in_mag(mag);
  NdBox r;
  for (const auto& a : axes) {
    if (a == "c") {
      r.begin.push_back(0);
      r.shape.push_back(layer.num_channels);
    } else if (a == "x" || a == "y" || a == "z") {
      int i = a == "x" ? 0 : a == "y" ? 1 : 2;
      r.begin.push_back(b.top_left[i]);
      r.shape.push_back(b.size[i]);
    } else {
      int64_t lo = 0, hi = 1;
      for (const auto& ax : layer.additional_axes)
        if (ax.name == a) lo = ax.lower, hi = ax.upper;
      r.begin.push_back(lo);
      r.shape.push_back(hi - lo);
    }
  }
  return r;
}

// Files under a lazy mag's folder that are shards of its grid (temp files and metadata are not).
uint64_t count_computed(const ShardGrid& grid, const fs::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && grid.parse(it->path().lexically_relative(dir))) ++n;
  return n;
}

std::vector<Mag> all_mags(const LayerProperties& layer) {
  std::vector<Mag> out;
  for (const auto& m : layer.mags) out.push_back(m.mag);
  return out;
}

}  // namespace

LazyEngine::LazyEngine(std::shared_ptr<Dataset> dataset, LazyConfig config, Diagnostics& diagnostics)
    : dataset_(std::move(dataset)), config_(config), diag_(diagnostics), budget_(config.memory_cap_bytes) {
  registry_ = LazyRegistry::load(dataset_->root());
  rebuild_states(true);
  reconcile_listing();
}

void LazyEngine::start_workers_locked() {
  if (!workers_.empty()) return;  // started on first use: a mount of many datasets idles cheaply
  unsigned n = config_.threads ? config_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
}

LazyEngine::~LazyEngine() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
    queue_.clear();
  }
  queue_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::shared_ptr<LazyEngine::MagState> LazyEngine::make_state(const LazyMag& spec, bool count_existing) const {
  auto props = dataset_->properties();
  const LayerProperties* layer = props.find_layer(spec.layer);
  if (!layer) fail(ErrorKind::NotFound, "lazy mag " + spec.mag.long_name() + " refers to missing layer " + spec.layer);
  auto st = std::make_shared<MagState>();
  st->spec = spec;
  st->rel_dir = fs::path(spec.layer) / spec.mag.short_name();
  st->dir = dataset_->root() / st->rel_dir;
  st->format = layer->data_format;
  st->array = std::shared_ptr<Array>(open_array(st->dir));
  st->array->set_store_fill_chunks(true);
  const auto& meta = st->array->meta();
  st->grid.emplace(meta, st->format, layer_region(*layer, spec.mag, meta.axis_names));
  st->step = MagStep::make(spec.kind, parse_interpolation_mode(spec.interpolation, layer->category == Category::Segmentation),
                           spec.source_mag, spec.mag, meta.axis_names);
  // A new registration has nothing computed and must not scan; at a remount a complete mag needs
  // no scan either, and an incomplete one is counted by walking what exists (O(computed files),
  // not O(files of the grid): a terabyte layer's pyramid that was barely looked at mounts fast).
  if (count_existing) st->computed = spec.complete ? st->grid->count() : count_computed(*st->grid, st->dir);
  return st;
}

void LazyEngine::rebuild_states(bool count_existing) {
  std::map<std::string, std::shared_ptr<MagState>> next;
  for (const auto& m : registry_.mags()) {
    auto k = key_of(m.layer, m.mag);
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

std::shared_ptr<LazyEngine::MagState> LazyEngine::state(const std::string& layer, const Mag& mag) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(key_of(layer, mag));
  return it == states_.end() ? nullptr : it->second;
}

// --- registration ---------------------------------------------------------------------------

std::vector<Mag> LazyEngine::layer_mags(const LayerProperties& layer) const {
  std::vector<Mag> mags = all_mags(layer);
  std::lock_guard lock(mu_);
  for (const auto& m : registry_.mags())
    if (m.layer == layer.name && !layer.find_mag(m.mag)) mags.push_back(m.mag);
  return mags;
}

namespace {

// The array of a lazily computed mag: the library's shapes for a new mag (notes 4.4), except that
// the default shard is capped at `shard_edge` so that a first read computes one small file.
ArraySpec lazy_array_spec(const LayerProperties& layer, const Mag& mag, const MagOptions& options, int64_t shard_edge) {
  Vec3 chunk = options.chunk_shape.value_or(Vec3{32, 32, 32});
  Vec3 shard = options.shard_shape.value_or(default_shard_shape(layer.data_format, layer, chunk));
  if (!options.shard_shape && layer.data_format != DataFormat::Zarr)
    shard = Vec3::max(chunk, Vec3::min(shard, Vec3::full(shard_edge)));
  BoundingBox region = layer.bounding_box.in_mag(mag);
  ArraySpec spec;
  spec.dtype = layer.dtype;
  spec.axis_names = layer.array_axes();
  spec.compress = options.compress.value_or(true);
  for (const auto& a : spec.axis_names) {
    if (a == "c") {
      spec.shape.push_back(layer.num_channels);
      spec.chunk_shape.push_back(layer.num_channels);
      spec.shard_shape.push_back(layer.num_channels);
    } else if (a == "x" || a == "y" || a == "z") {
      int i = a == "x" ? 0 : a == "y" ? 1 : 2;
      int64_t sh = layer.data_format == DataFormat::Zarr ? chunk[i] : shard[i];
      int64_t end = region.bottom_right()[i];
      spec.shape.push_back((end + sh - 1) / sh * sh);
      spec.chunk_shape.push_back(chunk[i]);
      spec.shard_shape.push_back(sh);
    } else {
      int64_t hi = 1;
      for (const auto& ax : layer.additional_axes)
        if (ax.name == a) hi = ax.upper;
      spec.shape.push_back(hi);
      spec.chunk_shape.push_back(1);
      spec.shard_shape.push_back(1);
    }
  }
  return spec;
}

// One atomic step: a mag folder is never missing, whichever of the two it holds.
void exchange_folders(const fs::path& a, const fs::path& b) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0)
    fail_errno("cannot swap " + a.string() + " and " + b.string());
}

}  // namespace

std::vector<Mag> LazyEngine::register_chain(const std::string& layer_name, const Mag& from,
                                             const std::vector<Mag>& targets, LazyKind kind,
                                             const std::string& interpolation, const MagOptions& options,
                                             bool allow_overwrite) {
  if (dataset_->read_only()) fail(ErrorKind::ReadOnly, "dataset " + dataset_->root().string() + " is read-only");
  auto props = dataset_->properties();
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "there is no layer " + layer_name);
  if (layer->data_format != DataFormat::Zarr3 && layer->data_format != DataFormat::Zarr &&
      layer->data_format != DataFormat::Wkw)
    fail(ErrorKind::Unsupported, "cannot downsample " + data_format_name(layer->data_format) + " layers");
  std::string mode = interpolation_mode_name(
      parse_interpolation_mode(interpolation, layer->category == Category::Segmentation));
  if (!layer->find_mag(from) && !state(layer_name, from))
    fail(ErrorKind::NotFound, "layer " + layer_name + " has no mag " + from.long_name());
  check_mag_options(*layer, options);  // the library refuses these shapes for the mags it adds

  std::unique_lock lock(mu_);
  // Everything that can be refused is checked before the first change.
  auto is_target = [&](const Mag& m) { return std::find(targets.begin(), targets.end(), m) != targets.end(); };
  std::vector<ArraySpec> specs;
  std::vector<fs::path> dirs;
  bool any_listed = false;
  for (const auto& t : targets) {
    fs::path dir = dataset_->root() / layer_name / t.short_name();
    bool listed = layer->find_mag(t) != nullptr;
    bool lazy = registry_.find(layer_name, t) != nullptr;
    if ((listed || lazy) && !allow_overwrite)
      fail(ErrorKind::AlreadyExists, "The target mag " + t.long_name() + " of layer " + layer_name +
                                         " already exists (use --allow-overwrite)");
    if (!listed && !lazy && fs::exists(dir))
      fail(ErrorKind::AlreadyExists, "folder " + (fs::path(layer_name) / t.short_name()).string() +
                                         " already exists and is not a mag of layer " + layer_name);
    if (listed && dataset_->is_foreign_mag(layer_name, t))
      fail(ErrorKind::ReadOnly, "mag " + t.long_name() + " of layer " + layer_name + " is foreign (read-only)");
    std::error_code ec;
    if (listed && !fs::equivalent(dataset_->mag_path(layer_name, t), dir, ec))
      fail(ErrorKind::Unsupported, "mag " + t.long_name() + " of layer " + layer_name + " is not stored in " +
                                       dir.string() + ", where its lazy replacement would go");
    any_listed = any_listed || listed;
    specs.push_back(lazy_array_spec(*layer, t, options, config_.lazy_shard_edge));
    dirs.push_back(std::move(dir));
  }
  // A target that the source is (lazily, transitively) computed from would be computed from
  // itself: reads would wait on their own computation, and its data would be gone.
  Mag s = from;
  for (size_t hops = 0; hops <= registry_.mags().size(); ++hops) {
    if (is_target(s))
      fail(ErrorKind::InvalidArgument, "mag " + from.long_name() + " of layer " + layer_name +
                                           " is computed lazily from mag " + s.long_name() + ", so " +
                                           s.long_name() + " cannot be computed from it");
    const LazyMag* m = registry_.find(layer_name, s);
    if (!m) break;
    s = m->source_mag;
  }

  // The changes, each undone if a later one fails: the new arrays are built in hidden folders,
  // swapped in, the registry saved, the replaced mags unlisted. The replaced data is deleted only
  // once all of that succeeded.
  LazyRegistry before = registry_;
  Dataset::UndoList undo;
  std::vector<fs::path> staged;
  std::vector<char> holds_replaced(targets.size(), 0);  // staged[i] holds the replaced mag's data
  try {
    for (size_t i = 0; i < targets.size(); ++i) {
      fs::path stage = dirs[i].parent_path() / ("." + dirs[i].filename().string() + kTempMarker + "register");
      std::error_code ec;
      fs::remove_all(stage, ec);  // left by a crash
      fs::create_directories(stage);
      staged.push_back(stage);
      create_array(stage, layer->data_format, specs[i]);
    }
    for (size_t i = 0; i < targets.size(); ++i) {
      if (fs::exists(dirs[i])) {
        exchange_folders(staged[i], dirs[i]);
        holds_replaced[i] = 1;
        undo.push_back([&, i] {
          exchange_folders(staged[i], dirs[i]);
          holds_replaced[i] = 0;
        });
      } else {
        fs::rename(staged[i], dirs[i]);
        undo.push_back([a = staged[i], b = dirs[i]] { fs::rename(b, a); });
      }
      registry_.remove(layer_name, targets[i]);
      LazyMag m;
      m.layer = layer_name;
      m.mag = targets[i];
      m.source_mag = i == 0 ? from : targets[i - 1];
      m.kind = kind;
      m.interpolation = mode;
      registry_.mags().push_back(m);
    }
    registry_.save();
    undo.push_back([&before] { before.save(); });
    // one properties write for all: a replaced mag is lazy now, and lazy mags are not listed
    if (any_listed)
      dataset_->update_properties([&](DatasetProperties& p) {
        if (LayerProperties* l = p.find_layer(layer_name)) std::erase_if(l->mags, [&](const MagEntry& e) { return is_target(e.mag); });
      });
  } catch (...) {
    registry_ = before;
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) try {
        (*it)();
      } catch (const std::exception& e) {
        diag_.report(LogLevel::Error, "lazy", dataset_->root().string(),
                     "undoing a failed registration in layer " + layer_name + ": " + e.what());
      }
    for (size_t i = 0; i < staged.size(); ++i) {
      std::error_code ec;
      if (!holds_replaced[i]) fs::remove_all(staged[i], ec);  // a replaced mag that could not go back stays
    }
    throw;
  }
  for (const auto& t : targets) states_.erase(key_of(layer_name, t));  // retired: running computations drop their results
  rebuild_states(false);
  // Lazy mags computed from a replaced mag hold results of its old data.
  std::vector<std::shared_ptr<MagState>> dependents;
  for (const auto& [k, d] : states_)
    if (d->spec.layer == layer_name && is_target(d->spec.source_mag) && !is_target(d->spec.mag)) dependents.push_back(d);
  lock.unlock();
  for (const auto& p : staged) {  // the replaced mags
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  std::vector<fs::path> changed;
  for (const auto& d : dependents) invalidate(*d, d->grid->region(), changed);
  if (on_invalidate_)
    for (const auto& c : changed) on_invalidate_(c);
  return targets;
}

std::vector<Mag> LazyEngine::downsample(const std::string& layer_name, const DownsampleRequest& req) {
  auto props = dataset_->properties();
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "there is no layer " + layer_name);
  std::vector<Mag> existing = layer_mags(*layer);
  if (existing.empty()) fail(ErrorKind::InvalidArgument, "layer " + layer_name + " has no mag to downsample from");
  Mag from = req.from_mag.value_or(*std::max_element(existing.begin(), existing.end(), Mag::less_by_max_dim));
  std::vector<Mag> targets;
  if (req.explicit_mags) {
    targets = *req.explicit_mags;
    std::sort(targets.begin(), targets.end(), Mag::less_xyz);
    Mag prev = from;
    for (const auto& t : targets)
      if (t.x() < prev.x() || t.y() < prev.y() || t.z() < prev.z() || t == prev)
        fail(ErrorKind::InvalidArgument, "cannot downsample from " + prev.long_name() + " to " + t.long_name());
      else
        prev = t;
  } else {
    Mag coarsest = req.coarsest_mag.value_or(default_coarsest_mag(layer->bounding_box.size));
    MagSequenceOptions o;
    o.mode = effective_sampling_mode(parse_sampling_mode(req.sampling_mode), layer->bounding_box.size.z);
    if (o.mode == SamplingMode::Anisotropic) o.voxel_size = props.voxel_size.in_nanometers();
    if (o.mode == SamplingMode::ConstantZ) coarsest = Mag(coarsest.x(), coarsest.y(), from.z());
    o.force_sampling_scheme = req.force_sampling_scheme;
    if (req.align_with_other_layers) {
      for (const auto& l : props.layers)
        for (const auto& m : l.mags) o.align_with.push_back(m.mag);
      std::lock_guard lock(mu_);
      for (const auto& m : registry_.mags()) o.align_with.push_back(m.mag);
    }
    targets = calculate_mags_to_downsample(from, coarsest, o);
  }
  if (targets.empty()) return targets;
  return register_chain(layer_name, from, targets, LazyKind::Downsample, req.interpolation, req.mag_options,
                        req.allow_overwrite);
}

std::vector<Mag> LazyEngine::upsample(const std::string& layer_name, const UpsampleRequest& req) {
  auto props = dataset_->properties();
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "there is no layer " + layer_name);
  MagSequenceOptions o;
  o.mode = parse_sampling_mode(req.sampling_mode);
  if (o.mode == SamplingMode::Anisotropic) o.voxel_size = props.voxel_size.in_nanometers();
  Mag finest = req.finest_mag.value_or(Mag(1, 1, 1));
  auto targets = calculate_mags_to_upsample(req.from_mag, finest, o);
  return register_chain(layer_name, req.from_mag, targets, LazyKind::Upsample, "nearest", req.mag_options, false);
}

std::vector<Mag> LazyEngine::redownsample(const std::string& layer_name) {
  auto props = dataset_->properties();
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "there is no layer " + layer_name);
  std::vector<Mag> mags = layer_mags(*layer);
  std::sort(mags.begin(), mags.end(), Mag::less_xyz);
  if (mags.size() < 2) return {};
  for (size_t i = 1; i < mags.size(); ++i)
    if (mags[i].x() < mags[i - 1].x() || mags[i].y() < mags[i - 1].y() || mags[i].z() < mags[i - 1].z())
      fail(ErrorKind::InvalidArgument, "mags " + mags[i - 1].long_name() + " and " + mags[i].long_name() +
                                           " do not form a chain that can be redownsampled");
  std::vector<Mag> targets(mags.begin() + 1, mags.end());
  return register_chain(layer_name, mags.front(), targets, LazyKind::Downsample, "default", {}, true);
}

void LazyEngine::register_default_pyramids() {
  auto props = dataset_->properties();
  for (const auto& l : props.layers) {
    if (l.mags.size() != 1) continue;
    {
      std::lock_guard lock(mu_);
      bool has = false;
      for (const auto& m : registry_.mags()) has = has || m.layer == l.name;
      if (has) continue;
    }
    try {
      downsample(l.name, DownsampleRequest{});
    } catch (const Error& e) {
      diag_.report(LogLevel::Warn, "lazy", dataset_->root().string(), "pyramid=auto: layer " + l.name + ": " + e.what());
    }
  }
}

void LazyEngine::reopen_mag(const std::string& layer, const Mag& mag) {
  std::lock_guard lock(mu_);
  auto it = states_.find(key_of(layer, mag));
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
  if (!st) return;
  const fs::path file = st->file(ref.shard);
  if (st->stored(ref.shard)) return;
  std::promise<void> promise;
  std::shared_future<void> fut;
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    auto it = inflight_.find(file.string());
    if (it != inflight_.end()) {
      fut = it->second;
    } else {
      fut = promise.get_future().share();
      inflight_.emplace(file.string(), fut);
      leader = true;
    }
  }
  if (!leader) {
    fut.get();  // rethrows the leader's error
    return;
  }
  try {
    // A source write during the computation makes its result stale: compute again, so a reader
    // that asked for the file finds it (a source that never settles is an error, not a hang).
    for (int attempt = 1; !st->stored(ref.shard) && !compute(*st, ref.shard); ++attempt) {
      if (retired(*st)) break;  // the mag was replaced or removed meanwhile
      if (attempt == kMaxComputeAttempts)
        fail(ErrorKind::Io, "lazy file " + (st->rel_dir / st->grid->relative_path(ref.shard)).string() +
                                ": its source changed during " + std::to_string(attempt) + " computations in a row");
    }
    promise.set_value();
  } catch (...) {
    ++st->errors;
    promise.set_exception(std::current_exception());
  }
  {
    std::lock_guard lock(mu_);
    inflight_.erase(file.string());
  }
  fut.get();
}

bool LazyEngine::retired(const MagState& st) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(key_of(st.spec.layer, st.spec.mag));
  return it == states_.end() || it->second.get() != &st;
}

bool LazyEngine::take_dirty(MagState& st, const std::string& file) {
  std::lock_guard lock(mu_);
  return st.dirty.erase(file) > 0;
}

bool LazyEngine::compute(MagState& st, const VecN& shard) {
  auto t0 = std::chrono::steady_clock::now();
  ++st.in_progress;
  struct Done {
    MagState& s;
    ~Done() { --s.in_progress; }
  } done{st};
  const auto& meta = st.array->meta();
  NdBox target = st.grid->shard_box(shard).intersect(st.grid->region()).intersect(NdBox{VecN(meta.rank(), 0), meta.shape});
  const fs::path file = st.file(shard);
  take_dirty(st, file.string());  // marks from before this computation began are moot

  // The source first (recursively, before holding any memory budget, so nested computations
  // never wait on a budget their callers hold).
  auto source_state = state(st.spec.layer, st.spec.source_mag);
  fs::path source_dir = source_state ? source_state->dir : dataset_->mag_path(st.spec.layer, st.spec.source_mag);
  NdBox source_box = st.step.source_box(target);
  if (source_state) {
    std::vector<VecN> missing;
    for (const auto& s : source_state->grid->shards_in(source_box))
      if (!source_state->stored(s)) missing.push_back(s);
    // Several missing sources: the background workers take some (front of the queue) while this
    // thread works through them too; ensure() joins whatever a worker has started. Finer files
    // never wait on coarser ones, so nobody waits in a circle.
    if (missing.size() > 1) help_with(source_state, missing);
    for (const auto& s : missing) ensure(LazyFileRef{st.spec.layer, st.spec.source_mag, s});
  }
  std::shared_ptr<Array> source = source_state ? source_state->array : std::shared_ptr<Array>(open_array(source_dir));

  size_t out_bytes = static_cast<size_t>(target.volume()) * meta.elem_size();
  size_t tile_budget = std::max<size_t>(size_t{16} << 20, config_.memory_cap_bytes / 8);
  MemoryBudget::Reservation hold(budget_, out_bytes * 2 + tile_budget * 2);
  Bytes out(out_bytes);
  if (!target.empty()) st.step.compute(*source, meta, target, out, tile_budget);
  if (take_dirty(st, file.string()) || retired(st)) return false;  // the source changed meanwhile
  st.array->write(target, out);
  if (take_dirty(st, file.string()) || retired(st)) {
    ::unlink(file.c_str());  // made stale while we wrote: the result must not stand
    return false;
  }
  struct stat sb {};
  if (::stat(file.c_str(), &sb) == 0) st.bytes += static_cast<uint64_t>(sb.st_size);
  ++st.computed;
  st.compute_ns += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  mark_complete_if_done(st);
  return true;
}

void LazyEngine::mark_complete_if_done(MagState& st, bool recount) {
  if (!recount && st.computed.load() < st.grid->count()) return;
  std::lock_guard lock(mu_);
  LazyMag* m = registry_.find(st.spec.layer, st.spec.mag);
  if (!m || m->complete) return;
  const uint64_t n = count_computed(*st.grid, st.dir);  // the counter is only a hint
  if (n < st.grid->count()) {
    st.computed = n;
    return;
  }
  st.computed = n;
  set_listed(m->layer, m->mag, true);
  m->complete = true;
  st.spec.complete = true;
  registry_.save();
}

void LazyEngine::reconcile_listing() {
  auto props = dataset_->properties();
  std::lock_guard lock(mu_);
  bool changed = false;
  for (auto& m : registry_.mags()) {
    auto it = states_.find(key_of(m.layer, m.mag));
    if (it == states_.end()) continue;
    MagState& st = *it->second;
    const LayerProperties* l = props.find_layer(m.layer);
    const bool listed = l && l->find_mag(m.mag);
    if (listed == m.complete) continue;
    st.computed = count_computed(*st.grid, st.dir);
    const bool full = st.computed.load() == st.grid->count();
    try {
      if (full != listed) set_listed(m.layer, m.mag, full);
    } catch (const Error& e) {  // a read-only dataset: the mount's view is still right
      diag_.report(LogLevel::Warn, "lazy", dataset_->root().string(),
                   "lazy mag " + key_of(m.layer, m.mag) + ": cannot fix the backing listing: " + e.what());
    }
    m.complete = st.spec.complete = full;
    changed = true;
  }
  if (changed && !dataset_->read_only()) registry_.save();
}

void LazyEngine::set_listed(const std::string& layer, const Mag& mag, bool listed) {
  dataset_->update_properties([&](DatasetProperties& p) {
    LayerProperties* l = p.find_layer(layer);
    if (!l) return;
    auto it = std::find_if(l->mags.begin(), l->mags.end(), [&](const MagEntry& e) { return e.mag == mag; });
    if (!listed) {
      if (it != l->mags.end()) l->mags.erase(it);
      return;
    }
    if (it != l->mags.end()) return;
    MagEntry e;
    e.mag = mag;
    e.path = "./" + layer + "/" + mag.short_name();
    if (l->data_format == DataFormat::Wkw) {
      auto arr = open_array(dataset_->root() / layer / mag.short_name());
      e.cube_length = arr->meta().shard_shape[1];
    }
    e.axis_order = l->mags.empty() ? Json{{"c", 0}, {"x", 1}, {"y", 2}, {"z", 3}} : l->mags.front().axis_order;
    if (!l->mags.empty()) e.channel_index = l->mags.front().channel_index;
    l->mags.push_back(e);
  });
}

// --- invalidation -----------------------------------------------------------------------------

void LazyEngine::invalidate(MagState& st, const NdBox& box, std::vector<fs::path>& changed) {
  std::vector<fs::path> present;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : st.grid->shards_in(box)) {
      const std::string file = st.file(s).string();
      if (inflight_.count(file)) st.dirty.insert(file);  // its computation may have read the old source
      if (st.stored(s)) present.push_back(st.rel_dir / st.grid->relative_path(s));
    }
    LazyMag* m = registry_.find(st.spec.layer, st.spec.mag);
    if (!present.empty() && m && m->complete) {
      // Unlisted before any file goes: a crash in between must not leave the backing properties
      // listing a mag with missing files.
      set_listed(m->layer, m->mag, false);
      m->complete = false;
      st.spec.complete = false;
      registry_.save();
    }
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
  std::vector<std::shared_ptr<MagState>> dependents;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, d] : states_)
      if (d->spec.layer == st.spec.layer && d->spec.source_mag == st.spec.mag) dependents.push_back(d);
  }
  for (const auto& d : dependents) invalidate(*d, d->step.affected_target(box), changed);
}

void LazyEngine::source_changed(const fs::path& rel) {
  auto props = dataset_->properties();
  std::vector<fs::path> changed;
  // Every mag whose folder holds `rel` (a folder may serve several layers: add-mag-as-ref),
  // lazy ones included: a write into a pending mag makes what is computed from it stale too.
  for (const auto& layer : props.layers) {
    for (const auto& mag : layer_mags(layer)) {
      std::vector<std::shared_ptr<MagState>> dependents;
      std::shared_ptr<MagState> own;
      {
        std::lock_guard lock(mu_);
        for (const auto& [k, d] : states_)
          if (d->spec.layer == layer.name && d->spec.source_mag == mag) dependents.push_back(d);
        auto it = states_.find(key_of(layer.name, mag));
        if (it != states_.end()) own = it->second;
      }
      if (dependents.empty()) continue;
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
      std::shared_ptr<Array> arr = own ? own->array : std::shared_ptr<Array>(open_array(mag_dir));
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
  if (on_invalidate_)
    for (const auto& c : changed) on_invalidate_(c);
}

void LazyEngine::set_invalidation_callback(std::function<void(const fs::path&)> cb) { on_invalidate_ = std::move(cb); }

// --- registry maintenance ----------------------------------------------------------------------

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
  std::lock_guard lock(mu_);
  LazyMag* m = registry_.find(layer, mag);
  if (!m) return false;
  if (m->complete) return false;  // listed: the Dataset deletes it, forget_mag follows
  registry_.remove(layer, mag);
  registry_.save();
  states_.erase(key_of(layer, mag));
  std::error_code ec;
  fs::remove_all(dataset_->root() / layer / mag.short_name(), ec);
  return true;
}

void LazyEngine::rename_layer(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  registry_.rename_layer(from, to);
  registry_.save();
  states_.clear();
  rebuild_states(true);
}

void LazyEngine::forget_layer(const std::string& layer) {
  std::lock_guard lock(mu_);
  auto& v = registry_.mags();
  v.erase(std::remove_if(v.begin(), v.end(), [&](const LazyMag& m) { return m.layer == layer; }), v.end());
  registry_.save();
  rebuild_states(false);
}

std::string LazyEngine::mounted_properties() const {
  auto props = dataset_->properties();
  std::lock_guard lock(mu_);
  for (const auto& m : registry_.mags()) {
    if (m.complete) continue;
    LayerProperties* l = props.find_layer(m.layer);
    if (!l || l->find_mag(m.mag)) continue;
    MagEntry e;
    e.mag = m.mag;
    e.path = "./" + m.layer + "/" + m.mag.short_name();
    auto it = states_.find(key_of(m.layer, m.mag));
    if (l->data_format == DataFormat::Wkw && it != states_.end()) e.cube_length = it->second->array->meta().shard_shape[1];
    e.axis_order = l->mags.empty() ? Json{{"c", 0}, {"x", 1}, {"y", 2}, {"z", 3}} : l->mags.front().axis_order;
    if (!l->mags.empty()) e.channel_index = l->mags.front().channel_index;
    l->mags.push_back(e);
  }
  return props.dump();
}

std::string LazyEngine::strip_pending_mags(const std::string& text) const {
  auto props = DatasetProperties::parse(text);
  std::lock_guard lock(mu_);
  for (auto& l : props.layers)
    l.mags.erase(std::remove_if(l.mags.begin(), l.mags.end(),
                                [&](const MagEntry& e) {
                                  const LazyMag* m = registry_.find(l.name, e.mag);
                                  return m && !m->complete;
                                }),
                 l.mags.end());
  return props.dump();
}

// --- background -------------------------------------------------------------------------------

size_t LazyEngine::materialize(const std::string& layer, std::optional<Mag> mag) {
  std::vector<std::shared_ptr<MagState>> todo;
  {
    std::lock_guard lock(mu_);
    for (const auto& m : registry_.mags()) {  // registry order = chain order, fine to coarse
      if (!layer.empty() && m.layer != layer) continue;
      if (mag && !(m.mag == *mag)) continue;
      auto it = states_.find(key_of(m.layer, m.mag));
      if (it != states_.end()) todo.push_back(it->second);
    }
  }
  if (!layer.empty() && todo.empty())
    fail(ErrorKind::NotFound, "no lazy mag" + (mag ? " " + mag->long_name() : std::string()) + " in layer " + layer);
  size_t n = 0;
  std::vector<std::shared_ptr<MagState>> nothing_to_do;
  {
    std::lock_guard lock(queue_mu_);
    start_workers_locked();
    for (const auto& st : todo) {
      const size_t before = n;
      st->grid->for_each([&](const VecN& s) {
        if (st->stored(s)) return;
        queue_.emplace_back(st, s);
        ++st->queued;
        ++n;
      });
      if (n == before) nothing_to_do.push_back(st);
    }
  }
  queue_cv_.notify_all();
  // every file is there (perhaps computed before a counter drifted): list the mag now
  for (const auto& st : nothing_to_do) mark_complete_if_done(*st, true);
  return n;
}

void LazyEngine::help_with(const std::shared_ptr<MagState>& st, const std::vector<VecN>& shards) {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return;
    start_workers_locked();
    for (auto it = shards.rbegin(); it != shards.rend(); ++it) {
      queue_.emplace_front(st, *it);
      ++st->queued;
    }
  }
  queue_cv_.notify_all();
}

void LazyEngine::wait_idle() {
  std::unique_lock lock(queue_mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && running_ == 0; });
}

void LazyEngine::worker_loop() {
  while (true) {
    std::pair<std::shared_ptr<MagState>, VecN> job;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    --job.first->queued;
    try {
      ensure(LazyFileRef{job.first->spec.layer, job.first->spec.mag, job.second});
    } catch (const std::exception& e) {
      diag_.report(LogLevel::Error, "lazy", (job.first->rel_dir / to_string(job.second)).string(),
                   std::string("materialize: ") + e.what(), errno_of(e));
    }
    {
      std::lock_guard lock(queue_mu_);
      --running_;
    }
    idle_cv_.notify_all();
  }
}

Json LazyEngine::status() const {
  Json out = Json::array();
  std::lock_guard lock(mu_);
  for (const auto& m : registry_.mags()) {
    auto it = states_.find(key_of(m.layer, m.mag));
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

bool LazyEngine::forget_mag(const std::string& layer, const Mag& mag) {
  std::lock_guard lock(mu_);
  LazyRegistry before = registry_;
  if (!registry_.remove(layer, mag)) return false;
  try {
    registry_.save();
  } catch (...) {
    registry_ = std::move(before);
    throw;
  }
  states_.erase(key_of(layer, mag));  // retires it: a computation still running drops its result
  return true;
}

}  // namespace wkfs
