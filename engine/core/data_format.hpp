#pragma once
// The storage formats of a layer, as dataFormat names them.
#include <string>

namespace wkfs {

enum class DataFormat { Wkw, Zarr, Zarr3, N5, NeuroglancerPrecomputed };
/// "wkw", "zarr", "zarr3", "n5", "neuroglancerPrecomputed".
std::string data_format_name(DataFormat f);
/// Parses a data format name; InvalidArgument otherwise.
DataFormat parse_data_format(const std::string& s);

}  // namespace wkfs
