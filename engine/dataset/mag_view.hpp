#pragma once
// Region access to one mag of one layer in mag-1 coordinates, as webknossos-libs' MagView.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/bounding_box.hpp"
#include "core/mag.hpp"
#include "formats/array.hpp"

namespace wkfs {

class MagView {
 public:
  /// `axes` are the array axis names (c,x,y,z or nD); `channel_offset` is channelIndex.
  MagView(std::shared_ptr<Array> array, Mag mag, std::vector<std::string> axes, int num_channels,
          int channel_offset, bool read_only);

  const Mag& mag() const { return mag_; }
  Array& array() const { return *array_; }
  int num_channels() const { return num_channels_; }
  bool read_only() const { return read_only_; }

  /// Reads the box (mag-1 coordinates, aligned to the mag) into out as (channels, x, y, z) C order,
  /// the bytes of mag_view.read(absolute_bounding_box=...).tobytes(). `extra` gives one index per
  /// additional axis (nD layers).
  void read(const BoundingBox& mag1_box, MutableByteSpan out,
            const std::map<std::string, int64_t>& extra = {}) const;
  /// Inverse of read; grows the array shape if needed is NOT done here (callers resize first).
  void write(const BoundingBox& mag1_box, ByteSpan in, const std::map<std::string, int64_t>& extra = {});
  /// Bytes needed for a box: channels * voxels * dtype size.
  size_t buffer_size(const BoundingBox& mag1_box) const;

 private:
  std::shared_ptr<Array> array_;
  Mag mag_;
  std::vector<std::string> axes_;
  int num_channels_;
  int channel_offset_;
  bool read_only_;
};

/// Calls fn for every cell of the grid of `step`-sized boxes at multiples of `step` that meets
/// `region`, clipped to it: block-wise reads and writes with bounded memory.
void for_each_block(const BoundingBox& region, const Vec3& step, const std::function<void(const BoundingBox&)>& fn);

}  // namespace wkfs
