#pragma once
// The lazy pyramid through a real mount, as `wkfs bench downsample` (after the kernels) and
// `wkfs bench pyramid` (alone) report it: every figure beside a baseline measured in the same run.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wkfs::cli {

struct PyramidBenchOptions {
  int64_t size_mb = 1024;         // mag-1 size of each generated layer
  int64_t memory_mb = 256;        // the mount's lazy_memory_mb
  int64_t chunk_cache_mb = 256;   // the mount's chunk_cache_mb
  std::filesystem::path dir = "/var/tmp/wkfs-bench-pyramid";
};

struct PyramidLayerFigures {
  std::string layer, dtype, coarsest_mag, coarse_file;
  int64_t edge = 0;                 // the layer is edge^3 voxels
  double mib = 0;                   // mag-1 bytes, MiB
  double register_s = 0;            // `downsample`: metadata only
  double first_read_s = 0;          // one lazy 2-2-1 file, cat through the mount
  double first_source_s = 0;        // native read + decode of just that file's mag-1 source, `threads` threads
  double coarse_read_s = 0;         // one file of the coarsest mag (recursive through lazy mags)
  double coarse_source_s = 0;       // native read + decode of that file's mag-1 footprint
  double full_pyramid_s = 0;        // materialize --wait of every remaining file, all cores
  double native_layer_s = 0;        // native read + decode of the whole mag 1, `threads` threads
};

struct PyramidBenchFigures {
  std::vector<PyramidLayerFigures> layers;
  double generate_s = 0;
  double peak_rss_mib = 0;          // the daemon's VmHWM
  double lazy_peak_mib = 0;         // the lazy memory budget's peak
  int64_t memory_mb = 0, chunk_cache_mb = 0;
  unsigned threads = 1;             // the daemon's lazy workers = the baselines' threads
};

/// Generates a color uint8 and a segmentation uint32 layer, mounts them and measures the pyramid.
PyramidBenchFigures run_pyramid_bench(const PyramidBenchOptions& options);
/// The figures as a table with ratios to their baselines.
void print_pyramid_figures(const PyramidBenchFigures& figures, std::ostream& out);
/// The figures as JSON (same ratios).
nlohmann::json pyramid_figures_json(const PyramidBenchFigures& figures);
/// Parses the pyramid options out of `args` (removing them); false if an option is malformed.
bool take_pyramid_options(std::vector<std::string>& args, PyramidBenchOptions& options, std::string& error);

}  // namespace wkfs::cli
