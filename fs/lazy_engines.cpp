#include "fs/lazy_engines.hpp"

#include "core/error.hpp"

namespace wkfs::mount {

LazyEngines& LazyEngines::instance() {
  static LazyEngines e;
  return e;
}

void LazyEngines::configure(LazyConfig config, bool auto_pyramid) {
  std::lock_guard lock(mu_);
  config_ = config;
  auto_pyramid_ = auto_pyramid;
}

LazyPyramid& LazyEngines::of(const std::shared_ptr<Dataset>& dataset) {
  if (auto* engine = serving(dataset)) return *engine;
  std::lock_guard lock(mu_);
  fail(ErrorKind::Corrupt, "lazy features are off for dataset " + dataset->root().string() + ": " +
                               off_[dataset->root().string()]);
}

LazyPyramid* LazyEngines::serving(const std::shared_ptr<Dataset>& dataset) {
  const std::string root = dataset->root().string();
  LazyPyramid* engine = nullptr;
  std::string problem;
  {
    std::lock_guard lock(mu_);
    if (auto it = engines_.find(root); it != engines_.end()) return it->second.get();
    if (off_.count(root)) return nullptr;
    try {
      auto created = std::make_unique<LazyPyramid>(dataset, config_);
      created->set_invalidation_callback([this, root = dataset->root()](const fs::path& rel) {
        if (on_invalidate_) on_invalidate_(root, rel);
      });
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
  if (!problem.empty() && on_error_) on_error_(dataset->root(), problem);
  return engine;
}

LazyPyramid* LazyEngines::find(const Dataset& dataset) {
  std::lock_guard lock(mu_);
  auto it = engines_.find(dataset.root().string());
  return it == engines_.end() ? nullptr : it->second.get();
}

nlohmann::json LazyEngines::status() {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [root, e] : engines_) out[root] = e->status();
  for (const auto& [root, why] : off_) out[root] = {{"mags", nlohmann::json::array()}, {"error", why}};
  return out;
}

void LazyEngines::set_invalidation_callback(std::function<void(const fs::path&, const fs::path&)> cb) {
  std::lock_guard lock(mu_);
  on_invalidate_ = std::move(cb);
}

void LazyEngines::set_error_callback(std::function<void(const fs::path&, const std::string&)> cb) {
  std::lock_guard lock(mu_);
  on_error_ = std::move(cb);
}

void LazyEngines::rename_layer(const std::shared_ptr<Dataset>& dataset, const std::string& from,
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

void LazyEngines::delete_layer(const std::shared_ptr<Dataset>& dataset, const std::string& layer) {
  auto* engine = serving(dataset);
  dataset->delete_layer(layer);
  // A registration left behind would bind to a new layer of the same name at the next mount.
  if (engine) engine->forget_layer(layer);
}

void LazyEngines::delete_mag(const std::shared_ptr<Dataset>& dataset, const std::string& layer, const Mag& mag) {
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

void LazyEngines::clear() {
  std::map<std::string, std::unique_ptr<LazyPyramid>> engines;
  {
    std::lock_guard lock(mu_);
    engines.swap(engines_);
    off_.clear();
  }
  // destroyed here, unlocked: joining the workers waits for the computations they are running
}

}  // namespace wkfs::mount
