#pragma once
// A resolution level: per-axis power-of-two downsampling factors, named as the library names them.
#include <string>

#include "core/vec.hpp"

namespace wkfs {

class Mag {
 public:
  /// Mag(1,1,1).
  Mag() : v_(1, 1, 1) {}
  /// Validates: every component a power of two >= 1, else Error(InvalidArgument).
  explicit Mag(Vec3 v);
  Mag(int64_t x, int64_t y, int64_t z) : Mag(Vec3(x, y, z)) {}

  /// Parses "2", "2-2-1" (as webknossos-libs does); anything else is InvalidArgument.
  static Mag parse(const std::string& s);

  const Vec3& vec() const { return v_; }
  int64_t x() const { return v_.x; }
  int64_t y() const { return v_.y; }
  int64_t z() const { return v_.z; }
  int64_t max_dim() const { return v_.max_dim(); }
  /// "2" when all components are equal, else the long name.
  std::string short_name() const;
  /// "x-y-z".
  std::string long_name() const;

  friend bool operator==(const Mag&, const Mag&) = default;
  /// The library's ordering: by max_dim only (so 2-2-1 and 2-2-2 are "equal" here).
  static bool less_by_max_dim(const Mag& a, const Mag& b) { return a.max_dim() < b.max_dim(); }
  /// Lexicographic [x,y,z] order, used where the library sorts mags for redownsample.
  static bool less_xyz(const Mag& a, const Mag& b);

 private:
  Vec3 v_;
};

}  // namespace wkfs
