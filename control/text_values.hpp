#pragma once
// Values as users type them in control commands, xattrs and the `wkfs` CLI: "32" or "32,32,16";
// "X,Y,Z,W,H,D". One notation and one validation for all three.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bounding_box.hpp"

namespace wkfs::control {

/// The largest coordinate or extent a typed value may have: far beyond any dataset, and small
/// enough that sums and products of a few of them cannot overflow int64.
inline constexpr int64_t kMaxCoordinate = int64_t{1} << 40;

/// Comma-separated decimal integers, unbounded; InvalidArgument naming `what` otherwise.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);
/// "N" (all axes) or "X,Y,Z", each in [0, 2^40]; InvalidArgument naming `what` otherwise.
Vec3 parse_vec3(const std::string& text, const std::string& what);
/// "X,Y,Z,W,H,D" (topLeft then size), each in [0, 2^40]; InvalidArgument naming `what` otherwise.
BoundingBox parse_bounding_box(const std::string& text, const std::string& what = "bounding box");
/// The inverse of parse_bounding_box.
std::string format_bounding_box(const BoundingBox& box);
/// A decimal integer (any int64: segment ids are not coordinates), or nullopt for
/// "none"/"None"/"null"/""; InvalidArgument otherwise.
std::optional<int64_t> parse_optional_int(const std::string& text, const std::string& what);

}  // namespace wkfs::control
