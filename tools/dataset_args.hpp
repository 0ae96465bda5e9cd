#pragma once
// Argument parsing shared by the dataset subcommands (info, read, write, create, add-layer, add-mag).
#include <boost/program_options.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bounding_box.hpp"
#include "dataset/dataset.hpp"

namespace wkfs::cli {

namespace po = boost::program_options;

/// Parses args against `options` and `positional`; returns nullopt after printing help for --help.
std::optional<po::variables_map> parse_args(const std::vector<std::string>& args, const std::string& usage,
                                            po::options_description& options,
                                            const po::positional_options_description& positional);
/// "X,Y,Z,W,H,D" -> box; InvalidArgument naming `what` otherwise.
BoundingBox parse_bbox(const std::string& s);
/// "N" -> (N,N,N) or "X,Y,Z".
Vec3 parse_shape(const std::string& s, const std::string& what);
/// ["t=3", ...] -> {"t": 3}.
std::map<std::string, int64_t> parse_axes(const std::vector<std::string>& items);
/// Comma-separated integers; InvalidArgument naming `what` for anything else.
std::vector<int64_t> parse_int_list(const std::string& s, const std::string& what);
/// Adds --chunk-shape, --shard-shape, --compress, --no-compress.
void add_mag_option_flags(po::options_description& d);
/// Reads the flags added by add_mag_option_flags.
MagOptions mag_options_from(const po::variables_map& vm);
/// What `wkfs read` and `wkfs write` address: one box of one mag of one layer.
struct RegionArgs {
  std::string dataset;
  std::string layer;
  Mag mag;
  BoundingBox box;  // mag-1 voxels, aligned to the mag
  std::map<std::string, int64_t> extra_axes;
};
/// Parses DATASET --layer L [--mag M] --bbox X,Y,Z,W,H,D [--axis t=3]; nullopt after --help.
std::optional<RegionArgs> parse_region_args(const std::vector<std::string>& args, const std::string& usage);

/// A layer name that is valid (no path tricks), else InvalidArgument.
std::string checked_layer_name(const std::string& name);

}  // namespace wkfs::cli
