#pragma once
// Shared by zarr3_test.cpp and zarr2_test.cpp: a brute-force in-memory reference volume and a
// random write/read round trip of an Array against it.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "core/bytes.hpp"
#include "core/vec.hpp"
#include "formats/array.hpp"

namespace wkfs::test {

// Calls f(multi_index) for every element of a box, in C order (element by element on purpose:
// the reference must not share the engine's copy code).
template <typename F>
void for_each_element(const VecN& shape, F&& f) {
  for (auto s : shape)
    if (s <= 0) return;
  VecN idx(shape.size(), 0);
  while (true) {
    f(idx);
    size_t a = shape.size();
    while (a-- > 0) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
      if (a == 0) return;
    }
    if (shape.empty()) return;
  }
}

inline size_t c_offset(const VecN& idx, const VecN& shape) {
  size_t o = 0;
  for (size_t i = 0; i < idx.size(); ++i) o = o * static_cast<size_t>(shape[i]) + static_cast<size_t>(idx[i]);
  return o;
}

class ReferenceVolume {
 public:
  ReferenceVolume(VecN shape, size_t elem_size, Bytes fill)
      : shape_(std::move(shape)), es_(elem_size), fill_(std::move(fill)) {
    data_.resize(static_cast<size_t>(prod(shape_)) * es_);
    for (size_t i = 0; i < data_.size(); i += es_) std::memcpy(&data_[i], fill_.data(), es_);
  }

  void write(const NdBox& box, ByteSpan in) {
    for_each_element(box.shape, [&](const VecN& local) {
      VecN g(local.size());
      for (size_t i = 0; i < g.size(); ++i) g[i] = box.begin[i] + local[i];
      std::memcpy(&data_[c_offset(g, shape_) * es_], &in[c_offset(local, box.shape) * es_], es_);
    });
  }

  Bytes read(const NdBox& box) const {
    Bytes out(static_cast<size_t>(box.volume()) * es_);
    for_each_element(box.shape, [&](const VecN& local) {
      VecN g(local.size());
      bool inside = true;
      for (size_t i = 0; i < g.size(); ++i) {
        g[i] = box.begin[i] + local[i];
        inside = inside && g[i] >= 0 && g[i] < shape_[i];
      }
      const std::byte* src = inside ? &data_[c_offset(g, shape_) * es_] : fill_.data();
      std::memcpy(&out[c_offset(local, box.shape) * es_], src, es_);
    });
    return out;
  }

 private:
  VecN shape_;
  size_t es_;
  Bytes fill_;
  Bytes data_;
};

inline Bytes random_bytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  // Mostly random, with runs of zeros so that some chunks compress well and some are fill.
  std::uniform_int_distribution<int> byte(0, 255), zero_run(0, 3);
  bool zeros = false;
  for (size_t i = 0; i < n; ++i) {
    if (i % 64 == 0) zeros = zero_run(rng) == 0;
    b[i] = zeros ? std::byte{0} : static_cast<std::byte>(byte(rng));
  }
  return b;
}

/// A box inside `shape` (for writes) or one that may stick out of it (for reads).
inline NdBox random_box(std::mt19937_64& rng, const VecN& shape, bool may_exceed) {
  NdBox b;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t hi = may_exceed ? shape[i] + 2 : shape[i] - 1;
    int64_t begin = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(hi, 0))(rng);
    int64_t max_len = may_exceed ? shape[i] + 3 : shape[i] - begin;
    int64_t len = std::uniform_int_distribution<int64_t>(1, std::max<int64_t>(max_len, 1))(rng);
    b.begin.push_back(begin);
    b.shape.push_back(len);
  }
  return b;
}

/// Random writes and reads against the reference, then a full read through a fresh `reopen()`.
template <typename Reopen>
void check_round_trip(Array& array, Reopen&& reopen, uint64_t seed, int writes = 6, int reads = 6) {
  const ArrayMeta& m = array.meta();
  ReferenceVolume ref(m.shape, m.elem_size(), m.fill_value);
  std::mt19937_64 rng(seed);
  for (int w = 0; w < writes; ++w) {
    NdBox box = random_box(rng, m.shape, false);
    Bytes data = random_bytes(rng, static_cast<size_t>(box.volume()) * m.elem_size());
    array.write(box, data);
    ref.write(box, data);
    for (int r = 0; r < reads / writes + 1; ++r) {
      NdBox rb = random_box(rng, m.shape, true);
      Bytes got(static_cast<size_t>(rb.volume()) * m.elem_size());
      array.read(rb, got);
      ASSERT_TRUE(got == ref.read(rb)) << "read " << to_string(rb.begin) << "+" << to_string(rb.shape)
                                       << " after write " << w;
    }
  }
  auto fresh = reopen();
  NdBox all{VecN(m.rank(), 0), m.shape};
  for (auto& s : all.shape) s += 1;  // one voxel past the shape on every axis reads as fill
  Bytes got(static_cast<size_t>(all.volume()) * m.elem_size());
  fresh->read(all, got);
  ASSERT_TRUE(got == ref.read(all)) << "full read after reopening";
}

}  // namespace wkfs::test
