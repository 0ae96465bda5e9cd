// Dataset::compress_mag, MagView.compress() of the library (notes 7): the compressed copy is built
// in a hidden temp folder beside the mag and swapped in with one atomic rename (RENAME_EXCHANGE),
// so a crash leaves either the old or the new mag, never neither (the library deletes first, then
// renames).
#include "core/error.hpp"
#include "core/staged_dir.hpp"
#include "dataset/dataset.hpp"

namespace wkfs {


bool Dataset::compress_mag(const std::string& layer_name, const Mag& mag) {
  if (read_only_) fail(ErrorKind::ReadOnly, "dataset " + root_.string() + " is read-only");
  if (is_foreign_mag(layer_name, mag))
    fail(ErrorKind::ReadOnly, "mag " + mag.long_name() + " of layer " + layer_name + " is foreign (read-only)");
  auto props = properties();
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "there is no layer " + layer_name);
  fs::path dir = mag_path(layer_name, mag);
  auto source = open_array(dir);
  if (source->compressed()) return false;
  const ArrayMeta& meta = source->meta();

  StagedDir staged(dir, "compress");
  ArraySpec spec;
  spec.dtype = meta.dtype;
  spec.shape = meta.shape;
  spec.chunk_shape = meta.chunk_shape;
  spec.shard_shape = meta.shard_shape;
  spec.axis_names = meta.axis_names;
  spec.compress = true;
  auto target = create_array(staged.path(), layer->data_format, spec);
  // Every stored shard of the layer's region is copied through decode/encode. Channels and extra
  // axes are copied whole: the library copies every shard on disk, and data there must survive.
  NdBox region = mag_region(*layer, mag, meta.axis_names);
  for (size_t i = 0; i < meta.rank(); ++i)
    if (spatial_index(meta.axis_names[i]) < 0) region.begin[i] = 0, region.shape[i] = meta.shape[i];
  const NdBox whole{VecN(meta.rank(), 0), meta.shape};
  Bytes buf;
  for (const auto& shard : shards_covering(meta, region)) {
    if (!fs::exists(source->shard_path(shard))) continue;
    NdBox box;
    for (size_t i = 0; i < shard.size(); ++i) {
      box.begin.push_back(shard[i] * meta.shard_shape[i]);
      box.shape.push_back(meta.shard_shape[i]);
    }
    box = box.intersect(whole);
    buf.resize(static_cast<size_t>(box.volume()) * meta.elem_size());
    source->read(box, buf);
    target->write(box, buf);
  }
  // One atomic step: the compressed mag takes the old one's place; the old one, now at the temp
  // name, is removed with `staged`.
  staged.exchange();
  std::lock_guard g(mutex_);
  views_.erase({layer_name, mag.long_name()});  // its array still has the uncompressed codec
  return true;
}

}  // namespace wkfs
