#pragma once
// One lazy engine per mounted dataset, created on first use with the mount's lazy options.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fs/command_table.hpp"
#include "lazy/lazy_pyramid.hpp"

namespace wkfs::mount {

class LazyEngines {
 public:
  /// The process-wide instance (one mount per process).
  static LazyEngines& instance();
  /// Options for engines created from now on (mount options lazy_memory_mb, lazy_threads, pyramid=auto).
  void configure(LazyConfig config, bool auto_pyramid);
  /// The engine of a dataset, created (and, with pyramid=auto, given its default pyramids) on first
  /// use; throws, saying why, if lazy features are off for the dataset (see serving()).
  LazyPyramid& of(const std::shared_ptr<Dataset>& dataset);
  /// The engine of a dataset as of(), or nullptr if its lazy state could not be loaded: then the
  /// dataset is served as stored, without lazy features (reported once, and in status()).
  LazyPyramid* serving(const std::shared_ptr<Dataset>& dataset);
  /// The engine of a dataset if one was created.
  LazyPyramid* find(const Dataset& dataset);
  /// Status of every engine: {dataset root: status}; {"mags": [], "error": why} where lazy is off.
  nlohmann::json status();
  /// Called for every stale or newly computed lazy file (dataset root, path relative to it).
  void set_invalidation_callback(std::function<void(const fs::path& dataset_root, const fs::path& rel)> cb);
  /// Called with a problem that turns lazy features (or pyramid=auto) off for a dataset.
  void set_error_callback(std::function<void(const fs::path& dataset_root, const std::string& message)> cb);

  /// The Layer API calls that remove or rename layers and mags, followed by the lazy engine so its
  /// registrations stay with the data; the control commands and mv/rm through the mount share them.
  void rename_layer(const std::shared_ptr<Dataset>& dataset, const std::string& from, const std::string& to);
  void delete_layer(const std::shared_ptr<Dataset>& dataset, const std::string& layer);
  /// A pending lazy mag (not in the backing properties) is forgotten and its folder removed.
  void delete_mag(const std::shared_ptr<Dataset>& dataset, const std::string& layer, const Mag& mag);

  /// Stops all engines (joins their workers).
  void clear();

 private:
  std::mutex mu_;
  LazyConfig config_;
  bool auto_pyramid_ = false;
  std::function<void(const fs::path&, const fs::path&)> on_invalidate_;
  std::function<void(const fs::path&, const std::string&)> on_error_;
  std::map<std::string, std::unique_ptr<LazyPyramid>> engines_;
  std::map<std::string, std::string> off_;  // dataset root -> why its engine could not be created
};

/// Adds the pyramid commands (downsample, downsample-mag, downsample-mag-list, redownsample,
/// upsample, materialize, lazy-status) to a command table, replacing the reserved ones.
void add_lazy_commands(CommandTable& table);

}  // namespace wkfs::mount
