// Registering lazy mags (metadata only): downsample, upsample, redownsample and the default
// pyramids choose the chain of target mags; register_chain checks it, stages the new arrays and
// swaps them in, then retires the states of the replaced mags and makes what they fed stale.
#include <algorithm>
#include <memory>

#include "core/error.hpp"
#include "core/staged_dir.hpp"
#include "downsample/mag_sequence.hpp"
#include "lazy/lazy_engine.hpp"
#include "lazy/mag_step.hpp"
#include "dataset/new_mag.hpp"

namespace wkfs {

namespace {

// fs::exists, with a failure as an Error that keeps its errno.
bool path_exists(const fs::path& p) {
  std::error_code ec;
  const bool found = fs::exists(p, ec);
  if (ec) fail_errno(ec.value(), "cannot look at " + p.string());
  return found;
}

// A chain to register: targets[0] computed from `from`, each next one from the one before.
struct Chain {
  const LayerProperties& layer;
  const Mag& from;
  const std::vector<Mag>& targets;
  LazyKind kind;
  std::string mode;  // resolved interpolation mode
  bool is_target(const Mag& m) const { return std::find(targets.begin(), targets.end(), m) != targets.end(); }
};

// The steps of a registration that change the dataset and the registry, done with the lock that
// guards the registry held. Everything that can be refused is checked before the first change.
class ChainRegistration {
 public:
  ChainRegistration(Dataset& dataset, LazyRegistry& registry, Diagnostics& diag, const Chain& chain)
      : dataset_(dataset), registry_(registry), diag_(diag), chain_(chain) {}

  // The targets can be (re)placed: not existing unless overwriting, not foreign, stored where
  // the lazy replacement goes. Computes their arrays.
  // Each target is checked by the rules the loader applies at the next mount (LazyEngine::make_state:
  // a step from its source the kernels can compute), so an accepted registration is served after a
  // remount too; and its shard, the unit one computation holds (source, result and encoding: about
  // three times its decoded bytes), must fit the lazy memory cap.
  void check_targets(const MagOptions& options, bool allow_overwrite, int64_t shard_edge, size_t memory_cap) {
    const std::string& name = chain_.layer.name;
    const auto mode = parse_interpolation_mode(chain_.mode, chain_.layer.category == Category::Segmentation);
    for (size_t i = 0; i < chain_.targets.size(); ++i) {
      const Mag& t = chain_.targets[i];
      const Mag& source = i == 0 ? chain_.from : chain_.targets[i - 1];
      try {
        MagStep::make(chain_.kind, mode, source, t, chain_.layer.array_axes());
      } catch (const Error& e) {
        fail(ErrorKind::InvalidArgument, "cannot compute mag " + t.long_name() + " of layer " + name + " from mag " +
                                             source.long_name() + ": " + e.what() +
                                             "; choose target mags that are multiples of each other (e.g. --mags)");
      }
      fs::path dir = dataset_.root() / name / t.short_name();
      bool listed = chain_.layer.find_mag(t) != nullptr;
      bool lazy = registry_.find(name, t) != nullptr;
      if ((listed || lazy) && !allow_overwrite)
        fail(ErrorKind::AlreadyExists,
             "The target mag " + t.long_name() + " of layer " + name + " already exists (use --allow-overwrite)");
      if (!listed && !lazy && path_exists(dir))
        fail(ErrorKind::AlreadyExists, "folder " + (fs::path(name) / t.short_name()).string() +
                                           " already exists and is not a mag of layer " + name);
      if (listed && dataset_.is_foreign_mag(name, t))
        fail(ErrorKind::ReadOnly, "mag " + t.long_name() + " of layer " + name + " is foreign (read-only)");
      std::error_code ec;
      if (listed && !fs::equivalent(dataset_.mag_path(name, t), dir, ec))
        fail(ErrorKind::Unsupported, "mag " + t.long_name() + " of layer " + name + " is not stored in " +
                                         dir.string() + ", where its lazy replacement would go");
      any_listed_ = any_listed_ || listed;
      const NewMagShapes shapes = resolve_mag_options(chain_.layer, options, shard_edge);
      const int64_t unit = decoded_bytes(chain_.layer, shapes.shard);
      if (unit > static_cast<int64_t>(memory_cap / 3))
        fail(ErrorKind::InvalidArgument, "shard shape " + shapes.shard.to_string() + " of lazy mag " + t.long_name() +
                                             " decodes to " + std::to_string(unit >> 20) + " MiB; computing one needs "
                                             "about 3 times that, more than lazy_memory_mb (" +
                                             std::to_string(memory_cap >> 20) + " MiB): choose a smaller --shard-shape");
      specs_.push_back(new_mag_array_spec(chain_.layer, t, shapes));
      dirs_.push_back(std::move(dir));
    }
  }

