#include "downsample/interpolation_mode.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"

namespace wkfs {

InterpolationMode parse_interpolation_mode(const std::string& name, bool is_segmentation) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (lower == "default") return is_segmentation ? InterpolationMode::Mode : InterpolationMode::Median;
  if (lower == "median") return InterpolationMode::Median;
  if (lower == "mode") return InterpolationMode::Mode;
  if (lower == "nearest") return InterpolationMode::Nearest;
  if (lower == "bilinear") return InterpolationMode::Bilinear;
  if (lower == "bicubic") return InterpolationMode::Bicubic;
  if (lower == "max") return InterpolationMode::Max;
  if (lower == "min") return InterpolationMode::Min;
  fail(ErrorKind::InvalidArgument,
       "unknown interpolation mode '" + name +
           "': expected default, median, mode, nearest, bilinear, bicubic, max or min");
}

std::string interpolation_mode_name(InterpolationMode mode) {
  switch (mode) {
    case InterpolationMode::Median: return "median";
    case InterpolationMode::Mode: return "mode";
    case InterpolationMode::Nearest: return "nearest";
    case InterpolationMode::Bilinear: return "bilinear";
    case InterpolationMode::Bicubic: return "bicubic";
    case InterpolationMode::Max: return "max";
    case InterpolationMode::Min: return "min";
  }
  return "unknown";
}

bool is_block_reduction(InterpolationMode mode) {
  return mode == InterpolationMode::Median || mode == InterpolationMode::Mode ||
         mode == InterpolationMode::Max || mode == InterpolationMode::Min;
}

}  // namespace wkfs
