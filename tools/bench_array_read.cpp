// `wkfs bench array-read`: local region reads through Array::read (shard files as ShardFile
// handles, pread underneath) beside, in the same process and on the same files, the read path the
// formats had before the storage abstraction (open + fstat per shard, the index cache keyed by
// fstat, pread of each chunk, decode, copy), kept here verbatim as the baseline. The two outputs
// are compared byte for byte; the figure that matters is new / old.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <map>
#include <random>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/nd_copy.hpp"
#include "formats/array.hpp"
#include "formats/zarr3_metadata.hpp"
#include "tools/bench.hpp"

namespace wkfs::cli {

namespace {

const char* kUsage =
    "usage: wkfs bench array-read [--edge N] [--runs N] [--dir D]\n"
    "  Writes an N^3 uint8 Zarr3 mag (default 256; chunks 32^3, shards 128^3, zstd) of blocky data\n"
    "  to a folder in D (default $TMPDIR), then reads it whole and in 4096 random 8^3 boxes with\n"
    "  Array::read (new) and with the previous read path (old), alternating, no chunk cache.\n"
    "  Prints MB/s (1e6 bytes of decoded voxels) of each, the median of --runs runs, and new/old.\n";

// The pre-abstraction read path of Zarr3Array/Array::read_shards for sharded arrays (commit
// ecf8c0c), self-contained: per shard open + fstat, per chunk fstat + index cache + pread + decode.
class OldReader {
 public:
  OldReader(const fs::path& dir, const std::string& zarr_json)
      : dir_(dir), md_(parse_zarr3_metadata(zarr_json, (dir / "zarr.json").string())) {}

  void read(const NdBox& box, MutableByteSpan out) {
    const ArrayMeta& m = md_.meta;
    const size_t es = m.elem_size();
    VecN zero(box.rank(), 0);
    fill_box(es, out.data(), box.shape, zero, box.shape, m.fill_value.data());
    NdBox inside = box.intersect(NdBox{VecN(box.rank(), 0), m.shape});
    const VecN cps = m.chunks_per_shard();
    for (const VecN& shard : shards_covering(m, inside)) {
      fs::path file = dir_ / md_.key.key(shard);
      int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      UniqueFd guard(fd);
      struct stat st {};
      ::fstat(fd, &st);
      VecN sb(shard.size());
      for (size_t i = 0; i < shard.size(); ++i) sb[i] = shard[i] * m.shard_shape[i];
      NdBox in_shard = inside.intersect(NdBox{sb, m.shard_shape});
      ArrayMeta chunk_grid = m;
      chunk_grid.shard_shape = m.chunk_shape;
      for (const VecN& chunk : shards_covering(chunk_grid, in_shard)) {
        VecN cb(chunk.size()), local(chunk.size());
        for (size_t i = 0; i < chunk.size(); ++i) {
          cb[i] = chunk[i] * m.chunk_shape[i];
          local[i] = chunk[i] - shard[i] * cps[i];
        }
        struct stat st2 {};
        ::fstat(fd, &st2);  // the old load_index stat'ed again for its cache key
        const std::string key = file.string() + ":" + std::to_string(st2.st_ino) + ":" +
                                std::to_string(st2.st_mtim.tv_nsec) + ":" + std::to_string(st2.st_size);
        auto it = indexes_.find(key);
        if (it == indexes_.end()) {
          const ShardIndexLayout& layout = *md_.sharding;
          uint64_t at = shard_index_offset(layout, static_cast<uint64_t>(st.st_size), file.string());
          Bytes raw = pread_exact(fd, at, layout.encoded_size(), file);
          it = indexes_.emplace(key, decode_shard_index(raw, layout, static_cast<uint64_t>(st.st_size), file.string())).first;
        }
        size_t li = 0;
        for (size_t i = 0; i < local.size(); ++i) li = li * static_cast<size_t>(cps[i]) + static_cast<size_t>(local[i]);
        if (!it->second.stored(li)) continue;
        Bytes stored = pread_exact(fd, it->second.offset(li), static_cast<size_t>(it->second.nbytes(li)), file);
        Bytes data = md_.codec.decode(stored, m.chunk_shape, es, file.string());
        NdBox part = in_shard.intersect(NdBox{cb, m.chunk_shape});
        VecN so(part.begin.size()), dof(part.begin.size());
        for (size_t i = 0; i < so.size(); ++i) {
          so[i] = part.begin[i] - cb[i];
          dof[i] = part.begin[i] - box.begin[i];
        }
        copy_box(es, data.data(), m.chunk_shape, so, out.data(), box.shape, dof, part.shape);
      }
    }
  }

