// `wkfs bench codecs`: encode/decode throughput and compression ratio of every byte codec on one
// chunk of EM-like and of segmentation-like data, beside memcpy of the same bytes in the same run.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>

#include "codecs/compression.hpp"
#include "codecs/crc32c.hpp"
#include "core/error.hpp"
#include "tools/bench.hpp"

namespace wkfs::cli {

namespace {

struct Options {
  int edge = 32;
  int runs = 7;
  double min_run_seconds = 0.03;
  bool json = false;
};

const char* kUsage =
    "usage: wkfs bench codecs [--json] [--edge N] [--runs N] [--min-ms MS]\n"
    "  Encodes and decodes one N^3 chunk (default 32) of uint8 EM-like noise and of uint32\n"
    "  segmentation-like regions with every codec. Throughput is MB/s (1e6 bytes) of raw data,\n"
    "  the median of --runs runs of at least --min-ms each; x memcpy compares it with memcpy of\n"
    "  the same bytes in the same run; ratio is raw size / compressed size.\n";

struct Dataset {
  std::string name;
  size_t typesize;
  Bytes raw;
};

// Smooth gradient plus gaussian noise, like an EM chunk.
Dataset em_u8(int edge) {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0.0, 12.0);
  Bytes out(size_t(edge) * edge * edge);
  size_t i = 0;
  for (int z = 0; z < edge; ++z)
    for (int y = 0; y < edge; ++y)
      for (int x = 0; x < edge; ++x) {
        double v = 120 + 50 * std::sin(x / 9.0) + 30 * std::cos(y / 6.0) + 2.0 * z + noise(rng);
        out[i++] = std::byte(static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)));
      }
  return {"em_u8", 1, std::move(out)};
}

// Piecewise-constant regions: each voxel takes the random uint32 id of its nearest seed.
Dataset seg_u32(int edge) {
  std::mt19937 rng(2);
  struct Seed {
    int x, y, z;
    uint32_t id;
  };
  std::vector<Seed> seeds(std::max(4, edge * edge * edge / 1400));
  for (auto& s : seeds) s = {int(rng() % edge), int(rng() % edge), int(rng() % edge), uint32_t(rng() % 5000000)};
  Bytes out(size_t(edge) * edge * edge * 4);
  size_t i = 0;
  for (int z = 0; z < edge; ++z)
    for (int y = 0; y < edge; ++y)
      for (int x = 0; x < edge; ++x) {
        int best = 1 << 30;
        uint32_t id = 0;
        for (const auto& s : seeds) {
          int d = (x - s.x) * (x - s.x) + (y - s.y) * (y - s.y) + (z - s.z) * (z - s.z);
          if (d < best) best = d, id = s.id;
        }
        store_le<uint32_t>(out.data() + 4 * i++, id);
      }
  return {"seg_u32", 4, std::move(out)};
}

struct Codec {
  std::string name;
  std::function<Bytes(ByteSpan)> encode;
  std::function<Bytes(ByteSpan, size_t)> decode;  // empty for checksums
};

std::vector<Codec> codecs_for(size_t typesize) {
  std::vector<Codec> v;
  for (int level : {1, 5})
    for (bool ck : {false, true})
      v.push_back({"zstd-" + std::to_string(level) + (ck ? "+checksum" : ""),
                   [=](ByteSpan in) { return zstd_compress(in, level, ck); }, zstd_decompress});
  v.push_back({"gzip-6", [](ByteSpan in) { return gzip_compress(in, 6); }, gzip_decompress});
  v.push_back({"zlib-6", [](ByteSpan in) { return zlib_compress(in, 6); }, zlib_decompress});
  for (const char* cname : {"lz4", "zstd", "blosclz"}) {
    BloscParams p{cname, 5, 1, typesize, 0};
    v.push_back({std::string("blosc-") + cname + "-shuffle", [=](ByteSpan in) { return blosc_compress(in, p); },
                 blosc_decompress});
  }
  v.push_back({"lz4", [](ByteSpan in) { return lz4_block_compress(in, false, 0); }, lz4_block_decompress});
  v.push_back({"lz4hc-9", [](ByteSpan in) { return lz4_block_compress(in, true, 9); }, lz4_block_decompress});
  auto as_bytes = [](uint32_t c) {
    Bytes b(4);
    store_le(b.data(), c);
    return b;
  };
  if (crc32c_hardware_available())
    v.push_back({"crc32c-sse4.2", [=](ByteSpan in) { return as_bytes(crc32c_hardware(in)); }, nullptr});
  v.push_back({"crc32c-portable", [=](ByteSpan in) { return as_bytes(crc32c_portable(in)); }, nullptr});
  return v;
}

struct Row {
  std::string codec;
  size_t compressed_bytes = 0;
  double encode_mbps = 0;
  std::optional<double> decode_mbps;
};

struct Result {
  std::string dataset;
  size_t raw_bytes;
  double memcpy_mbps;
  std::vector<Row> rows;
};

double mbps(size_t bytes, double seconds) { return static_cast<double>(bytes) / seconds / 1e6; }

