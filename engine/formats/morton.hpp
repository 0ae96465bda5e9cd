#pragma once
// 3D Morton (Z-order) codes: the order of blocks inside a WKW file.
#include <cstdint>

namespace wkfs {

struct MortonCoord {
  uint32_t x = 0, y = 0, z = 0;
  friend bool operator==(const MortonCoord&, const MortonCoord&) = default;
};

/// Interleaves the low 21 bits of x, y, z: bit k of x goes to bit 3k, of y to 3k+1, of z to 3k+2.
uint64_t morton_encode(uint32_t x, uint32_t y, uint32_t z);

/// Inverse of morton_encode.
MortonCoord morton_decode(uint64_t code);

}  // namespace wkfs
