#include "formats/wkw_block_layout.hpp"

#include <cstring>

#include "core/error.hpp"

namespace wkfs {

namespace {

// Both layouts are the same 4-D array with reversed axis order: index in WKW layout
// ((z*b + y)*b + x)*C + c, in C order ((c*b + x)*b + y)*b + z. The loops walk the C-order side
// contiguously and the WKW side with a fixed stride; a block fits in L2, so this is fast enough
// without tiling.
template <size_t kSize, bool kToCxyz>
void convert(const std::byte* src, std::byte* dst, size_t channels, size_t b) {
  const size_t stride_z = b * b * channels;  // WKW-layout step between consecutive z
  for (size_t c = 0; c < channels; ++c) {
    for (size_t x = 0; x < b; ++x) {
      for (size_t y = 0; y < b; ++y) {
        const size_t row = ((c * b + x) * b + y) * b;   // C-order start of the z run
        const size_t first = (y * b + x) * channels + c;  // WKW index of z = 0
        if constexpr (kToCxyz) {
          const std::byte* s = src + first * kSize;
          std::byte* d = dst + row * kSize;
          for (size_t z = 0; z < b; ++z)
            std::memcpy(d + z * kSize, s + z * stride_z * kSize, kSize);
        } else {
          const std::byte* s = src + row * kSize;
          std::byte* d = dst + first * kSize;
          for (size_t z = 0; z < b; ++z)
            std::memcpy(d + z * stride_z * kSize, s + z * kSize, kSize);
        }
      }
    }
  }
}

template <bool kToCxyz>
void dispatch(const std::byte* src, std::byte* dst, size_t type_size, size_t channels, size_t b) {
  // With one voxel per block both layouts coincide.
  if (b == 1 && channels == 1) {
    std::memcpy(dst, src, type_size);
    return;
  }
  switch (type_size) {
    case 1: return convert<1, kToCxyz>(src, dst, channels, b);
    case 2: return convert<2, kToCxyz>(src, dst, channels, b);
    case 4: return convert<4, kToCxyz>(src, dst, channels, b);
    case 8: return convert<8, kToCxyz>(src, dst, channels, b);
    default: break;
  }
  fail(ErrorKind::InvalidArgument, "WKW block layout: unsupported type size " + std::to_string(type_size));
}

}  // namespace

void wkw_block_to_cxyz(const std::byte* src, std::byte* dst, size_t type_size, size_t channels,
                       size_t block_len) {
  dispatch<true>(src, dst, type_size, channels, block_len);
}

void cxyz_to_wkw_block(const std::byte* src, std::byte* dst, size_t type_size, size_t channels,
                       size_t block_len) {
  dispatch<false>(src, dst, type_size, channels, block_len);
}

}  // namespace wkfs
