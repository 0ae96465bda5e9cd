#include "lazy/shard_grid.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace wkfs {

ShardGrid::ShardGrid(const ArrayMeta& meta, DataFormat format, NdBox region)
    : meta_(meta), region_(std::move(region)) {
  size_t n = meta_.rank();
  first_.resize(n);
  last_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    first_[i] = region_.begin[i] / meta_.shard_shape[i];
    last_[i] = region_.shape[i] > 0 ? (region_.begin[i] + region_.shape[i] - 1) / meta_.shard_shape[i]
                                    : first_[i] - 1;
  }
  // Paths as the formats write them for arrays wkfs creates (formats/*_array.cpp shard_path):
  // Zarr3 default key encoding "c/i0/i1/...", Zarr v2 with "/" separator "i0/i1/...", WKW z/y/x.
  switch (format) {
    case DataFormat::Zarr3:
      levels_.push_back({"c", "", -1});
      for (size_t i = 0; i < n; ++i) levels_.push_back({"", "", static_cast<int>(i)});
      break;
    case DataFormat::Zarr:
      for (size_t i = 0; i < n; ++i) levels_.push_back({"", "", static_cast<int>(i)});
      break;
    case DataFormat::Wkw:
      levels_ = {{"z", "", 3}, {"y", "", 2}, {"x", ".wkw", 1}};
      break;
    default:
      fail(ErrorKind::Unsupported, "lazy mags are not supported for " + data_format_name(format));
  }
}

uint64_t ShardGrid::count() const {
  uint64_t c = 1;
  for (size_t i = 0; i < first_.size(); ++i) c *= static_cast<uint64_t>(std::max<int64_t>(0, last_[i] - first_[i] + 1));
  return c;
}

std::optional<int64_t> ShardGrid::match(const Level& l, const std::string& name) const {
  if (l.axis < 0) return name == l.prefix ? std::optional<int64_t>(0) : std::nullopt;
  if (name.size() <= l.prefix.size() + l.suffix.size()) return std::nullopt;
  if (name.compare(0, l.prefix.size(), l.prefix) != 0) return std::nullopt;
  if (name.compare(name.size() - l.suffix.size(), l.suffix.size(), l.suffix) != 0) return std::nullopt;
  std::string digits = name.substr(l.prefix.size(), name.size() - l.prefix.size() - l.suffix.size());
  if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos ||
      (digits.size() > 1 && digits[0] == '0'))
    return std::nullopt;
  int64_t v = std::stoll(digits);
  auto a = static_cast<size_t>(l.axis);
  if (v < first_[a] || v > last_[a]) return std::nullopt;
  return v;
}

std::optional<VecN> ShardGrid::parse(const fs::path& relative) const {
  std::vector<std::string> parts;
  for (const auto& p : relative) parts.push_back(p.string());
  if (parts.size() != levels_.size()) return std::nullopt;
  VecN idx(meta_.rank(), 0);
  for (size_t k = 0; k < parts.size(); ++k) {
    auto v = match(levels_[k], parts[k]);
    if (!v) return std::nullopt;
    if (levels_[k].axis >= 0) idx[static_cast<size_t>(levels_[k].axis)] = *v;
  }
  // axes without a level (WKW channel axis) must be inside their range
  for (size_t i = 0; i < idx.size(); ++i)
    if (idx[i] < first_[i] || idx[i] > last_[i]) return std::nullopt;
  return idx;
}

fs::path ShardGrid::relative_path(const VecN& shard) const {
  fs::path p;
  for (const auto& l : levels_)
    p /= l.axis < 0 ? l.prefix : l.prefix + std::to_string(shard[static_cast<size_t>(l.axis)]) + l.suffix;
  return p;
}

NdBox ShardGrid::shard_box(const VecN& shard) const {
  NdBox b;
  b.begin.resize(shard.size());
  b.shape = meta_.shard_shape;
  for (size_t i = 0; i < shard.size(); ++i) b.begin[i] = shard[i] * meta_.shard_shape[i];
  return b;
}

std::optional<std::vector<std::pair<std::string, bool>>> ShardGrid::children(const fs::path& rel_dir) const {
  std::vector<std::string> parts;
  for (const auto& p : rel_dir)
    if (!p.empty() && p != ".") parts.push_back(p.string());
  if (parts.size() >= levels_.size()) return std::nullopt;
  for (size_t k = 0; k < parts.size(); ++k)
    if (!match(levels_[k], parts[k])) return std::nullopt;
  if (count() == 0) return std::vector<std::pair<std::string, bool>>{};
  const Level& l = levels_[parts.size()];
  bool is_dir = parts.size() + 1 < levels_.size();
  std::vector<std::pair<std::string, bool>> out;
  if (l.axis < 0) {
    out.emplace_back(l.prefix, is_dir);
  } else {
    auto a = static_cast<size_t>(l.axis);
    for (int64_t v = first_[a]; v <= last_[a]; ++v) out.emplace_back(l.prefix + std::to_string(v) + l.suffix, is_dir);
  }
  return out;
}

void ShardGrid::for_each(const std::function<void(const VecN&)>& f) const {
  if (count() == 0) return;
  VecN idx = first_;
  size_t n = idx.size();
  while (true) {
    f(idx);
    size_t a = n;
    while (a-- > 0) {
      if (++idx[a] <= last_[a]) break;
      idx[a] = first_[a];
      if (a == 0) return;
    }
  }
}

std::vector<VecN> ShardGrid::shards_in(const NdBox& box) const { return shards_covering(meta_, box.intersect(region_)); }

}  // namespace wkfs
