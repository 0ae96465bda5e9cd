#pragma once
// Values as users type them in control commands and xattrs: "32" or "32,32,16"; "X,Y,Z,W,H,D".
#include <cstdint>
#include <optional>
#include <string>

#include "core/bounding_box.hpp"

namespace wkfs::control {

/// "N" (all axes) or "X,Y,Z"; InvalidArgument naming `what` otherwise.
Vec3 parse_vec3(const std::string& text, const std::string& what);
/// "X,Y,Z,W,H,D" (topLeft then size); InvalidArgument otherwise.
BoundingBox parse_bounding_box(const std::string& text);
/// The inverse of parse_bounding_box.
std::string format_bounding_box(const BoundingBox& box);
/// A decimal integer, or nullopt for "none"/"null"/""; InvalidArgument otherwise.
std::optional<int64_t> parse_optional_int(const std::string& text, const std::string& what);

}  // namespace wkfs::control
