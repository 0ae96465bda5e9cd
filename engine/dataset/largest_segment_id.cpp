// Dataset::refresh_largest_segment_id: the largest value of a segmentation layer's finest mag, read in
// bounded blocks, written to the properties as the library's refresh_largest_segment_id does.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "dataset/layer_lookup.hpp"

namespace wkfs {

namespace {
template <typename T>
std::optional<int64_t> max_of(const Bytes& buf) {
  const size_t n = buf.size() / sizeof(T);
  if (n == 0) return std::nullopt;
  T best = load_le<T>(buf.data());
  for (size_t i = 1; i < n; ++i) best = std::max(best, load_le<T>(buf.data() + i * sizeof(T)));
  if constexpr (std::is_same_v<T, uint64_t>)
    return static_cast<int64_t>(std::min<uint64_t>(best, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
  else
    return static_cast<int64_t>(best);
}

std::optional<int64_t> buffer_max(DType t, const Bytes& buf) {
  switch (t) {
    case DType::UInt8: return max_of<uint8_t>(buf);
    case DType::UInt16: return max_of<uint16_t>(buf);
    case DType::UInt32: return max_of<uint32_t>(buf);
    case DType::UInt64: return max_of<uint64_t>(buf);
    case DType::Int8: return max_of<int8_t>(buf);
    case DType::Int16: return max_of<int16_t>(buf);
    case DType::Int32: return max_of<int32_t>(buf);
    case DType::Int64: return max_of<int64_t>(buf);
    case DType::Float32: return max_of<float>(buf);
    case DType::Float64: return max_of<double>(buf);
  }
  return std::nullopt;
}
}  // namespace

std::optional<int64_t> Dataset::refresh_largest_segment_id(const std::string& layer) {
  LayerProperties l;
  {
    std::lock_guard g(mutex_);
    store_.ensure_writable();
    l = require_layer(store_.properties(), layer, root_);
  }
  if (l.category != Category::Segmentation)
    fail(ErrorKind::InvalidArgument, "layer '" + layer + "' is a color layer and has no largestSegmentId");
  std::optional<int64_t> result;
  if (std::optional<Mag> finest = finest_mag(layer)) {
    auto view = mag_view(layer, *finest);
    if (!l.is_plain_3d()) fail(ErrorKind::Unsupported, "refresh_largest_segment_id supports 3D layers only");
    BoundingBox region = l.bounding_box.align_outward(*finest);
    Bytes buf;
    for_each_block(region, Vec3::full(128) * finest->vec(), [&](const BoundingBox& block) {  // bounded memory
      buf.assign(view->buffer_size(block), std::byte{0});
      view->read(block, buf);
      auto m = buffer_max(l.dtype, buf);
      if (m && (!result || *m > *result)) result = m;
    });
  }
  set_largest_segment_id(layer, result);
  return result;
}

}  // namespace wkfs
