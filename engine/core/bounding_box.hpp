#pragma once
// An axis-aligned 3D box in mag-1 voxel coordinates (topLeft + size, as in the properties file).
#include "core/mag.hpp"
#include "core/vec.hpp"

namespace wkfs {

struct BoundingBox {
  Vec3 top_left;
  Vec3 size;

  Vec3 bottom_right() const { return top_left + size; }
  bool empty() const { return size.x <= 0 || size.y <= 0 || size.z <= 0; }
  /// Intersection; empty (size 0) when disjoint.
  BoundingBox intersect(const BoundingBox& o) const;
  /// Smallest box containing both; an empty box is ignored.
  BoundingBox union_with(const BoundingBox& o) const;
  /// topLeft floored and bottomRight ceiled to multiples of mag (still mag-1 coordinates).
  BoundingBox align_outward(const Mag& mag) const;
  /// The box in in-mag voxel coordinates, aligned outward.
  BoundingBox in_mag(const Mag& mag) const;
  bool contains(const BoundingBox& o) const;
  friend bool operator==(const BoundingBox&, const BoundingBox&) = default;
};

}  // namespace wkfs
