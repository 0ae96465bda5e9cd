#include "core/bounding_box.hpp"

namespace wkfs {

BoundingBox BoundingBox::intersect(const BoundingBox& o) const {
  Vec3 tl = Vec3::max(top_left, o.top_left);
  Vec3 br = Vec3::min(bottom_right(), o.bottom_right());
  return {tl, Vec3::max(br - tl, Vec3{0, 0, 0})};
}

BoundingBox BoundingBox::union_with(const BoundingBox& o) const {
  if (o.empty()) return *this;
  if (empty()) return o;
  Vec3 tl = Vec3::min(top_left, o.top_left);
  Vec3 br = Vec3::max(bottom_right(), o.bottom_right());
  return {tl, br - tl};
}

BoundingBox BoundingBox::align_outward(const Mag& mag) const {
  Vec3 tl = top_left.floor_div(mag.vec()) * mag.vec();
  Vec3 br = bottom_right().ceil_div(mag.vec()) * mag.vec();
  return {tl, br - tl};
}

BoundingBox BoundingBox::in_mag(const Mag& mag) const {
  Vec3 tl = top_left.floor_div(mag.vec());
  Vec3 br = bottom_right().ceil_div(mag.vec());
  return {tl, br - tl};
}

bool BoundingBox::contains(const BoundingBox& o) const {
  Vec3 br = bottom_right(), obr = o.bottom_right();
  return o.top_left.x >= top_left.x && o.top_left.y >= top_left.y && o.top_left.z >= top_left.z &&
         obr.x <= br.x && obr.y <= br.y && obr.z <= br.z;
}

}  // namespace wkfs
