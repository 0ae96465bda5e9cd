// The lazy pyramid through a real mount (see bench_pyramid.hpp). For a color uint8 and a
// segmentation uint32 layer of SIZE MiB each: registration time; first-read latency of one lazy
// 2-2-1 file beside reading and decoding its mag-1 source natively; the full pyramid
// (materialize --wait, both cores) beside a native one-thread read of the whole mag 1; after a
// redownsample, the first read of one file of the coarsest mag (the chain below it computed on
// demand) beside a native read of its mag-1 footprint; the daemon's peak RSS against its caps.
#include "tools/bench_pyramid.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "fs/mount_table.hpp"
#include "tools/bench.hpp"

namespace wkfs::cli {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs a shell command and returns its standard output; throws if it fails.
std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) fail_errno("popen " + cmd);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (::pclose(p) != 0) fail(ErrorKind::Io, "`" + cmd + "` failed: " + out);
  return out;
}

long vm_hwm_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A layer of edge^3 voxels: blocky cells (segmentation) or a smooth texture with noise (color),
// written one shard-deep slab at a time so no shard is rewritten.
void write_layer(Dataset& ds, const std::string& name, bool seg, int64_t edge) {
  LayerSpec spec;
  spec.name = name;
  spec.category = seg ? Category::Segmentation : Category::Color;
  spec.dtype = seg ? DType::UInt32 : DType::UInt8;
  spec.bounding_box = BoundingBox{{0, 0, 0}, Vec3::full(edge)};
  ds.add_layer(spec);
  ds.add_mag(name, Mag(1, 1, 1));
  auto view = ds.mag_view(name, Mag(1, 1, 1));
  const int64_t depth = view->array().meta().shard_shape.back();
  uint32_t rnd = 12345;
  for (int64_t z0 = 0; z0 < edge; z0 += depth) {
    const int64_t d = std::min(depth, edge - z0);
    const BoundingBox slab{{0, 0, z0}, {edge, edge, d}};
    Bytes buf(view->buffer_size(slab));
    size_t i = 0;
    for (int64_t x = 0; x < edge; ++x)
      for (int64_t y = 0; y < edge; ++y)
        for (int64_t z = z0; z < z0 + d; ++z, ++i) {
          rnd = rnd * 1664525u + 1013904223u;
          if (seg) {
            const uint32_t id = static_cast<uint32_t>((x / 23) * 1000003 + (y / 19) * 1009 + (z / 11)) % 900000 + 1;
            std::memcpy(buf.data() + i * 4, &id, 4);
          } else {
            buf[i] = std::byte(static_cast<uint8_t>(120 + 60 * std::sin(0.05 * static_cast<double>(x + y + z)) + (rnd >> 28)));
          }
        }
    view->write(slab, buf);
  }
}

// Seconds to read and decode a mag-1 box natively (no mount, and no decoded-chunk cache: every
// chunk is decoded), in slabs of at most 64 z so the bench itself stays small.
double native_read_s(const fs::path& dataset, const std::string& layer, const BoundingBox& box) {
  auto view = Dataset::open(dataset)->mag_view(layer, Mag(1, 1, 1));
  const double t = now_s();
  for (int64_t z0 = box.top_left.z; z0 < box.top_left.z + box.size.z; z0 += 64) {
    const BoundingBox slab{{box.top_left.x, box.top_left.y, z0},
                           {box.size.x, box.size.y, std::min<int64_t>(64, box.top_left.z + box.size.z - z0)}};
    Bytes buf(view->buffer_size(slab));
    view->read(slab, buf);
  }
  return now_s() - t;
}

double timed_cat(const fs::path& file) {
  const double t = now_s();
  const Bytes data = read_file(file);
  if (data.empty()) fail(ErrorKind::Io, file.string() + " read empty");
  return now_s() - t;
}

// The mag-1 box that file 0 of `mag` covers (its shard box scaled by the mag, clipped to the layer).
BoundingBox footprint(const fs::path& mag_dir, const Mag& mag, int64_t edge) {
  const auto arr = open_array(mag_dir);
  const VecN& shard = arr->meta().shard_shape;  // [c, x, y, z]
  const Vec3& m = mag.vec();
  return BoundingBox{{0, 0, 0}, Vec3{std::min(edge, shard[1] * m.x), std::min(edge, shard[2] * m.y),
                                     std::min(edge, shard[3] * m.z)}};
}

