// wkfs add-layer DATASET NAME ...: Dataset.add_layer followed by add_mag(1).
#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "tools/command.hpp"
#include "tools/dataset_args.hpp"

namespace wkfs::cli {
namespace {

int run(const std::vector<std::string>& args) {
  po::options_description d("options");
  d.add_options()("dataset", po::value<std::string>()->required(), "dataset folder")(
      "name", po::value<std::string>()->required(), "layer name")(
      "category", po::value<std::string>()->default_value("color"), "color | segmentation")(
      "dtype", po::value<std::string>()->default_value("uint8"), "per-channel dtype: uint8, uint16, ..., float32")(
      "channels", po::value<int>()->default_value(1), "number of channels")(
      "format", po::value<std::string>()->default_value("zarr3"), "zarr3 | zarr | wkw");
  add_mag_option_flags(d);
  po::positional_options_description pos;
  pos.add("dataset", 1).add("name", 1);
  auto vm = parse_args(args,
                       "wkfs add-layer DATASET NAME --category color|segmentation --dtype D --channels N "
                       "--format zarr3|zarr|wkw" + mag_option_usage(),
                       d, pos);
  if (!vm) return 0;
  LayerSpec spec;
  spec.name = checked_layer_name((*vm)["name"].as<std::string>());
  spec.category = parse_category((*vm)["category"].as<std::string>());
  spec.dtype = parse_dtype((*vm)["dtype"].as<std::string>());
  spec.num_channels = (*vm)["channels"].as<int>();
  spec.data_format = parse_data_format((*vm)["format"].as<std::string>());
  MagOptions options = mag_options_from(*vm);
  LayerProperties planned;  // the mag options are checked before the layer exists
  planned.data_format = spec.data_format;
  check_mag_options(planned, options);
  auto ds = Dataset::open((*vm)["dataset"].as<std::string>());
  ds->add_layer(spec);
  try {
    ds->add_mag(spec.name, Mag(1, 1, 1), options);
  } catch (...) {
    ds->delete_layer(spec.name);  // the command is one step: no layer without its mag 1
    throw;
  }
  return 0;
}

const Registrar reg{{"add-layer", "add a layer (and its mag 1) to a dataset", run}};

}  // namespace
}  // namespace wkfs::cli
