#pragma once
// A small cache of what was parsed from recently read shard files (Zarr3 shard indexes, WKW jump
// tables), one entry per file, keyed by the file's version: a newer version replaces the entry,
// so a rewritten or re-uploaded shard is never served what was parsed from its old bytes.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "formats/shard_file.hpp"

namespace wkfs {

template <typename T>
class VersionedCache {
 public:
  struct Key {
    std::string file;
    ShardFileVersion version;
    friend bool operator==(const Key&, const Key&) = default;
  };

  /// The value parsed from exactly this version of the file, or nullptr.
  std::shared_ptr<const T> get(const Key& key) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_)
      if (e.key == key) {
        e.last_use = ++tick_;
        return e.value;
      }
    return nullptr;
  }

  /// The entry held for `file`, whatever its version (a remote read asks whether it still holds).
  std::optional<std::pair<Key, std::shared_ptr<const T>>> latest(const std::string& file) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_)
      if (e.key.file == file) {
        e.last_use = ++tick_;
        return std::make_pair(e.key, e.value);
      }
    return std::nullopt;
  }

  /// Stores `value` for `key`, replacing the file's older entry, evicting the least recently used.
  void put(const Key& key, std::shared_ptr<const T> value) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_)
      if (e.key.file == key.file) {
        e = Entry{key, std::move(value), ++tick_};
        return;
      }
    if (entries_.size() >= kCapacity) {
      auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                     [](const Entry& a, const Entry& b) { return a.last_use < b.last_use; });
      *oldest = Entry{key, std::move(value), ++tick_};
      return;
    }
    entries_.push_back(Entry{key, std::move(value), ++tick_});
  }

 private:
  static constexpr size_t kCapacity = 32;
  struct Entry {
    Key key;
    std::shared_ptr<const T> value;
    uint64_t last_use = 0;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t tick_ = 0;
};

}  // namespace wkfs
