#pragma once
// Voxel data types and their names in every format (numpy, Zarr v2 typestr, elementClass, WKW code).
#include <cstddef>
#include <string>

namespace wkfs {

enum class DType { UInt8, UInt16, UInt32, UInt64, Int8, Int16, Int32, Int64, Float32, Float64 };

/// Bytes per value of one channel.
size_t dtype_size(DType t);
/// numpy name: "uint8", "float32", ...
std::string dtype_name(DType t);
/// Parses a numpy name ("uint8"); InvalidArgument otherwise.
DType parse_dtype(const std::string& name);
bool dtype_is_float(DType t);
bool dtype_is_signed(DType t);

/// elementClass of the whole voxel: uint8 x 3 -> "uint24", float32 -> "float".
std::string element_class(DType per_channel, int num_channels);
/// Inverse of element_class: per-channel dtype for an elementClass and channel count.
DType dtype_from_element_class(const std::string& element_class, int num_channels);

/// Zarr v2 typestr ("|u1", "<u2", "<f4"); always little-endian on write.
std::string zarr2_typestr(DType t);
/// Parses a Zarr v2 typestr of any endianness; sets big_endian.
DType parse_zarr2_typestr(const std::string& s, bool& big_endian);

/// WKW voxel_type code (1 u8 ... 10 i64).
int wkw_voxel_type(DType t);
/// Inverse of wkw_voxel_type; Corrupt for an unknown code.
DType dtype_from_wkw_voxel_type(int code);

}  // namespace wkfs
