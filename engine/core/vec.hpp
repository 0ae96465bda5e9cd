#pragma once
// Geometry value types: Vec3 for spatial x,y,z; VecN for n-dimensional array coordinates.
#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace wkfs {

/// 0, 1, 2 for the spatial axis names "x", "y", "z"; -1 for any other axis name ("c", "t"...).
constexpr int spatial_index(std::string_view axis) { return axis == "x" ? 0 : axis == "y" ? 1 : axis == "z" ? 2 : -1; }

struct Vec3 {
  int64_t x = 0, y = 0, z = 0;

  constexpr Vec3() = default;
  constexpr Vec3(int64_t x_, int64_t y_, int64_t z_) : x(x_), y(y_), z(z_) {}
  static constexpr Vec3 full(int64_t v) { return {v, v, v}; }

  constexpr int64_t& operator[](int i) { return i == 0 ? x : (i == 1 ? y : z); }
  constexpr int64_t operator[](int i) const { return i == 0 ? x : (i == 1 ? y : z); }
  constexpr int64_t prod() const { return x * y * z; }
  constexpr int64_t max_dim() const { return std::max(x, std::max(y, z)); }
  constexpr int64_t min_dim() const { return std::min(x, std::min(y, z)); }

  friend constexpr Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
  friend constexpr Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
  friend constexpr Vec3 operator*(Vec3 a, Vec3 b) { return {a.x * b.x, a.y * b.y, a.z * b.z}; }
  friend constexpr Vec3 operator*(Vec3 a, int64_t s) { return {a.x * s, a.y * s, a.z * s}; }
  friend constexpr bool operator==(Vec3 a, Vec3 b) = default;

  /// Component-wise floor division (correct for negative numerators).
  constexpr Vec3 floor_div(Vec3 d) const { return {fdiv(x, d.x), fdiv(y, d.y), fdiv(z, d.z)}; }
  /// Component-wise ceiling division.
  constexpr Vec3 ceil_div(Vec3 d) const { return {-fdiv(-x, d.x), -fdiv(-y, d.y), -fdiv(-z, d.z)}; }
  static constexpr Vec3 min(Vec3 a, Vec3 b) {
    return {std::min(a.x, b.x), std::min(a.y, b.y), std::min(a.z, b.z)};
  }
  static constexpr Vec3 max(Vec3 a, Vec3 b) {
    return {std::max(a.x, b.x), std::max(a.y, b.y), std::max(a.z, b.z)};
  }
  /// "x,y,z"
  std::string to_string() const;

 private:
  static constexpr int64_t fdiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  }
};

/// n-dimensional integer vector (array axes); small enough to live on the stack.
using VecN = boost::container::small_vector<int64_t, 6>;

/// Product of all components (1 for an empty vector).
int64_t prod(const VecN& v);
/// "[a,b,c]"
std::string to_string(const VecN& v);

/// An n-dimensional box in array coordinates: begin (inclusive) and shape.
struct NdBox {
  VecN begin;
  VecN shape;

  size_t rank() const { return begin.size(); }
  VecN end() const;
  int64_t volume() const { return prod(shape); }
  bool empty() const;
  /// Intersection; an empty box (shape 0 on some axis) when disjoint.
  NdBox intersect(const NdBox& other) const;
  friend bool operator==(const NdBox&, const NdBox&) = default;
};

}  // namespace wkfs

namespace wkfs {
/// Floating-point 3-vector (voxel sizes in physical units).
struct Vec3d {
  double x = 0, y = 0, z = 0;
  double operator[](int i) const { return i == 0 ? x : (i == 1 ? y : z); }
  friend bool operator==(const Vec3d&, const Vec3d&) = default;
};
}  // namespace wkfs
