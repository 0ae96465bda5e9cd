#include "lazy/lazy_engine_registry.hpp"

#include "core/error.hpp"

namespace wkfs {

LazyEngineRegistry::LazyEngineRegistry(LazyConfig config, bool auto_pyramid, Diagnostics& diagnostics,
                                       InvalidateFn on_invalidate)
    : config_(config), auto_pyramid_(auto_pyramid), diag_(diagnostics), on_invalidate_(std::move(on_invalidate)) {}

LazyEngineRegistry::~LazyEngineRegistry() { clear(); }

LazyEngine& LazyEngineRegistry::of(const std::shared_ptr<Dataset>& dataset) {
  if (auto* engine = serving(dataset)) return *engine;
  std::lock_guard lock(mu_);
  fail(ErrorKind::Corrupt, "lazy features are off for dataset " + dataset->root().string() + ": " +
                               off_[dataset->root().string()]);
}

LazyEngine* LazyEngineRegistry::serving(const std::shared_ptr<Dataset>& dataset) {
  const std::string root = dataset->root().string();
  LazyEngine* engine = nullptr;
  std::string problem;
  {
    std::lock_guard lock(mu_);
    if (auto it = engines_.find(root); it != engines_.end()) return it->second.get();
    if (off_.count(root)) return nullptr;
    try {
      auto forward = [this, root = dataset->root()](const fs::path& rel) {
        if (on_invalidate_) on_invalidate_(root, rel);
      };
      auto created = std::make_unique<LazyEngine>(dataset, config_, diag_, std::move(forward));
      engine = created.get();
      engines_[root] = std::move(created);
    } catch (const std::exception& e) {
      // Bad lazy state (a damaged .wkfs/lazy.json...) must not take the dataset down with it.
      off_[root] = e.what();
      problem = std::string("lazy features are off, the dataset is served as stored: ") + e.what();
    }
    if (engine && auto_pyramid_ && !dataset->read_only()) {
      try {
        engine->register_default_pyramids();
      } catch (const std::exception& e) {
        problem = std::string("pyramid=auto failed: ") + e.what();
      }
    }
  }
  if (!problem.empty()) diag_.report(LogLevel::Error, "lazy", dataset->root().string(), problem);
  return engine;
}

LazyEngine* LazyEngineRegistry::find(const Dataset& dataset) {
  std::lock_guard lock(mu_);
  auto it = engines_.find(dataset.root().string());
  return it == engines_.end() ? nullptr : it->second.get();
}

Json LazyEngineRegistry::status() {
  std::lock_guard lock(mu_);
  Json out = Json::object();
  for (const auto& [root, e] : engines_) out[root] = e->status();
  for (const auto& [root, why] : off_) out[root] = Json{{"mags", Json::array()}, {"error", why}};
  return out;
}

void LazyEngineRegistry::rename_layer(const std::shared_ptr<Dataset>& dataset, const std::string& from,
                               const std::string& to) {
  auto* engine = serving(dataset);
  dataset->rename_layer(from, to);
  if (!engine) return;
  try {
    engine->rename_layer(from, to);
  } catch (...) {
    // The registrations could not follow: the layer keeps its old name, so nothing changed.
    try {
      dataset->rename_layer(to, from);
    } catch (...) {
    }
    throw;
  }
}

void LazyEngineRegistry::delete_layer(const std::shared_ptr<Dataset>& dataset, const std::string& layer) {
  auto* engine = serving(dataset);
  dataset->delete_layer(layer);
  // A registration left behind would bind to a new layer of the same name at the next mount.
  if (engine) engine->forget_layer(layer);
}

void LazyEngineRegistry::delete_mag(const std::shared_ptr<Dataset>& dataset, const std::string& layer, const Mag& mag) {
  auto* engine = serving(dataset);
  if (engine) engine->require_no_pending_dependents(layer, mag);
  auto props = dataset->properties();
  const auto* l = props.find_layer(layer);
  if (!(l && l->find_mag(mag)) && engine && engine->delete_lazy_mag(layer, mag)) return;
  dataset->delete_mag(layer, mag);
  // A complete lazy mag stays registered (its source may change): without this, computations
  // downstream would recreate its folder without metadata.
  if (engine) engine->forget_mag(layer, mag);
}

void LazyEngineRegistry::clear() {
  std::map<std::string, std::unique_ptr<LazyEngine>> engines;
  {
    std::lock_guard lock(mu_);
    engines.swap(engines_);
    off_.clear();
  }
  // destroyed here, unlocked: joining the workers waits for the computations they are running
}

}  // namespace wkfs
