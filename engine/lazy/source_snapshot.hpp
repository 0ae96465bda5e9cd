#pragma once
// The source files of one lazy computation, each opened once before it reads anything: shard
// files are only ever replaced whole (rename), so an open descriptor keeps one complete version
// and the computation reads one consistent version of its sources however often a writer
// replaces them meanwhile (issue 11 item 13: it never has to give up on a busy source).
#include <map>
#include <memory>

#include "core/file_io.hpp"
#include "formats/array.hpp"

namespace wkfs {

class SourceSnapshot {
 public:
  /// Adds a shard's open file; an invalid descriptor: the shard has no file (reads as fill).
  void add(const VecN& shard, UniqueFd fd);
  /// Opens the files of `array`'s shards that cover `box` (absent ones read as fill).
  void add_by_path(const Array& array, const NdBox& box);
  /// The pinned files for Array::read; shards not added read as fill.
  Array::PinnedShards pinned() const;

 private:
  std::map<VecN, UniqueFd> files_;
};


}  // namespace wkfs
