#pragma once
// Conversion between a WKW block as stored (channels interleaved, then x, y, z: Fortran order over
// (c,x,y,z)) and the decoded chunk the Array sees (C order over (c,x,y,z)).
#include <cstddef>

namespace wkfs {

/// dst (C order over [channels, b, b, b]) = the block `src` in WKW layout. Buffers must not overlap.
void wkw_block_to_cxyz(const std::byte* src, std::byte* dst, size_t type_size, size_t channels,
                       size_t block_len);

/// dst (WKW layout) = the C-order (c,x,y,z) chunk `src`. Buffers must not overlap.
void cxyz_to_wkw_block(const std::byte* src, std::byte* dst, size_t type_size, size_t channels,
                       size_t block_len);

}  // namespace wkfs