  // A target that the source is (lazily, transitively) computed from would be computed from
  // itself: reads would wait on their own computation, and its data would be gone.
  void check_not_computed_from_itself() const {
    Mag s = chain_.from;
    for (size_t hops = 0; hops <= registry_.mags().size(); ++hops) {
      if (chain_.is_target(s))
        fail(ErrorKind::InvalidArgument, "mag " + chain_.from.long_name() + " of layer " + chain_.layer.name +
                                             " is computed lazily from mag " + s.long_name() + ", so " +
                                             s.long_name() + " cannot be computed from it");
      const LazyMag* m = registry_.find(chain_.layer.name, s);
      if (!m) break;
      s = m->source_mag;
    }
  }

  // The changes, each undone if a later one fails: the new arrays are built in hidden folders,
  // swapped in, the registry saved, the replaced mags unlisted. The replaced data is deleted only
  // once all of that succeeded: it is in the returned folders, removed when they go.
  std::vector<std::unique_ptr<StagedDir>> stage_and_swap() {
    LazyRegistry before = registry_;
    Dataset::UndoList undo;
    std::vector<std::unique_ptr<StagedDir>> staged;
    std::vector<char> holds_replaced(dirs_.size(), 0);  // staged[i] holds the replaced mag's data
    try {
      for (size_t i = 0; i < dirs_.size(); ++i) {
        staged.push_back(std::make_unique<StagedDir>(dirs_[i], "register"));
        create_array(staged.back()->path(), chain_.layer.data_format, specs_[i]);
      }
      for (size_t i = 0; i < dirs_.size(); ++i) {
        swap_in(*staged[i], holds_replaced[i], undo);
        register_target(i);
      }
      registry_.save();
      undo.push_back([&before] { before.save(); });
      // one properties write for all: a replaced mag is lazy now, and lazy mags are not listed
      if (any_listed_)
        dataset_.update_properties([&](DatasetProperties& p) {
          if (LayerProperties* l = p.find_layer(chain_.layer.name))
            std::erase_if(l->mags, [&](const MagEntry& e) { return chain_.is_target(e.mag); });
        });
    } catch (...) {
      registry_ = before;
      for (auto it = undo.rbegin(); it != undo.rend(); ++it) try {
          (*it)();
        } catch (const std::exception& e) {
          diag_.report(LogLevel::Error, "lazy", dataset_.root().string(),
                       "undoing a failed registration in layer " + chain_.layer.name + ": " + e.what(), errno_of(e));
        }
      for (size_t i = 0; i < staged.size(); ++i)
        if (holds_replaced[i]) staged[i]->release();  // a replaced mag that could not go back stays
      throw;
    }
    return staged;
  }

 private:
  // One atomic step each way: a mag folder is never missing, whichever of the two it holds.
  void swap_in(StagedDir& stage, char& holds_replaced, Dataset::UndoList& undo) {
    const fs::path& dir = stage.destination();
    if (path_exists(dir)) {
      stage.exchange();
      holds_replaced = 1;
      undo.push_back([&stage, &holds_replaced] {
        exchange_paths(stage.path(), stage.destination());
        holds_replaced = 0;
      });
    } else {
      stage.commit();
      undo.push_back([&stage] {
        if (::rename(stage.destination().c_str(), stage.path().c_str()) != 0)
          fail_errno("cannot move " + stage.destination().string() + " back to " + stage.path().string());
        std::error_code ec;
        fs::remove_all(stage.path(), ec);  // committed, so no longer the StagedDir's to remove
      });
    }
  }

