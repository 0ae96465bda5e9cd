#include "core/mag.hpp"

#include <regex>

#include "core/error.hpp"

namespace wkfs {

namespace {
bool is_power_of_two(int64_t v) { return v >= 1 && (v & (v - 1)) == 0; }
}  // namespace

Mag::Mag(Vec3 v) : v_(v) {
  for (int i = 0; i < 3; ++i)
    if (!is_power_of_two(v[i]))
      fail(ErrorKind::InvalidArgument,
           "invalid mag " + v.to_string() + ": every component must be a power of two");
}

Mag Mag::parse(const std::string& s) {
  static const std::regex single(R"(^\d{1,9}$)");
  static const std::regex triple(R"(^(\d{1,9})-(\d{1,9})-(\d{1,9})$)");
  std::smatch m;
  if (std::regex_match(s, single)) {
    int64_t v = std::stoll(s);
    return Mag(v, v, v);
  }
  if (std::regex_match(s, m, triple))
    return Mag(std::stoll(m[1]), std::stoll(m[2]), std::stoll(m[3]));
  fail(ErrorKind::InvalidArgument, "invalid mag name '" + s + "': expected \"2\" or \"2-2-1\"");
}

std::string Mag::short_name() const {
  if (v_.x == v_.y && v_.y == v_.z) return std::to_string(v_.x);
  return long_name();
}

std::string Mag::long_name() const {
  return std::to_string(v_.x) + "-" + std::to_string(v_.y) + "-" + std::to_string(v_.z);
}

bool Mag::less_xyz(const Mag& a, const Mag& b) {
  if (a.x() != b.x()) return a.x() < b.x();
  if (a.y() != b.y()) return a.y() < b.y();
  return a.z() < b.z();
}

}  // namespace wkfs
