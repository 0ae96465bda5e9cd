#include "lazy/lazy_pyramid.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "downsample/mag_sequence.hpp"

namespace wkfs {

using Json = nlohmann::ordered_json;

struct LazyPyramid::MagState {
  LazyMag spec;
  fs::path dir;       // absolute mag folder
  fs::path rel_dir;   // relative to the dataset root
  DataFormat format = DataFormat::Zarr3;
  std::shared_ptr<Array> array;
  std::optional<ShardGrid> grid;
  MagStep step;
  std::atomic<uint64_t> generation{0};
  std::atomic<uint64_t> computed{0}, stale{0}, bytes{0}, compute_ns{0}, queued{0}, in_progress{0}, errors{0};
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

LazyPyramid::LazyPyramid(std::shared_ptr<Dataset> dataset, LazyConfig config)
    : dataset_(std::move(dataset)), config_(config), budget_(config.memory_cap_bytes) {
  registry_ = LazyRegistry::load(dataset_->root());
  rebuild_states(true);
}

void LazyPyramid::start_workers_locked() {
  if (!workers_.empty()) return;  // started on first use: a mount of many datasets idles cheaply
  unsigned n = config_.threads ? config_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
}

LazyPyramid::~LazyPyramid() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
    queue_.clear();
  }
  queue_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::shared_ptr<LazyPyramid::MagState> LazyPyramid::make_state(const LazyMag& spec, bool count_existing) const {
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
  st->generation = spec.generation;
  // A new registration has nothing computed and must not scan; at a remount a complete mag needs
  // no scan either, and an incomplete one is counted by walking what exists (O(computed files),
  // not O(files of the grid): a terabyte layer's pyramid that was barely looked at mounts fast).
  if (count_existing) st->computed = spec.complete ? st->grid->count() : count_computed(*st->grid, st->dir);
  return st;
}

void LazyPyramid::rebuild_states(bool count_existing) {
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
      std::cerr << "wkfs: lazy mag " << k << " ignored: " << e.what() << "\n";
    }
  }
  states_ = std::move(next);
}

std::shared_ptr<LazyPyramid::MagState> LazyPyramid::state(const std::string& layer, const Mag& mag) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(key_of(layer, mag));
  return it == states_.end() ? nullptr : it->second;
}

// --- registration ---------------------------------------------------------------------------

std::vector<Mag> LazyPyramid::layer_mags(const LayerProperties& layer) const {
  std::vector<Mag> mags = all_mags(layer);
  std::lock_guard lock(mu_);
  for (const auto& m : registry_.mags())
    if (m.layer == layer.name && !layer.find_mag(m.mag)) mags.push_back(m.mag);
  return mags;
}

