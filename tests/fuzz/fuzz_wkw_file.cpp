// Fuzzes reading and rewriting a WKW data file through the Array: the input becomes
// z0/y0/x0.wkw below a header.wkw of the same geometry, then the whole file is read block by
// block (decode_chunk: its own jump table checks) and a voxel is rewritten (decode_shard and
// encode_shard). Any Error is fine; crashes, sanitizer reports and a changed file after a failed
// write are not.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/wkw_array.hpp"
#include "formats/wkw_header.hpp"

namespace {

namespace fs = std::filesystem;

// One scratch folder per process, removed at exit.
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("fuzz_wkw_file." + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir / "z0" / "y0"); }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& scratch() {
  static const Scratch s;
  return s.dir;
}

void put(const fs::path& p, const uint8_t* data, size_t size) {
  std::ofstream o(p, std::ios::binary | std::ios::trunc);
  o.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wkfs;
  ByteSpan file(reinterpret_cast<const std::byte*>(data), size);
  WkwHeader h;
  try {
    h = parse_wkw_header(file, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  // Keep a decoded file small: the point is the parsing, not the memory of big blocks.
  if (h.file_vol() * h.block_bytes() > (1u << 20)) return 0;
  const fs::path& dir = scratch();
  WkwHeader template_header = h;
  template_header.data_offset = 0;
  Bytes hb = serialize_wkw_header(template_header);
  put(dir / "header.wkw", reinterpret_cast<const uint8_t*>(hb.data()), hb.size());
  const fs::path data_file = dir / "z0" / "y0" / "x0.wkw";
  put(data_file, data, size);
  try {
    auto a = open_wkw_array(dir);
    const auto edge = static_cast<int64_t>(h.file_len_vx());
    const auto c = static_cast<int64_t>(h.num_channels());
    NdBox all{{0, 0, 0, 0}, {c, edge, edge, edge}};
    Bytes out(static_cast<size_t>(all.volume()) * a->meta().elem_size());
    try {
      a->read(all, out);
    } catch (const Error&) {
    }
    NdBox one{{0, edge - 1, 0, edge / 2}, {1, 1, 1, 1}};
    try {
      a->write(one, Bytes(a->meta().elem_size(), std::byte{7}));
    } catch (const Error&) {
      Bytes now = read_file(data_file);
      if (now.size() != size || (size > 0 && std::memcmp(now.data(), data, size) != 0)) std::abort();
    }
  } catch (const Error&) {
  }
  return 0;
}
