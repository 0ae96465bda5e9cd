#include "lazy/mag_step.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/nd_copy.hpp"
#include "downsample/downsample_kernel.hpp"

namespace wkfs {

MagStep MagStep::make(LazyKind kind, InterpolationMode mode, const Mag& source, const Mag& target,
                      const std::vector<std::string>& axis_names) {
  MagStep s;
  s.kind = kind;
  s.mode = mode;
  const Mag& fine = kind == LazyKind::Downsample ? source : target;
  const Mag& coarse = kind == LazyKind::Downsample ? target : source;
  for (const auto& name : axis_names) {
    int a = spatial_index(name);
    s.spatial_axis.push_back(a);
    if (a < 0) {
      s.factor.push_back(1);
      continue;
    }
    int64_t c = coarse.vec()[a], f = fine.vec()[a];
    if (c % f != 0)
      fail(ErrorKind::InvalidArgument, "mag " + coarse.long_name() + " is not a multiple of " + fine.long_name());
    s.factor.push_back(c / f);
  }
  return s;
}

// `b` in coordinates `factor` times finer (up) or coarser (down, aligned outward).
NdBox MagStep::scaled(const NdBox& b, bool up) const {
  NdBox r = b;
  for (size_t i = 0; i < b.rank(); ++i) {
    int64_t f = factor[i];
    if (up) {
      r.begin[i] = b.begin[i] * f;
      r.shape[i] = b.shape[i] * f;
    } else {
      int64_t lo = b.begin[i] / f, hi = (b.begin[i] + b.shape[i] + f - 1) / f;
      r.begin[i] = lo;
      r.shape[i] = hi - lo;
    }
  }
  return r;
}

NdBox MagStep::source_box(const NdBox& t) const { return scaled(t, kind == LazyKind::Downsample); }

NdBox MagStep::affected_target(const NdBox& src) const { return scaled(src, kind == LazyKind::Upsample); }

namespace {
// Order that brings an array-ordered buffer into the kernels' (c, x, y, z) layout; axes other than
// c/x/y/z have extent 1 in a tile and go first, where they cost nothing.
VecN canonical_order(const std::vector<std::string>& names) {
  VecN order;
  auto idx = [&](const char* n) -> int64_t {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == n) return static_cast<int64_t>(i);
    return -1;
  };
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] != "c" && names[i] != "x" && names[i] != "y" && names[i] != "z") order.push_back(static_cast<int64_t>(i));
  for (const char* n : {"c", "x", "y", "z"})
    if (idx(n) >= 0) order.push_back(idx(n));
  return order;
}

bool is_identity(const VecN& order) {
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] != static_cast<int64_t>(i)) return false;
  return true;
}

VecN permuted(const VecN& shape, const VecN& order) {
  VecN r(shape.size());
  for (size_t k = 0; k < order.size(); ++k) r[k] = shape[static_cast<size_t>(order[k])];
  return r;
}

// (C, X, Y, Z) extents of a canonical buffer whose shape (in canonical order) is `cshape`.
void cxyz(const VecN& cshape, const std::vector<std::string>& names, int64_t& c, Vec3& xyz) {
  bool has_c = std::find(names.begin(), names.end(), "c") != names.end();
  size_t n = cshape.size();
  xyz = {cshape[n - 3], cshape[n - 2], cshape[n - 1]};
  c = has_c ? cshape[n - 4] : 1;
}

// Tile: the whole extent on non-spatial axes other than extra axes (which go one at a time);
// spatial extents halved until the source tile fits the budget.
VecN choose_tile(const MagStep& step, const ArrayMeta& tm, const NdBox& target, size_t tile_budget_bytes) {
  const size_t es = tm.elem_size();
  const size_t n = target.rank();
  VecN tile(n);
  for (size_t i = 0; i < n; ++i) {
    if (step.spatial_axis[i] >= 0) tile[i] = std::min<int64_t>(target.shape[i], 128);
    else tile[i] = tm.axis_names[i] == "c" ? target.shape[i] : 1;
  }
  auto source_bytes = [&](const VecN& t) {
    int64_t v = static_cast<int64_t>(es);
    for (size_t i = 0; i < n; ++i)
      v *= step.kind == LazyKind::Downsample ? t[i] * step.factor[i] : t[i] / step.factor[i] + 2;
    return static_cast<size_t>(v);
  };
  while (source_bytes(tile) > tile_budget_bytes) {
    size_t widest = 0;
    int64_t w = 0;
    for (size_t i = 0; i < n; ++i)
      if (step.spatial_axis[i] >= 0 && tile[i] > w) w = tile[i], widest = i;
    if (w <= 8) break;
    tile[widest] = (tile[widest] + 1) / 2;
  }
  return tile;
}