std::vector<Mag> LazyPyramid::register_chain(const std::string& layer_name, const Mag& from,
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

  std::lock_guard lock(mu_);
  // Validate every target before creating anything.
  for (const auto& t : targets) {
    bool listed = layer->find_mag(t) != nullptr;
    bool lazy = registry_.find(layer_name, t) != nullptr;
    if ((listed || lazy) && !allow_overwrite)
      fail(ErrorKind::AlreadyExists, "The target mag " + t.long_name() + " of layer " + layer_name +
                                         " already exists (use --allow-overwrite)");
    if (!listed && !lazy && fs::exists(dataset_->root() / layer_name / t.short_name()))
      fail(ErrorKind::AlreadyExists, "folder " + (fs::path(layer_name) / t.short_name()).string() +
                                         " already exists and is not a mag of layer " + layer_name);
  }
  std::vector<std::string> axes = layer->array_axes();
  LazyRegistry before = registry_;
  std::vector<fs::path> created;
  try {
    Mag source = from;
    for (const auto& t : targets) {
      fs::path dir = dataset_->root() / layer_name / t.short_name();
      bool listed = layer->find_mag(t) != nullptr;
      if (registry_.find(layer_name, t) || listed) {
        // Overwrite: the existing data is replaced lazily, so it must go now (stale = absent).
        if (listed) set_listed(layer_name, t, false);
        registry_.remove(layer_name, t);
        states_.erase(key_of(layer_name, t));
        fs::path trash = LazyRegistry::state_dir(dataset_->root()) / ("trash-" + std::to_string(::getpid()) + "-" +
                                                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(trash.parent_path());
        if (fs::exists(dir)) fs::rename(dir, trash);
        fs::remove_all(trash);
      }
      Vec3 chunk = options.chunk_shape.value_or(Vec3{32, 32, 32});
      Vec3 shard = options.shard_shape.value_or(default_shard_shape(layer->data_format, *layer, chunk));
      if (!options.shard_shape && layer->data_format != DataFormat::Zarr)
        shard = Vec3::max(chunk, Vec3::min(shard, Vec3::full(config_.lazy_shard_edge)));
      BoundingBox region = layer->bounding_box.in_mag(t);
      ArraySpec spec;
      spec.dtype = layer->dtype;
      spec.axis_names = axes;
      spec.compress = options.compress.value_or(true);
      for (const auto& a : axes) {
        if (a == "c") {
          spec.shape.push_back(layer->num_channels);
          spec.chunk_shape.push_back(layer->num_channels);
          spec.shard_shape.push_back(layer->num_channels);
        } else if (a == "x" || a == "y" || a == "z") {
          int i = a == "x" ? 0 : a == "y" ? 1 : 2;
          int64_t sh = layer->data_format == DataFormat::Zarr ? chunk[i] : shard[i];
          int64_t end = region.bottom_right()[i];
          spec.shape.push_back((end + sh - 1) / sh * sh);
          spec.chunk_shape.push_back(chunk[i]);
          spec.shard_shape.push_back(sh);
        } else {
          int64_t hi = 1;
          for (const auto& ax : layer->additional_axes)
            if (ax.name == a) hi = ax.upper;
          spec.shape.push_back(hi);
          spec.chunk_shape.push_back(1);
          spec.shard_shape.push_back(1);
        }
      }
      fs::create_directories(dir);
      created.push_back(dir);
      create_array(dir, layer->data_format, spec);
      LazyMag m;
      m.layer = layer_name;
      m.mag = t;
      m.source_mag = source;
      m.kind = kind;
      m.interpolation = mode;
      registry_.mags().push_back(m);
      source = t;
    }
    registry_.save();
  } catch (...) {
    for (const auto& d : created) {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
    registry_ = before;
    throw;
  }
  rebuild_states(false);
  return targets;
}

std::vector<Mag> LazyPyramid::downsample(const std::string& layer_name, const DownsampleRequest& req) {
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

std::vector<Mag> LazyPyramid::upsample(const std::string& layer_name, const UpsampleRequest& req) {
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

std::vector<Mag> LazyPyramid::redownsample(const std::string& layer_name) {
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

void LazyPyramid::register_default_pyramids() {
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
      std::cerr << "wkfs: pyramid=auto: layer " << l.name << ": " << e.what() << "\n";
    }
  }
}

// --- files ------------------------------------------------------------------------------------

std::optional<LazyFileRef> LazyPyramid::lazy_file(const fs::path& rel) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, st] : states_) {
    auto r = rel.lexically_relative(st->rel_dir);
    if (r.empty() || *r.begin() == "..") continue;
    if (auto idx = st->grid->parse(r)) return LazyFileRef{st->spec.layer, st->spec.mag, *idx};
  }
  return std::nullopt;
}

std::optional<std::vector<std::pair<std::string, bool>>> LazyPyramid::lazy_children(const fs::path& rel) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, st] : states_) {
    if (rel == st->rel_dir) return st->grid->children("");
    auto r = rel.lexically_relative(st->rel_dir);
    if (r.empty() || *r.begin() == "..") continue;
    return st->grid->children(r);
  }
  return std::nullopt;
}

bool LazyPyramid::computed(const LazyFileRef& ref) const {
  auto st = state(ref.layer, ref.mag);
  if (!st) return true;
  return ::access((st->dir / st->grid->relative_path(ref.shard)).c_str(), F_OK) == 0;
}

uint64_t LazyPyramid::estimated_size(const LazyFileRef& ref) const {
  auto st = state(ref.layer, ref.mag);
  if (!st) return 0;
  const auto& m = st->array->meta();
  uint64_t raw = static_cast<uint64_t>(prod(m.shard_shape)) * m.elem_size();
  uint64_t chunks = static_cast<uint64_t>(prod(m.chunks_per_shard()));
  if (st->format == DataFormat::Wkw) return 16 + raw + (st->array->compressed() ? 8 * chunks : 0);
  if (st->format == DataFormat::Zarr3 && chunks > 1) return raw + 16 * chunks + 4;
  return raw;
}

