#include "lazy/source_snapshot.hpp"

#include <fcntl.h>

#include <cerrno>

#include "core/error.hpp"

namespace wkfs {

void SourceSnapshot::add(const VecN& shard, UniqueFd fd) { files_[shard] = std::move(fd); }

void SourceSnapshot::add_by_path(const Array& array, const NdBox& box) {
  for (const auto& s : shards_covering(array.meta(), box)) {
    const fs::path file = array.shard_path(s);
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) fail_errno("cannot open " + file.string());
    add(s, UniqueFd(fd));
  }
}

Array::PinnedShards SourceSnapshot::pinned() const {
  return [this](const VecN& shard) {
    auto it = files_.find(shard);
    return it == files_.end() ? -1 : it->second.get();
  };
}

std::vector<VecN> shards_covering(const ArrayMeta& meta, const NdBox& box) {
  NdBox inside = box.intersect(NdBox{VecN(meta.rank(), 0), meta.shape});
  std::vector<VecN> out;
  if (inside.empty()) return out;
  const size_t n = meta.rank();
  VecN first(n), last(n);
  for (size_t i = 0; i < n; ++i) {
    first[i] = inside.begin[i] / meta.shard_shape[i];
    last[i] = (inside.begin[i] + inside.shape[i] - 1) / meta.shard_shape[i];
  }
  VecN idx = first;
  while (true) {
    out.push_back(idx);
    size_t a = n;
    while (a-- > 0) {
      if (++idx[a] <= last[a]) break;
      idx[a] = first[a];
      if (a == 0) return out;
    }
  }
}

}  // namespace wkfs
