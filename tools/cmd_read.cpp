// wkfs read DATASET --layer L --mag M --bbox X,Y,Z,W,H,D: raw (channels,x,y,z) C-order bytes to stdout.
#include <cstdio>
#include <iostream>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "tools/command.hpp"
#include "tools/dataset_args.hpp"

namespace wkfs::cli {
namespace {

constexpr size_t kMaxBytes = size_t{4} << 30;

int run(const std::vector<std::string>& args) {
  po::options_description d("options");
  d.add_options()("dataset", po::value<std::string>()->required(), "dataset folder")(
      "layer", po::value<std::string>()->required(), "layer name")("mag", po::value<std::string>()->default_value("1"),
                                                                   "mag, e.g. 1, 2 or 2-2-1")(
      "bbox", po::value<std::string>()->required(), "X,Y,Z,W,H,D in mag-1 voxels, aligned to the mag")(
      "axis", po::value<std::vector<std::string>>()->composing(), "NAME=INDEX for each additional axis (nD layers)");
  po::positional_options_description pos;
  pos.add("dataset", 1);
  auto vm = parse_args(args, "wkfs read DATASET --layer L [--mag M] --bbox X,Y,Z,W,H,D [--axis t=3]", d, pos);
  if (!vm) return 0;
  std::string layer = checked_layer_name((*vm)["layer"].as<std::string>());
  Mag mag = Mag::parse((*vm)["mag"].as<std::string>());
  BoundingBox box = parse_bbox((*vm)["bbox"].as<std::string>());
  auto extra = parse_axes(vm->count("axis") ? (*vm)["axis"].as<std::vector<std::string>>() : std::vector<std::string>{});
  if (box.align_outward(mag) != box)
    fail(ErrorKind::InvalidArgument, "--bbox " + box.top_left.to_string() + "+" + box.size.to_string() +
                                         " is not aligned to mag " + mag.long_name());
  auto ds = Dataset::open((*vm)["dataset"].as<std::string>(), true);
  auto view = ds->mag_view(layer, mag);
  size_t n = view->buffer_size(box);
  if (n > kMaxBytes) fail(ErrorKind::InvalidArgument, "the box needs " + std::to_string(n) + " bytes; read at most 4 GiB at once");
  Bytes out(n);
  view->read(box, out, extra);
  if (n && std::fwrite(out.data(), 1, n, stdout) != n) fail_errno("cannot write to stdout");
  if (std::fflush(stdout) != 0) fail_errno("cannot write to stdout");
  return 0;
}

const Registrar reg{{"read", "raw bytes of a box of one mag, (channels,x,y,z) C order, to stdout", run}};

}  // namespace
}  // namespace wkfs::cli
