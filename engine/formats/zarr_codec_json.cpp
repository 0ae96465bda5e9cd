#include "formats/zarr_codec_json.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.hpp"

namespace wkfs {

const nlohmann::json* json_member(const nlohmann::json& obj, const char* name) {
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

const nlohmann::json& json_required(const nlohmann::json& obj, const char* name, const std::string& where) {
  const nlohmann::json* v = json_member(obj, name);
  if (!v) fail(ErrorKind::InvalidArgument, where + ": missing \"" + name + "\"");
  return *v;
}

using nlohmann::json;

int64_t json_int(const json& v, int64_t lo, int64_t hi, const std::string& what) {
  int64_t x = 0;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(ErrorKind::InvalidArgument, what + ": " + v.dump() + " is out of range");
    x = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<int64_t>();
  } else {
    fail(ErrorKind::InvalidArgument, what + ": expected an integer, got " + v.dump());
  }
  if (x < lo || x > hi)
    fail(ErrorKind::InvalidArgument, what + ": " + std::to_string(x) + " is outside [" +
                                         std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

VecN json_int_vector(const json& v, int64_t min_value, const std::string& what) {
  if (!v.is_array()) fail(ErrorKind::InvalidArgument, what + ": expected an array, got " + v.dump());
  if (v.size() > 32) fail(ErrorKind::InvalidArgument, what + ": more than 32 axes");
  VecN r;
  for (const auto& e : v) r.push_back(json_int(e, min_value, int64_t{1} << 62, what));
  return r;
}

namespace {

template <typename T>
Bytes bytes_of(T value) {
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &value, sizeof(T));
  return b;
}

template <typename T>
Bytes integer_fill(const json& v, const std::string& what) {
  using L = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(L::max())) return bytes_of(static_cast<T>(u));
  } else if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    bool ok = L::is_signed ? (i >= static_cast<int64_t>(L::min()) && i <= static_cast<int64_t>(L::max()))
                           : (i >= 0 && static_cast<uint64_t>(i) <= static_cast<uint64_t>(L::max()));
    if (ok) return bytes_of(static_cast<T>(i));
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    // 2^63 / 2^64 bounds: exact in double, so the comparison is exact.
    double hi = L::is_signed ? 9223372036854775808.0 : 18446744073709551616.0;
    if (sizeof(T) < 8) hi = static_cast<double>(L::max()) + 1.0;
    if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(L::min()) && d < hi)
      return bytes_of(static_cast<T>(d));
  }
  fail(ErrorKind::InvalidArgument, what + ": " + v.dump() + " is not a valid value of this integer type");
}

template <typename F, typename U>
Bytes float_fill(const json& v, const std::string& what) {
  if (v.is_number()) {
    double d = v.get<double>();
    // Out-of-range doubles become infinities (as numpy casts them) instead of undefined behaviour.
    if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<F>::max()))
      return bytes_of(d > 0 ? std::numeric_limits<F>::infinity() : -std::numeric_limits<F>::infinity());
    return bytes_of(static_cast<F>(d));
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return bytes_of(std::numeric_limits<F>::quiet_NaN());
    if (s == "Infinity") return bytes_of(std::numeric_limits<F>::infinity());
    if (s == "-Infinity") return bytes_of(-std::numeric_limits<F>::infinity());
    if (s.size() == 2 + 2 * sizeof(F) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        s.find_first_not_of("0123456789abcdefABCDEF", 2) == std::string::npos) {
      U bits = static_cast<U>(std::stoull(s.substr(2), nullptr, 16));
      return bytes_of(bits);
    }
  }
  fail(ErrorKind::InvalidArgument, what + ": " + v.dump() + " is not a valid floating-point fill value");
}

}  // namespace

Bytes parse_fill_value(const json& v, DType t, const std::string& what) {
  if (v.is_null()) return Bytes(dtype_size(t), std::byte{0});
  if (v.is_boolean()) fail(ErrorKind::InvalidArgument, what + ": boolean fill value for " + dtype_name(t));
  switch (t) {
    case DType::UInt8: return integer_fill<uint8_t>(v, what);
    case DType::UInt16: return integer_fill<uint16_t>(v, what);
    case DType::UInt32: return integer_fill<uint32_t>(v, what);
    case DType::UInt64: return integer_fill<uint64_t>(v, what);
    case DType::Int8: return integer_fill<int8_t>(v, what);
    case DType::Int16: return integer_fill<int16_t>(v, what);
    case DType::Int32: return integer_fill<int32_t>(v, what);
    case DType::Int64: return integer_fill<int64_t>(v, what);
    case DType::Float32: return float_fill<float, uint32_t>(v, what);
    case DType::Float64: return float_fill<double, uint64_t>(v, what);
  }
  fail(ErrorKind::InvalidArgument, what + ": unknown dtype");
}

json zero_fill_json(DType t) { return dtype_is_float(t) ? json(0.0) : json(0); }

void check_blosc_cname(const std::string& cname, const std::string& what) {
  for (const char* ok : {"blosclz", "lz4", "lz4hc", "zlib", "zstd", "snappy"})
    if (cname == ok) return;
  fail(ErrorKind::InvalidArgument, what + ": unknown blosc cname '" + cname + "'");
}

size_t checked_volume_bytes(const VecN& shape, size_t elem_size, size_t limit, const std::string& what) {
  size_t n = elem_size;
  for (int64_t s : shape) {
    if (s < 0 || __builtin_mul_overflow(n, static_cast<size_t>(s), &n) || n > limit)
      fail(ErrorKind::InvalidArgument, what + ": " + to_string(shape) + " is too large");
  }
  return n;
}

std::vector<std::string> default_axis_names(size_t rank) {
  if (rank == 4) return {"c", "x", "y", "z"};
  if (rank == 3) return {"x", "y", "z"};
  std::vector<std::string> names;
  for (size_t i = 0; i < rank; ++i) names.push_back("d" + std::to_string(i));
  return names;
}

}  // namespace wkfs
