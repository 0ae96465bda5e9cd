#include "tools/dataset_args.hpp"

#include <iostream>

#include "control/mag_options.hpp"
#include "control/text_values.hpp"
#include "core/error.hpp"
#include "storage/http_client.hpp"

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

void add_remote_option_flags(po::options_description& d) {
  d.add_options()("ca-file", po::value<std::string>(), "PEM file of CAs for https:// and s3:// sources (private endpoints)")(
      "auth-token", po::value<std::string>(), "X-Auth-Token sent to http(s):// sources (webknossos' token)")(
      "timeout-s", po::value<int>(), "seconds before a remote request is given up, retries included (default 120)");
}

storage::StoreContext store_context_from(const po::variables_map& vm) {
  storage::HttpOptions o;
  if (vm.count("ca-file")) {
    o.ca_file = vm["ca-file"].as<std::string>();
    if (!fs::is_regular_file(o.ca_file)) fail(ErrorKind::InvalidArgument, "--ca-file " + o.ca_file + ": no such file");
  }
  if (vm.count("timeout-s")) {
    int t = vm["timeout-s"].as<int>();
    if (t < 1 || t > 3600) fail(ErrorKind::InvalidArgument, "--timeout-s must be 1..3600, got " + std::to_string(t));
    o.deadline = std::chrono::seconds(t);
    o.attempt_timeout = std::min(o.attempt_timeout, std::chrono::milliseconds(o.deadline));
    o.connect_timeout = std::min(o.connect_timeout, std::chrono::milliseconds(o.deadline));
  }
  storage::StoreContext c;
  c.client = std::make_shared<storage::HttpClient>(o);
  if (vm.count("auth-token")) c.auth_token = vm["auth-token"].as<std::string>();
  return c;
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
  add_remote_option_flags(d);
  po::positional_options_description pos;
  pos.add("dataset", 1);
  auto vm = parse_args(args, usage, d, pos);
  if (!vm) return std::nullopt;
  RegionArgs r;
  r.dataset = (*vm)["dataset"].as<std::string>();
  r.remote = store_context_from(*vm);
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
