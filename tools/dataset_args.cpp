#include "tools/dataset_args.hpp"

#include <iostream>

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

std::vector<int64_t> parse_int_list(const std::string& s, const std::string& what) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(',', start);
    std::string item = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size())
      fail(ErrorKind::InvalidArgument, "bad " + what + " '" + s + "': expected comma-separated integers");
    out.push_back(v);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

BoundingBox parse_bbox(const std::string& s) {
  auto v = parse_int_list(s, "--bbox");
  if (v.size() != 6) fail(ErrorKind::InvalidArgument, "bad --bbox '" + s + "': expected X,Y,Z,W,H,D");
  constexpr int64_t kMax = int64_t{1} << 40;
  for (auto x : v)
    if (x < 0 || x > kMax) fail(ErrorKind::InvalidArgument, "bad --bbox '" + s + "': values must be between 0 and 2^40");
  return BoundingBox{{v[0], v[1], v[2]}, {v[3], v[4], v[5]}};
}

Vec3 parse_shape(const std::string& s, const std::string& what) {
  auto v = parse_int_list(s, what);
  if (v.size() == 1) return Vec3::full(v[0]);
  if (v.size() == 3) return {v[0], v[1], v[2]};
  fail(ErrorKind::InvalidArgument, "bad " + what + " '" + s + "': expected N or X,Y,Z");
}

std::map<std::string, int64_t> parse_axes(const std::vector<std::string>& items) {
  std::map<std::string, int64_t> out;
  for (const auto& it : items) {
    auto eq = it.find('=');
    if (eq == std::string::npos || eq == 0) fail(ErrorKind::InvalidArgument, "bad --axis '" + it + "': expected NAME=INDEX");
    auto v = parse_int_list(it.substr(eq + 1), "--axis");
    if (v.size() != 1) fail(ErrorKind::InvalidArgument, "bad --axis '" + it + "': expected NAME=INDEX");
    out[it.substr(0, eq)] = v[0];
  }
  return out;
}

void add_mag_option_flags(po::options_description& d) {
  d.add_options()("chunk-shape", po::value<std::string>(), "chunk shape, N or X,Y,Z (default 32)")(
      "shard-shape", po::value<std::string>(), "shard shape, N or X,Y,Z (default: the library's)")(
      "compress", po::bool_switch(), "compress chunks (default)")("no-compress", po::bool_switch(), "store chunks raw");
}

MagOptions mag_options_from(const po::variables_map& vm) {
  MagOptions o;
  if (vm.count("chunk-shape")) o.chunk_shape = parse_shape(vm["chunk-shape"].as<std::string>(), "--chunk-shape");
  if (vm.count("shard-shape")) o.shard_shape = parse_shape(vm["shard-shape"].as<std::string>(), "--shard-shape");
  bool c = vm["compress"].as<bool>(), nc = vm["no-compress"].as<bool>();
  if (c && nc) fail(ErrorKind::InvalidArgument, "--compress and --no-compress exclude each other");
  if (c || nc) o.compress = c;
  return o;
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
  r.box = parse_bbox((*vm)["bbox"].as<std::string>());
  r.extra_axes = parse_axes(vm->count("axis") ? (*vm)["axis"].as<std::vector<std::string>>() : std::vector<std::string>{});
  if (r.box.align_outward(r.mag) != r.box)
    fail(ErrorKind::InvalidArgument, "--bbox " + r.box.top_left.to_string() + "+" + r.box.size.to_string() +
                                         " is not aligned to mag " + r.mag.long_name());
  return r;
}

}  // namespace wkfs::cli
