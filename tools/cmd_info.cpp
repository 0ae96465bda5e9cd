// wkfs info PATH|URL: a JSON summary of a dataset or of one layer (PATH = <dataset>/<layer>),
// local or remote (https://, http://, s3://host:port/bucket/key).
#include <functional>
#include <iostream>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "dataset/remote_dataset.hpp"
#include "storage/store_url.hpp"
#include "tools/command.hpp"
#include "tools/dataset_args.hpp"

namespace wkfs::cli {
namespace {

Json vec_json(const VecN& v) { return Json(std::vector<int64_t>(v.begin(), v.end())); }

// What layer_summary asks of a dataset, local (Dataset) or remote (RemoteDataset).
struct MagSource {
  std::function<std::string(const Mag&)> location;
  std::function<bool(const Mag&)> foreign, remote;
  std::function<std::shared_ptr<MagView>(const Mag&)> view;
};

Json layer_summary(const LayerProperties& l, const MagSource& src) {
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
      e["path"] = src.location(m.mag);
      e["foreign"] = src.foreign(m.mag);
      e["remote"] = src.remote(m.mag);
      auto view = src.view(m.mag);
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

Json layer_summary(const Dataset& ds, const LayerProperties& l) {
  const std::string& name = l.name;
  return layer_summary(l, MagSource{[&](const Mag& m) { return ds.mag_location(name, m); },
                                    [&](const Mag& m) { return ds.is_foreign_mag(name, m); },
                                    [&](const Mag& m) { return ds.is_remote_mag(name, m); },
                                    [&](const Mag& m) { return ds.mag_view(name, m); }});
}

Json layer_summary(const RemoteDataset& ds, const LayerProperties& l) {
  const std::string& name = l.name;
  // Every mag of a remote dataset is remote; foreign as the library has it: not <dataset>/<layer>/...
  return layer_summary(l, MagSource{[&](const Mag& m) { return ds.mag_location(name, m); },
                                    [&](const Mag& m) {
                                      const std::string loc = ds.mag_location(name, m);
                                      return loc.substr(0, loc.rfind('/')) != ds.url() + "/" + name;
                                    },
                                    [](const Mag&) { return true; },
                                    [&](const Mag& m) { return ds.mag_view(name, m); }});
}

Json dataset_summary(const std::string& where, const DatasetProperties& p, const std::function<Json(const LayerProperties&)>& layer) {
  Json o = Json::object();
  o["path"] = where;
  o["name"] = p.id.is_object() && p.id.contains("name") ? p.id["name"] : Json("");
  o["voxelSize"] = Json{{"factor", {p.voxel_size.factor.x, p.voxel_size.factor.y, p.voxel_size.factor.z}},
                        {"unit", p.voxel_size.unit}};
  Json layers = Json::array();
  for (const auto& l : p.layers) layers.push_back(layer(l));
  o["layers"] = layers;
  return o;
}

// A URL names a dataset, or a layer of one (then the dataset is its parent).
int run_remote(const std::string& url, const storage::StoreContext& context) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  try {
    auto ds = RemoteDataset::open(u, context);
    std::cout << dataset_summary(ds->url(), ds->properties(), [&](const LayerProperties& l) { return layer_summary(*ds, l); }).dump(2) << "\n";
    return 0;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound || u.rfind('/') == std::string::npos) throw;
    const std::string parent = u.substr(0, u.rfind('/')), layer = u.substr(u.rfind('/') + 1);
    std::shared_ptr<RemoteDataset> ds;
    try {
      ds = RemoteDataset::open(parent, context);
    } catch (const Error& parent_error) {
      if (parent_error.kind() == ErrorKind::NotFound) throw e;  // neither: report the URL asked for
      throw;
    }
    const auto* l = ds->properties().find_layer(layer);
    if (!l) fail(ErrorKind::NotFound, "layer '" + layer + "' not found in " + ds->url());
    std::cout << layer_summary(*ds, *l).dump(2) << "\n";
    return 0;
  }
}

int run(const std::vector<std::string>& args) {
  po::options_description d("options");
  d.add_options()("path", po::value<std::string>()->required(), "dataset folder or URL, or <dataset>/<layer>");
  add_remote_option_flags(d);
  po::positional_options_description pos;
  pos.add("path", 1);
  auto vm = parse_args(args, "wkfs info PATH|URL [--ca-file PEM] [--auth-token T] [--timeout-s N]", d, pos);
  if (!vm) return 0;
  const std::string arg = (*vm)["path"].as<std::string>();
  const storage::StoreContext context = store_context_from(*vm);
  if (storage::StoreUrl::is_url(arg)) return run_remote(arg, context);
  fs::path path = fs::absolute((*vm)["path"].as<std::string>()).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  if (!fs::exists(path)) fail(ErrorKind::NotFound, "no such file or folder: " + path.string());
  if (fs::exists(path / "datasource-properties.json")) {
    auto ds = Dataset::open(path, true, nullptr, context);
    std::cout << dataset_summary(path.string(), ds->properties(), [&](const LayerProperties& l) { return layer_summary(*ds, l); }).dump(2) << "\n";
    return 0;
  }
  if (fs::exists(path.parent_path() / "datasource-properties.json")) {
    auto ds = Dataset::open(path.parent_path(), true, nullptr, context);
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
