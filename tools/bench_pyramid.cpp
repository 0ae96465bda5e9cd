// `wkfs bench pyramid`: the lazy pyramid through a real mount. For a color uint8 and a segmentation
// uint32 layer of SIZE MiB each: first-read latency of one lazy file beside reading and decoding its
// source natively, the full pyramid (materialize --wait, both cores) in MB/s of mag-1 input, and
// the daemon's peak RSS against the memory cap. Complements `wkfs bench downsample` (kernels).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "formats/chunk_cache.hpp"
#include "tools/bench.hpp"

namespace wkfs::cli {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int run_cmd(const std::string& cmd) { return std::system((cmd + " > /dev/null").c_str()); }

bool mounted(const fs::path& mnt) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + mnt.string() + " ") != std::string::npos) return true;
  return false;
}

long vm_hwm_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A layer of edge^3 voxels: blocky cells (segmentation) or a smooth texture with noise (color).
void write_layer(Dataset& ds, const std::string& name, bool seg, int64_t edge) {
  LayerSpec spec;
  spec.name = name;
  spec.category = seg ? Category::Segmentation : Category::Color;
  spec.dtype = seg ? DType::UInt32 : DType::UInt8;
  spec.bounding_box = BoundingBox{{0, 0, 0}, Vec3::full(edge)};
  ds.add_layer(spec);
  ds.add_mag(name, Mag(1, 1, 1));
  auto view = ds.mag_view(name, Mag(1, 1, 1));
  for (int64_t z0 = 0; z0 < edge; z0 += 32) {
    int64_t d = std::min<int64_t>(32, edge - z0);
    BoundingBox slab{{0, 0, z0}, {edge, edge, d}};
    Bytes buf(view->buffer_size(slab));
    size_t i = 0;
    uint32_t rnd = 12345;
    for (int64_t x = 0; x < edge; ++x)
      for (int64_t y = 0; y < edge; ++y)
        for (int64_t z = z0; z < z0 + d; ++z, ++i) {
          rnd = rnd * 1664525u + 1013904223u;
          if (seg) {
            uint32_t id = static_cast<uint32_t>((x / 23) * 1000003 + (y / 19) * 1009 + (z / 11)) % 900000 + 1;
            std::memcpy(buf.data() + i * 4, &id, 4);
          } else {
            buf[i] = std::byte(static_cast<uint8_t>(120 + 60 * std::sin(0.05 * static_cast<double>(x + y + z)) + (rnd >> 28)));
          }
        }
    view->write(slab, buf);
  }
}

int run(const std::vector<std::string>& args) {
  int64_t size_mb = 1024, cap_mb = 256;
  fs::path dir = "/var/tmp/wkfs-bench-pyramid";
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--size-mb") size_mb = std::stoll(args[i + 1]);
    else if (args[i] == "--memory-mb") cap_mb = std::stoll(args[i + 1]);
    else if (args[i] == "--dir") dir = args[i + 1];
    else fail(ErrorKind::InvalidArgument, "usage: wkfs bench pyramid [--size-mb 1024] [--memory-mb 256] [--dir D]");
  }
  std::string self = fs::read_symlink("/proc/self/exe").string();
  fs::path src = dir / "dataset", mnt = dir / "mnt";
  if (mounted(mnt)) run_cmd(self + " unmount " + mnt.string());
  fs::remove_all(dir);
  fs::create_directories(mnt);
  auto ds = Dataset::create(src, VoxelSize{{11.24, 11.24, 25}, "nanometer"});
  auto edge_of = [&](int bytes) { return static_cast<int64_t>(std::cbrt(static_cast<double>(size_mb << 20) / bytes) / 32) * 32; };
  double t = now_s();
  write_layer(*ds, "color", false, edge_of(1));
  write_layer(*ds, "segmentation", true, edge_of(4));
  std::cout << "generated color " << edge_of(1) << "^3 uint8 and segmentation " << edge_of(4) << "^3 uint32 in "
            << now_s() - t << " s\n";

  pid_t pid = ::fork();
  if (pid == 0) {
    std::string cap = "lazy_memory_mb=" + std::to_string(cap_mb);
    ::execl(self.c_str(), self.c_str(), "mount", "-f", src.c_str(), mnt.c_str(), "-o", cap.c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 200 && !mounted(mnt); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!mounted(mnt)) fail(ErrorKind::Io, "the mount did not come up");

  std::printf("\n%-13s %12s %12s %8s %14s %10s\n", "layer", "first read", "native src", "ratio", "full pyramid", "MB/s");
  for (const auto& [layer, bytes] : {std::pair<std::string, int>{"color", 1}, {"segmentation", 4}}) {
    int64_t edge = edge_of(bytes);
    run_cmd(self + " ctl " + (mnt / layer).string() + " downsample");
    // one lazy 2-2-1 shard (128^2 x 128 target) and, natively, just its source region of mag 1
    t = now_s();
    auto data = read_file(mnt / layer / "2-2-1" / "c" / "0" / "0" / "0" / "0");
    double first = now_s() - t;
    BoundingBox source{{0, 0, 0}, Vec3{std::min<int64_t>(256, edge), std::min<int64_t>(256, edge), std::min<int64_t>(128, edge)}};
    ChunkCache::instance().clear();
    auto view = Dataset::open(src)->mag_view(layer, Mag(1, 1, 1));
    Bytes buf(view->buffer_size(source));
    t = now_s();
    view->read(source, buf);
    double native = now_s() - t;
    t = now_s();
    run_cmd(self + " ctl " + (mnt / layer).string() + " materialize --wait");
    double full = now_s() - t;
    double mb = static_cast<double>(edge * edge * edge * bytes) / (1 << 20);
    std::printf("%-13s %10.1f ms %10.1f ms %8.2f %12.1f s %10.1f\n", layer.c_str(), first * 1e3, native * 1e3,
                first / native, full, mb / full);
  }
  long hwm = vm_hwm_kb(pid);
  std::printf("\ndaemon peak RSS %.0f MiB; lazy memory cap %lld MiB + decoded-chunk cache %zu MiB\n",
              static_cast<double>(hwm) / 1024, static_cast<long long>(cap_mb), ChunkCache::instance().capacity() >> 20);
  run_cmd(self + " unmount " + mnt.string());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return 0;
}

BenchRegistrar reg{"pyramid", "lazy pyramid through a mount: first read, full pyramid MB/s, peak RSS", run};

}  // namespace
}  // namespace wkfs::cli
