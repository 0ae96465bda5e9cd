#pragma once
// Computed files in memory (a read-only mount without cache_dir): each a sealed memfd, the least
// recently used dropped first once they hold more than the cap. A file larger than the cap is
// handed to its reader but not kept: it lives as long as the reader's open file, and the next open
// computes it again.
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "lazy/computed_store.hpp"

namespace wkfs {

class MemoryStore : public ComputedStore {
 public:
  explicit MemoryStore(size_t cap_bytes) : cap_(cap_bytes) {}

  UniqueFd open(const fs::path& rel) const override;
  bool contains(const fs::path& rel) const override;
  UniqueFd put(const fs::path& rel, ByteSpan bytes) override;
  bool remove(const fs::path& rel) override;
  void for_each_under(const fs::path& rel_dir, const std::function<void(const fs::path&)>& fn) const override;
  std::optional<int64_t> modified_at(const fs::path& rel) const override;
  std::optional<fs::path> state_dir() const override { return std::nullopt; }

  /// Bytes of the files kept now (at most the cap).
  size_t bytes() const;

 private:
  struct File {
    UniqueFd fd;  // read-only, sealed
    size_t size = 0;
    int64_t modified = 0;
    std::list<std::string>::iterator lru;
  };
  size_t cap_;
  mutable std::mutex mu_;
  mutable std::list<std::string> lru_;  // most recently used first
  std::map<std::string, File> files_;
  size_t bytes_ = 0;
};

}  // namespace wkfs
