#include "control/text_values.hpp"

#include <charconv>

#include "core/error.hpp"

namespace wkfs::control {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Coordinates and shapes are never negative and never near int64's range (see kMaxCoordinate).
void check_coordinates(const std::vector<int64_t>& values, const std::string& text, const std::string& what) {
  for (auto v : values)
    if (v < 0 || v > kMaxCoordinate)
      fail(ErrorKind::InvalidArgument, what + ": '" + text + "': values must be between 0 and 2^40");
}

}  // namespace

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  std::string s = trimmed(text);
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    int64_t v = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || r.ec != std::errc() || r.ptr != part.data() + part.size())
      fail(ErrorKind::InvalidArgument, what + ": '" + text + "' is not a comma-separated list of integers");
    out.push_back(v);
    pos = end + 1;
  }
  return out;
}

Vec3 parse_vec3(const std::string& text, const std::string& what) {
  auto v = parse_int_list(text, what);
  if (v.size() != 1 && v.size() != 3) fail(ErrorKind::InvalidArgument, what + ": '" + text + "' needs 1 or 3 integers");
  check_coordinates(v, text, what);
  return v.size() == 1 ? Vec3::full(v[0]) : Vec3(v[0], v[1], v[2]);
}

BoundingBox parse_bounding_box(const std::string& text, const std::string& what) {
  auto v = parse_int_list(text, what);
  if (v.size() != 6)
    fail(ErrorKind::InvalidArgument, what + ": '" + text + "' needs 6 integers X,Y,Z,WIDTH,HEIGHT,DEPTH");
  check_coordinates(v, text, what);
  return BoundingBox{Vec3(v[0], v[1], v[2]), Vec3(v[3], v[4], v[5])};
}

std::string format_bounding_box(const BoundingBox& b) {
  return b.top_left.to_string() + "," + b.size.to_string();
}

std::optional<int64_t> parse_optional_int(const std::string& text, const std::string& what) {
  std::string s = trimmed(text);
  if (s.empty() || s == "none" || s == "None" || s == "null") return std::nullopt;
  auto v = parse_int_list(s, what);
  if (v.size() != 1) fail(ErrorKind::InvalidArgument, what + ": '" + text + "' is not one integer");
  return v[0];
}

}  // namespace wkfs::control