void LazyPyramid::ensure(const LazyFileRef& ref) {
  auto st = state(ref.layer, ref.mag);
  if (!st) return;
  fs::path file = st->dir / st->grid->relative_path(ref.shard);
  if (::access(file.c_str(), F_OK) == 0) return;
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
    if (::access(file.c_str(), F_OK) != 0) compute(*st, ref.shard);
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

void LazyPyramid::compute(MagState& st, const VecN& shard) {
  auto t0 = std::chrono::steady_clock::now();
  ++st.in_progress;
  struct Done {
    MagState& s;
    ~Done() { --s.in_progress; }
  } done{st};
  const auto& meta = st.array->meta();
  NdBox target = st.grid->shard_box(shard).intersect(st.grid->region()).intersect(NdBox{VecN(meta.rank(), 0), meta.shape});
  uint64_t generation = st.generation.load();

  // The source first (recursively, before holding any memory budget, so nested computations
  // never wait on a budget their callers hold).
  auto source_state = state(st.spec.layer, st.spec.source_mag);
  fs::path source_dir = source_state ? source_state->dir : dataset_->mag_path(st.spec.layer, st.spec.source_mag);
  NdBox source_box = st.step.source_box(target);
  if (source_state)
    for (const auto& s : source_state->grid->shards_in(source_box))
      ensure(LazyFileRef{st.spec.layer, st.spec.source_mag, s});
  std::shared_ptr<Array> source = source_state ? source_state->array : std::shared_ptr<Array>(open_array(source_dir));

  size_t out_bytes = static_cast<size_t>(target.volume()) * meta.elem_size();
  size_t tile_budget = std::max<size_t>(size_t{16} << 20, config_.memory_cap_bytes / 8);
  MemoryBudget::Reservation hold(budget_, out_bytes * 2 + tile_budget * 2);
  Bytes out(out_bytes);
  if (!target.empty()) st.step.compute(*source, meta, target, out, tile_budget);
  if (st.generation.load() != generation) return;  // the source changed meanwhile: stays lazy
  st.array->write(target, out);
  if (st.generation.load() != generation) {
    // made stale while we wrote: drop the result so the next read recomputes it
    ::unlink((st.dir / st.grid->relative_path(shard)).c_str());
    return;
  }
  struct stat sb {};
  if (::stat((st.dir / st.grid->relative_path(shard)).c_str(), &sb) == 0) st.bytes += static_cast<uint64_t>(sb.st_size);
  ++st.computed;
  st.compute_ns += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  mark_complete_if_done(st);
}

void LazyPyramid::mark_complete_if_done(MagState& st) {
  if (st.computed.load() < st.grid->count()) return;
  std::lock_guard lock(mu_);
  LazyMag* m = registry_.find(st.spec.layer, st.spec.mag);
  if (!m || m->complete) return;
  // recount from disk: the counter is only a hint
  uint64_t n = 0;
  st.grid->for_each([&](const VecN& s) {
    if (::access((st.dir / st.grid->relative_path(s)).c_str(), F_OK) == 0) ++n;
  });
  if (n < st.grid->count()) {
    st.computed = n;
    return;
  }
  set_listed(m->layer, m->mag, true);
  m->complete = true;
  st.spec.complete = true;
  registry_.save();
}

void LazyPyramid::set_listed(const std::string& layer, const Mag& mag, bool listed) {
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

void LazyPyramid::invalidate(MagState& st, const NdBox& box, std::vector<fs::path>& changed) {
  ++st.generation;
  uint64_t removed = 0;
  for (const auto& s : st.grid->shards_in(box)) {
    fs::path rel = st.rel_dir / st.grid->relative_path(s);
    if (::unlink((dataset_->root() / rel).c_str()) == 0) {
      ++removed;
      changed.push_back(rel);
    }
  }
  if (removed) {
    st.stale += removed;
    st.computed -= std::min<uint64_t>(removed, st.computed.load());
    std::lock_guard lock(mu_);
    LazyMag* m = registry_.find(st.spec.layer, st.spec.mag);
    if (m && m->complete) {
      // an incomplete mag must not stay listed in the backing properties
      set_listed(m->layer, m->mag, false);
      m->complete = false;
      st.spec.complete = false;
      registry_.save();
    }
  }
  // everything computed from this mag depends on the same region
  std::vector<std::shared_ptr<MagState>> dependents;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, d] : states_)
      if (d->spec.layer == st.spec.layer && d->spec.source_mag == st.spec.mag) dependents.push_back(d);
  }
  for (const auto& d : dependents) invalidate(*d, d->step.affected_target(box), changed);
}

