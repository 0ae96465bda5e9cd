// WKW format: header and jump table parsing, block order and layout, fixture compatibility, round
// trips against a brute-force reference, independent LZ4 decoding, and corrupt input.
#include <gtest/gtest.h>
#include <lz4.h>
#include <lz4hc.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/chunk_cache.hpp"
#include "formats/morton.hpp"
#include "formats/wkw_array.hpp"
#include "formats/wkw_block_layout.hpp"
#include "formats/wkw_header.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
namespace wt = wkfs::test;

namespace {

Bytes file_bytes(const fs::path& p) { return read_file(p); }

void put_file(const fs::path& p, const Bytes& b) {
  std::ofstream o(p, std::ios::binary | std::ios::trunc);
  o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes header_bytes(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(std::byte(static_cast<unsigned char>(x)));
  return b;
}

// Independent Morton code: the bit loop straight from the notes (bit k of x -> 3k, y -> 3k+1, z -> 3k+2).
uint64_t slow_morton(uint64_t x, uint64_t y, uint64_t z) {
  uint64_t m = 0;
  for (int k = 0; k < 21; ++k)
    m |= ((x >> k) & 1) << (3 * k) | ((y >> k) & 1) << (3 * k + 1) | ((z >> k) & 1) << (3 * k + 2);
  return m;
}

// A dense reference volume over [0, L)^3 with C channels, C order over (c,x,y,z).
struct Reference {
  size_t es, c;
  int64_t len;
  Bytes data;
  Reference(size_t es_, size_t c_, int64_t len_)
      : es(es_), c(c_), len(len_), data(es_ * c_ * static_cast<size_t>(len_ * len_ * len_)) {}
  std::byte* at(int64_t ch, int64_t x, int64_t y, int64_t z) {
    return data.data() + ((((ch * len + x) * len + y) * len + z) * static_cast<int64_t>(es));
  }
  bool inside(int64_t x, int64_t y, int64_t z) const {
    return x >= 0 && y >= 0 && z >= 0 && x < len && y < len && z < len;
  }
};

// Brute force: the box of the reference (zeros outside it), C order over (c,x,y,z).
Bytes expected_box(Reference& ref, const NdBox& box) {
  Bytes out(static_cast<size_t>(box.volume()) * ref.es);
  size_t i = 0;
  for (int64_t ch = 0; ch < box.shape[0]; ++ch)
    for (int64_t x = 0; x < box.shape[1]; ++x)
      for (int64_t y = 0; y < box.shape[2]; ++y)
        for (int64_t z = 0; z < box.shape[3]; ++z, i += ref.es) {
          int64_t gx = box.begin[1] + x, gy = box.begin[2] + y, gz = box.begin[3] + z;
          if (ref.inside(gx, gy, gz)) std::memcpy(out.data() + i, ref.at(box.begin[0] + ch, gx, gy, gz), ref.es);
        }
  return out;
}

void store_box(Reference& ref, const NdBox& box, const Bytes& in) {
  size_t i = 0;
  for (int64_t ch = 0; ch < box.shape[0]; ++ch)
    for (int64_t x = 0; x < box.shape[1]; ++x)
      for (int64_t y = 0; y < box.shape[2]; ++y)
        for (int64_t z = 0; z < box.shape[3]; ++z, i += ref.es)
          std::memcpy(ref.at(box.begin[0] + ch, box.begin[1] + x, box.begin[2] + y, box.begin[3] + z),
                      in.data() + i, ref.es);
}

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  // Runs of repeated values keep blocks compressible, as real data is.
  std::uniform_int_distribution<int> byte(0, 255), run(1, 12);
  size_t i = 0;
  while (i < n) {
    auto v = std::byte(static_cast<unsigned char>(byte(rng)));
    for (int r = run(rng); r > 0 && i < n; --r) b[i++] = v;
  }
  return b;
}

Bytes read_box(const Array& a, const NdBox& box) {
  Bytes out(static_cast<size_t>(box.volume()) * a.meta().elem_size());
  a.read(box, out);
  return out;
}

ArraySpec spec_for(DType t, int64_t c, int64_t b, int64_t f, bool compress) {
  ArraySpec s;
  s.dtype = t;
  s.shape = {c, 1000, 1000, 1000};
  s.chunk_shape = {c, b, b, b};
  s.shard_shape = {c, b * f, b * f, b * f};
  s.compress = compress;
  return s;
}

// Creates an array, with block type 2 (LZ4) written into header.wkw by hand since the library
// never creates it.
std::unique_ptr<Array> make_array(const fs::path& dir, DType t, int64_t c, int64_t b, int64_t f,
                                  WkwBlockType type) {
  auto a = create_wkw_array(dir, spec_for(t, c, b, f, type != WkwBlockType::Raw));
  if (type != WkwBlockType::Lz4) return a;
  Bytes h = file_bytes(dir / "header.wkw");
  h[5] = std::byte{2};
  put_file(dir / "header.wkw", h);
  return open_wkw_array(dir);
}

const fs::path kFixtureMag = fs::path("color") / "1";

template <typename F>
ErrorKind error_kind_of(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::Io;
}

}  // namespace

