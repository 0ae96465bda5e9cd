#include "dataset/mag_view.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/nd_copy.hpp"

namespace wkfs {

namespace {

/// The array box for a request plus how to permute between array order and (c,x,y,z).
struct ArrayRequest {
  NdBox box;          // in array axes
  VecN squeezed;      // box shape without the fixed extra axes (in array order)
  VecN to_cxyz;       // squeezed axis indices in (c,x,y,z) order (c absent -> no entry)
  bool identity = true;
};

int64_t axis_index(const std::vector<std::string>& axes, const std::string& name) {
  auto it = std::find(axes.begin(), axes.end(), name);
  return it == axes.end() ? -1 : static_cast<int64_t>(it - axes.begin());
}

}  // namespace

MagView::MagView(std::shared_ptr<Array> array, Mag mag, std::vector<std::string> axes, int num_channels,
                 int channel_offset, bool read_only)
    : array_(std::move(array)),
      mag_(mag),
      axes_(std::move(axes)),
      num_channels_(num_channels),
      channel_offset_(channel_offset),
      read_only_(read_only) {
  if (axes_.size() != array_->meta().rank())
    fail(ErrorKind::Corrupt, "array in " + array_->path().string() + " has " +
                                 std::to_string(array_->meta().rank()) + " axes, the layer names " +
                                 std::to_string(axes_.size()));
  for (const char* a : {"x", "y", "z"})
    if (axis_index(axes_, a) < 0)
      fail(ErrorKind::Corrupt, std::string("layer axes lack \"") + a + "\" for " + array_->path().string());
  if (axis_index(axes_, "c") < 0 && num_channels_ != 1)
    fail(ErrorKind::Corrupt, "array in " + array_->path().string() + " has no channel axis but the layer has " +
                                 std::to_string(num_channels_) + " channels");
}

size_t MagView::buffer_size(const BoundingBox& mag1_box) const {
  BoundingBox b = mag1_box.in_mag(mag_);
  return static_cast<size_t>(num_channels_) * static_cast<size_t>(std::max<int64_t>(b.size.prod(), 0)) *
         array_->meta().elem_size();
}

namespace {
ArrayRequest make_request(const std::vector<std::string>& axes, const Mag& mag, const BoundingBox& mag1_box,
                          int num_channels, int channel_offset, const std::map<std::string, int64_t>& extra) {
  if (mag1_box.size.x < 0 || mag1_box.size.y < 0 || mag1_box.size.z < 0)
    fail(ErrorKind::InvalidArgument, "negative box size " + mag1_box.size.to_string());
  BoundingBox b = mag1_box.in_mag(mag);
  ArrayRequest r;
  VecN squeezed_axes_cxyz;  // for each squeezed axis, its position in (c,x,y,z)
  for (const auto& name : axes) {
    int64_t begin = 0, size = 1, pos = -1;
    if (name == "c") begin = channel_offset, size = num_channels, pos = 0;
    else if (int i = spatial_index(name); i >= 0) begin = b.top_left[i], size = b.size[i], pos = i + 1;
    else {
      auto it = extra.find(name);
      if (it == extra.end())
        fail(ErrorKind::InvalidArgument, "the layer has an axis \"" + name + "\": give its index (e.g. " + name + "=0)");
      begin = it->second;
    }
    r.box.begin.push_back(begin);
    r.box.shape.push_back(size);
    if (pos >= 0) {
      r.squeezed.push_back(size);
      squeezed_axes_cxyz.push_back(pos);
    }
  }
  for (const auto& [name, v] : extra) {
    (void)v;
    if (axis_index(axes, name) < 0 || name == "c" || spatial_index(name) >= 0)
      fail(ErrorKind::InvalidArgument, "the layer has no additional axis \"" + name + "\"");
  }
  // to_cxyz[i] = index in the squeezed array order of the i-th axis of (c,)x,y,z
  for (int64_t want = 0; want < 4; ++want)
    for (size_t k = 0; k < squeezed_axes_cxyz.size(); ++k)
      if (squeezed_axes_cxyz[k] == want) r.to_cxyz.push_back(static_cast<int64_t>(k));
  for (size_t i = 0; i < r.to_cxyz.size(); ++i)
    if (r.to_cxyz[i] != static_cast<int64_t>(i)) r.identity = false;
  return r;
}
}  // namespace

void MagView::read(const BoundingBox& mag1_box, MutableByteSpan out, const std::map<std::string, int64_t>& extra) const {
  size_t need = buffer_size(mag1_box);
  if (out.size() != need)
    fail(ErrorKind::InvalidArgument, "read buffer has " + std::to_string(out.size()) + " bytes, the box needs " +
                                         std::to_string(need));
  if (need == 0) return;
  ArrayRequest r = make_request(axes_, mag_, mag1_box, num_channels_, channel_offset_, extra);
  if (r.identity) {
    array_->read(r.box, out);
    return;
  }
  Bytes tmp(need);
  array_->read(r.box, tmp);
  transpose(array_->meta().elem_size(), tmp.data(), r.squeezed, r.to_cxyz, out.data());
}

void MagView::write(const BoundingBox& mag1_box, ByteSpan in, const std::map<std::string, int64_t>& extra) {
  if (read_only_) fail(ErrorKind::ReadOnly, "mag " + mag_.short_name() + " at " + array_->path().string() + " is read-only");
  size_t need = buffer_size(mag1_box);
  if (in.size() != need)
    fail(ErrorKind::InvalidArgument, "write buffer has " + std::to_string(in.size()) + " bytes, the box needs " +
                                         std::to_string(need));
  if (need == 0) return;
  ArrayRequest r = make_request(axes_, mag_, mag1_box, num_channels_, channel_offset_, extra);
  const auto& shape = array_->meta().shape;
  for (size_t i = 0; i < r.box.rank(); ++i)
    if (r.box.begin[i] < 0 || r.box.begin[i] + r.box.shape[i] > shape[i])
      fail(ErrorKind::InvalidArgument, "write box " + to_string(r.box.begin) + "+" + to_string(r.box.shape) +
                                           " lies outside the array shape " + to_string(shape) + " of " +
                                           array_->path().string());
  if (r.identity) {
    array_->write(r.box, in);
    return;
  }
  // (c,x,y,z) -> array order: the inverse permutation of to_cxyz.
  VecN cxyz_shape, inverse(r.to_cxyz.size());
  for (auto k : r.to_cxyz) cxyz_shape.push_back(r.squeezed[static_cast<size_t>(k)]);
  for (size_t i = 0; i < r.to_cxyz.size(); ++i) inverse[static_cast<size_t>(r.to_cxyz[i])] = static_cast<int64_t>(i);
  Bytes tmp(need);
  transpose(array_->meta().elem_size(), in.data(), cxyz_shape, inverse, tmp.data());
  array_->write(r.box, tmp);
}

void for_each_block(const BoundingBox& region, const Vec3& step, const std::function<void(const BoundingBox&)>& fn) {
  Vec3 first = region.top_left.floor_div(step) * step;
  for (int64_t x = first.x; x < region.bottom_right().x; x += step.x)
    for (int64_t y = first.y; y < region.bottom_right().y; y += step.y)
      for (int64_t z = first.z; z < region.bottom_right().z; z += step.z) {
        BoundingBox block = BoundingBox{{x, y, z}, step}.intersect(region);
        if (!block.empty()) fn(block);
      }
}

}  // namespace wkfs