 private:
  fs::path dir_;
  Zarr3Metadata md_;
  std::map<std::string, ShardIndex> indexes_;
};

int run(const std::vector<std::string>& args) {
  int64_t edge = 256;
  int runs = 5;
  fs::path dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  for (size_t i = 0; i < args.size(); ++i) {
    auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) fail(ErrorKind::InvalidArgument, args[i] + " needs a value\n" + kUsage);
      return args[++i];
    };
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (args[i] == "--edge") {
      edge = std::stoll(next());
    } else if (args[i] == "--runs") {
      runs = std::stoi(next());
    } else if (args[i] == "--dir") {
      dir = next();
    } else {
      fail(ErrorKind::InvalidArgument, "unknown option " + args[i] + "\n" + kUsage);
    }
  }
  if (edge < 32 || edge % 32 != 0 || edge > 1024) fail(ErrorKind::InvalidArgument, "--edge must be a multiple of 32 in 32..1024");
  const fs::path mag = dir / ("wkfs-bench-array-read-" + std::to_string(::getpid()));
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{mag};
  ArraySpec spec;
  spec.shape = {1, edge, edge, edge};
  spec.chunk_shape = {1, 32, 32, 32};
  spec.shard_shape = {1, std::min<int64_t>(edge, 128), std::min<int64_t>(edge, 128), std::min<int64_t>(edge, 128)};
  auto writer = create_array(mag, DataFormat::Zarr3, spec);
  const NdBox all{{0, 0, 0, 0}, spec.shape};
  Bytes data(static_cast<size_t>(all.volume()));
  std::mt19937 rng(1);
  for (size_t i = 0; i < data.size(); i += 64) {  // blocky: compresses a bit, decodes for real
    auto v = static_cast<std::byte>(rng() % 16);
    for (size_t k = i; k < std::min(data.size(), i + 64); ++k) data[k] = (rng() % 8 == 0) ? static_cast<std::byte>(rng()) : v;
  }
  writer->write(all, data);
  const Bytes meta = read_file(mag / "zarr.json");
  const std::string zarr_json(reinterpret_cast<const char*>(meta.data()), meta.size());

  std::vector<NdBox> boxes;
  for (int i = 0; i < 4096; ++i)
    boxes.push_back(NdBox{{0, static_cast<int64_t>(rng() % (edge - 8)), static_cast<int64_t>(rng() % (edge - 8)),
                           static_cast<int64_t>(rng() % (edge - 8))},
                          {1, 8, 8, 8}});
  Bytes out_new(data.size()), out_old(data.size()), small_new(512), small_old(512);
  auto array = open_array(mag);  // new, no chunk cache
  OldReader old(mag, zarr_json);
  array->read(all, out_new);
  old.read(all, out_old);
  if (out_new != data || out_old != data) fail(ErrorKind::Corrupt, "bench array-read: a reader returned other bytes");
  for (const auto& b : boxes) {
    array->read(b, small_new);
    old.read(b, small_old);
    if (small_new != small_old) fail(ErrorKind::Corrupt, "bench array-read: the readers disagree on a small box");
  }

  auto time_of = [](const std::function<void()>& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> whole_new, whole_old, small_new_t, small_old_t;
  for (int r = 0; r < runs; ++r) {  // alternating, so drift on a shared machine hits both
    whole_new.push_back(time_of([&] { array->read(all, out_new); }));
    whole_old.push_back(time_of([&] { old.read(all, out_old); }));
    small_new_t.push_back(time_of([&] { for (const auto& b : boxes) array->read(b, small_new); }));
    small_old_t.push_back(time_of([&] { for (const auto& b : boxes) old.read(b, small_old); }));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double mb = static_cast<double>(data.size()) / 1e6, small_mb = 4096.0 * 512 / 1e6;
  std::cout << std::fixed << std::setprecision(1);
  std::cout << "array-read, " << edge << "^3 uint8 zarr3 (chunks 32^3, shards " << spec.shard_shape[1]
            << "^3, zstd), median of " << runs << " runs\n";
  const double wn = mb / median(whole_new), wo = mb / median(whole_old);
  const double sn = small_mb / median(small_new_t), so = small_mb / median(small_old_t);
  std::cout << "  whole volume   new " << wn << " MB/s   old " << wo << " MB/s   new/old " << std::setprecision(3)
            << wn / wo << "\n" << std::setprecision(1);
  std::cout << "  4096 8^3 boxes new " << sn << " MB/s   old " << so << " MB/s   new/old " << std::setprecision(3)
            << sn / so << "\n";
  return 0;
}

const BenchRegistrar reg{"array-read", "local Array::read beside the pre-storage read path (new/old)", run};

}  // namespace
}  // namespace wkfs::cli
