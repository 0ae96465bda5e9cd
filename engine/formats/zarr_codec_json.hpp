#pragma once
// JSON forms shared by Zarr v3 and Zarr v2 metadata: integer vectors, fill values, blosc settings.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/bytes.hpp"
#include "core/dtype.hpp"
#include "core/vec.hpp"

namespace wkfs {

/// The member `name` of a JSON object, or nullptr.
const nlohmann::json* json_member(const nlohmann::json& obj, const char* name);
/// The member `name` of a JSON object; InvalidArgument naming `where` if it is missing.
const nlohmann::json& json_required(const nlohmann::json& obj, const char* name, const std::string& where);

/// A JSON integer (not bool, not fractional) in [lo, hi]; InvalidArgument naming `what` otherwise.
int64_t json_int(const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& what);

/// A JSON array of integers >= min_value; InvalidArgument naming `what` otherwise.
VecN json_int_vector(const nlohmann::json& v, int64_t min_value, const std::string& what);

/// One fill value element (dtype_size bytes, little-endian) from its JSON form: a number,
/// "NaN", "Infinity", "-Infinity", a "0x..." bit pattern (floats), or null (= 0, Zarr v2's
/// "no fill value"). InvalidArgument naming `what` otherwise.
Bytes parse_fill_value(const nlohmann::json& v, DType t, const std::string& what);

/// Zero as tensorstore writes it for this dtype: 0 for integers, 0.0 for floats.
nlohmann::json zero_fill_json(DType t);

/// Checks a blosc compressor name (blosclz, lz4, lz4hc, zlib, zstd, snappy).
void check_blosc_cname(const std::string& cname, const std::string& what);

/// Product of `shape` as bytes of `elem_size`-byte elements; InvalidArgument naming `what` when
/// it exceeds `limit`.
size_t checked_volume_bytes(const VecN& shape, size_t elem_size, size_t limit, const std::string& what);

/// Axis names for an array whose metadata names none: c,x,y,z for rank 4, x,y,z for rank 3,
/// d0,d1,... otherwise.
std::vector<std::string> default_axis_names(size_t rank);

}  // namespace wkfs