PyramidLayerFigures measure_layer(const std::string& self, const fs::path& src, const fs::path& mnt,
                                  const std::string& layer, bool seg, int64_t edge) {
  PyramidLayerFigures f;
  f.layer = layer;
  f.dtype = seg ? "uint32" : "uint8";
  f.edge = edge;
  f.mib = static_cast<double>(edge * edge * edge * (seg ? 4 : 1)) / (1 << 20);
  const std::string ctl = self + " ctl " + (mnt / layer).string();

  double t = now_s();
  const auto reply = nlohmann::json::parse(capture(ctl + " downsample"));
  f.register_s = now_s() - t;
  const auto mags = reply.at("result").at("mags").get<std::vector<std::string>>();
  if (mags.empty() || mags.front() != "2-2-1") fail(ErrorKind::Io, "unexpected pyramid: " + reply.dump());
  f.coarsest_mag = mags.back();
  const fs::path file0 = fs::path("c") / "0" / "0" / "0" / "0";

  f.first_read_s = timed_cat(mnt / layer / "2-2-1" / file0);
  f.first_source_s = native_read_s(src, layer, footprint(src / layer / "2-2-1", Mag::parse("2-2-1"), edge));

  t = now_s();
  capture(ctl + " materialize --wait");
  f.full_pyramid_s = now_s() - t;
  f.native_layer_s = native_read_s(src, layer, BoundingBox{{0, 0, 0}, Vec3::full(edge)});

  // everything lazy again, then one file of the coarsest mag: the whole chain below it, on demand
  capture(ctl + " redownsample");
  f.coarse_file = layer + "/" + f.coarsest_mag + "/" + file0.string();
  f.coarse_read_s = timed_cat(mnt / layer / f.coarsest_mag / file0);
  const Mag coarsest = Mag::parse(f.coarsest_mag);
  f.coarse_source_s = native_read_s(src, layer, footprint(src / layer / f.coarsest_mag, coarsest, edge));
  return f;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

}  // namespace

bool take_pyramid_options(std::vector<std::string>& args, PyramidBenchOptions& o, std::string& error) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a != "--size-mb" && a != "--memory-mb" && a != "--chunk-cache-mb" && a != "--dir") {
      rest.push_back(a);
      continue;
    }
    if (i + 1 >= args.size()) {
      error = a + " needs a value";
      return false;
    }
    const std::string& v = args[++i];
    if (a == "--dir") {
      o.dir = v;
      continue;
    }
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
      error = a + " " + v + ": expected a non-negative integer";
      return false;
    }
    const int64_t n = std::stoll(v);
    (a == "--size-mb" ? o.size_mb : a == "--memory-mb" ? o.memory_mb : o.chunk_cache_mb) = n;
  }
  args = std::move(rest);
  return true;
}

PyramidBenchFigures run_pyramid_bench(const PyramidBenchOptions& o) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const fs::path src = o.dir / "dataset", mnt = o.dir / "mnt";
  if (wkfs::mount::is_mount_point(mnt)) capture(self + " unmount " + mnt.string());
  fs::remove_all(o.dir);
  fs::create_directories(mnt);
  PyramidBenchFigures out;
  out.memory_mb = o.memory_mb;
  out.chunk_cache_mb = o.chunk_cache_mb;

  // edge^3 * bytes ~ size, a multiple of 32
  auto edge_of = [&](int bytes) {
    return std::max<int64_t>(64, static_cast<int64_t>(std::cbrt(static_cast<double>(o.size_mb << 20) / bytes) / 32) * 32);
  };
  double t = now_s();
  {
    auto ds = Dataset::create(src, VoxelSize{{11.24, 11.24, 25}, "nanometer"});
    write_layer(*ds, "color", false, edge_of(1));
    write_layer(*ds, "segmentation", true, edge_of(4));
  }
  out.generate_s = now_s() - t;
  ::sync();  // the generated data is on disk before anything is timed

  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string opts = "lazy_memory_mb=" + std::to_string(o.memory_mb) +
                             ",chunk_cache_mb=" + std::to_string(o.chunk_cache_mb);
    ::execl(self.c_str(), self.c_str(), "mount", "-f", src.c_str(), mnt.c_str(), "-o", opts.c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 200 && !wkfs::mount::is_mount_point(mnt); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!wkfs::mount::is_mount_point(mnt)) fail(ErrorKind::Io, "the mount did not come up");
  std::exception_ptr error;
  try {
    out.layers.push_back(measure_layer(self, src, mnt, "color", false, edge_of(1)));
    out.layers.push_back(measure_layer(self, src, mnt, "segmentation", true, edge_of(4)));
    out.peak_rss_mib = static_cast<double>(vm_hwm_kb(pid)) / 1024;
    const auto status = nlohmann::json::parse(capture(self + " ctl " + mnt.string() + " status"));
    for (const auto& [name, ds] : status.at("lazy").items())
      out.lazy_peak_mib = std::max(out.lazy_peak_mib, ds.value("memory_peak_bytes", 0.0) / (1 << 20));
  } catch (...) {
    error = std::current_exception();
  }
  std::system((self + " unmount " + mnt.string() + " > /dev/null 2>&1").c_str());
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (error) std::rethrow_exception(error);
  return out;
}

