#include "downsample/spline_zoom.hpp"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace wkfs {

namespace {

// scipy pads by 12 voxels (edge mode) before the spline prefilter of "nearest" zooms.
constexpr int64_t kPrepad = 12;

// Per output index along one axis: the order+1 input taps (already clamped the way scipy's
// mode="nearest" maps edge taps) and their spline weights.
struct AxisTaps {
  int order = 0;
  std::vector<int64_t> index;   // [o * (order + 1) + h]
  std::vector<double> weight;   // same layout; unused for order 0
};

// scipy's get_spline_interpolation_weights for orders 1 and 2.
void spline_weights(double x, int order, double* w) {
  x -= std::floor((order & 1) ? x : x + 0.5);
  if (order == 1) {
    w[0] = 1.0 - x;
  } else {
    w[1] = 0.75 - x * x;
    const double y = 0.5 - x;
    w[0] = 0.5 * y * y;
  }
  w[order] = 1.0;
  for (int i = 0; i < order; ++i) w[order] -= w[i];
}

// NI_ZoomShift's per-axis set-up (grid_mode=False, no shift): input coordinate
// cc = o·(n_in−1)/(n_out−1) + prepad over an input of `stored_len` (the padded length).
AxisTaps axis_taps(int order, int64_t n_in, int64_t n_out, int64_t prepad, int64_t stored_len) {
  AxisTaps taps;
  taps.order = order;
  const int64_t width = order + 1;
  taps.index.resize(static_cast<size_t>(n_out * width));
  taps.weight.resize(static_cast<size_t>(n_out * width));
  // zoom = (n_in-1)/(n_out-1), or 1 when the output has one voxel (numpy.divide ... where=...).
  const double zoom = n_out > 1 ? static_cast<double>(n_in - 1) / static_cast<double>(n_out - 1) : 1.0;
  for (int64_t o = 0; o < n_out; ++o) {
    double cc = static_cast<double>(o);
    cc *= zoom;
    cc += static_cast<double>(prepad);
    const int64_t start = (order & 1) ? static_cast<int64_t>(std::floor(cc)) - order / 2
                                      : static_cast<int64_t>(std::floor(cc + 0.5)) - order / 2;
    for (int64_t h = 0; h < width; ++h) {
      int64_t idx = start + h;
      if (idx < 0) idx = 0;
      if (idx >= stored_len) idx = stored_len - 1;
      taps.index[static_cast<size_t>(o * width + h)] = idx;
    }
    if (order > 0) spline_weights(cc, order, &taps.weight[static_cast<size_t>(o * width)]);
  }
  return taps;
}

// scipy's causal/anticausal initialisation for mode "nearest" (= "reflect" in ni_splines.c).
void init_causal_reflect(double* c, int64_t n, double z) {
  double z_i = z;
  const double z_n = std::pow(z, static_cast<double>(n));
  const double c0 = c[0];
  c[0] = c[0] + z_n * c[n - 1];
  for (int64_t i = 1; i < n; ++i) {
    c[0] += z_i * (c[i] + z_n * c[n - 1 - i]);
    z_i *= z;
  }
  c[0] *= z / (1 - z_n * z_n);
  c[0] += c0;
}

void init_anticausal_reflect(double* c, int64_t n, double z) { c[n - 1] *= z / (z - 1); }

// Quadratic B-spline prefilter of one line (scipy apply_filter with one pole, mode nearest).
void prefilter_line(double* c, int64_t n) {
  if (n <= 1) return;
  const double z = -0.171572875253809902396622551580603843;  // sqrt(8) - 3
  const double gain = (1.0 - z) * (1.0 - 1.0 / z);
  for (int64_t i = 0; i < n; ++i) c[i] *= gain;
  init_causal_reflect(c, n, z);
  for (int64_t i = 1; i < n; ++i) c[i] += z * c[i - 1];
  init_anticausal_reflect(c, n, z);
  for (int64_t i = n - 2; i >= 0; --i) c[i] = z * (c[i + 1] - c[i]);
}

// Filters a C-order 3-D double array along each axis in turn (axis 0, 1, 2), like spline_filter.
void prefilter_volume(std::vector<double>& v, const Vec3& n) {
  std::vector<double> line;
  const int64_t stride[3] = {n.y * n.z, n.z, 1};
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t len = n[axis];
    line.resize(static_cast<size_t>(len));
    const int a = (axis + 1) % 3, b = (axis + 2) % 3;
    for (int64_t i = 0; i < n[a]; ++i)
      for (int64_t j = 0; j < n[b]; ++j) {
        double* base = v.data() + i * stride[a] + j * stride[b];
        for (int64_t k = 0; k < len; ++k) line[static_cast<size_t>(k)] = base[k * stride[axis]];
        prefilter_line(line.data(), len);
        for (int64_t k = 0; k < len; ++k) base[k * stride[axis]] = line[static_cast<size_t>(k)];
      }
  }
}

