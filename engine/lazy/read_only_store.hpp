#pragma once
// The store of a read-only dataset: the files the dataset already holds, never changed, with a
// writable store in front (a cache folder or memory). A dataset file found stale is masked (the
// mount forgets it until it ends) instead of deleted, and its fresh version goes to the front
// store; the front store's own files are looked for first.
#include <mutex>
#include <set>
#include <string>

#include "lazy/folder_store.hpp"

namespace wkfs {

class ReadOnlyStore : public ComputedStore {
 public:
  ReadOnlyStore(fs::path dataset_root, std::unique_ptr<ComputedStore> front);

  UniqueFd open(const fs::path& rel) const override;
  bool contains(const fs::path& rel) const override;
  UniqueFd put(const fs::path& rel, ByteSpan bytes) override;
  /// Removes the front store's file and masks the dataset's.
  bool remove(const fs::path& rel) override;
  void for_each_under(const fs::path& rel_dir, const std::function<void(const fs::path&)>& fn) const override;
  std::optional<int64_t> modified_at(const fs::path& rel) const override;
  std::optional<fs::path> state_dir() const override { return front_->state_dir(); }

 private:
  bool masked(const fs::path& rel) const;

  FolderStore dataset_;  // only read
  std::unique_ptr<ComputedStore> front_;
  mutable std::mutex mu_;
  std::set<std::string> masked_;
};

}  // namespace wkfs