void LazyPyramid::source_changed(const fs::path& rel) {
  auto props = dataset_->properties();
  std::vector<fs::path> changed;
  for (const auto& layer : props.layers) {
    std::vector<Mag> mags = layer_mags(layer);
    for (const auto& mag : mags) {
      fs::path mag_rel;
      try {
        mag_rel = fs::relative(dataset_->mag_path(layer.name, mag), dataset_->root());
      } catch (const std::exception&) {
        continue;
      }
      auto r = rel.lexically_relative(mag_rel);
      if (r.empty() || *r.begin() == ".." || r == ".") continue;
      std::vector<std::shared_ptr<MagState>> dependents;
      {
        std::lock_guard lock(mu_);
        for (const auto& [k, d] : states_)
          if (d->spec.layer == layer.name && d->spec.source_mag == mag) dependents.push_back(d);
      }
      if (dependents.empty()) return;
      // the changed file's box in the source mag; the whole mag if the name is not a shard key
      std::shared_ptr<Array> arr(open_array(dataset_->mag_path(layer.name, mag)));
      NdBox whole{VecN(arr->meta().rank(), 0), arr->meta().shape};
      NdBox box = whole;
      try {
        ShardGrid g(arr->meta(), layer.data_format, whole);
        if (auto idx = g.parse(r)) box = g.shard_box(*idx);
      } catch (const Error&) {
      }
      for (const auto& d : dependents) invalidate(*d, d->step.affected_target(box), changed);
      if (on_invalidate_)
        for (const auto& c : changed) on_invalidate_(c);
      return;
    }
  }
}

void LazyPyramid::set_invalidation_callback(std::function<void(const fs::path&)> cb) { on_invalidate_ = std::move(cb); }

// --- registry maintenance ----------------------------------------------------------------------

bool LazyPyramid::has_pending_mags() const {
  std::lock_guard lock(mu_);
  return std::any_of(registry_.mags().begin(), registry_.mags().end(), [](const LazyMag& m) { return !m.complete; });
}

bool LazyPyramid::is_pending_mag(const std::string& layer, const Mag& mag) const {
  std::lock_guard lock(mu_);
  const LazyMag* m = registry_.find(layer, mag);
  return m && !m->complete;
}

bool LazyPyramid::delete_lazy_mag(const std::string& layer, const Mag& mag) {
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

void LazyPyramid::rename_layer(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  registry_.rename_layer(from, to);
  registry_.save();
  states_.clear();
  rebuild_states(true);
}

void LazyPyramid::forget_layer(const std::string& layer) {
  std::lock_guard lock(mu_);
  auto& v = registry_.mags();
  v.erase(std::remove_if(v.begin(), v.end(), [&](const LazyMag& m) { return m.layer == layer; }), v.end());
  registry_.save();
  rebuild_states(false);
}

std::string LazyPyramid::mounted_properties() const {
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

std::string LazyPyramid::strip_pending_mags(const std::string& text) const {
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

size_t LazyPyramid::materialize(const std::string& layer, std::optional<Mag> mag) {
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
  {
    std::lock_guard lock(queue_mu_);
    start_workers_locked();
    for (const auto& st : todo)
      st->grid->for_each([&](const VecN& s) {
        if (::access((st->dir / st->grid->relative_path(s)).c_str(), F_OK) == 0) return;
        queue_.emplace_back(st, s);
        ++st->queued;
        ++n;
      });
  }
  queue_cv_.notify_all();
  return n;
}

void LazyPyramid::wait_idle() {
  std::unique_lock lock(queue_mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && running_ == 0; });
}

void LazyPyramid::worker_loop() {
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
      std::cerr << "wkfs: materialize " << job.first->rel_dir.string() << " shard " << to_string(job.second)
                << ": " << e.what() << "\n";
    }
    {
      std::lock_guard lock(queue_mu_);
      --running_;
    }
    idle_cv_.notify_all();
  }
}

nlohmann::json LazyPyramid::status() const {
  nlohmann::json out = nlohmann::json::array();
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
  return {{"mags", out}, {"memory_cap_bytes", budget_.cap()}, {"memory_in_use_bytes", budget_.in_use()},
          {"memory_peak_bytes", budget_.peak()}};
}

}  // namespace wkfs
