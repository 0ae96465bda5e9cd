#pragma once
// Computed files as files under a folder (the dataset root, or a dataset's folder in a cache),
// written atomically.
#include "lazy/computed_store.hpp"

namespace wkfs {

class FolderStore : public ComputedStore {
 public:
  /// `state_dir`: where the engine keeps its scan times (the dataset's .wkfs/, or the cache folder).
  FolderStore(fs::path root, fs::path state_dir) : root_(std::move(root)), state_dir_(std::move(state_dir)) {}

  UniqueFd open(const fs::path& rel) const override;
  bool contains(const fs::path& rel) const override;
  UniqueFd put(const fs::path& rel, ByteSpan bytes) override;
  bool remove(const fs::path& rel) override;
  void for_each_under(const fs::path& rel_dir, const std::function<void(const fs::path&)>& fn) const override;
  std::optional<int64_t> modified_at(const fs::path& rel) const override;
  std::optional<fs::path> state_dir() const override { return state_dir_; }

  const fs::path& root() const { return root_; }

 private:
  fs::path root_, state_dir_;
};

}  // namespace wkfs
