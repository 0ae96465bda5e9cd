#include "core/nd_copy.hpp"

#include <cstring>

namespace wkfs {

namespace {

VecN strides_of(const VecN& shape) {
  VecN s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

// Calls f(src_index, dst_index) for every row (last axis) of the box; rows are contiguous.
template <typename F>
void for_each_row(const VecN& src_shape, const VecN& src_off, const VecN& dst_shape,
                  const VecN& dst_off, const VecN& box, F&& f) {
  size_t n = box.size();
  if (n == 0) {
    f(0, 0);
    return;
  }
  for (auto b : box)
    if (b <= 0) return;
  VecN ss = strides_of(src_shape), ds = strides_of(dst_shape);
  int64_t sbase = 0, dbase = 0;
  for (size_t i = 0; i < n; ++i) {
    sbase += src_off[i] * ss[i];
    dbase += dst_off[i] * ds[i];
  }
  VecN idx(n, 0);
  int64_t si = sbase, di = dbase;
  while (true) {
    f(si, di);
    // advance over all axes except the last
    size_t a = n - 1;
    while (a-- > 0) {
      if (++idx[a] < box[a]) {
        si += ss[a];
        di += ds[a];
        break;
      }
      si -= ss[a] * (box[a] - 1);
      di -= ds[a] * (box[a] - 1);
      idx[a] = 0;
      if (a == 0) return;
    }
    if (n == 1) return;
  }
}

}  // namespace

void copy_box(size_t es, const std::byte* src, const VecN& src_shape, const VecN& src_offset,
              std::byte* dst, const VecN& dst_shape, const VecN& dst_offset, const VecN& box) {
  size_t row = box.empty() ? es : static_cast<size_t>(box.back()) * es;
  for_each_row(src_shape, src_offset, dst_shape, dst_offset, box, [&](int64_t si, int64_t di) {
    std::memcpy(dst + di * static_cast<int64_t>(es), src + si * static_cast<int64_t>(es), row);
  });
}

void fill_box(size_t es, std::byte* dst, const VecN& dst_shape, const VecN& dst_offset,
              const VecN& box, const std::byte* value) {
  int64_t len = box.empty() ? 1 : box.back();
  bool zero = true;
  for (size_t i = 0; i < es; ++i) zero = zero && value[i] == std::byte{0};
  for_each_row(dst_shape, dst_offset, dst_shape, dst_offset, box, [&](int64_t, int64_t di) {
    std::byte* p = dst + di * static_cast<int64_t>(es);
    if (zero) {
      std::memset(p, 0, static_cast<size_t>(len) * es);
    } else {
      for (int64_t k = 0; k < len; ++k) std::memcpy(p + k * static_cast<int64_t>(es), value, es);
    }
  });
}

namespace {
// Generic permuted copy: dst (C order over dst_shape) element at dst multi-index j equals src element
// at multi-index i with i[order[k]] = j[k].
void permuted_copy(size_t es, const std::byte* src, const VecN& src_shape, const VecN& order,
                   std::byte* dst, bool forward) {
  size_t n = src_shape.size();
  VecN shape_d(n);
  for (size_t k = 0; k < n; ++k) shape_d[k] = src_shape[static_cast<size_t>(order[k])];
  VecN ss = strides_of(src_shape);
  // stride in src for each dst axis
  VecN st(n);
  for (size_t k = 0; k < n; ++k) st[k] = ss[static_cast<size_t>(order[k])];
  int64_t total = prod(shape_d);
  if (total == 0) return;
  VecN idx(n, 0);
  int64_t si = 0;
  for (int64_t di = 0; di < total; ++di) {
    if (forward)
      std::memcpy(dst + di * static_cast<int64_t>(es), src + si * static_cast<int64_t>(es), es);
    else
      std::memcpy(dst + si * static_cast<int64_t>(es), src + di * static_cast<int64_t>(es), es);
    for (size_t a = n; a-- > 0;) {
      if (++idx[a] < shape_d[a]) {
        si += st[a];
        break;
      }
      si -= st[a] * (shape_d[a] - 1);
      idx[a] = 0;
    }
  }
}
}  // namespace

void transpose(size_t es, const std::byte* src, const VecN& src_shape, const VecN& order,
               std::byte* dst) {
  permuted_copy(es, src, src_shape, order, dst, true);
}

void untranspose(size_t es, const std::byte* src, const VecN& shape, const VecN& order,
                 std::byte* dst) {
  // src is transpose(x, order) of the logical array x with `shape`; scatter back.
  permuted_copy(es, src, shape, order, dst, false);
}

}  // namespace wkfs