  void register_target(size_t i) {
    registry_.remove(chain_.layer.name, chain_.targets[i]);
    LazyMag m;
    m.layer = chain_.layer.name;
    m.mag = chain_.targets[i];
    m.source_mag = i == 0 ? chain_.from : chain_.targets[i - 1];
    m.kind = chain_.kind;
    m.interpolation = chain_.mode;
    registry_.mags().push_back(m);
  }

  Dataset& dataset_;
  LazyRegistry& registry_;
  Diagnostics& diag_;
  const Chain& chain_;
  std::vector<ArraySpec> specs_;
  std::vector<fs::path> dirs_;
  bool any_listed_ = false;
};

// The layer of a chain and its resolved interpolation mode; refuses what cannot be registered.
std::string check_layer(const Dataset& dataset, const LayerProperties* layer, const std::string& layer_name,
                        const std::string& interpolation) {
  if (dataset.read_only()) fail(ErrorKind::ReadOnly, "dataset " + dataset.root().string() + " is read-only");
  if (!layer) fail(ErrorKind::NotFound, "there is no layer " + layer_name);
  if (layer->data_format != DataFormat::Zarr3 && layer->data_format != DataFormat::Zarr &&
      layer->data_format != DataFormat::Wkw)
    fail(ErrorKind::Unsupported, "cannot downsample " + data_format_name(layer->data_format) + " layers");
  return interpolation_mode_name(parse_interpolation_mode(interpolation, layer->category == Category::Segmentation));
}

const LayerProperties& find_layer(const DatasetProperties& props, const std::string& layer_name) {
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "there is no layer " + layer_name);
  return *layer;
}

// True if every axis of b is at least that of a (b can be computed from a by downsampling).
bool coarser_or_equal(const Mag& a, const Mag& b) { return b.x() >= a.x() && b.y() >= a.y() && b.z() >= a.z(); }

// The explicit targets of downsample-mag(-list), in order; each must be coarser than the one before.
std::vector<Mag> explicit_targets(const Mag& from, std::vector<Mag> targets) {
  std::sort(targets.begin(), targets.end(), Mag::less_xyz);
  Mag prev = from;
  for (const auto& t : targets)
    if (!coarser_or_equal(prev, t) || t == prev)
      fail(ErrorKind::InvalidArgument, "cannot downsample from " + prev.long_name() + " to " + t.long_name());
    else
      prev = t;
  return targets;
}

}  // namespace

std::vector<Mag> LazyEngine::register_chain(const std::string& layer_name, const Mag& from,
                                             const std::vector<Mag>& targets, LazyKind kind,
                                             const std::string& interpolation, const MagOptions& options,
                                             bool allow_overwrite) {
  auto props = dataset_->properties();
  const LayerProperties* layer = props.find_layer(layer_name);
  std::string mode = check_layer(*dataset_, layer, layer_name, interpolation);
  Chain chain{*layer, from, targets, kind, std::move(mode)};
  if (!layer->find_mag(from) && !state(layer_name, from))
    fail(ErrorKind::NotFound, "layer " + layer_name + " has no mag " + from.long_name());
  check_mag_options(*layer, options);  // the library refuses these shapes for the mags it adds

  std::unique_lock lock(mu_);
  ChainRegistration registration(*dataset_, registry_, diag_, chain);
  registration.check_targets(options, allow_overwrite, config_.lazy_shard_edge, config_.memory_cap_bytes);
  registration.check_not_computed_from_itself();
  auto replaced = registration.stage_and_swap();
  auto dependents = retire_replaced(layer_name, targets);
  lock.unlock();
  replaced.clear();  // the replaced mags' data goes
  std::vector<fs::path> changed;
  for (const auto& d : dependents) invalidate(*d, d->grid->region(), changed);
  notify(changed);
  return targets;
}

