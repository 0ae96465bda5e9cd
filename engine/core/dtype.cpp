#include "core/dtype.hpp"

#include <array>

#include "core/error.hpp"

namespace wkfs {

namespace {
struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
  char kind;  // numpy kind: u, i, f
  int wkw;
};
constexpr std::array<DTypeInfo, 10> kInfo{{
    {DType::UInt8, "uint8", 1, 'u', 1},    {DType::UInt16, "uint16", 2, 'u', 2},
    {DType::UInt32, "uint32", 4, 'u', 3},  {DType::UInt64, "uint64", 8, 'u', 4},
    {DType::Int8, "int8", 1, 'i', 7},      {DType::Int16, "int16", 2, 'i', 8},
    {DType::Int32, "int32", 4, 'i', 9},    {DType::Int64, "int64", 8, 'i', 10},
    {DType::Float32, "float32", 4, 'f', 5}, {DType::Float64, "float64", 8, 'f', 6},
}};
const DTypeInfo& info(DType t) { return kInfo[static_cast<size_t>(t)]; }

DType from_kind(char kind, size_t size, const std::string& context) {
  for (const auto& i : kInfo)
    if (i.kind == kind && i.size == size) return i.type;
  fail(ErrorKind::InvalidArgument, "unsupported data type '" + context + "'");
}
}  // namespace

size_t dtype_size(DType t) { return info(t).size; }
std::string dtype_name(DType t) { return info(t).name; }
bool dtype_is_float(DType t) { return info(t).kind == 'f'; }
bool dtype_is_signed(DType t) { return info(t).kind != 'u'; }

DType parse_dtype(const std::string& name) {
  for (const auto& i : kInfo)
    if (name == i.name) return i.type;
  fail(ErrorKind::InvalidArgument, "unknown dtype '" + name + "'");
}

std::string element_class(DType t, int num_channels) {
  if (num_channels == 1 && t == DType::Float32) return "float";
  if (num_channels == 1 && t == DType::Float64) return "double";
  const auto& i = info(t);
  std::string base = i.kind == 'u' ? "uint" : (i.kind == 'i' ? "int" : "float");
  return base + std::to_string(i.size * 8 * static_cast<size_t>(num_channels));
}

DType dtype_from_element_class(const std::string& ec, int num_channels) {
  if (num_channels < 1)
    fail(ErrorKind::InvalidArgument, "numChannels must be >= 1, got " + std::to_string(num_channels));
  std::string s = ec == "float" ? "float32" : (ec == "double" ? "float64" : ec);
  char kind = 0;
  std::string digits;
  if (s.rfind("uint", 0) == 0) kind = 'u', digits = s.substr(4);
  else if (s.rfind("int", 0) == 0) kind = 'i', digits = s.substr(3);
  else if (s.rfind("float", 0) == 0) kind = 'f', digits = s.substr(5);
  if (!kind || digits.empty() || digits.size() > 4 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    fail(ErrorKind::InvalidArgument, "unknown elementClass '" + ec + "'");
  int bits = std::stoi(digits);
  if (bits % (8 * num_channels) != 0)
    fail(ErrorKind::InvalidArgument, "elementClass '" + ec + "' does not split into " +
                                         std::to_string(num_channels) + " channels");
  return from_kind(kind, static_cast<size_t>(bits / 8 / num_channels), ec);
}

std::string zarr2_typestr(DType t) {
  const auto& i = info(t);
  return std::string(i.size == 1 ? "|" : "<") + i.kind + std::to_string(i.size);
}

DType parse_zarr2_typestr(const std::string& s, bool& big_endian) {
  if (s.size() < 3 || (s[0] != '<' && s[0] != '>' && s[0] != '|'))
    fail(ErrorKind::InvalidArgument, "unsupported Zarr v2 dtype '" + s + "'");
  big_endian = s[0] == '>';
  char kind = s[1];
  if (kind == 'b') kind = 'u';  // bool stored as one byte
  std::string digits = s.substr(2);
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 2)
    fail(ErrorKind::InvalidArgument, "unsupported Zarr v2 dtype '" + s + "'");
  return from_kind(kind, static_cast<size_t>(std::stoi(digits)), s);
}

int wkw_voxel_type(DType t) { return info(t).wkw; }

DType dtype_from_wkw_voxel_type(int code) {
  for (const auto& i : kInfo)
    if (i.wkw == code) return i.type;
  fail(ErrorKind::Corrupt, "unknown WKW voxel type " + std::to_string(code));
}

}  // namespace wkfs