TEST(WkwMorton, MatchesTheLibraryExamples) {
  EXPECT_EQ(morton_encode(1, 0, 0), 1u);
  EXPECT_EQ(morton_encode(0, 1, 0), 2u);
  EXPECT_EQ(morton_encode(0, 0, 1), 4u);
  EXPECT_EQ(morton_encode(1, 0, 1), 5u);
  EXPECT_EQ(morton_encode(2, 0, 0), 8u);
  EXPECT_EQ(morton_encode(29, 20, 3), 13029u);
  for (uint32_t x = 0; x < 40; x += 3)
    for (uint32_t y = 0; y < 40; y += 5)
      for (uint32_t z = 0; z < 40; z += 7) {
        uint64_t m = morton_encode(x, y, z);
        EXPECT_EQ(m, slow_morton(x, y, z));
        EXPECT_EQ(morton_decode(m), (MortonCoord{x, y, z}));
      }
  EXPECT_EQ(morton_encode(0x1fffff, 0x1fffff, 0x1fffff), (uint64_t{1} << 63) - 1);
  EXPECT_EQ(morton_decode((uint64_t{1} << 63) - 1), (MortonCoord{0x1fffff, 0x1fffff, 0x1fffff}));
}

// The layout conversion against the notes' offset formula, at block sizes larger than its tiles.
TEST(WkwBlockLayout, MatchesTheOffsetFormula) {
  for (size_t es : {1, 2, 4, 8})
    for (size_t ch : {1, 3})
      for (size_t b : {2, 16, 32}) {
        SCOPED_TRACE(std::to_string(es) + "/" + std::to_string(ch) + "/" + std::to_string(b));
        const size_t n = b * b * b * ch * es;
        Bytes wkw(n), cxyz(n), back(n);
        for (size_t i = 0; i < n; ++i) wkw[i] = std::byte(static_cast<unsigned char>(i * 131 + i / 251));
        wkw_block_to_cxyz(wkw.data(), cxyz.data(), es, ch, b);
        for (size_t c = 0; c < ch; ++c)
          for (size_t x = 0; x < b; ++x)
            for (size_t y = 0; y < b; ++y)
              for (size_t z = 0; z < b; ++z) {
                size_t off = (x + b * (y + b * z)) * ch * es + c * es;
                size_t at = (((c * b + x) * b + y) * b + z) * es;
                ASSERT_EQ(std::memcmp(wkw.data() + off, cxyz.data() + at, es), 0) << c << x << y << z;
              }
        cxyz_to_wkw_block(cxyz.data(), back.data(), es, ch, b);
        ASSERT_EQ(back, wkw);
      }
}

TEST(WkwHeader, ParsesTheFixtureHeader) {
  fs::path mag = wt::fixture("simple_wkw_dataset") / kFixtureMag;
  Bytes raw = file_bytes(mag / "header.wkw");
  ASSERT_EQ(raw, header_bytes({0x57, 0x4B, 0x57, 1, 0x23, 1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0}));
  WkwHeader h = parse_wkw_header(raw, "header.wkw");
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.block_len(), 8u);
  EXPECT_EQ(h.file_len(), 4u);
  EXPECT_EQ(h.file_len_vx(), 32u);
  EXPECT_EQ(h.block_type, WkwBlockType::Raw);
  EXPECT_EQ(h.dtype, DType::UInt8);
  EXPECT_EQ(h.voxel_size, 3);
  EXPECT_EQ(h.num_channels(), 3u);
  EXPECT_EQ(h.data_offset, 0u);
  EXPECT_EQ(serialize_wkw_header(h), raw);

  // The data file: same header with data_offset 16, 64 raw blocks of 8^3 x 3 bytes.
  Bytes data = file_bytes(mag / "z0" / "y0" / "x0.wkw");
  ASSERT_EQ(data.size(), 98320u);
  WkwFileLayout layout = parse_wkw_file_layout(data, "x0.wkw");
  EXPECT_EQ(layout.header.data_offset, 16u);
  EXPECT_TRUE(layout.jump_table.empty());
  EXPECT_EQ(layout.block(5).offset, 16u + 5 * 1536);
  EXPECT_EQ(layout.block(5).size, 1536u);
}