std::vector<std::shared_ptr<MagState>> LazyEngine::retire_replaced(const std::string& layer,
                                                                   const std::vector<Mag>& targets) {
  auto is_target = [&](const Mag& m) { return std::find(targets.begin(), targets.end(), m) != targets.end(); };
  for (const auto& t : targets) states_.erase(mag_key(layer, t));  // retired: running computations drop their results
  rebuild_states(false);
  // Lazy mags computed from a replaced mag hold results of its old data.
  std::vector<std::shared_ptr<MagState>> dependents;
  for (const auto& [k, d] : states_)
    if (d->spec.layer == layer && is_target(d->spec.source_mag) && !is_target(d->spec.mag)) dependents.push_back(d);
  return dependents;
}

std::vector<Mag> LazyEngine::downsample(const std::string& layer_name, const DownsampleRequest& req) {
  auto props = dataset_->properties();
  const LayerProperties& layer = find_layer(props, layer_name);
  std::vector<Mag> existing = layer_mags(layer);
  if (existing.empty()) fail(ErrorKind::InvalidArgument, "layer " + layer_name + " has no mag to downsample from");
  Mag from = req.from_mag.value_or(*std::max_element(existing.begin(), existing.end(), Mag::less_by_max_dim));
  std::vector<Mag> targets = req.explicit_mags ? explicit_targets(from, *req.explicit_mags)
                                               : downsampling_targets(props, layer, from, req);
  if (targets.empty()) return targets;
  return register_chain(layer_name, from, targets, LazyKind::Downsample, req.interpolation, req.mag_options,
                        req.allow_overwrite);
}

std::vector<Mag> LazyEngine::downsampling_targets(const DatasetProperties& props, const LayerProperties& layer,
                                                  const Mag& from, const DownsampleRequest& req) const {
  Mag coarsest = req.coarsest_mag.value_or(default_coarsest_mag(layer.bounding_box.size));
  MagSequenceOptions o;
  o.mode = effective_sampling_mode(parse_sampling_mode(req.sampling_mode), layer.bounding_box.size.z);
  if (o.mode == SamplingMode::Anisotropic) o.voxel_size = props.voxel_size.in_nanometers();
  if (o.mode == SamplingMode::ConstantZ) coarsest = Mag(coarsest.x(), coarsest.y(), from.z());
  o.force_sampling_scheme = req.force_sampling_scheme;
  if (req.align_with_other_layers) {
    for (const auto& l : props.layers)
      for (const auto& m : l.mags) o.align_with.push_back(m.mag);
    std::lock_guard lock(mu_);
    for (const auto& m : registry_.mags()) o.align_with.push_back(m.mag);
  }
  return calculate_mags_to_downsample(from, coarsest, o);
}

std::vector<Mag> LazyEngine::upsample(const std::string& layer_name, const UpsampleRequest& req) {
  auto props = dataset_->properties();
  find_layer(props, layer_name);
  MagSequenceOptions o;
  o.mode = parse_sampling_mode(req.sampling_mode);
  if (o.mode == SamplingMode::Anisotropic) o.voxel_size = props.voxel_size.in_nanometers();
  Mag finest = req.finest_mag.value_or(Mag(1, 1, 1));
  auto targets = calculate_mags_to_upsample(req.from_mag, finest, o);
  return register_chain(layer_name, req.from_mag, targets, LazyKind::Upsample, "nearest", req.mag_options, false);
}

std::vector<Mag> LazyEngine::redownsample(const std::string& layer_name) {
  auto props = dataset_->properties();
  std::vector<Mag> mags = layer_mags(find_layer(props, layer_name));
  std::sort(mags.begin(), mags.end(), Mag::less_xyz);
  if (mags.size() < 2) return {};
  for (size_t i = 1; i < mags.size(); ++i)
    if (!coarser_or_equal(mags[i - 1], mags[i]))
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

}  // namespace wkfs
