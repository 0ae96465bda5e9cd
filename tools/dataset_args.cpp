#include "tools/dataset_args.hpp"

#include <iostream>

#include "control/mag_options.hpp"
#include "control/text_values.hpp"
#include "core/error.hpp"

namespace wkfs::cli {

std::optional<po::variables_map> parse_args(const std::vector<std::string>& args, const std::string& usage,
                                            po::options_description& options,
                                            const po::positional_options_description& positional) {
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: " << usage << "\n\n" << options;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    fail(ErrorKind::InvalidArgument, std::string(e.what()) + " (usage: " + usage + ")");
  }
  return vm;
}

std::map<std::string, int64_t> parse_axes(const std::vector<std::string>& items) {
  std::map<std::string, int64_t> out;
  for (const auto& it : items) {
    auto eq = it.find('=');
    if (eq == std::string::npos || eq == 0) fail(ErrorKind::InvalidArgument, "bad --axis '" + it + "': expected NAME=INDEX");
    auto v = control::parse_int_list(it.substr(eq + 1), "--axis");
    if (v.size() != 1) fail(ErrorKind::InvalidArgument, "bad --axis '" + it + "': expected NAME=INDEX");
    out[it.substr(0, eq)] = v[0];
  }
  return out;
}

void add_mag_option_flags(po::options_description& d) {
  for (const auto& o : control::mag_command_options()) {
    std::string help = o.help + (o.default_value.empty() ? "" : " (default " + o.default_value + ")");
    // A flag is a switch here: the CLI has no `--compress false` (that is --no-compress).
    if (o.is_flag())
      d.add_options()(o.name.c_str(), po::bool_switch(), help.c_str());
    else
      d.add_options()(o.name.c_str(), po::value<std::string>(), help.c_str());
  }
}

std::string mag_option_usage() {
  return control::CommandSchema{{}, control::mag_command_options()}.usage("");
}

MagOptions mag_options_from(const po::variables_map& vm) {
  // The same CommandLine the control channel would see, so both take one validation.
  control::CommandLine line;
  line.name = "add-mag";
  for (const auto& o : control::mag_command_options()) {
    if (!vm.count(o.name)) continue;
    if (o.is_flag()) {
      if (vm[o.name].as<bool>()) line.options[o.name] = "true";
    } else {
      line.options[o.name] = vm[o.name].as<std::string>();
    }
  }
  return control::parse_mag_options(line);
}

std::string checked_layer_name(const std::string& name) {
  if (!is_valid_layer_name(name)) fail(ErrorKind::InvalidArgument, "invalid layer name '" + name + "'");
  return name;
}

std::optional<RegionArgs> parse_region_args(const std::vector<std::string>& args, const std::string& usage) {
  po::options_description d("options");
  d.add_options()("dataset", po::value<std::string>()->required(), "dataset folder")(
      "layer", po::value<std::string>()->required(), "layer name")("mag", po::value<std::string>()->default_value("1"),
                                                                   "mag, e.g. 1, 2 or 2-2-1")(
      "bbox", po::value<std::string>()->required(), "X,Y,Z,W,H,D in mag-1 voxels, aligned to the mag")(
      "axis", po::value<std::vector<std::string>>()->composing(), "NAME=INDEX for each additional axis (nD layers)");
  po::positional_options_description pos;
  pos.add("dataset", 1);
  auto vm = parse_args(args, usage, d, pos);
  if (!vm) return std::nullopt;
  RegionArgs r;
  r.dataset = (*vm)["dataset"].as<std::string>();
  r.layer = checked_layer_name((*vm)["layer"].as<std::string>());
  r.mag = Mag::parse((*vm)["mag"].as<std::string>());
  r.box = control::parse_bounding_box((*vm)["bbox"].as<std::string>(), "--bbox");
  r.extra_axes = parse_axes(vm->count("axis") ? (*vm)["axis"].as<std::vector<std::string>>() : std::vector<std::string>{});
  if (r.box.align_outward(r.mag) != r.box)
    fail(ErrorKind::InvalidArgument, "--bbox " + r.box.top_left.to_string() + "+" + r.box.size.to_string() +
                                         " is not aligned to mag " + r.mag.long_name());
  return r;
}

}  // namespace wkfs::cli
