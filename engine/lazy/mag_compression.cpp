#include "lazy/mag_compression.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "lazy/shard_grid.hpp"

namespace wkfs {

bool compress_mag(Dataset& dataset, const std::string& layer_name, const Mag& mag) {
  if (dataset.read_only()) fail(ErrorKind::ReadOnly, "dataset " + dataset.root().string() + " is read-only");
  if (dataset.is_foreign_mag(layer_name, mag))
    fail(ErrorKind::ReadOnly, "mag " + mag.long_name() + " of layer " + layer_name + " is foreign (read-only)");
  auto props = dataset.properties();
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "there is no layer " + layer_name);
  fs::path dir = dataset.mag_path(layer_name, mag);
  auto source = open_array(dir);
  if (source->compressed()) return false;
  const ArrayMeta& meta = source->meta();

  fs::path tmp = dir.parent_path() / ("." + dir.filename().string() + kTempMarker + "compress");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    ArraySpec spec;
    spec.dtype = meta.dtype;
    spec.shape = meta.shape;
    spec.chunk_shape = meta.chunk_shape;
    spec.shard_shape = meta.shard_shape;
    spec.axis_names = meta.axis_names;
    spec.compress = true;
    auto target = create_array(tmp, layer->data_format, spec);
    // every stored shard of the layer's region, copied through decode/encode
    NdBox region;
    BoundingBox b = layer->bounding_box.in_mag(mag);
    for (size_t i = 0; i < meta.rank(); ++i) {
      const auto& a = meta.axis_names[i];
      int s = a == "x" ? 0 : a == "y" ? 1 : a == "z" ? 2 : -1;
      region.begin.push_back(s >= 0 ? b.top_left[s] : 0);
      region.shape.push_back(s >= 0 ? b.size[s] : meta.shape[i]);
    }
    ShardGrid grid(meta, layer->data_format, region);
    Bytes buf;
    grid.for_each([&](const VecN& shard) {
      if (!fs::exists(source->shard_path(shard))) return;
      NdBox box = grid.shard_box(shard).intersect(NdBox{VecN(meta.rank(), 0), meta.shape});
      buf.resize(static_cast<size_t>(box.volume()) * meta.elem_size());
      source->read(box, buf);
      target->write(box, buf);
    });
    // one atomic step: the compressed mag takes the old one's place, the old one the temp name
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0)
      fail_errno("cannot swap " + tmp.string() + " and " + dir.string());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::remove_all(tmp, ec);  // the old, uncompressed mag
  return true;
}

bool compress_mag(LazyEngine& lazy, const std::string& layer, const Mag& mag) {
  // Its missing files would be computed with the codec of the array the engine opened: refused.
  if (lazy.is_pending_mag(layer, mag))
    fail(ErrorKind::InvalidArgument, "mag " + mag.long_name() + " of layer " + layer +
                                         " is lazy and not computed yet: materialize it first");
  bool changed = compress_mag(*lazy.dataset(), layer, mag);
  if (changed) lazy.reopen_mag(layer, mag);
  return changed;
}

}  // namespace wkfs
