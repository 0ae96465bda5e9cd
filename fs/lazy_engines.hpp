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
  /// The engine of a dataset, created (and, with pyramid=auto, given its default pyramids) on first use.
  LazyPyramid& of(const std::shared_ptr<Dataset>& dataset);
  /// The engine of a dataset if one was created.
  LazyPyramid* find(const Dataset& dataset);
  /// Status of every engine: {dataset root: status}.
  nlohmann::json status();
  /// Called for every stale or newly computed lazy file (dataset root, path relative to it).
  void set_invalidation_callback(std::function<void(const fs::path& dataset_root, const fs::path& rel)> cb);
  /// Stops all engines (joins their workers).
  void clear();

 private:
  std::mutex mu_;
  LazyConfig config_;
  bool auto_pyramid_ = false;
  std::function<void(const fs::path&, const fs::path&)> on_invalidate_;
  std::map<std::string, std::unique_ptr<LazyPyramid>> engines_;
};

/// Adds the pyramid commands (downsample, downsample-mag, downsample-mag-list, redownsample,
/// upsample, materialize, lazy-status) to a command table, replacing the reserved ones.
void add_lazy_commands(CommandTable& table);

}  // namespace wkfs::mount