TEST(WkwHeader, ParsesTheCompressedExampleHeader) {
  // From the notes: a WEBKNOSSOS-written LZ4 u32 annotation file, block 32, one block per file.
  Bytes h = header_bytes({0x57, 0x4B, 0x57, 1, 0x05, 2, 3, 4, 0x18, 0, 0, 0, 0, 0, 0, 0});
  WkwHeader p = parse_wkw_header(h, "x");
  EXPECT_EQ(p.block_len(), 32u);
  EXPECT_EQ(p.file_len(), 1u);
  EXPECT_EQ(p.block_type, WkwBlockType::Lz4);
  EXPECT_EQ(p.dtype, DType::UInt32);
  EXPECT_EQ(p.data_offset, 24u);
  EXPECT_EQ(p.data_file_offset(), 24u);
  EXPECT_EQ(p.block_bytes(), 131072u);
}

TEST(WkwHeader, RejectsBadHeadersWithTheReason) {
  const Bytes good = header_bytes({0x57, 0x4B, 0x57, 1, 0x23, 1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0});
  struct Case {
    size_t byte;
    int value;
    const char* reason;
  };
  for (Case c : {Case{0, 'X', "magic"}, Case{3, 2, "version"}, Case{5, 0, "block type"},
                 Case{5, 4, "block type"}, Case{6, 0, "voxel type"}, Case{6, 11, "voxel type"},
                 Case{7, 0, "voxel size"}, Case{4, 0xff, "file edge"}}) {
    Bytes b = good;
    b[c.byte] = std::byte(static_cast<unsigned char>(c.value));
    std::string msg;
    EXPECT_EQ(error_kind_of([&] { parse_wkw_header(b, "some/header.wkw"); }, &msg), ErrorKind::Corrupt);
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
    EXPECT_NE(msg.find("some/header.wkw"), std::string::npos) << msg;
  }
  // voxel size not a multiple of the type size (u16 with 3 bytes)
  Bytes b = good;
  b[6] = std::byte{2};
  EXPECT_EQ(error_kind_of([&] { parse_wkw_header(b, "h"); }), ErrorKind::Corrupt);
  EXPECT_EQ(error_kind_of([&] { parse_wkw_header(ByteSpan(good).first(15), "h"); }), ErrorKind::Corrupt);
}

TEST(WkwArray, FixtureReadsAsZeros) {
  wt::TempDir tmp;
  fs::path ds = wt::copy_fixture("simple_wkw_dataset", tmp.path());
  auto a = open_wkw_array(ds / kFixtureMag);
  const ArrayMeta& m = a->meta();
  EXPECT_EQ(m.dtype, DType::UInt8);
  EXPECT_EQ(m.chunk_shape, (VecN{3, 8, 8, 8}));
  EXPECT_EQ(m.shard_shape, (VecN{3, 32, 32, 32}));
  EXPECT_EQ(m.shape[0], 3);
  EXPECT_GE(m.shape[1], int64_t{1} << 30);
  EXPECT_FALSE(a->compressed());
  EXPECT_EQ(a->codec_summary(), "raw");
  EXPECT_EQ(a->shard_path({0, 1, 2, 3}), ds / kFixtureMag / "z3" / "y2" / "x1.wkw");
  // 24^3 and beyond, into files that do not exist
  NdBox box{{0, 0, 0, 0}, {3, 40, 33, 50}};
  Bytes got = read_box(*a, box);
  EXPECT_EQ(got, Bytes(got.size()));
}

