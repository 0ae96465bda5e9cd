#include "core/data_format.hpp"

#include "core/error.hpp"

namespace wkfs {

std::string data_format_name(DataFormat f) {
  switch (f) {
    case DataFormat::Wkw: return "wkw";
    case DataFormat::Zarr: return "zarr";
    case DataFormat::Zarr3: return "zarr3";
    case DataFormat::N5: return "n5";
    case DataFormat::NeuroglancerPrecomputed: return "neuroglancerPrecomputed";
  }
  return "?";
}

DataFormat parse_data_format(const std::string& s) {
  if (s == "wkw") return DataFormat::Wkw;
  if (s == "zarr") return DataFormat::Zarr;
  if (s == "zarr3") return DataFormat::Zarr3;
  if (s == "n5") return DataFormat::N5;
  if (s == "neuroglancerPrecomputed") return DataFormat::NeuroglancerPrecomputed;
  fail(ErrorKind::InvalidArgument, "unknown dataFormat '" + s + "' (expected wkw, zarr or zarr3)");
}

}  // namespace wkfs
