#include "core/nd_copy.hpp"

#include <algorithm>
#include <cstdint>
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

// Permuted copy: dst (C order over shape[order[0]], shape[order[1]], ...) = transpose(src, order).
// Axes of length 1 are dropped first (the channel axis of single-channel data). The two axes that
// are contiguous in src and in dst are walked in square tiles, so that both sides stay in cache,
// with the element type known at compile time; the other axes are an outer odometer.
struct PermutedLayout {
  VecN shape;       // dst-order extents
  VecN src_stride;  // src stride (elements) of each dst axis
  VecN dst_stride;
};

PermutedLayout permuted_layout(const VecN& src_shape, const VecN& order) {
  VecN ss = strides_of(src_shape);
  VecN full_shape(order.size());
  for (size_t k = 0; k < order.size(); ++k) full_shape[k] = src_shape[static_cast<size_t>(order[k])];
  VecN ds = strides_of(full_shape);
  PermutedLayout l;
  for (size_t k = 0; k < order.size(); ++k) {
    if (full_shape[k] == 1) continue;
    l.shape.push_back(full_shape[k]);
    l.src_stride.push_back(ss[static_cast<size_t>(order[k])]);
    l.dst_stride.push_back(ds[k]);
  }
  return l;
}

template <typename T>
void permuted_copy_typed(const T* src, T* dst, const PermutedLayout& l) {
  const size_t n = l.shape.size();
  if (n == 0) {
    dst[0] = src[0];
    return;
  }
  // b: the axis contiguous in src (stride 1). a: the axis with the smallest dst stride among the
  // others that are long enough to tile (a short axis such as 3 channels goes to the outer loops).
  size_t b = 0;
  for (size_t k = 0; k < n; ++k)
    if (l.src_stride[k] == 1) b = k;
  size_t a = b;
  for (size_t k = 0; k < n; ++k) {
    if (k == b) continue;
    bool long_enough = l.shape[k] >= 8, a_long = a != b && l.shape[a] >= 8;
    if (a == b || (long_enough && !a_long) || (long_enough == a_long && l.dst_stride[k] < l.dst_stride[a])) a = k;
  }
  VecN outer_axes;
  for (size_t k = 0; k < n; ++k)
    if (k != a && k != b) outer_axes.push_back(static_cast<int64_t>(k));
  const int64_t nb = l.shape[b], db = l.dst_stride[b];
  const int64_t na = a == b ? 1 : l.shape[a], sa = a == b ? 0 : l.src_stride[a], da = a == b ? 0 : l.dst_stride[a];
  constexpr int64_t kTile = sizeof(T) == 1 ? 32 : (sizeof(T) == 2 ? 16 : 8);  // best measured per size
  VecN idx(outer_axes.size(), 0);
  int64_t so = 0, dof = 0;
  while (true) {
    const T* s = src + so;
    T* d = dst + dof;
    if (a == b) {  // n == 1: a plain strided row
      for (int64_t i = 0; i < nb; ++i) d[i * db] = s[i];
    } else if (db == 1) {  // contiguous on both sides
      for (int64_t ia = 0; ia < na; ++ia) std::memcpy(d + ia * da, s + ia * sa, static_cast<size_t>(nb) * sizeof(T));
    } else {
      // Square tiles keep both sides in few cache lines; the inner loop walks dst's shorter stride.
      for (int64_t b0 = 0; b0 < nb; b0 += kTile) {
        const int64_t b1 = std::min(nb, b0 + kTile);
        for (int64_t a0 = 0; a0 < na; a0 += kTile) {
          const int64_t a1 = std::min(na, a0 + kTile);
          for (int64_t ib = b0; ib < b1; ++ib) {
            const T* sp = s + ib;
            T* dp = d + ib * db;
            for (int64_t ia = a0; ia < a1; ++ia) dp[ia * da] = sp[ia * sa];
          }
        }
      }
    }
    size_t k = outer_axes.size();
    while (k-- > 0) {
      size_t ax = static_cast<size_t>(outer_axes[k]);
      if (++idx[k] < l.shape[ax]) {
        so += l.src_stride[ax];
        dof += l.dst_stride[ax];
        break;
      }
      so -= l.src_stride[ax] * (l.shape[ax] - 1);
      dof -= l.dst_stride[ax] * (l.shape[ax] - 1);
      idx[k] = 0;
    }
    if (k == static_cast<size_t>(-1)) return;
  }
}

// Elements of sizes other than 1, 2, 4, 8 (none in wkfs today): one memcpy per element.
void permuted_copy_bytes(size_t es, const std::byte* src, std::byte* dst, const PermutedLayout& l) {
  const size_t n = l.shape.size();
  int64_t total = prod(l.shape);
  VecN idx(n, 0);
  int64_t si = 0, di = 0;
  for (int64_t e = 0; e < total; ++e) {
    std::memcpy(dst + di * static_cast<int64_t>(es), src + si * static_cast<int64_t>(es), es);
    for (size_t k = n; k-- > 0;) {
      if (++idx[k] < l.shape[k]) {
        si += l.src_stride[k];
        di += l.dst_stride[k];
        break;
      }
      si -= l.src_stride[k] * (l.shape[k] - 1);
      di -= l.dst_stride[k] * (l.shape[k] - 1);
      idx[k] = 0;
    }
  }
}

void permuted_copy(size_t es, const std::byte* src, const VecN& src_shape, const VecN& order, std::byte* dst) {
  if (prod(src_shape) == 0) return;
  PermutedLayout l = permuted_layout(src_shape, order);
  switch (es) {
    case 1: return permuted_copy_typed(reinterpret_cast<const uint8_t*>(src), reinterpret_cast<uint8_t*>(dst), l);
    case 2: return permuted_copy_typed(reinterpret_cast<const uint16_t*>(src), reinterpret_cast<uint16_t*>(dst), l);
    case 4: return permuted_copy_typed(reinterpret_cast<const uint32_t*>(src), reinterpret_cast<uint32_t*>(dst), l);
    case 8: return permuted_copy_typed(reinterpret_cast<const uint64_t*>(src), reinterpret_cast<uint64_t*>(dst), l);
    default: return permuted_copy_bytes(es, src, dst, l);
  }
}

}  // namespace

void transpose(size_t es, const std::byte* src, const VecN& src_shape, const VecN& order,
               std::byte* dst) {
  permuted_copy(es, src, src_shape, order, dst);
}

void untranspose(size_t es, const std::byte* src, const VecN& shape, const VecN& order,
                 std::byte* dst) {
  // src is transpose(x, order), of shape stored[k] = shape[order[k]]; x = transpose(src, inverse).
  VecN stored(order.size()), inverse(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    stored[k] = shape[static_cast<size_t>(order[k])];
    inverse[static_cast<size_t>(order[k])] = static_cast<int64_t>(k);
  }
  permuted_copy(es, src, stored, inverse, dst);
}

}  // namespace wkfs
