#include "lazy/read_only_store.hpp"

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "lazy/lazy_engine.hpp"
#include "lazy/memory_store.hpp"

namespace wkfs {

ReadOnlyStore::ReadOnlyStore(fs::path dataset_root, std::unique_ptr<ComputedStore> front)
    : dataset_(std::move(dataset_root), {}), front_(std::move(front)) {}

bool ReadOnlyStore::masked(const fs::path& rel) const {
  std::lock_guard lock(mu_);
  return masked_.count(rel.generic_string()) > 0;
}

UniqueFd ReadOnlyStore::open(const fs::path& rel) const {
  if (UniqueFd fd = front_->open(rel)) return fd;
  return masked(rel) ? UniqueFd() : dataset_.open(rel);
}

bool ReadOnlyStore::contains(const fs::path& rel) const {
  return front_->contains(rel) || (!masked(rel) && dataset_.contains(rel));
}

UniqueFd ReadOnlyStore::put(const fs::path& rel, ByteSpan bytes) { return front_->put(rel, bytes); }

bool ReadOnlyStore::remove(const fs::path& rel) {
  bool removed = front_->remove(rel);
  if (dataset_.contains(rel)) {
    std::lock_guard lock(mu_);
    removed = masked_.insert(rel.generic_string()).second || removed;
  }
  return removed;
}

void ReadOnlyStore::for_each_under(const fs::path& rel_dir, const std::function<void(const fs::path&)>& fn) const {
  std::set<fs::path> all;
  front_->for_each_under(rel_dir, [&](const fs::path& r) { all.insert(r); });
  dataset_.for_each_under(rel_dir, [&](const fs::path& r) {
    if (!masked(rel_dir / r)) all.insert(r);
  });
  for (const auto& r : all) fn(r);
}

std::optional<int64_t> ReadOnlyStore::modified_at(const fs::path& rel) const {
  if (auto t = front_->modified_at(rel)) return t;
  return masked(rel) ? std::nullopt : dataset_.modified_at(rel);
}

fs::path cache_folder_for(const fs::path& cache_dir, const fs::path& dataset_root) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(dataset_root, ec);
  if (ec) abs = fs::absolute(dataset_root).lexically_normal();
  uint64_t h = 1469598103934665603ull;  // FNV-1a: the same folder on every run and build
  for (unsigned char c : abs.string()) h = (h ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return cache_dir / (abs.filename().string() + "-" + std::string(hex, 8));
}

std::unique_ptr<ComputedStore> make_computed_store(const Dataset& dataset, const LazyConfig& config) {
  const fs::path& root = dataset.root();
  if (!dataset.read_only()) return std::make_unique<FolderStore>(root, LazyRegistry::state_dir(root));
  std::unique_ptr<ComputedStore> front;
  if (config.cache_dir) {
    const fs::path folder = cache_folder_for(*config.cache_dir, root);
    front = std::make_unique<FolderStore>(folder, folder);
  } else {
    front = std::make_unique<MemoryStore>(config.memory_cap_bytes);
  }
  return std::make_unique<ReadOnlyStore>(root, std::move(front));
}

}  // namespace wkfs
