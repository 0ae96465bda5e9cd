#pragma once
// Argument parsing shared by the dataset subcommands (info, read, write, create, add-layer, add-mag).
#include <boost/program_options.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bounding_box.hpp"
#include "dataset/dataset.hpp"
#include "storage/open_store.hpp"

namespace wkfs::cli {

namespace po = boost::program_options;

/// Parses args against `options` and `positional`; returns nullopt after printing help for --help.
std::optional<po::variables_map> parse_args(const std::vector<std::string>& args, const std::string& usage,
                                            po::options_description& options,
                                            const po::positional_options_description& positional);
/// ["t=3", ...] -> {"t": 3}.
std::map<std::string, int64_t> parse_axes(const std::vector<std::string>& items);
/// Adds the mag options the control commands declare (control/mag_options.hpp): --chunk-shape,
/// --shard-shape, --chunks-per-shard, --compress, --no-compress.
void add_mag_option_flags(po::options_description& d);
/// " [--chunk-shape X,Y,Z] ...": the usage text of those options, to append to a usage line.
std::string mag_option_usage();
/// Reads the flags added by add_mag_option_flags, validated as the control commands do.
MagOptions mag_options_from(const po::variables_map& vm);
/// Adds the options for remote sources (URLs): --ca-file, --auth-token, --timeout-s.
void add_remote_option_flags(po::options_description& d);
/// The StoreContext those options describe (its own HttpClient); InvalidArgument for a missing CA
/// file or a timeout outside 1..3600 s.
storage::StoreContext store_context_from(const po::variables_map& vm);

/// What `wkfs read` and `wkfs write` address: one box of one mag of one layer.
struct RegionArgs {
  std::string dataset;     // a folder or a URL
  storage::StoreContext remote;
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
