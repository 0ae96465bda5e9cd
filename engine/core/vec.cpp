#include "core/vec.hpp"

#include <algorithm>

namespace wkfs {

std::string Vec3::to_string() const {
  return std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z);
}

int64_t prod(const VecN& v) {
  int64_t p = 1;
  for (auto e : v) p *= e;
  return p;
}

std::string to_string(const VecN& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

VecN NdBox::end() const {
  VecN e(begin.size());
  for (size_t i = 0; i < begin.size(); ++i) e[i] = begin[i] + shape[i];
  return e;
}

bool NdBox::empty() const {
  return std::any_of(shape.begin(), shape.end(), [](int64_t s) { return s <= 0; });
}

NdBox NdBox::intersect(const NdBox& o) const {
  NdBox r;
  r.begin.resize(rank());
  r.shape.resize(rank());
  for (size_t i = 0; i < rank(); ++i) {
    int64_t b = std::max(begin[i], o.begin[i]);
    int64_t e = std::min(begin[i] + shape[i], o.begin[i] + o.shape[i]);
    r.begin[i] = b;
    r.shape[i] = std::max<int64_t>(0, e - b);
  }
  return r;
}

}  // namespace wkfs
