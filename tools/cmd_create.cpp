// wkfs create DATASET --voxel-size X,Y,Z[,unit]: a new, empty dataset.
#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "tools/command.hpp"
#include "tools/dataset_args.hpp"

namespace wkfs::cli {
namespace {

VoxelSize parse_voxel_size(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find(',', start);
    parts.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (parts.size() != 3 && parts.size() != 4)
    fail(ErrorKind::InvalidArgument, "bad --voxel-size '" + s + "': expected X,Y,Z[,unit]");
  VoxelSize vs;
  double f[3];
  for (int i = 0; i < 3; ++i) {
    size_t used = 0;
    try {
      f[i] = std::stod(parts[static_cast<size_t>(i)], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != parts[static_cast<size_t>(i)].size() || !(f[i] > 0) || f[i] > 1e300)
      fail(ErrorKind::InvalidArgument, "bad --voxel-size '" + s + "': sizes must be positive numbers");
  }
  vs.factor = {f[0], f[1], f[2]};
  if (parts.size() == 4) vs.unit = parse_length_unit(parts[3]);
  return vs;
}

int run(const std::vector<std::string>& args) {
  po::options_description d("options");
  d.add_options()("dataset", po::value<std::string>()->required(), "new dataset folder (absent or empty)")(
      "voxel-size", po::value<std::string>()->required(), "X,Y,Z[,unit], e.g. 11.24,11.24,25 or 4,4,40,nm");
  po::positional_options_description pos;
  pos.add("dataset", 1);
  auto vm = parse_args(args, "wkfs create DATASET --voxel-size X,Y,Z[,unit]", d, pos);
  if (!vm) return 0;
  VoxelSize vs = parse_voxel_size((*vm)["voxel-size"].as<std::string>());
  Dataset::create((*vm)["dataset"].as<std::string>(), vs);
  return 0;
}

const Registrar reg{{"create", "create an empty dataset with a voxel size", run}};

}  // namespace
}  // namespace wkfs::cli