Result measure(const Dataset& d, const Options& o) {
  Result r{d.name, d.raw.size(), 0, {}};
  Bytes dst(d.raw.size());
  r.memcpy_mbps = mbps(d.raw.size(), median_seconds_per_call(
                                         [&] {
                                           std::memcpy(dst.data(), d.raw.data(), d.raw.size());
                                           asm volatile("" : : "r"(dst.data()) : "memory");  // keep the copy
                                         },
                                         o.runs, o.min_run_seconds));
  for (const auto& c : codecs_for(d.typesize)) {
    Row row{c.name};
    Bytes enc = c.encode(d.raw);
    row.compressed_bytes = enc.size();
    if (c.decode && c.decode(enc, d.raw.size()) != d.raw)
      fail(ErrorKind::Corrupt, "bench codecs: " + c.name + " did not round-trip " + d.name);
    row.encode_mbps = mbps(d.raw.size(), median_seconds_per_call([&] { enc = c.encode(d.raw); }, o.runs, o.min_run_seconds));
    if (c.decode) {
      Bytes out;
      row.decode_mbps = mbps(d.raw.size(), median_seconds_per_call([&] { out = c.decode(enc, d.raw.size()); }, o.runs,
                                                                   o.min_run_seconds));
    }
    r.rows.push_back(std::move(row));
  }
  return r;
}

std::string fixed(double v, int prec) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}

void print_table(const std::vector<Result>& results, const Options& o) {
  std::cout << "chunk " << o.edge << "^3, median of " << o.runs << " runs of >= " << o.min_run_seconds * 1000
            << " ms; MB/s of raw data (1 MB = 1e6 bytes); x memcpy = codec / memcpy throughput\n";
  for (const auto& r : results) {
    std::cout << "\n" << r.dataset << " (" << r.raw_bytes << " bytes), memcpy " << fixed(r.memcpy_mbps, 0) << " MB/s\n";
    std::cout << std::left << std::setw(22) << "codec" << std::right << std::setw(8) << "ratio" << std::setw(12)
              << "enc MB/s" << std::setw(11) << "x memcpy" << std::setw(12) << "dec MB/s" << std::setw(11) << "x memcpy"
              << "\n";
    for (const auto& row : r.rows) {
      bool checksum = !row.decode_mbps;
      std::cout << std::left << std::setw(22) << row.codec << std::right << std::setw(8)
                << (checksum ? "-" : fixed(double(r.raw_bytes) / double(row.compressed_bytes), 2)) << std::setw(12)
                << fixed(row.encode_mbps, 1) << std::setw(11) << fixed(row.encode_mbps / r.memcpy_mbps, 4)
                << std::setw(12) << (checksum ? "-" : fixed(*row.decode_mbps, 1)) << std::setw(11)
                << (checksum ? "-" : fixed(*row.decode_mbps / r.memcpy_mbps, 4)) << "\n";
    }
  }
}

void print_json(const std::vector<Result>& results, const Options& o) {
  nlohmann::json j = {{"bench", "codecs"}, {"edge", o.edge}, {"runs", o.runs}, {"min_run_seconds", o.min_run_seconds}};
  j["datasets"] = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json d = {{"name", r.dataset}, {"raw_bytes", r.raw_bytes}, {"memcpy_mbps", r.memcpy_mbps}};
    d["codecs"] = nlohmann::json::array();
    for (const auto& row : r.rows) {
      nlohmann::json c = {{"name", row.codec},
                          {"encode_mbps", row.encode_mbps},
                          {"encode_vs_memcpy", row.encode_mbps / r.memcpy_mbps}};
      if (row.decode_mbps) {
        c["compressed_bytes"] = row.compressed_bytes;
        c["ratio"] = double(r.raw_bytes) / double(row.compressed_bytes);
        c["decode_mbps"] = *row.decode_mbps;
        c["decode_vs_memcpy"] = *row.decode_mbps / r.memcpy_mbps;
      }
      d["codecs"].push_back(std::move(c));
    }
    j["datasets"].push_back(std::move(d));
  }
  std::cout << j.dump(2) << "\n";
}

int parse_int(const std::vector<std::string>& args, size_t& i, int lo, int hi) {
  if (i + 1 >= args.size()) fail(ErrorKind::InvalidArgument, args[i] + " needs a value");
  const std::string& v = args[++i];
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || n < lo || n > hi)
    fail(ErrorKind::InvalidArgument, args[i - 1] + " " + v + ": expected an integer in [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "]");
  return n;
}

int bench_codecs(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (args[i] == "--json") {
      o.json = true;
    } else if (args[i] == "--edge") {
      o.edge = parse_int(args, i, 4, 256);
    } else if (args[i] == "--runs") {
      o.runs = parse_int(args, i, 1, 1000);
    } else if (args[i] == "--min-ms") {
      o.min_run_seconds = parse_int(args, i, 1, 60000) / 1000.0;
    } else {
      std::cerr << "wkfs bench codecs: unknown argument '" << args[i] << "'\n" << kUsage;
      return 2;
    }
  }
  std::vector<Result> results;
  for (const Dataset& d : {em_u8(o.edge), seg_u32(o.edge)}) results.push_back(measure(d, o));
  if (o.json)
    print_json(results, o);
  else
    print_table(results, o);
  return 0;
}

const BenchRegistrar reg{"codecs", "zstd/gzip/zlib/blosc/lz4/crc32c throughput and ratio vs memcpy", bench_codecs};

}  // namespace

}  // namespace wkfs::cli
