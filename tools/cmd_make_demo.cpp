// `wkfs make-demo DIR`: writes the built-in demo dataset (synthetic EM-like color and a matching
// segmentation), so the demo and the benchmarks need no download.
#include <cmath>
#include <iostream>
#include <random>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "tools/command.hpp"

namespace wkfs::cli {
namespace {

// Cell id of a voxel: nearest of a jittered grid of seeds (a cheap Voronoi tessellation).
uint32_t cell_of(int64_t x, int64_t y, int64_t z, int64_t cell) {
  auto hash = [](int64_t a, int64_t b, int64_t c) {
    uint64_t h = static_cast<uint64_t>(a) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(b) * 0xC2B2AE3D27D4EB4Full ^
                 static_cast<uint64_t>(c) * 0x165667B19E3779F9ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
  };
  int64_t gx = x / cell, gy = y / cell, gz = z / cell;
  double best = 1e30;
  uint32_t id = 0;
  for (int64_t dx = -1; dx <= 1; ++dx)
    for (int64_t dy = -1; dy <= 1; ++dy)
      for (int64_t dz = -1; dz <= 1; ++dz) {
        int64_t cx = gx + dx, cy = gy + dy, cz = gz + dz;
        uint64_t h = hash(cx, cy, cz);
        double sx = static_cast<double>(cx * cell) + static_cast<double>(h % static_cast<uint64_t>(cell));
        double sy = static_cast<double>(cy * cell) + static_cast<double>((h >> 16) % static_cast<uint64_t>(cell));
        double sz = static_cast<double>(cz * cell) + static_cast<double>((h >> 32) % static_cast<uint64_t>(cell));
        double d = (sx - static_cast<double>(x)) * (sx - static_cast<double>(x)) +
                   (sy - static_cast<double>(y)) * (sy - static_cast<double>(y)) +
                   (sz - static_cast<double>(z)) * (sz - static_cast<double>(z)) * 4;
        if (d < best) best = d, id = static_cast<uint32_t>(h % 1000000 + 1);
      }
  return id;
}

int run(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help") {
    std::cout << "usage: wkfs make-demo DIR [--size X,Y,Z]\n"
                 "Writes a demo dataset: layer 'color' (uint8, EM-like) and 'segmentation' (uint32 cells),\n"
                 "zarr3 with the library's defaults, default size 512,512,128.\n";
    return args.empty() ? 2 : 0;
  }
  Vec3 size{512, 512, 128};
  if (args.size() == 3 && args[1] == "--size") {
    if (std::sscanf(args[2].c_str(), "%ld,%ld,%ld", &size.x, &size.y, &size.z) != 3 || size.min_dim() <= 0)
      fail(ErrorKind::InvalidArgument, "--size wants X,Y,Z, got '" + args[2] + "'");
  } else if (args.size() != 1) {
    fail(ErrorKind::InvalidArgument, "unexpected arguments; see wkfs make-demo --help");
  }
  auto ds = Dataset::create(args[0], VoxelSize{{11.24, 11.24, 25}, "nanometer"});
  BoundingBox bbox{{0, 0, 0}, size};
  for (bool seg : {false, true}) {
    LayerSpec spec;
    spec.name = seg ? "segmentation" : "color";
    spec.category = seg ? Category::Segmentation : Category::Color;
    spec.dtype = seg ? DType::UInt32 : DType::UInt8;
    spec.bounding_box = bbox;
    if (seg) spec.largest_segment_id = 1000000;
    ds->add_layer(spec);
    ds->add_mag(spec.name, Mag(1, 1, 1));
    auto view = ds->mag_view(spec.name, Mag(1, 1, 1));
    // one z slab of 32 at a time keeps memory small
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0, 12);
    for (int64_t z0 = 0; z0 < size.z; z0 += 32) {
      int64_t d = std::min<int64_t>(32, size.z - z0);
      BoundingBox slab{{0, 0, z0}, {size.x, size.y, d}};
      size_t n = static_cast<size_t>(size.x * size.y * d);
      Bytes buf(n * (seg ? 4 : 1));
      size_t i = 0;
      for (int64_t x = 0; x < size.x; ++x)
        for (int64_t y = 0; y < size.y; ++y)
          for (int64_t z = z0; z < z0 + d; ++z, ++i) {
            uint32_t cell = cell_of(x, y, z, 24);
            if (seg) {
              std::memcpy(buf.data() + i * 4, &cell, 4);
            } else {
              // membranes dark, cytoplasm bright-ish with texture and noise
              bool membrane = cell != cell_of(x + 1, y, z, 24) || cell != cell_of(x, y + 1, z, 24);
              double v = (membrane ? 60 : 170) + 20 * std::sin(static_cast<double>(x + y) * 0.05) + noise(rng);
              buf[i] = std::byte(static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)));
            }
          }
      view->write(slab, buf);
    }
  }
  std::cout << "wrote demo dataset " << args[0] << " (color uint8 + segmentation uint32, " << size.to_string()
            << " voxels)\n";
  return 0;
}

Registrar reg{{"make-demo", "write the built-in demo dataset (synthetic EM volume + segmentation)", run}};

}  // namespace
}  // namespace wkfs::cli
