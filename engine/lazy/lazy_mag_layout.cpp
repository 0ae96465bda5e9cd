#include "lazy/lazy_mag_layout.hpp"

namespace wkfs {

// The region the eager computation writes, in the target mag's array coordinates: the layer bbox
// aligned outward to the mag (notes 5.1), all channels, the whole range of extra axes.
NdBox layer_region(const LayerProperties& layer, const Mag& mag, const std::vector<std::string>& axes) {
  BoundingBox b = layer.bounding_box.in_mag(mag);
  NdBox r;
  for (const auto& a : axes) {
    if (a == "c") {
      r.begin.push_back(0);
      r.shape.push_back(layer.num_channels);
    } else if (int i = spatial_index(a); i >= 0) {
      r.begin.push_back(b.top_left[i]);
      r.shape.push_back(b.size[i]);
    } else {
      int64_t lo = 0, hi = 1;
      for (const auto& ax : layer.additional_axes)
        if (ax.name == a) lo = ax.lower, hi = ax.upper;
      r.begin.push_back(lo);
      r.shape.push_back(hi - lo);
    }
  }
  return r;
}

// The array of a lazily computed mag: the library's shapes for a new mag (notes 4.4), except that
// the default shard is capped at `shard_edge` so that a first read computes one small file.
ArraySpec lazy_array_spec(const LayerProperties& layer, const Mag& mag, const MagOptions& options, int64_t shard_edge) {
  Vec3 chunk = options.chunk_shape.value_or(Vec3{32, 32, 32});
  Vec3 shard = options.shard_shape.value_or(default_shard_shape(layer.data_format, layer, chunk));
  if (!options.shard_shape && layer.data_format != DataFormat::Zarr)
    shard = Vec3::max(chunk, Vec3::min(shard, Vec3::full(shard_edge)));
  BoundingBox region = layer.bounding_box.in_mag(mag);
  ArraySpec spec;
  spec.dtype = layer.dtype;
  spec.axis_names = layer.array_axes();
  spec.compress = options.compress.value_or(true);
  for (const auto& a : spec.axis_names) {
    if (a == "c") {
      spec.shape.push_back(layer.num_channels);
      spec.chunk_shape.push_back(layer.num_channels);
      spec.shard_shape.push_back(layer.num_channels);
    } else if (int i = spatial_index(a); i >= 0) {
      int64_t sh = layer.data_format == DataFormat::Zarr ? chunk[i] : shard[i];
      int64_t end = region.bottom_right()[i];
      spec.shape.push_back((end + sh - 1) / sh * sh);
      spec.chunk_shape.push_back(chunk[i]);
      spec.shard_shape.push_back(sh);
    } else {
      int64_t hi = 1;
      for (const auto& ax : layer.additional_axes)
        if (ax.name == a) hi = ax.upper;
      spec.shape.push_back(hi);
      spec.chunk_shape.push_back(1);
      spec.shard_shape.push_back(1);
    }
  }
  return spec;
}

MagEntry lazy_mag_entry(const LayerProperties& layer, const Mag& mag, std::optional<int64_t> cube_length) {
  MagEntry e;
  e.mag = mag;
  e.path = "./" + layer.name + "/" + mag.short_name();
  if (layer.data_format == DataFormat::Wkw && cube_length) e.cube_length = *cube_length;
  e.axis_order = layer.mags.empty() ? Json{{"c", 0}, {"x", 1}, {"y", 2}, {"z", 3}} : layer.mags.front().axis_order;
  if (!layer.mags.empty()) e.channel_index = layer.mags.front().channel_index;
  return e;
}

}  // namespace wkfs
