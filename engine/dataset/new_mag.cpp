#include "dataset/new_mag.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "dataset/mag_paths.hpp"

namespace wkfs {

namespace {

bool is_pow2(int64_t v) { return v >= 1 && (v & (v - 1)) == 0; }

void check_shape(const Vec3& v, const char* what) {
  for (int i = 0; i < 3; ++i)
    if (!is_pow2(v[i]))
      fail(ErrorKind::InvalidArgument, std::string(what) + " " + v.to_string() + " must be a power of two on every axis");
}

Vec3 round_up(Vec3 v, Vec3 m) { return v.ceil_div(m) * m; }

}  // namespace

int64_t decoded_bytes(const LayerProperties& layer, const Vec3& shape) {
  // each factor is at most 2^20 (shapes) or small (channels, dtype size): saturate instead of overflowing
  const long double bytes = static_cast<long double>(shape.x) * shape.y * shape.z * layer.num_channels *
                            static_cast<long double>(dtype_size(layer.dtype));
  return bytes > 9.0e18L ? INT64_MAX : static_cast<int64_t>(bytes);
}

Vec3 default_shard_shape(DataFormat format, const LayerProperties& layer, Vec3 chunk_shape) {
  switch (format) {
    case DataFormat::Zarr: return chunk_shape;
    case DataFormat::Wkw: return chunk_shape * 32;  // DEFAULT_WKW_FILE_LEN
    default: break;
  }
  if (!layer.mags.empty() && layer.bounding_box.size.z <= chunk_shape.z) return chunk_shape * Vec3(128, 128, 1);
  return chunk_shape * 32;  // DEFAULT_CHUNKS_PER_SHARD: 1024^3 for 32^3 chunks
}

NewMagShapes resolve_mag_options(const LayerProperties& l, const MagOptions& o, std::optional<int64_t> default_shard_edge) {
  NewMagShapes s;
  s.chunk = o.chunk_shape.value_or(Vec3::full(32));
  check_shape(s.chunk, "chunk shape");
  if (l.data_format == DataFormat::Zarr && o.shard_shape && *o.shard_shape != s.chunk)
    fail(ErrorKind::InvalidArgument, "zarr (v2) layers have no sharding: shard shape must equal the chunk shape");
  s.shard = o.shard_shape.value_or(default_shard_shape(l.data_format, l, s.chunk));
  if (!o.shard_shape && default_shard_edge && l.data_format != DataFormat::Zarr)
    s.shard = Vec3::max(s.chunk, Vec3::min(s.shard, Vec3::full(*default_shard_edge)));
  check_shape(s.shard, "shard shape");
  for (int i = 0; i < 3; ++i)
    if (s.shard[i] % s.chunk[i] != 0)
      fail(ErrorKind::InvalidArgument, "shard shape " + s.shard.to_string() + " is not a multiple of the chunk shape " +
                                           s.chunk.to_string());
  if (l.data_format == DataFormat::Wkw) {
    if (s.chunk.x != s.chunk.y || s.chunk.y != s.chunk.z || s.shard.x != s.shard.y || s.shard.y != s.shard.z)
      fail(ErrorKind::InvalidArgument, "WKW needs uniform chunk and shard shapes, got " + s.chunk.to_string() + " / " +
                                           s.shard.to_string());
    if (s.chunk.x > 32768 || s.shard.x / s.chunk.x > 32768)
      fail(ErrorKind::InvalidArgument, "WKW block or file length too large");
  }
  if (s.shard.max_dim() > (int64_t{1} << 20)) fail(ErrorKind::InvalidArgument, "shard shape too large");
  if (decoded_bytes(l, s.chunk) > kMaxChunkBytes)
    fail(ErrorKind::InvalidArgument, "chunk shape " + s.chunk.to_string() + " is too large: one chunk would decode to " +
                                         std::to_string(decoded_bytes(l, s.chunk) >> 20) + " MiB, at most " +
                                         std::to_string(kMaxChunkBytes >> 20) + " MiB are allowed (use e.g. 32,32,32)");
  s.compress = o.compress.value_or(true);
  return s;
}

void check_mag_options(const LayerProperties& layer, const MagOptions& options) { resolve_mag_options(layer, options); }

ArraySpec new_mag_array_spec(const LayerProperties& l, const Mag& mag, const NewMagShapes& s) {
  ArraySpec spec;
  spec.dtype = l.dtype;
  spec.compress = s.compress;
  spec.axis_names = l.array_axes();
  // add_mag resizes to ceil(ceil(bbox.bottomright / mag) / shard) * shard (notes 4.5); this equals
  // bbox.in_mag(mag).bottom_right() rounded up to shards, the formula lazy registration used.
  Vec3 extent = round_up(l.bounding_box.bottom_right().ceil_div(mag.vec()), s.shard);
  for (const auto& name : spec.axis_names) {
    int64_t shape = 1, chunk = 1, shard = 1;
    if (int i = spatial_index(name); i >= 0) {
      shape = extent[i], chunk = s.chunk[i], shard = s.shard[i];
    } else if (name == "c") {
      shape = chunk = shard = l.num_channels;
    } else {
      for (const auto& a : l.additional_axes)
        if (a.name == name) shape = std::max<int64_t>(a.upper, 1);
    }
    spec.shape.push_back(shape);
    spec.chunk_shape.push_back(chunk);
    spec.shard_shape.push_back(shard);
  }
  return spec;
}

NdBox mag_region(const LayerProperties& layer, const Mag& mag, const std::vector<std::string>& axes) {
  BoundingBox b = layer.bounding_box.in_mag(mag);
  NdBox r;
  for (const auto& a : axes) {
    int64_t begin = 0, size = 1;
    if (int i = spatial_index(a); i >= 0) {
      begin = b.top_left[i], size = b.size[i];
    } else if (a == "c") {
      size = layer.num_channels;
    } else {
      for (const auto& ax : layer.additional_axes)
        if (ax.name == a) begin = ax.lower, size = ax.upper - ax.lower;
    }
    r.begin.push_back(begin);
    r.shape.push_back(size);
  }
  return r;
}

std::array<size_t, 3> xyz_axes(const LayerProperties& layer, const ArrayMeta& meta) {
  std::vector<std::string> names = layer.array_axes();
  if (names.size() != meta.rank()) names = meta.axis_names;
  std::array<size_t, 3> idx{1, 2, 3};
  for (size_t i = 0; i < names.size(); ++i)
    if (int s = spatial_index(names[i]); s >= 0) idx[static_cast<size_t>(s)] = i;
  for (size_t i : idx)
    if (i >= meta.rank()) fail(ErrorKind::Corrupt, "array in mag folder lacks spatial axes");
  return idx;
}

MagEntry new_mag_entry(const LayerProperties& layer, const Mag& mag, std::optional<int64_t> cube_length) {
  MagEntry e;
  e.mag = mag;
  e.path = "./" + layer.name + "/" + mag.short_name();
  if (layer.data_format == DataFormat::Wkw) e.cube_length = cube_length;
  // The layer's order (its mags', else the one kept in its bbox), which the library derives from
  // the bbox: a first mag of an nD layer must not fall back to the 3D order.
  e.axis_order = layer.effective_axis_order();
  return e;
}

MagEntry local_mag_entry(const LayerProperties& layer, const Mag& mag, const ArrayMeta& meta) {
  std::optional<int64_t> cube_length;
  if (layer.data_format == DataFormat::Wkw) cube_length = spatial(meta.shard_shape, xyz_axes(layer, meta)).x;
  return new_mag_entry(layer, mag, cube_length);
}

void require_inside_dataset(const fs::path& root, const fs::path& dir) {
  std::error_code ec;
  for (const fs::path& p : {dir.parent_path(), dir})
    if (fs::is_symlink(p, ec))
      fail(ErrorKind::AlreadyExists, p.string() + " is a symlink: wkfs writes a new mag only into a real folder of its "
                                                  "dataset; remove the link (rm) or choose another mag");
  if (!is_inside(resolve_path(dir), resolve_path(root)))
    fail(ErrorKind::InvalidArgument, dir.string() + " resolves outside the dataset " + root.string() +
                                         ": wkfs writes nothing outside the dataset");
}

void require_new_mag(const LayerProperties& l, const Mag& mag) {
  if (l.find_mag(mag))
    fail(ErrorKind::AlreadyExists, "Adding mag " + mag.long_name() + " to layer '" + l.name +
                                       "' failed. There is already a mag with this name");
}

std::shared_ptr<Array> create_mag(const fs::path& root, LayerProperties& l, const Mag& mag, const NewMagShapes& s,
                                  PropertiesStore::UndoList& undo) {
  require_new_mag(l, mag);
  if (l.data_format != DataFormat::Zarr3 && l.data_format != DataFormat::Zarr && l.data_format != DataFormat::Wkw)
    fail(ErrorKind::ReadOnly, "layer '" + l.name + "' is " + data_format_name(l.data_format) + ", which is read-only");
  fs::path dir = root / l.name / mag.short_name();
  require_inside_dataset(root, dir);
  ArraySpec spec = new_mag_array_spec(l, mag, s);
  bool folder_existed = fs::exists(dir);
  if (folder_existed && !fs::is_directory(dir))
    fail(ErrorKind::AlreadyExists, "cannot add mag " + mag.long_name() + ": " + dir.string() + " exists and is not a folder");
  if (folder_existed) require_no_array(dir);
  fs::create_directories(dir);
  std::unique_ptr<Array> array;
  try {
    array = create_array(dir, l.data_format, spec);
  } catch (...) {
    std::error_code ec;
    if (!folder_existed) fs::remove_all(dir, ec);
    throw;
  }
  undo.push_back([dir, folder_existed] {
    if (!folder_existed) fs::remove_all(dir);
    else
      for (const char* f : {"zarr.json", ".zarray", "header.wkw"}) fs::remove(dir / f);
  });
  l.mags.push_back(local_mag_entry(l, mag, array->meta()));
  return std::shared_ptr<Array>(std::move(array));
}

}  // namespace wkfs
