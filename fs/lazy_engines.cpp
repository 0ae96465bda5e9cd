#include "fs/lazy_engines.hpp"

#include <iostream>

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
  std::lock_guard lock(mu_);
  auto& slot = engines_[dataset->root().string()];
  if (!slot) {
    slot = std::make_unique<LazyPyramid>(dataset, config_);
    fs::path root = dataset->root();
    slot->set_invalidation_callback([this, root](const fs::path& rel) {
      if (on_invalidate_) on_invalidate_(root, rel);
    });
    if (auto_pyramid_ && !dataset->read_only()) slot->register_default_pyramids();
  }
  return *slot;
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
  return out;
}

void LazyEngines::set_invalidation_callback(std::function<void(const fs::path&, const fs::path&)> cb) {
  std::lock_guard lock(mu_);
  on_invalidate_ = std::move(cb);
}

void LazyEngines::clear() {
  std::lock_guard lock(mu_);
  engines_.clear();
}

}  // namespace wkfs::mount
