#include "downsample/downsample_kernel.hpp"

#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "downsample/block_reduction.hpp"
#include "downsample/dtype_dispatch.hpp"
#include "downsample/spline_zoom.hpp"

namespace wkfs {

namespace {

std::string shape_text(const VoxelShape& s) {
  return std::to_string(s.channels) + "x(" + s.xyz.to_string() + ")";
}

void check_size(size_t have, const VoxelShape& shape, size_t elem, const char* what) {
  const size_t want = static_cast<size_t>(shape.voxels()) * elem;
  if (have != want)
    fail(ErrorKind::InvalidArgument, std::string("downsample: ") + what + " buffer holds " +
                                         std::to_string(have) + " bytes, shape " +
                                         shape_text(shape) + " needs " + std::to_string(want));
}

// Typed views need element alignment; spans into the middle of a byte buffer may lack it, so
// misaligned data goes through an aligned copy.
template <typename T>
struct AlignedIn {
  const T* ptr;
  std::vector<T> copy;
  explicit AlignedIn(ByteSpan bytes) {
    if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(T) == 0) {
      ptr = reinterpret_cast<const T*>(bytes.data());
    } else {
      copy.resize(bytes.size() / sizeof(T));
      std::memcpy(copy.data(), bytes.data(), bytes.size());
      ptr = copy.data();
    }
  }
};

template <typename T>
struct AlignedOut {
  MutableByteSpan bytes;
  T* ptr;
  std::vector<T> copy;
  explicit AlignedOut(MutableByteSpan b) : bytes(b) {
    if (reinterpret_cast<uintptr_t>(b.data()) % alignof(T) == 0) {
      ptr = reinterpret_cast<T*>(b.data());
    } else {
      copy.resize(b.size() / sizeof(T));
      ptr = copy.data();
    }
  }
  void finish() {
    if (!copy.empty()) std::memcpy(bytes.data(), copy.data(), bytes.size());
  }
};

int spline_order(InterpolationMode mode) {
  switch (mode) {
    case InterpolationMode::Nearest: return 0;
    case InterpolationMode::Bilinear: return 1;
    default: return 2;
  }
}

}  // namespace

DownsampleKernel::DownsampleKernel(InterpolationMode mode, DType dtype, Vec3 factor)
    : mode_(mode), dtype_(dtype), factor_(factor) {
  if (factor.x < 1 || factor.y < 1 || factor.z < 1)
    fail(ErrorKind::InvalidArgument,
         "downsample factor " + factor.to_string() + " must be at least 1 on every axis");
}

VoxelShape DownsampleKernel::target_shape(const VoxelShape& source) const {
  for (int a = 0; a < 3; ++a)
    if (source.xyz[a] < 0 || source.xyz[a] % factor_[a] != 0)
      fail(ErrorKind::InvalidArgument, "downsample: source shape " + source.xyz.to_string() +
                                           " is not a multiple of the factor " +
                                           factor_.to_string());
  if (source.channels < 0) fail(ErrorKind::InvalidArgument, "downsample: negative channel count");
  return {source.channels,
          {source.xyz.x / factor_.x, source.xyz.y / factor_.y, source.xyz.z / factor_.z}};
}

namespace {

void run(const DownsampleKernel& k, const VoxelShape& source, ByteSpan src, MutableByteSpan dst,
         bool allow_fast_paths) {
  const VoxelShape target = k.target_shape(source);
  const size_t elem = dtype_size(k.dtype());
  check_size(src.size(), source, elem, "source");
  check_size(dst.size(), target, elem, "target");
  if (target.voxels() == 0) return;
  with_dtype(k.dtype(), [&](auto zero) {
    using T = decltype(zero);
    AlignedIn<T> in(src);
    AlignedOut<T> out(dst);
    if (is_block_reduction(k.mode()))
      reduce_blocks<T>(k.mode(), k.factor(), source, in.ptr, out.ptr, allow_fast_paths);
    else
      spline_zoom<T>(spline_order(k.mode()), source, target, in.ptr, out.ptr);
    out.finish();
  });
}

}  // namespace

void DownsampleKernel::reduce(const VoxelShape& source, ByteSpan src, MutableByteSpan dst) const {
  run(*this, source, src, dst, true);
}

void DownsampleKernel::reduce_generic(const VoxelShape& source, ByteSpan src,
                                      MutableByteSpan dst) const {
  run(*this, source, src, dst, false);
}

void upsample(DType dtype, Vec3 factor, const VoxelShape& source, ByteSpan src,
              MutableByteSpan dst) {
  if (factor.x < 1 || factor.y < 1 || factor.z < 1)
    fail(ErrorKind::InvalidArgument,
         "upsample factor " + factor.to_string() + " must be at least 1 on every axis");
  const VoxelShape target{source.channels, source.xyz * factor};
  const size_t elem = dtype_size(dtype);
  check_size(src.size(), source, elem, "source");
  check_size(dst.size(), target, elem, "target");
  if (target.voxels() == 0) return;
  const Vec3 s = source.xyz, t = target.xyz;
  const size_t src_row = static_cast<size_t>(s.z) * elem, dst_row = static_cast<size_t>(t.z) * elem;
  for (int64_t c = 0; c < source.channels; ++c)
    for (int64_t x = 0; x < t.x; ++x)
      for (int64_t y = 0; y < t.y; ++y) {
        std::byte* out = dst.data() + static_cast<size_t>(((c * t.x + x) * t.y + y)) * dst_row;
        if (y % factor.y != 0) {  // same source row as the previous output row
          std::memcpy(out, out - dst_row, dst_row);
          continue;
        }
        if (x % factor.x != 0) {  // same source rows as the previous x plane
          std::memcpy(out, out - static_cast<size_t>(t.y) * dst_row, dst_row);
          continue;
        }
        const std::byte* in =
            src.data() + static_cast<size_t>((c * s.x + x / factor.x) * s.y + y / factor.y) * src_row;
        for (int64_t z = 0; z < s.z; ++z)
          for (int64_t r = 0; r < factor.z; ++r)
            std::memcpy(out + static_cast<size_t>(z * factor.z + r) * elem,
                        in + static_cast<size_t>(z) * elem, elem);
      }
}

}  // namespace wkfs