TEST(WkwArray, WorkedExampleByte7952) {
  wt::TempDir tmp;
  fs::path mag = tmp / "color" / "1";
  auto a = create_wkw_array(mag, spec_for(DType::UInt8, 3, 8, 4, false));
  // create writes exactly the fixture's header
  EXPECT_EQ(file_bytes(mag / "header.wkw"),
            file_bytes(wt::fixture("simple_wkw_dataset") / kFixtureMag / "header.wkw"));
  NdBox box{{0, 0, 0, 0}, {3, 24, 24, 24}};
  Bytes vol(static_cast<size_t>(box.volume()));
  // C order over (c,x,y,z): voxel (13,2,9), channel 1
  vol[static_cast<size_t>(((1 * 24 + 13) * 24 + 2) * 24 + 9)] = std::byte{0xAB};
  a->write(box, vol);
  Bytes f = file_bytes(mag / "z0" / "y0" / "x0.wkw");
  ASSERT_EQ(f.size(), 98320u);
  EXPECT_EQ(f[7952], std::byte{0xAB});
  for (size_t i = 16; i < f.size(); ++i)
    if (i != 7952) {
      ASSERT_EQ(f[i], std::byte{0}) << i;
    }
  EXPECT_EQ(read_box(*a, box), vol);
}

TEST(WkwArray, WritingTheFixtureVolumeReproducesItsFile) {
  wt::TempDir tmp;
  const Bytes original = file_bytes(wt::fixture("simple_wkw_dataset") / kFixtureMag / "z0" / "y0" / "x0.wkw");
  NdBox box{{0, 0, 0, 0}, {3, 24, 24, 24}};
  Bytes zeros(static_cast<size_t>(box.volume()));
  {  // into a fresh array with the fixture's header: libwkw writes all-zero files too
    auto a = create_wkw_array(tmp / "fresh", spec_for(DType::UInt8, 3, 8, 4, false));
    a->write(box, zeros);
    EXPECT_EQ(file_bytes(tmp / "fresh" / "z0" / "y0" / "x0.wkw"), original);
  }
  {  // over the copied fixture (read-modify-write of the existing file)
    fs::path ds = wt::copy_fixture("simple_wkw_dataset", tmp.path());
    auto a = open_wkw_array(ds / kFixtureMag);
    a->write(box, zeros);
    EXPECT_EQ(file_bytes(ds / kFixtureMag / "z0" / "y0" / "x0.wkw"), original);
  }
}