// CASE_INTERP_OUT_*: round half away from zero, clip to the type's range.
template <typename T>
T store_value(double t) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(t);
  } else {
    t = t > 0 ? t + 0.5 : (std::is_unsigned_v<T> ? 0.0 : t - 0.5);
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
    if (t >= hi) return std::numeric_limits<T>::max();
    if (t <= lo) return std::numeric_limits<T>::min();
    return static_cast<T>(t);
  }
}

// The interpolation loop: t = Σ over the (order+1)^3 footprint, axis 0 slowest, of
// ((value·w_x)·w_y)·w_z, accumulated in that order.
template <typename T, typename V>
void interpolate(int order, const V* in, const Vec3& stored, const AxisTaps taps[3],
                 const Vec3& out_n, T* out) {
  const int64_t width = order + 1;
  const int64_t sy = stored.z, sx = stored.y * stored.z;
  for (int64_t ox = 0; ox < out_n.x; ++ox)
    for (int64_t oy = 0; oy < out_n.y; ++oy)
      for (int64_t oz = 0; oz < out_n.z; ++oz) {
        const int64_t* ix = &taps[0].index[static_cast<size_t>(ox * width)];
        const int64_t* iy = &taps[1].index[static_cast<size_t>(oy * width)];
        const int64_t* iz = &taps[2].index[static_cast<size_t>(oz * width)];
        double t = 0.0;
        if (order == 0) {
          t = static_cast<double>(in[ix[0] * sx + iy[0] * sy + iz[0]]);
        } else {
          const double* wx = &taps[0].weight[static_cast<size_t>(ox * width)];
          const double* wy = &taps[1].weight[static_cast<size_t>(oy * width)];
          const double* wz = &taps[2].weight[static_cast<size_t>(oz * width)];
          for (int64_t hx = 0; hx < width; ++hx)
            for (int64_t hy = 0; hy < width; ++hy)
              for (int64_t hz = 0; hz < width; ++hz) {
                double coeff = static_cast<double>(in[ix[hx] * sx + iy[hy] * sy + iz[hz]]);
                coeff *= wx[hx];
                coeff *= wy[hy];
                coeff *= wz[hz];
                t += coeff;
              }
        }
        *out++ = store_value<T>(t);
      }
}

}  // namespace

template <typename T>
void spline_zoom(int order, const VoxelShape& source, const VoxelShape& target, const T* src,
                 T* dst) {
  const Vec3 n = source.xyz;
  const int64_t in_voxels = n.prod(), out_voxels = target.xyz.prod();
  if (order < 2) {
    AxisTaps taps[3];
    for (int a = 0; a < 3; ++a) taps[a] = axis_taps(order, n[a], target.xyz[a], 0, n[a]);
    for (int64_t c = 0; c < source.channels; ++c)
      interpolate(order, src + c * in_voxels, n, taps, target.xyz, dst + c * out_voxels);
    return;
  }
  // Order 2: pad by 12 with edge values, prefilter in float64, interpolate the coefficients.
  const Vec3 padded{n.x + 2 * kPrepad, n.y + 2 * kPrepad, n.z + 2 * kPrepad};
  AxisTaps taps[3];
  for (int a = 0; a < 3; ++a) taps[a] = axis_taps(order, n[a], target.xyz[a], kPrepad, padded[a]);
  std::vector<double> coeffs(static_cast<size_t>(padded.prod()));
  for (int64_t c = 0; c < source.channels; ++c) {
    const T* in = src + c * in_voxels;
    size_t i = 0;
    for (int64_t x = 0; x < padded.x; ++x) {
      const int64_t cx = std::min(std::max<int64_t>(x - kPrepad, 0), n.x - 1);
      for (int64_t y = 0; y < padded.y; ++y) {
        const int64_t cy = std::min(std::max<int64_t>(y - kPrepad, 0), n.y - 1);
        const T* row = in + (cx * n.y + cy) * n.z;
        for (int64_t z = 0; z < padded.z; ++z) {
          const int64_t cz = std::min(std::max<int64_t>(z - kPrepad, 0), n.z - 1);
          coeffs[i++] = static_cast<double>(row[cz]);
        }
      }
    }
    prefilter_volume(coeffs, padded);
    interpolate(order, coeffs.data(), padded, taps, target.xyz, dst + c * out_voxels);
  }
}

#define WKFS_INSTANTIATE(T) \
  template void spline_zoom<T>(int, const VoxelShape&, const VoxelShape&, const T*, T*);
WKFS_INSTANTIATE(uint8_t)
WKFS_INSTANTIATE(uint16_t)
WKFS_INSTANTIATE(uint32_t)
WKFS_INSTANTIATE(uint64_t)
WKFS_INSTANTIATE(int8_t)
WKFS_INSTANTIATE(int16_t)
WKFS_INSTANTIATE(int32_t)
WKFS_INSTANTIATE(int64_t)
WKFS_INSTANTIATE(float)
WKFS_INSTANTIATE(double)
#undef WKFS_INSTANTIATE

}  // namespace wkfs
