// wkfs add-mag DATASET LAYER MAG ...: Layer.add_mag with the library's defaults.
#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "tools/command.hpp"
#include "tools/dataset_args.hpp"

namespace wkfs::cli {
namespace {

int run(const std::vector<std::string>& args) {
  po::options_description d("options");
  d.add_options()("dataset", po::value<std::string>()->required(), "dataset folder")(
      "layer", po::value<std::string>()->required(), "layer name")("mag", po::value<std::string>()->required(),
                                                                   "mag, e.g. 2 or 2-2-1");
  add_mag_option_flags(d);
  po::positional_options_description pos;
  pos.add("dataset", 1).add("layer", 1).add("mag", 1);
  auto vm = parse_args(args, "wkfs add-mag DATASET LAYER MAG" + mag_option_usage(), d, pos);
  if (!vm) return 0;
  std::string layer = checked_layer_name((*vm)["layer"].as<std::string>());
  Mag mag = Mag::parse((*vm)["mag"].as<std::string>());
  MagOptions options = mag_options_from(*vm);
  Dataset::open((*vm)["dataset"].as<std::string>())->add_mag(layer, mag, options);
  return 0;
}

const Registrar reg{{"add-mag", "add an empty mag to a layer", run}};

}  // namespace
}  // namespace wkfs::cli
