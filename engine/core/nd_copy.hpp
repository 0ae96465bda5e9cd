#pragma once
// Copies between dense C-order n-dimensional buffers: sub-boxes and axis permutations.
#include "core/bytes.hpp"
#include "core/vec.hpp"

namespace wkfs {

/// Copies the box (box_shape at src_offset in src) to dst_offset in dst; both C order, elements
/// of elem_size bytes. The inner contiguous run is copied with memcpy.
void copy_box(size_t elem_size, const std::byte* src, const VecN& src_shape, const VecN& src_offset,
              std::byte* dst, const VecN& dst_shape, const VecN& dst_offset, const VecN& box_shape);

/// Fills the box of a C-order buffer with one element value (elem_size bytes at `value`).
void fill_box(size_t elem_size, std::byte* dst, const VecN& dst_shape, const VecN& dst_offset,
              const VecN& box_shape, const std::byte* value);

/// Writes dst = transpose(src, order): dst has shape [shape[order[0]], shape[order[1]], ...],
/// the semantics of numpy.transpose and of the Zarr v3 `transpose` codec on encode.
void transpose(size_t elem_size, const std::byte* src, const VecN& src_shape, const VecN& order,
               std::byte* dst);

/// Inverse of transpose(): src is in permuted layout (as stored), dst gets C order over
/// `shape` (the logical shape).
void untranspose(size_t elem_size, const std::byte* src, const VecN& shape, const VecN& order,
                 std::byte* dst);

}  // namespace wkfs