TEST(WkwArray, CreateWritesTheLibraryHeader) {
  wt::TempDir tmp;
  auto s = spec_for(DType::UInt32, 1, 32, 32, true);
  auto a = create_wkw_array(tmp / "seg", s);
  // as in complex_property_ds/segmentation: 55 03 03 04
  EXPECT_EQ(file_bytes(tmp / "seg" / "header.wkw"),
            header_bytes({0x57, 0x4B, 0x57, 1, 0x55, 3, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(a->compressed());
  EXPECT_EQ(a->codec_summary(), "lz4hc(9)");
  EXPECT_EQ(error_kind_of([&] { create_wkw_array(tmp / "seg", s); }), ErrorKind::AlreadyExists);

  auto bad = spec_for(DType::UInt8, 1, 32, 32, true);
  bad.chunk_shape = {1, 32, 32, 16};
  EXPECT_EQ(error_kind_of([&] { create_wkw_array(tmp / "bad1", bad); }), ErrorKind::InvalidArgument);
  bad = spec_for(DType::UInt8, 1, 24, 2, true);
  EXPECT_EQ(error_kind_of([&] { create_wkw_array(tmp / "bad2", bad); }), ErrorKind::InvalidArgument);
  bad = spec_for(DType::UInt8, 1, 32, 32, true);
  bad.shard_shape = {1, 16, 16, 16};
  EXPECT_EQ(error_kind_of([&] { create_wkw_array(tmp / "bad3", bad); }), ErrorKind::InvalidArgument);
  EXPECT_FALSE(fs::exists(tmp / "bad1" / "header.wkw"));
  EXPECT_EQ(error_kind_of([&] { open_wkw_array(tmp / "nothing"); }), ErrorKind::NotFound);
}

namespace {

struct RoundTripCase {
  DType dtype;
  WkwBlockType type;
  int64_t channels, block, file;
};

std::string name_of(const RoundTripCase& c) {
  const char* t = c.type == WkwBlockType::Raw ? "raw" : c.type == WkwBlockType::Lz4 ? "lz4" : "lz4hc";
  return dtype_name(c.dtype) + "_" + t + "_c" + std::to_string(c.channels) + "_b" +
         std::to_string(c.block) + "_f" + std::to_string(c.file);
}

// Random unaligned boxes written and read back against the reference; the reference spans two
// files per axis so that boxes cross block and file borders.
void round_trip(const RoundTripCase& c, int writes, int reads) {
  SCOPED_TRACE(name_of(c));
  wt::TempDir tmp;
  auto a = make_array(tmp / "mag", c.dtype, c.channels, c.block, c.file, c.type);
  auto cache = std::make_shared<ChunkCache>();
  a->set_chunk_cache(cache);  // reads alternate between the cache and decoding from disk
  const size_t es = dtype_size(c.dtype);
  const int64_t len = 2 * c.block * c.file;
  Reference ref(es, static_cast<size_t>(c.channels), len);
  std::mt19937 rng(static_cast<unsigned>(c.block * 1000 + c.channels * 100 + static_cast<int>(c.dtype) * 7 +
                                         static_cast<int>(c.type)));
  auto random_box = [&](int64_t lo, int64_t hi) {
    NdBox box{{0, 0, 0, 0}, {c.channels, 0, 0, 0}};
    for (int i = 1; i <= 3; ++i) {
      std::uniform_int_distribution<int64_t> b(lo, hi - 1);
      int64_t x0 = b(rng);
      std::uniform_int_distribution<int64_t> e(x0 + 1, hi);
      box.begin[i] = x0;
      box.shape[i] = e(rng) - x0;
    }
    return box;
  };
  for (int w = 0; w < writes; ++w) {
    NdBox box = random_box(0, len);
    if (w == 0) box = NdBox{{0, 1, 2, 3}, {c.channels, len - 2, len - 3, len - 4}};  // nearly everything
    Bytes in = random_bytes(rng, static_cast<size_t>(box.volume()) * es);
    a->write(box, in);
    store_box(ref, box, in);
    for (int r = 0; r < reads; ++r) {
      if (r % 2 == 0) cache->clear();  // decode from disk, not from the cache
      NdBox rb = random_box(0, len + c.block);  // also beyond the written files
      ASSERT_EQ(read_box(*a, rb), expected_box(ref, rb)) << to_string(rb.begin) << "+" << to_string(rb.shape);
    }
  }
  // a fresh open (without a cache) sees the same data
  auto b = open_wkw_array(tmp / "mag");
  NdBox all{{0, 0, 0, 0}, {c.channels, len, len, len}};
  ASSERT_EQ(read_box(*b, all), expected_box(ref, all));
  // every file is complete: RAW full size, compressed truncated to the last jump entry
  for (auto& e : fs::recursive_directory_iterator(tmp / "mag")) {
    if (e.path().extension() != ".wkw" || e.path().filename() == "header.wkw") continue;
    Bytes f = file_bytes(e.path());
    WkwFileLayout l = parse_wkw_file_layout(f, e.path().string());
    EXPECT_EQ(l.header.block_type, c.type);
    if (c.type == WkwBlockType::Raw)
      EXPECT_EQ(f.size(), 16 + l.header.file_vol() * l.header.block_bytes());
    else
      EXPECT_EQ(f.size(), l.jump_table.back());
  }
}

}  // namespace

TEST(WkwArray, RoundTripsEveryDtypeAndBlockType) {
  const DType all[] = {DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64, DType::Int8,
                       DType::Int16, DType::Int32,  DType::Int64,  DType::Float32, DType::Float64};
  for (DType t : all)
    for (WkwBlockType type : {WkwBlockType::Raw, WkwBlockType::Lz4, WkwBlockType::Lz4hc})
      for (int64_t ch : {1, 3}) round_trip({t, type, ch, 4, 2}, 3, 4);
}

TEST(WkwArray, RoundTripsLargerBlocks) {
  for (DType t : {DType::UInt8, DType::UInt16, DType::Float64})
    for (WkwBlockType type : {WkwBlockType::Raw, WkwBlockType::Lz4, WkwBlockType::Lz4hc})
      for (int64_t ch : {1, 3}) round_trip({t, type, ch, 8, 4}, 3, 4);
}

TEST(WkwArray, RoundTripsDegenerateGeometries) {
  for (WkwBlockType type : {WkwBlockType::Raw, WkwBlockType::Lz4hc}) {
    round_trip({DType::UInt16, type, 2, 1, 4}, 2, 3);   // one voxel per block
    round_trip({DType::Int32, type, 1, 8, 1}, 2, 3);    // one block per file
  }
}

// Decodes a compressed file independently: own jump table parsing, LZ4_decompress_safe, the
// notes' Morton order and byte offset formula; compares with the reference and checks that the
// payload is what liblz4 itself produces for the block (LZ4 default or LZ4HC level 9).
TEST(WkwArray, CompressedFileStructureDecodesIndependently) {
  for (WkwBlockType type : {WkwBlockType::Lz4, WkwBlockType::Lz4hc}) {
    SCOPED_TRACE(static_cast<int>(type));
    wt::TempDir tmp;
    const int64_t b = 8, f = 2, ch = 3, len = b * f;
    const size_t es = 2;
    auto a = make_array(tmp / "mag", DType::UInt16, ch, b, f, type);
    Reference ref(es, ch, len);
    std::mt19937 rng(7);
    NdBox all{{0, 0, 0, 0}, {ch, len, len, len}};
    Bytes in = random_bytes(rng, ref.data.size());
    // leave block (1,1,1) all zero
    store_box(ref, all, in);
    for (int64_t c = 0; c < ch; ++c)
      for (int64_t x = b; x < 2 * b; ++x)
        for (int64_t y = b; y < 2 * b; ++y)
          for (int64_t z = b; z < 2 * b; ++z) std::memset(ref.at(c, x, y, z), 0, es);
    a->write(all, ref.data);

    Bytes file = file_bytes(tmp / "mag" / "z0" / "y0" / "x0.wkw");
    ASSERT_GE(file.size(), 16u + 8 * 8);
    EXPECT_EQ(std::memcmp(file.data(), "WKW\x01", 4), 0);
    EXPECT_EQ(file[4], std::byte{0x13});
    EXPECT_EQ(file[5], std::byte(static_cast<unsigned char>(type)));
    EXPECT_EQ(file[6], std::byte{2});
    EXPECT_EQ(file[7], std::byte{6});
    uint64_t data_offset;
    std::memcpy(&data_offset, file.data() + 8, 8);
    EXPECT_EQ(data_offset, 16u + 8 * 8);
    const size_t block_bytes = static_cast<size_t>(b * b * b * ch) * es;
    uint64_t begin = data_offset;
    for (uint64_t i = 0; i < 8; ++i) {
      uint64_t end;
      std::memcpy(&end, file.data() + 16 + 8 * i, 8);
      ASSERT_GE(end, begin);
      ASSERT_LE(end, file.size());
      if (i == 7) {
        EXPECT_EQ(end, file.size());
      }
      std::vector<char> block(block_bytes);
      int n = LZ4_decompress_safe(reinterpret_cast<const char*>(file.data() + begin), block.data(),
                                  static_cast<int>(end - begin), static_cast<int>(block_bytes));
      ASSERT_EQ(n, static_cast<int>(block_bytes)) << "block " << i;
      // block coordinates from the Morton index (bit 3k -> x, 3k+1 -> y, 3k+2 -> z)
      int64_t bx = 0, by = 0, bz = 0;
      for (int k = 0; k < 7; ++k) {
        bx |= static_cast<int64_t>((i >> (3 * k)) & 1) << k;
        by |= static_cast<int64_t>((i >> (3 * k + 1)) & 1) << k;
        bz |= static_cast<int64_t>((i >> (3 * k + 2)) & 1) << k;
      }
      std::vector<char> wkw_layout(block_bytes);
      for (int64_t z = 0; z < b; ++z)
        for (int64_t y = 0; y < b; ++y)
          for (int64_t x = 0; x < b; ++x)
            for (int64_t c = 0; c < ch; ++c) {
              size_t off = static_cast<size_t>((x + b * (y + b * z)) * ch * static_cast<int64_t>(es) +
                                               c * static_cast<int64_t>(es));
              std::memcpy(wkw_layout.data() + off, ref.at(c, bx * b + x, by * b + y, bz * b + z), es);
            }
      ASSERT_EQ(block, wkw_layout) << "block " << i;
      std::vector<char> expect(static_cast<size_t>(LZ4_compressBound(static_cast<int>(block_bytes))));
      int csize = type == WkwBlockType::Lz4hc
                      ? LZ4_compress_HC(wkw_layout.data(), expect.data(), static_cast<int>(block_bytes),
                                        static_cast<int>(expect.size()), 9)
                      : LZ4_compress_default(wkw_layout.data(), expect.data(), static_cast<int>(block_bytes),
                                             static_cast<int>(expect.size()));
      ASSERT_EQ(static_cast<uint64_t>(csize), end - begin) << "block " << i;
      EXPECT_EQ(std::memcmp(expect.data(), file.data() + begin, end - begin), 0) << "block " << i;
      begin = end;
    }
  }
}

namespace {

// A small compressed (or RAW) array with data in z0/y0/x0.wkw; returns the file's path.
fs::path make_filled(const fs::path& dir, WkwBlockType type) {
  auto a = make_array(dir, DType::UInt8, 1, 4, 2, type);
  std::mt19937 rng(3);
  NdBox box{{0, 0, 0, 0}, {1, 8, 8, 8}};
  a->write(box, random_bytes(rng, 512));
  return dir / "z0" / "y0" / "x0.wkw";
}

// read_reason: a read decodes only the blocks it needs and may meet the damage differently.
void expect_corrupt(const fs::path& dir, const fs::path& file, const std::string& reason,
                    bool layout_invalid, const std::string& read_reason) {
  SCOPED_TRACE(reason);
  const Bytes before = file_bytes(file);
  auto a = open_wkw_array(dir);
  NdBox box{{0, 0, 0, 0}, {1, 8, 8, 8}};
  std::string msg;
  EXPECT_EQ(error_kind_of([&] { read_box(*a, box); }, &msg), ErrorKind::Corrupt);
  EXPECT_NE(msg.find(read_reason), std::string::npos) << msg;
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  // a write into the file must read it first, fail the same way and change nothing
  NdBox part{{0, 1, 1, 1}, {1, 2, 2, 2}};
  EXPECT_EQ(error_kind_of([&] { a->write(part, Bytes(8)); }, &msg), ErrorKind::Corrupt);
  EXPECT_NE(msg.find(reason), std::string::npos) << msg;
  EXPECT_EQ(file_bytes(file), before);
  if (layout_invalid) {
    EXPECT_EQ(error_kind_of([&] { parse_wkw_file_layout(before, "f"); }), ErrorKind::Corrupt);
  } else {
    EXPECT_NO_THROW(parse_wkw_file_layout(before, "f"));
  }
}

template <typename Mutate>
void corrupt_case(WkwBlockType type, const std::string& reason, Mutate&& mutate,
                  bool layout_invalid = true, std::string read_reason = {}) {
  wt::TempDir tmp;
  fs::path file = make_filled(tmp / "mag", type);
  Bytes b = file_bytes(file);
  mutate(b);
  put_file(file, b);
  expect_corrupt(tmp / "mag", file, reason, layout_invalid, read_reason.empty() ? reason : read_reason);
}

void set_u64(Bytes& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
uint64_t get_u64(const Bytes& b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

}  // namespace

TEST(WkwArray, CorruptFilesFailCleanly) {
  for (WkwBlockType type : {WkwBlockType::Raw, WkwBlockType::Lz4hc}) {
    corrupt_case(type, "magic", [](Bytes& b) { b[1] = std::byte{'X'}; });
    corrupt_case(type, "version", [](Bytes& b) { b[3] = std::byte{7}; });
    corrupt_case(type, "block type", [](Bytes& b) { b[5] = std::byte{9}; });
    corrupt_case(type, "voxel type", [](Bytes& b) { b[6] = std::byte{42}; });
    corrupt_case(
        type, "does not match header.wkw",
        [](Bytes& b) {
          b[6] = std::byte{2};
          b[7] = std::byte{2};
        },
        type == WkwBlockType::Raw);  // a RAW file of u16 voxels would be twice as long
    corrupt_case(type, "data offset", [](Bytes& b) { set_u64(b, 8, 8); });
  }
  // 8 blocks per file: jump table at 16..80
  corrupt_case(WkwBlockType::Lz4hc, "before the start", [](Bytes& b) {
    uint64_t e2 = get_u64(b, 16 + 16), e3 = get_u64(b, 16 + 24);
    set_u64(b, 16 + 16, e3);
    set_u64(b, 16 + 24, e2);
  }, true, "block 4");  // C-order reads meet block (0,0,1), now starting inside block 2, first
  corrupt_case(WkwBlockType::Lz4hc, "past the end", [](Bytes& b) { set_u64(b, 16 + 56, b.size() + 100); });
  corrupt_case(WkwBlockType::Lz4hc, "past the end", [](Bytes& b) { b.resize(b.size() - 1); });
  corrupt_case(WkwBlockType::Lz4hc, "truncated", [](Bytes& b) { b.resize(40); });
  // block 0 made one byte shorter: its payload no longer decodes to 64 bytes
  corrupt_case(WkwBlockType::Lz4hc, "block 0", [](Bytes& b) {
    uint64_t e0 = get_u64(b, 16);
    set_u64(b, 16, e0 - 1);
  }, false);
  // block 0's payload replaced by a literal run claiming more bytes than the block holds
  corrupt_case(WkwBlockType::Lz4, "block 0", [](Bytes& b) {
    for (uint64_t i = 80; i < get_u64(b, 16); ++i) b[i] = std::byte{0xff};
  }, false);
  corrupt_case(WkwBlockType::Raw, "truncated", [](Bytes& b) { b.resize(b.size() - 1); });
}

TEST(WkwArray, BadHeaderFileFailsToOpen) {
  wt::TempDir tmp;
  make_filled(tmp / "mag", WkwBlockType::Raw);
  Bytes h = file_bytes(tmp / "mag" / "header.wkw");
  h[0] = std::byte{'w'};
  put_file(tmp / "mag" / "header.wkw", h);
  std::string msg;
  EXPECT_EQ(error_kind_of([&] { open_wkw_array(tmp / "mag"); }, &msg), ErrorKind::Corrupt);
  EXPECT_NE(msg.find("header.wkw"), std::string::npos) << msg;
}

TEST(WkwArray, FilesOfAnotherBlockTypeAreReadAndRewrittenWithTheHeaderType) {
  // A RAW data file below an LZ4HC header.wkw (e.g. a mag being compressed) is still read.
  wt::TempDir tmp;
  fs::path file = make_filled(tmp / "raw", WkwBlockType::Raw);
  auto raw = open_wkw_array(tmp / "raw");
  NdBox box{{0, 0, 0, 0}, {1, 8, 8, 8}};
  Bytes expect = read_box(*raw, box);
  create_wkw_array(tmp / "hc", spec_for(DType::UInt8, 1, 4, 2, true));
  fs::create_directories(tmp / "hc" / "z0" / "y0");
  fs::copy_file(file, tmp / "hc" / "z0" / "y0" / "x0.wkw");
  auto hc = open_wkw_array(tmp / "hc");
  EXPECT_EQ(read_box(*hc, box), expect);
  hc->write(NdBox{{0, 0, 0, 0}, {1, 1, 1, 1}}, Bytes(1, std::byte{expect[0]}));
  Bytes f = file_bytes(tmp / "hc" / "z0" / "y0" / "x0.wkw");
  EXPECT_EQ(f[5], std::byte{3});
  EXPECT_EQ(read_box(*hc, box), expect);
}

// A small write into a compressed file reuses the payloads of unchanged blocks; the result must
// be byte-identical to writing the final volume in one go (LZ4HC is deterministic).
TEST(WkwArray, SmallWriteIntoCompressedFileMatchesAFullRewrite) {
  for (WkwBlockType type : {WkwBlockType::Lz4, WkwBlockType::Lz4hc}) {
    wt::TempDir tmp;
    auto a = make_array(tmp / "a", DType::UInt16, 2, 8, 2, type);
    auto b = make_array(tmp / "b", DType::UInt16, 2, 8, 2, type);
    Reference ref(2, 2, 16);
    std::mt19937 rng(11);
    NdBox all{{0, 0, 0, 0}, {2, 16, 16, 16}};
    ref.data = random_bytes(rng, ref.data.size());
    a->write(all, ref.data);
    for (int i = 0; i < 3; ++i) {
      NdBox small{{0, 3 + i, 9, 7 - i}, {2, 2, 3, 4}};
      Bytes in = random_bytes(rng, static_cast<size_t>(small.volume()) * 2);
      a->write(small, in);
      store_box(ref, small, in);
    }
    b->write(all, ref.data);
    EXPECT_EQ(file_bytes(tmp / "a" / "z0" / "y0" / "x0.wkw"), file_bytes(tmp / "b" / "z0" / "y0" / "x0.wkw"));
    EXPECT_EQ(read_box(*a, all), ref.data);
  }
}
