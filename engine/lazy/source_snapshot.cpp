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


}  // namespace wkfs