// Upsamples canonical source tile `src` (box `sb`, C x `sxyz` voxels) into target tile `tt` of
// `dst_c`: replicate the whole source tile, then cut out the target tile (it may start mid-block).
void upsample_tile(const MagStep& step, DType dtype, size_t es, Vec3 f, int64_t channels, Vec3 sxyz, ByteSpan src,
                   const NdBox& sb, const NdBox& tt, Bytes& dst_c) {
  Vec3 up = sxyz * f;
  Bytes full(static_cast<size_t>(channels * up.prod()) * es);
  upsample(dtype, f, VoxelShape{channels, sxyz}, src, full);
  dst_c.resize(static_cast<size_t>(tt.volume()) * es);
  VecN full_shape{channels, up.x, up.y, up.z}, off{0, 0, 0, 0}, box{channels, 0, 0, 0};
  for (size_t i = 0; i < tt.rank(); ++i)
    if (step.spatial_axis[i] >= 0) {
      int a = static_cast<int>(step.spatial_axis[i]);
      off[static_cast<size_t>(a + 1)] = tt.begin[i] - sb.begin[i] * step.factor[i];
      box[static_cast<size_t>(a + 1)] = tt.shape[i];
    }
  VecN zero{0, 0, 0, 0};
  copy_box(es, full.data(), full_shape, off, dst_c.data(), box, zero, box);
}

// Advances a tile position in C order; false after the last tile.
bool next_tile(VecN& idx, const VecN& tiles) {
  size_t a = idx.size();
  while (a-- > 0) {
    if (++idx[a] < tiles[a]) return true;
    idx[a] = 0;
  }
  return false;
}
}  // namespace

void MagStep::compute(const Array& source, const ArrayMeta& tm, const NdBox& target, MutableByteSpan out,
                      size_t tile_budget_bytes, const Array::PinnedShards* pinned) const {
  const size_t es = tm.elem_size();
  const size_t n = target.rank();
  const VecN order = canonical_order(tm.axis_names);
  const bool identity = is_identity(order);
  const VecN tile = choose_tile(*this, tm, target, tile_budget_bytes);

  Bytes src, src_c, dst_c, dst;
  VecN idx(n, 0);  // tile position (in tiles)
  VecN tiles(n);
  for (size_t i = 0; i < n; ++i) tiles[i] = (target.shape[i] + tile[i] - 1) / tile[i];
  while (true) {
    NdBox tt;
    tt.begin.resize(n);
    tt.shape.resize(n);
    for (size_t i = 0; i < n; ++i) {
      tt.begin[i] = target.begin[i] + idx[i] * tile[i];
      tt.shape[i] = std::min(tile[i], target.begin[i] + target.shape[i] - tt.begin[i]);
    }
    NdBox sb = source_box(tt);
    src.resize(static_cast<size_t>(sb.volume()) * es);
    if (pinned) source.read(sb, src, *pinned);
    else source.read(sb, src);
    const Bytes* sp = &src;
    VecN sshape_c = permuted(sb.shape, order);
    if (!identity) {
      src_c.resize(src.size());
      transpose(es, src.data(), sb.shape, order, src_c.data());
      sp = &src_c;
    }
    int64_t channels = 1;
    Vec3 sxyz;
    cxyz(sshape_c, tm.axis_names, channels, sxyz);
    Vec3 f{1, 1, 1};
    for (size_t i = 0; i < n; ++i)
      if (spatial_axis[i] >= 0) f[static_cast<int>(spatial_axis[i])] = factor[i];
    VecN tshape_c = permuted(tt.shape, order);
    if (kind == LazyKind::Downsample) {
      dst_c.resize(static_cast<size_t>(tt.volume()) * es);
      DownsampleKernel kernel(mode, tm.dtype, f);
      kernel.reduce(VoxelShape{channels, sxyz}, ByteSpan(sp->data(), sp->size()), dst_c);
    } else {
      upsample_tile(*this, tm.dtype, es, f, channels, sxyz, ByteSpan(sp->data(), sp->size()), sb, tt, dst_c);
    }
    const Bytes* dp = &dst_c;
    if (!identity) {
      dst.resize(dst_c.size());
      untranspose(es, dst_c.data(), tt.shape, order, dst.data());
      dp = &dst;
    }
    VecN off(n), zero(n, 0);
    for (size_t i = 0; i < n; ++i) off[i] = tt.begin[i] - target.begin[i];
    copy_box(es, dp->data(), tt.shape, zero, out.data(), target.shape, off, tt.shape);
    if (!next_tile(idx, tiles)) break;
  }
}

}  // namespace wkfs
