#pragma once
// The lazy engines of a mount, one per dataset, created on first use with the mount's lazy
// options; and the Layer-API calls that remove or rename layers and mags with their lazy
// follow-up, so registrations stay with the data whoever asks (control commands, rm, mv).
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/diagnostics.hpp"
#include "core/json.hpp"
#include "lazy/lazy_engine.hpp"

namespace wkfs {

class LazyEngineRegistry {
 public:
  /// Called for every stale or newly computed lazy file (dataset root, path relative to it).
  using InvalidateFn = std::function<void(const fs::path& dataset_root, const fs::path& rel)>;

  /// `config` and `auto_pyramid` (mount options lazy_memory_mb, lazy_threads, pyramid=auto) apply
  /// to every engine it creates; problems go to `diagnostics`.
  LazyEngineRegistry(LazyConfig config, bool auto_pyramid, Diagnostics& diagnostics, InvalidateFn on_invalidate = {});
  /// Joins every engine's workers.
  ~LazyEngineRegistry();
  LazyEngineRegistry(const LazyEngineRegistry&) = delete;
  LazyEngineRegistry& operator=(const LazyEngineRegistry&) = delete;

  /// The engine of a dataset, created (and, with pyramid=auto, given its default pyramids) on first
  /// use; throws, saying why, if lazy features are off for the dataset (see serving()).
  LazyEngine& of(const std::shared_ptr<Dataset>& dataset);
  /// The engine of a dataset as of(), or nullptr if its lazy state could not be loaded: then the
  /// dataset is served as stored, without lazy features (reported once, and in status()).
  LazyEngine* serving(const std::shared_ptr<Dataset>& dataset);
  /// The engine of a dataset if one was created.
  LazyEngine* find(const Dataset& dataset);
  /// Status of every engine: {dataset root: status}; {"mags": [], "error": why} where lazy is off.
  Json status();

  /// Layer.name setter with the registrations following (rolled back if they cannot).
  void rename_layer(const std::shared_ptr<Dataset>& dataset, const std::string& from, const std::string& to);
  /// Dataset.delete_layer; the layer's registrations are forgotten.
  void delete_layer(const std::shared_ptr<Dataset>& dataset, const std::string& layer);
  /// Layer.delete_mag; a pending lazy mag (not in the backing properties) is forgotten and its
  /// folder removed; NotEmpty if a pending lazy mag is computed from it.
  void delete_mag(const std::shared_ptr<Dataset>& dataset, const std::string& layer, const Mag& mag);

  /// Stops all engines (joins their workers).
  void clear();

 private:
  std::mutex mu_;
  LazyConfig config_;
  bool auto_pyramid_ = false;
  Diagnostics& diag_;
  InvalidateFn on_invalidate_;
  std::map<std::string, std::unique_ptr<LazyEngine>> engines_;
  std::map<std::string, std::string> off_;  // dataset root -> why its engine could not be created
};

}  // namespace wkfs
