#include "formats/morton.hpp"

namespace wkfs {

namespace {

// Spreads the low 21 bits of v so that bit k lands on bit 3k (the classic magic-mask sequence).
uint64_t spread3(uint64_t v) {
  v &= 0x1fffff;
  v = (v | (v << 32)) & 0x1f00000000ffffULL;
  v = (v | (v << 16)) & 0x1f0000ff0000ffULL;
  v = (v | (v << 8)) & 0x100f00f00f00f00fULL;
  v = (v | (v << 4)) & 0x10c30c30c30c30c3ULL;
  v = (v | (v << 2)) & 0x1249249249249249ULL;
  return v;
}

// Inverse of spread3: gathers bits 0, 3, 6, ... into the low 21 bits.
uint32_t compact3(uint64_t v) {
  v &= 0x1249249249249249ULL;
  v = (v | (v >> 2)) & 0x10c30c30c30c30c3ULL;
  v = (v | (v >> 4)) & 0x100f00f00f00f00fULL;
  v = (v | (v >> 8)) & 0x1f0000ff0000ffULL;
  v = (v | (v >> 16)) & 0x1f00000000ffffULL;
  v = (v | (v >> 32)) & 0x1fffffULL;
  return static_cast<uint32_t>(v);
}

}  // namespace

uint64_t morton_encode(uint32_t x, uint32_t y, uint32_t z) {
  return spread3(x) | (spread3(y) << 1) | (spread3(z) << 2);
}

MortonCoord morton_decode(uint64_t code) {
  return {compact3(code), compact3(code >> 1), compact3(code >> 2)};
}

}  // namespace wkfs
