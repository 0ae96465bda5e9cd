// `wkfs bench downsample`: one-core throughput of the downsampling kernels (median uint8, mode
// uint32 on noise and on blocky segmentation, steps 2-2-2 and 2-2-1) beside memcpy of the same
// bytes and beside the same reduction done in numpy the way webknossos-libs does it (reshape into
// blocks, np.median over the block axis / a mode over the block axis), on the same data. The
// numpy output is compared byte for byte with wkfs's. Then, in the same run, the lazy pyramid
// through a real mount (bench_pyramid.hpp), so every figure the pyramid issue asks for comes out
// of one command.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>

#include "core/error.hpp"
#include "downsample/downsample_kernel.hpp"
#include "tools/bench.hpp"
#include "tools/bench_pyramid.hpp"

namespace wkfs::cli {

namespace {

const char* kUsage =
    "usage: wkfs bench downsample [--json] [--edge N] [--runs N] [--min-ms MS] [--no-numpy]\n"
    "                             [--size-mb 1024] [--memory-mb 256] [--chunk-cache-mb 256] [--dir D] [--no-mount]\n"
    "  Reduces an N x N x N volume (default 256) with the median (uint8) and mode (uint32) kernels\n"
    "  at 2-2-2 and 2-2-1 on one core. MB/s are of input bytes (1 MB = 1e6 bytes), the median of\n"
    "  --runs runs of at least --min-ms each, beside memcpy of the same bytes. Unless --no-numpy,\n"
    "  /usr/bin/python3 runs the same reduction with numpy as webknossos-libs does (blocks as one\n"
    "  axis; np.median(...).astype(dtype); mode by counting equal elements and taking the first\n"
    "  maximum), times it, and its output is compared byte for byte with wkfs's.\n"
    "  Then, unless --no-mount, the lazy pyramid through a real mount (as `wkfs bench pyramid`): a\n"
    "  color uint8 and a segmentation uint32 layer of --size-mb MiB each, mounted with\n"
    "  lazy_memory_mb=--memory-mb: registration, first reads beside native reads of their source,\n"
    "  the full pyramid on all cores beside a native read of mag 1, and the daemon's peak RSS.\n";

// The numpy reference. Blocks are laid out as the library's non_linear_filter_3d lays them out:
// one axis of fx·fy·fz elements in the order dz, dx, dy (dy fastest). Input arrays are Fortran
// ordered, as the library's reads return them.
const char* kNumpyScript = R"PY(
import sys, time
import numpy as np
src, dst, dtype, X, Y, Z, fx, fy, fz, kind, runs = sys.argv[1:]
X, Y, Z, fx, fy, fz, runs = map(int, (X, Y, Z, fx, fy, fz, runs))
data = np.asfortranarray(np.fromfile(src, dtype=dtype).reshape((X, Y, Z)))

def blocks(d):
    b = d.reshape(X // fx, fx, Y // fy, fy, Z // fz, fz)
    return b.transpose(5, 1, 3, 0, 2, 4).reshape(fx * fy * fz, -1)

def median(d):
    return np.median(blocks(d), axis=0).astype(d.dtype)

def mode(d):
    b = blocks(d)
    counts = np.zeros(b.shape, dtype=np.int32)
    for i in range(b.shape[0]):
        counts[i] = (b == b[i]).sum(axis=0)
    # argmax returns the first maximum: the earliest element of the most frequent value.
    return np.take_along_axis(b, counts.argmax(axis=0)[None, :], axis=0)[0]

# The library runs its mode with numba (its later rewrite); so does this reference when
# python3-numba is installed: same rule (first maximum in block order), compiled, warmed up
# before timing. Without numba the numpy version runs, and the line printed says which.
engine = "numpy"
if kind == "mode":
    try:
        import numba
        @numba.njit(cache=False)
        def _mode_cols(b, out):
            n, m = b.shape
            for j in range(m):
                best, best_count = b[0, j], 0
                for i in range(n):
                    c = 0
                    for k in range(n):
                        if b[k, j] == b[i, j]:
                            c += 1
                    if c > best_count:
                        best, best_count = b[i, j], c
                out[j] = best
        def mode(d):
            b = np.ascontiguousarray(blocks(d))
            out = np.empty(b.shape[1], dtype=d.dtype)
            _mode_cols(b, out)
            return out
        _mode_cols(np.zeros((fx * fy * fz, 1), dtype=data.dtype), np.zeros(1, dtype=data.dtype))  # compile
        engine = "numba"
    except ImportError:
        pass

fn = median if kind == "median" else mode
times = []
for _ in range(runs):
    t = time.perf_counter()
    out = fn(data)
    times.append(time.perf_counter() - t)
np.ascontiguousarray(out.reshape(X // fx, Y // fy, Z // fz)).tofile(dst)
print(sorted(times)[len(times) // 2], engine)
)PY";

struct Options {
  int edge = 256;
  int runs = 5;
  double min_run_seconds = 0.2;
  bool numpy = true;
  bool json = false;
};

struct Case {
  std::string name;
  InterpolationMode mode;
  DType dtype;
  Vec3 factor;
  bool blocky;
};

// EM-like uint8: smooth gradient plus gaussian noise.
Bytes em_u8(int edge) {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0.0, 12.0);
  Bytes out(size_t(edge) * edge * edge);
  size_t i = 0;
  for (int x = 0; x < edge; ++x)
    for (int y = 0; y < edge; ++y)
      for (int z = 0; z < edge; ++z) {
        const double v = 120 + 50 * std::sin(x / 9.0) + 30 * std::cos(y / 6.0) + 0.3 * z + noise(rng);
        out[i++] = std::byte(static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)));
      }
  return out;
}

// uint32 noise: every voxel a random id (the worst case for mode: nearly all blocks distinct).
Bytes noise_u32(int edge) {
  std::mt19937 rng(2);
  Bytes out(size_t(edge) * edge * edge * 4);
  for (size_t i = 0; i < out.size(); i += 4) store_le<uint32_t>(out.data() + i, rng() % 5000000);
  return out;
}

// Segmentation-like uint32: constant ids over irregular cells of ~10-30 voxels per axis whose
// boundaries are not aligned to the 2-blocks.
Bytes blocky_u32(int edge) {
  Bytes out(size_t(edge) * edge * edge * 4);
  size_t i = 0;
  for (int x = 0; x < edge; ++x)
    for (int y = 0; y < edge; ++y)
      for (int z = 0; z < edge; ++z) {
        const uint32_t cx = static_cast<uint32_t>((x + (y / 7) % 5) / 23);
        const uint32_t cy = static_cast<uint32_t>((y + (z / 5) % 3) / 19);
        const uint32_t cz = static_cast<uint32_t>((z + (x / 11) % 4) / 13);
        uint32_t id = cx * 73856093u ^ cy * 19349663u ^ cz * 83492791u;
        id = (id ^ (id >> 13)) * 0x5bd1e995u;
        store_le<uint32_t>(out.data() + 4 * i++, id % 100000 + 1);
      }
  return out;
}

double mbps(size_t bytes, double seconds) { return static_cast<double>(bytes) / seconds / 1e6; }

struct Row {
  std::string name;
  size_t input_bytes = 0;
  double wkfs_mbps = 0;
  double memcpy_mbps = 0;
  std::optional<double> numpy_mbps;
  std::optional<bool> identical;
  std::string engine;  // what ran the library's reference: numpy or numba
};

// Runs the numpy reference on `src`; returns its seconds per call and fills `numpy_out`.
std::optional<double> run_numpy(const Case& c, int edge, const Bytes& src, Bytes& numpy_out, int runs,
                                std::string& engine) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/wkfs-bench-downsample-XXXXXX";
  if (!mkdtemp(tmpl)) return std::nullopt;
  const fs::path dir(tmpl);
  const fs::path in = dir / "in.raw", out = dir / "out.raw", script = dir / "ref.py";
  std::optional<double> seconds;
  {
    std::ofstream(in, std::ios::binary).write(reinterpret_cast<const char*>(src.data()), std::streamsize(src.size()));
    std::ofstream(script) << kNumpyScript;
    std::ostringstream cmd;
    cmd << "/usr/bin/python3 " << script << " " << in << " " << out << " "
        << (c.dtype == DType::UInt8 ? "uint8" : "uint32") << " " << edge << " " << edge << " " << edge << " "
        << c.factor.x << " " << c.factor.y << " " << c.factor.z << " "
        << (c.mode == InterpolationMode::Median ? "median" : "mode") << " " << runs;
    if (FILE* p = popen(cmd.str().c_str(), "r")) {
      char line[256] = {0};
      const bool got = fgets(line, sizeof line, p) != nullptr;
      if (pclose(p) == 0 && got) {
        seconds = std::atof(line);
        engine = std::strstr(line, "numba") ? "numba" : "numpy";
      }
    }
    std::ifstream res(out, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(res), {}};
    numpy_out.resize(bytes.size());
    std::memcpy(numpy_out.data(), bytes.data(), bytes.size());
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return seconds;
}

Row measure(const Case& c, const Bytes& src, const Options& o) {
  const VoxelShape shape{1, {o.edge, o.edge, o.edge}};
  const DownsampleKernel kernel(c.mode, c.dtype, c.factor);
  Bytes dst(static_cast<size_t>(kernel.target_shape(shape).voxels()) * dtype_size(c.dtype));
  Row row{c.name, src.size()};
  row.wkfs_mbps = mbps(src.size(), median_seconds_per_call(
                                       [&] {
                                         kernel.reduce(shape, src, dst);
                                         asm volatile("" : : "r"(dst.data()) : "memory");
                                       },
                                       o.runs, o.min_run_seconds));
  Bytes copy(src.size());
  row.memcpy_mbps = mbps(src.size(), median_seconds_per_call(
                                         [&] {
                                           std::memcpy(copy.data(), src.data(), src.size());
                                           asm volatile("" : : "r"(copy.data()) : "memory");
                                         },
                                         o.runs, o.min_run_seconds));
  if (o.numpy) {
    Bytes numpy_out;
    if (auto seconds = run_numpy(c, o.edge, src, numpy_out, std::max(1, std::min(o.runs, 3)), row.engine)) {
      row.numpy_mbps = mbps(src.size(), *seconds);
      row.identical = numpy_out == dst;
    }
  }
  return row;
}

std::string fixed(double v, int prec) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}

int bench_downsample(const std::vector<std::string>& args_in) {
  Options o;
  std::vector<std::string> args = args_in;
  PyramidBenchOptions pyramid;
  bool mount = true;
  std::string error;
  if (!take_pyramid_options(args, pyramid, error)) fail(ErrorKind::InvalidArgument, error);
  auto int_arg = [&](size_t& i, int lo, int hi) {
    if (i + 1 >= args.size()) fail(ErrorKind::InvalidArgument, args[i] + " needs a value");
    const std::string& v = args[++i];
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < lo || n > hi)
      fail(ErrorKind::InvalidArgument, args[i - 1] + " " + v + ": expected an integer in [" +
                                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return static_cast<int>(n);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (args[i] == "--json") {
      o.json = true;
    } else if (args[i] == "--no-mount") {
      mount = false;
    } else if (args[i] == "--no-numpy") {
      o.numpy = false;
    } else if (args[i] == "--edge") {
      o.edge = int_arg(i, 8, 1024);
      if (o.edge % 2) fail(ErrorKind::InvalidArgument, "--edge must be even");
    } else if (args[i] == "--runs") {
      o.runs = int_arg(i, 1, 1000);
    } else if (args[i] == "--min-ms") {
      o.min_run_seconds = int_arg(i, 1, 60000) / 1000.0;
    } else {
      std::cerr << "wkfs bench downsample: unknown argument '" << args[i] << "'\n" << kUsage;
      return 2;
    }
  }
  const Bytes em = em_u8(o.edge), noise = noise_u32(o.edge), blocky = blocky_u32(o.edge);
  const std::vector<std::pair<Case, const Bytes*>> cases = {
      {{"median uint8 2-2-2 (EM)", InterpolationMode::Median, DType::UInt8, {2, 2, 2}, false}, &em},
      {{"median uint8 2-2-1 (EM)", InterpolationMode::Median, DType::UInt8, {2, 2, 1}, false}, &em},
      {{"mode uint32 2-2-2 noise", InterpolationMode::Mode, DType::UInt32, {2, 2, 2}, false}, &noise},
      {{"mode uint32 2-2-2 segmentation", InterpolationMode::Mode, DType::UInt32, {2, 2, 2}, true}, &blocky},
      {{"mode uint32 2-2-1 noise", InterpolationMode::Mode, DType::UInt32, {2, 2, 1}, false}, &noise},
      {{"mode uint32 2-2-1 segmentation", InterpolationMode::Mode, DType::UInt32, {2, 2, 1}, true}, &blocky},
  };
  std::vector<Row> rows;
  for (const auto& [c, data] : cases) rows.push_back(measure(c, *data, o));
  std::optional<PyramidBenchFigures> figures;
  if (mount) figures = run_pyramid_bench(pyramid);

  if (o.json) {
    nlohmann::json j = {{"bench", "downsample"}, {"edge", o.edge}, {"runs", o.runs}};
    j["cases"] = nlohmann::json::array();
    for (const Row& r : rows) {
      nlohmann::json c = {{"name", r.name},
                          {"input_bytes", r.input_bytes},
                          {"wkfs_mbps", r.wkfs_mbps},
                          {"memcpy_mbps", r.memcpy_mbps},
                          {"wkfs_vs_memcpy", r.wkfs_mbps / r.memcpy_mbps}};
      if (r.numpy_mbps) {
        c["numpy_mbps"] = *r.numpy_mbps;
        c["speedup_vs_numpy"] = r.wkfs_mbps / *r.numpy_mbps;
        c["identical_to_numpy"] = *r.identical;
        c["reference_engine"] = r.engine;
      }
      j["cases"].push_back(std::move(c));
    }
    if (figures) j["pyramid"] = pyramid_figures_json(*figures);
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "volume " << o.edge << "^3, one core, median of " << o.runs << " runs of >= "
            << o.min_run_seconds * 1000 << " ms; MB/s of input (1 MB = 1e6 bytes)\n\n"
            << std::left << std::setw(32) << "kernel" << std::right << std::setw(11) << "wkfs MB/s"
            << std::setw(13) << "memcpy MB/s" << std::setw(10) << "x memcpy" << std::setw(12)
            << "numpy MB/s" << std::setw(10) << "speed-up" << std::setw(11) << "identical" << "\n";
  for (const Row& r : rows)
    std::cout << std::left << std::setw(32) << r.name << std::right << std::setw(11) << fixed(r.wkfs_mbps, 0)
              << std::setw(13) << fixed(r.memcpy_mbps, 0) << std::setw(10) << fixed(r.wkfs_mbps / r.memcpy_mbps, 2)
              << std::setw(12) << (r.numpy_mbps ? fixed(*r.numpy_mbps, 1) : "-") << std::setw(10)
              << (r.numpy_mbps ? fixed(r.wkfs_mbps / *r.numpy_mbps, 1) + "x" : "-") << std::setw(11)
              << (r.identical ? (*r.identical ? "yes" : "NO") : "-") << "  " << r.engine << "\n";
  if (figures) {
    std::cout << "\n";
    print_pyramid_figures(*figures, std::cout);
  }
  return 0;
}

const BenchRegistrar reg{"downsample",
                         "kernels vs memcpy and numpy, then the lazy pyramid through a mount (first reads, full "
                         "pyramid, peak RSS)",
                         bench_downsample};

}  // namespace

}  // namespace wkfs::cli
