#pragma once
// The files of a lazily computed mag: which shard files the eager result would have (the shards
// covering the target region), their paths relative to the mag folder, and the folders above them,
// so a listing can show them all before any is computed.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/data_format.hpp"
#include "core/vec.hpp"
#include "formats/array.hpp"

namespace wkfs {

class ShardGrid {
 public:
  /// `region` is the part of the array the eager computation writes (array coordinates).
  ShardGrid(const ArrayMeta& meta, DataFormat format, NdBox region);

  /// Number of shard files.
  uint64_t count() const;
  const NdBox& region() const { return region_; }
  const ArrayMeta& meta() const { return meta_; }
  /// Shard index for a path relative to the mag folder, if it names a shard of this grid.
  std::optional<VecN> parse(const fs::path& relative) const;
  /// Path of a shard relative to the mag folder.
  fs::path relative_path(const VecN& shard) const;
  /// Array box of a shard (not clipped).
  NdBox shard_box(const VecN& shard) const;
  /// Names below a folder (relative to the mag folder; "" = the mag folder itself) and whether each
  /// is a folder; nullopt if rel_dir is not a folder of the grid.
  std::optional<std::vector<std::pair<std::string, bool>>> children(const fs::path& rel_dir) const;
  /// Calls f for every shard, in C order.
  void for_each(const std::function<void(const VecN&)>& f) const;
  /// Shards intersecting an array box.
  std::vector<VecN> shards_in(const NdBox& box) const;

 private:
  struct Level {
    std::string prefix, suffix;
    int axis;  // -1: a fixed name (prefix)
  };
  std::optional<int64_t> match(const Level& l, const std::string& name) const;

  ArrayMeta meta_;
  NdBox region_;
  VecN first_, last_;  // inclusive shard index ranges
  std::vector<Level> levels_;
};

}  // namespace wkfs