void print_pyramid_figures(const PyramidBenchFigures& f, std::ostream& os) {
  char line[512];
  os << "lazy pyramid through the mount (lazy_memory_mb=" << f.memory_mb << ", chunk_cache_mb=" << f.chunk_cache_mb
     << "; data generated in " << static_cast<int>(f.generate_s) << " s)\n";
  std::snprintf(line, sizeof line, "%-20s %9s %9s | %11s %11s %6s | %16s %11s %11s %6s\n", "layer", "mag 1", "register",
                "first read", "native src", "ratio", "coarsest file", "first read", "native src", "ratio");
  os << line;
  for (const auto& l : f.layers) {
    std::snprintf(line, sizeof line, "%-20s %6.0f MiB %6.1f ms | %8.1f ms %8.1f ms %6.2f | %16s %8.2f s %8.2f s %6.2f\n",
                  (l.layer + " " + l.dtype).c_str(), l.mib, l.register_s * 1e3, l.first_read_s * 1e3,
                  l.first_source_s * 1e3, ratio(l.first_read_s, l.first_source_s), (l.coarsest_mag + " file 0").c_str(),
                  l.coarse_read_s, l.coarse_source_s, ratio(l.coarse_read_s, l.coarse_source_s));
    os << line;
  }
  std::snprintf(line, sizeof line, "\n%-20s %14s %14s %16s %8s\n", "full pyramid", "materialize", "MB/s of mag 1",
                "native read MB/s", "ratio");
  os << line;
  for (const auto& l : f.layers) {
    const double mb = l.mib * (1 << 20) / 1e6;
    std::snprintf(line, sizeof line, "%-20s %12.1f s %14.1f %16.1f %8.2f\n", (l.layer + " " + l.dtype).c_str(),
                  l.full_pyramid_s, mb / l.full_pyramid_s, mb / l.native_layer_s,
                  ratio(l.native_layer_s, l.full_pyramid_s));
    os << line;
  }
  std::snprintf(line, sizeof line,
                "\ndaemon peak RSS %.0f MiB; caps: lazy memory %lld MiB (its peak use %.0f MiB) + decoded-chunk cache "
                "%lld MiB\n",
                f.peak_rss_mib, static_cast<long long>(f.memory_mb), f.lazy_peak_mib,
                static_cast<long long>(f.chunk_cache_mb));
  os << line;
}

nlohmann::json pyramid_figures_json(const PyramidBenchFigures& f) {
  nlohmann::json j = {{"memory_mb", f.memory_mb},     {"chunk_cache_mb", f.chunk_cache_mb},
                      {"generate_s", f.generate_s},   {"peak_rss_mib", f.peak_rss_mib},
                      {"lazy_peak_mib", f.lazy_peak_mib}, {"layers", nlohmann::json::array()}};
  for (const auto& l : f.layers) {
    const double mb = l.mib * (1 << 20) / 1e6;
    j["layers"].push_back({{"layer", l.layer},
                           {"dtype", l.dtype},
                           {"edge", l.edge},
                           {"mag1_mib", l.mib},
                           {"register_ms", l.register_s * 1e3},
                           {"first_read_ms", l.first_read_s * 1e3},
                           {"first_read_native_source_ms", l.first_source_s * 1e3},
                           {"first_read_vs_native", ratio(l.first_read_s, l.first_source_s)},
                           {"coarsest_mag", l.coarsest_mag},
                           {"coarsest_first_read_s", l.coarse_read_s},
                           {"coarsest_native_source_s", l.coarse_source_s},
                           {"coarsest_vs_native", ratio(l.coarse_read_s, l.coarse_source_s)},
                           {"full_pyramid_s", l.full_pyramid_s},
                           {"full_pyramid_mbps", mb / l.full_pyramid_s},
                           {"native_mag1_read_mbps", mb / l.native_layer_s},
                           {"full_pyramid_vs_native_read", ratio(l.native_layer_s, l.full_pyramid_s)}});
  }
  return j;
}

namespace {

int run(const std::vector<std::string>& args_in) {
  std::vector<std::string> args = args_in;
  PyramidBenchOptions o;
  std::string error;
  bool json = false;
  if (!take_pyramid_options(args, o, error)) fail(ErrorKind::InvalidArgument, error);
  for (const auto& a : args) {
    if (a == "--json") {
      json = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << "usage: wkfs bench pyramid [--size-mb 1024] [--memory-mb 256] [--chunk-cache-mb 256] [--dir D] [--json]\n"
                   "  The lazy-pyramid part of `wkfs bench downsample` alone.\n";
      return 0;
    } else {
      fail(ErrorKind::InvalidArgument, "wkfs bench pyramid: unknown argument '" + a + "'");
    }
  }
  const auto figures = run_pyramid_bench(o);
  if (json) std::cout << pyramid_figures_json(figures).dump(2) << "\n";
  else print_pyramid_figures(figures, std::cout);
  return 0;
}

const BenchRegistrar reg{"pyramid", "lazy pyramid through a mount alone (part of `bench downsample`)", run};

}  // namespace
}  // namespace wkfs::cli
