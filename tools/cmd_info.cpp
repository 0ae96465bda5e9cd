// wkfs info PATH: a JSON summary of a dataset or of one layer (PATH = <dataset>/<layer>).
#include <iostream>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "tools/command.hpp"
#include "tools/dataset_args.hpp"

namespace wkfs::cli {
namespace {

Json vec_json(const VecN& v) { return Json(std::vector<int64_t>(v.begin(), v.end())); }

Json layer_summary(const Dataset& ds, const LayerProperties& l) {
  Json o = Json::object();
  o["name"] = l.name;
  o["category"] = category_name(l.category);
  o["format"] = data_format_name(l.data_format);
  o["dtype"] = dtype_name(l.dtype);
  o["channels"] = l.num_channels;
  const auto& b = l.bounding_box;
  o["boundingBox"] = Json{{"topLeft", {b.top_left.x, b.top_left.y, b.top_left.z}}, {"size", {b.size.x, b.size.y, b.size.z}}};
  o["axes"] = l.array_axes();
  if (l.largest_segment_id) o["largestSegmentId"] = *l.largest_segment_id;
  Json mags = Json::array();
  for (const auto& m : l.mags) {
    Json e = Json::object();
    e["mag"] = m.mag.short_name();
    try {
      e["path"] = ds.mag_path(l.name, m.mag).string();
      e["foreign"] = ds.is_foreign_mag(l.name, m.mag);
      auto view = ds.mag_view(l.name, m.mag);
      const auto& meta = view->array().meta();
      e["shape"] = vec_json(meta.shape);
      e["chunkShape"] = vec_json(meta.chunk_shape);
      e["shardShape"] = vec_json(meta.shard_shape);
      e["codecs"] = view->array().codec_summary();
      e["compressed"] = view->array().compressed();
    } catch (const Error& err) {
      e["error"] = err.what();  // a broken mag must not hide the others
    }
    mags.push_back(e);
  }
  o["mags"] = mags;
  return o;
}

int run(const std::vector<std::string>& args) {
  po::options_description d("options");
  d.add_options()("path", po::value<std::string>()->required(), "dataset folder or <dataset>/<layer>");
  po::positional_options_description pos;
  pos.add("path", 1);
  auto vm = parse_args(args, "wkfs info PATH", d, pos);
  if (!vm) return 0;
  fs::path path = fs::absolute((*vm)["path"].as<std::string>()).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  if (!fs::exists(path)) fail(ErrorKind::NotFound, "no such file or folder: " + path.string());
  if (fs::exists(path / "datasource-properties.json")) {
    auto ds = Dataset::open(path, true);
    auto p = ds->properties();
    Json o = Json::object();
    o["path"] = path.string();
    o["name"] = p.id.is_object() && p.id.contains("name") ? p.id["name"] : Json("");
    o["voxelSize"] = Json{{"factor", {p.voxel_size.factor.x, p.voxel_size.factor.y, p.voxel_size.factor.z}},
                          {"unit", p.voxel_size.unit}};
    Json layers = Json::array();
    for (const auto& l : p.layers) layers.push_back(layer_summary(*ds, l));
    o["layers"] = layers;
    std::cout << o.dump(2) << "\n";
    return 0;
  }
  if (fs::exists(path.parent_path() / "datasource-properties.json")) {
    auto ds = Dataset::open(path.parent_path(), true);
    auto p = ds->properties();
    const auto* l = p.find_layer(path.filename().string());
    if (!l) fail(ErrorKind::NotFound, "layer '" + path.filename().string() + "' not found in " + path.parent_path().string());
    std::cout << layer_summary(*ds, *l).dump(2) << "\n";
    return 0;
  }
  fail(ErrorKind::NotFound, path.string() + " is neither a dataset (no datasource-properties.json) nor a layer of one");
}

const Registrar reg{{"info", "JSON summary of a dataset or layer: layers, dtype, bbox, mags, codecs", run}};

}  // namespace
}  // namespace wkfs::cli
