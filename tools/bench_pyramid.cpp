// The lazy pyramid through a real mount (see bench_pyramid.hpp). For a color uint8 and a
// segmentation uint32 layer of SIZE MiB each: registration time; first-read latency of one lazy
// 2-2-1 file beside reading and decoding its mag-1 source natively; the full pyramid
// (materialize --wait, both cores) beside a native read+decode of the whole mag 1 on as many threads; after a
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
#include <atomic>
#include <algorithm>
#include <mutex>
#include <span>

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
// chunk is decoded) on `threads` threads, the way the daemon computes a pyramid (one worker per
// core). Each thread reads whole-shard-deep z slabs of the box into one buffer it allocated and
// touched before the clock starts, so the baseline pays no first-touch page faults (they were
// half of the old one-thread baseline's time) and every dataset handle is opened untimed.
double native_read_s(const fs::path& dataset, const std::string& layer, const BoundingBox& box, unsigned threads) {
  threads = std::max(1u, threads);
  auto view0 = Dataset::open(dataset)->mag_view(layer, Mag(1, 1, 1));
  const int64_t depth = std::max<int64_t>(1, view0->array().meta().shard_shape.back());
  std::vector<BoundingBox> slabs;
  for (int64_t z0 = box.top_left.z; z0 < box.top_left.z + box.size.z; z0 += depth)
    slabs.push_back(BoundingBox{{box.top_left.x, box.top_left.y, z0},
                                {box.size.x, box.size.y, std::min<int64_t>(depth, box.top_left.z + box.size.z - z0)}});
  std::vector<decltype(view0)> views{view0};
  for (unsigned i = 1; i < threads; ++i) views.push_back(Dataset::open(dataset)->mag_view(layer, Mag(1, 1, 1)));
  std::vector<Bytes> buffers(threads);
  for (auto& b : buffers) {
    b.resize(view0->buffer_size(slabs.front()));
    std::memset(b.data(), 1, b.size());  // pre-fault
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  const double t = now_s();
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      try {
        for (size_t s = next++; s < slabs.size(); s = next++) {
          std::span<std::byte> out(buffers[i].data(), views[i]->buffer_size(slabs[s]));
          views[i]->read(slabs[s], out);
        }
      } catch (...) {
        std::lock_guard lock(error_mu);
        error = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  const double seconds = now_s() - t;
  if (error) std::rethrow_exception(error);
  return seconds;
}

// Median of three runs of native_read_s (the machine is shared: one run is noise).
double native_read_median_s(const fs::path& dataset, const std::string& layer, const BoundingBox& box,
                            unsigned threads) {
  std::vector<double> runs;
  for (int i = 0; i < 3; ++i) runs.push_back(native_read_s(dataset, layer, box, threads));
  std::sort(runs.begin(), runs.end());
  return runs[1];
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
                                  const std::string& layer, bool seg, int64_t edge, unsigned threads) {
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
  f.first_source_s = native_read_median_s(src, layer, footprint(src / layer / "2-2-1", Mag::parse("2-2-1"), edge), threads);

  t = now_s();
  capture(ctl + " materialize --wait");
  f.full_pyramid_s = now_s() - t;
  f.native_layer_s = native_read_median_s(src, layer, BoundingBox{{0, 0, 0}, Vec3::full(edge)}, threads);

  // everything lazy again, then one file of the coarsest mag: the whole chain below it, on demand
  capture(ctl + " redownsample");
  f.coarse_file = layer + "/" + f.coarsest_mag + "/" + file0.string();
  f.coarse_read_s = timed_cat(mnt / layer / f.coarsest_mag / file0);
  const Mag coarsest = Mag::parse(f.coarsest_mag);
  f.coarse_source_s = native_read_median_s(src, layer, footprint(src / layer / f.coarsest_mag, coarsest, edge), threads);
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
  // the daemon's lazy workers: LazyConfig::threads = 0, one per core
  out.threads = std::max(1u, std::thread::hardware_concurrency());

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
    out.layers.push_back(measure_layer(self, src, mnt, "color", false, edge_of(1), out.threads));
    out.layers.push_back(measure_layer(self, src, mnt, "segmentation", true, edge_of(4), out.threads));
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
     << ", " << f.threads << " lazy workers; data generated in " << static_cast<int>(f.generate_s) << " s)\n"
     << "limits: read+decode of exactly the source bytes on " << f.threads
     << " threads, buffers reused and pre-faulted, same process and run, median of 3;\n"
     << "page cache warm (cold-read figures are not printed)\n";
  std::snprintf(line, sizeof line, "%-62s %12s %12s %7s %8s\n", "what a user waits for", "measured", "limit", "ratio",
                "goal");
  os << line;
  for (const auto& l : f.layers) {
    const double mb = l.mib * (1 << 20) / 1e6;
    const std::string name = l.layer + " " + l.dtype + " " + std::to_string(static_cast<int>(l.mib)) + " MiB";
    std::snprintf(line, sizeof line, "%-62s %7.0f MB/s %7.0f MB/s %7.2f %8s\n",
                  ("full pyramid (materialize --wait), " + name).c_str(), mb / l.full_pyramid_s, mb / l.native_layer_s,
                  ratio(l.native_layer_s, l.full_pyramid_s), ">= 0.8");
    os << line;
  }
  for (const auto& l : f.layers) {
    std::snprintf(line, sizeof line, "%-62s %9.1f ms %9.1f ms %7.2f %8s\n",
                  ("first read of one 2-2-1 file, " + l.layer).c_str(), l.first_read_s * 1e3, l.first_source_s * 1e3,
                  ratio(l.first_read_s, l.first_source_s), "<= 1.5");
    os << line;
  }
  for (const auto& l : f.layers) {
    std::snprintf(line, sizeof line, "%-62s %10.2f s %10.2f s %7.2f %8s\n",
                  ("first read of " + l.coarsest_mag + " file 0 (whole chain), " + l.layer).c_str(), l.coarse_read_s,
                  l.coarse_source_s, ratio(l.coarse_read_s, l.coarse_source_s), "<= 1.3");
    os << line;
  }
  const double caps = static_cast<double>(f.memory_mb + f.chunk_cache_mb);
  std::snprintf(line, sizeof line, "%-62s %8.0f MiB %8.0f MiB %7.2f %8s\n", "daemon peak RSS (VmHWM) vs caps",
                f.peak_rss_mib, caps, ratio(f.peak_rss_mib, caps), "<= +64MiB");
  os << line;
  std::snprintf(line, sizeof line, "(lazy memory budget's own peak %.0f MiB of its %lld MiB cap; registration %.1f / %.1f ms)\n",
                f.lazy_peak_mib, static_cast<long long>(f.memory_mb),
                f.layers.empty() ? 0.0 : f.layers[0].register_s * 1e3,
                f.layers.size() < 2 ? 0.0 : f.layers[1].register_s * 1e3);
  os << line;
}

nlohmann::json pyramid_figures_json(const PyramidBenchFigures& f) {
  nlohmann::json j = {{"memory_mb", f.memory_mb},     {"chunk_cache_mb", f.chunk_cache_mb},
                      {"generate_s", f.generate_s},   {"peak_rss_mib", f.peak_rss_mib},
                      {"lazy_peak_mib", f.lazy_peak_mib}, {"threads", f.threads},
                      {"peak_rss_vs_caps", ratio(f.peak_rss_mib, static_cast<double>(f.memory_mb + f.chunk_cache_mb))},
                      {"peak_rss_over_caps_mib", f.peak_rss_mib - static_cast<double>(f.memory_mb + f.chunk_cache_mb)},
                      {"baseline", "read+decode of the source bytes, threads = lazy workers, reused pre-faulted buffers, median of 3, warm page cache"},
                      {"layers", nlohmann::json::array()}};
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
                           {"native_mag1_read_decode_mbps", mb / l.native_layer_s},
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
