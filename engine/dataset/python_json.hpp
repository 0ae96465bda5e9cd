#pragma once
// JSON text exactly as Python's json.dumps(obj, indent=4) writes it.
//
// nlohmann's dump(4) cannot be used for files the library also writes: it prints empty containers
// with a newline inside ("[\n]" vs "[]"), formats floats with %g-style precision instead of
// Python's shortest repr (25.0, 11.24, 1e-05, 1e+16) and leaves non-ASCII unescaped.
#include <string>

#include <nlohmann/json.hpp>

namespace wkfs {

/// Serialises like json.dumps(value, indent=4): ", "/": " separators, one line per array element,
/// ensure_ascii escapes, floats as Python repr, no trailing newline.
std::string python_json_dumps(const nlohmann::ordered_json& value);

/// A double formatted as Python's repr(float) does.
std::string python_float_repr(double v);

}  // namespace wkfs
