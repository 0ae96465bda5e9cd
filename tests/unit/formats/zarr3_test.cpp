#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "codecs/compression.hpp"
#include "codecs/crc32c.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/shard_index.hpp"
#include "formats/zarr3_array.hpp"
#include "formats/zarr3_metadata.hpp"
#include "support/test_support.hpp"
#include "unit/formats/zarr_roundtrip_test.hpp"

using namespace wkfs;
using namespace wkfs::test;
using nlohmann::json;

namespace {

std::string slurp(const fs::path& p) {
  Bytes b = read_file(p);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

const std::vector<DType> kAllDTypes = {DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64, DType::Int8,
                                       DType::Int16, DType::Int32,  DType::Int64,  DType::Float32, DType::Float64};

json codec(const std::string& name, json config = nullptr) {
  json c = {{"name", name}};
  if (!config.is_null()) c["configuration"] = config;
  return c;
}

json vec_json(const VecN& v) { return std::vector<int64_t>(v.begin(), v.end()); }

// zarr.json for a sharded array with the given inner chain.
json sharded_json(DType t, const VecN& shape, const VecN& shard, const VecN& inner, json inner_codecs,
                  json index_codecs = nullptr) {
  if (index_codecs.is_null())
    index_codecs = json::array({codec("bytes", {{"endian", "little"}}), codec("crc32c")});
  return {{"zarr_format", 3},
          {"node_type", "array"},
          {"shape", vec_json(shape)},
          {"data_type", dtype_name(t)},
          {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", vec_json(shard)}}}}},
          {"chunk_key_encoding", {{"name", "default"}, {"configuration", {{"separator", "/"}}}}},
          {"fill_value", 0},
          {"codecs", json::array({codec("sharding_indexed", {{"chunk_shape", vec_json(inner)},
                                                             {"codecs", inner_codecs},
                                                             {"index_codecs", index_codecs}})})}};
}

json unsharded_json(DType t, const VecN& shape, const VecN& chunk, json codecs) {
  json j = sharded_json(t, shape, chunk, chunk, nullptr);
  j["codecs"] = codecs;
  return j;
}

json bytes_le() { return codec("bytes", {{"endian", "little"}}); }

std::unique_ptr<Array> open_with(const fs::path& dir, const json& j) {
  write_text(dir / "zarr.json", j.dump(1));
  return open_zarr3_array(dir);
}

void expect_error(ErrorKind kind, const std::function<void()>& f, const std::string& needle = "") {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    if (!needle.empty()) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

// The fixture volume: value(c,x,y,z) = (576x + 24y + z) mod 256, C order over [3,24,24,24].
Bytes fixture_volume() {
  Bytes v(3 * 24 * 24 * 24);
  size_t i = 0;
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 24; ++x)
      for (int y = 0; y < 24; ++y)
        for (int z = 0; z < 24; ++z) v[i++] = static_cast<std::byte>(fixture_value(x, y, z));
  return v;
}

void expect_fixture_box(const Array& a, const NdBox& box) {
  Bytes out(static_cast<size_t>(box.volume()));
  a.read(box, out);
  size_t i = 0, bad = 0;
  for (int64_t c = 0; c < box.shape[0]; ++c)
    for (int64_t x = 0; x < box.shape[1]; ++x)
      for (int64_t y = 0; y < box.shape[2]; ++y)
        for (int64_t z = 0; z < box.shape[3]; ++z) {
          int64_t gc = box.begin[0] + c;
          unsigned char want = gc < 3 ? fixture_value(box.begin[1] + x, box.begin[2] + y, box.begin[3] + z) : 0;
          if (static_cast<unsigned char>(out[i++]) != want) ++bad;
        }
  EXPECT_EQ(bad, 0u) << "box " << to_string(box.begin) << "+" << to_string(box.shape);
}

}  // namespace

// --- fixture ------------------------------------------------------------------------------------

TEST(Zarr3Fixture, ReadsKnownPattern) {
  TempDir tmp;
  fs::path ds = copy_fixture("simple_zarr3_dataset", tmp.path());
  auto a = open_zarr3_array(ds / "color" / "1");
  EXPECT_EQ(a->meta().shape, (VecN{3, 24, 24, 24}));
  EXPECT_EQ(a->meta().chunk_shape, (VecN{3, 16, 16, 16}));
  EXPECT_EQ(a->meta().shard_shape, (VecN{3, 32, 32, 32}));
  EXPECT_EQ(a->meta().axis_names, (std::vector<std::string>{"c", "x", "y", "z"}));
  EXPECT_FALSE(a->compressed());
  EXPECT_EQ(a->shard_path({0, 0, 0, 0}), ds / "color" / "1" / "c/0/0/0/0");
  expect_fixture_box(*a, {{0, 0, 0, 0}, {3, 24, 24, 24}});
  expect_fixture_box(*a, {{0, 0, 0, 0}, {3, 40, 33, 35}});  // past the shape and the shard
  expect_fixture_box(*a, {{1, 5, 15, 17}, {2, 30, 3, 9}});  // unaligned, crosses inner chunks
  expect_fixture_box(*a, {{0, 23, 23, 23}, {3, 1, 1, 1}});
}

// Writing the fixture volume into an array with the fixture's own zarr.json reproduces its chunk
// bytes and index entries. The body order differs: the fixture's body is in x-fastest chunk order
// (entries 0,4,2,6,1,5,3,7 by offset), while we write in index order (z fastest) as tensorstore
// does. So the expected file is the fixture's chunks re-laid out in index order with offsets
// 0, 12288, ... and a freshly computed crc32c; everything else is byte-identical.
TEST(Zarr3Fixture, WriterReproducesFixtureChunksAndIndex) {
  fs::path src = fixture("simple_zarr3_dataset") / "color" / "1";
  Bytes fixture_shard = read_file(src / "c/0/0/0/0");
  ASSERT_EQ(fixture_shard.size(), 98436u);
  const size_t n = 8, chunk = 3 * 16 * 16 * 16, index_at = 8 * chunk;
  ASSERT_EQ(load_le<uint32_t>(fixture_shard.data() + index_at + 16 * n), 0xF7F99C71u);

  TempDir tmp;
  fs::create_directories(tmp / "mag");
  fs::copy_file(src / "zarr.json", tmp / "mag" / "zarr.json");
  auto a = open_zarr3_array(tmp / "mag");
  Bytes vol = fixture_volume();
  a->write({{0, 0, 0, 0}, {3, 24, 24, 24}}, vol);
  Bytes ours = read_file(tmp / "mag" / "c/0/0/0/0");

  Bytes expected;
  std::vector<uint64_t> entries;
  for (size_t i = 0; i < n; ++i) {
    uint64_t off = load_le<uint64_t>(fixture_shard.data() + index_at + 16 * i);
    uint64_t len = load_le<uint64_t>(fixture_shard.data() + index_at + 16 * i + 8);
    ASSERT_EQ(len, chunk);
    entries.push_back(expected.size());
    entries.push_back(len);
    expected.insert(expected.end(), fixture_shard.begin() + static_cast<ptrdiff_t>(off),
                    fixture_shard.begin() + static_cast<ptrdiff_t>(off + len));
  }
  size_t at = expected.size();
  expected.resize(at + 16 * n + 4);
  std::memcpy(expected.data() + at, entries.data(), 16 * n);
  store_le<uint32_t>(expected.data() + at + 16 * n, crc32c(ByteSpan(expected.data() + at, 16 * n)));
  ASSERT_EQ(ours.size(), fixture_shard.size());
  EXPECT_TRUE(ours == expected);
  // The first chunk (index 0 = grid 0,0,0) starts with z = 0..15 of x=0,y=0.
  for (int z = 0; z < 16; ++z) EXPECT_EQ(static_cast<int>(ours[static_cast<size_t>(z)]), z);
}

// --- creation -------------------------------------------------------------------------------------

TEST(Zarr3Create, WritesLibraryMetadata) {
  TempDir tmp;
  ArraySpec spec;
  spec.dtype = DType::UInt16;
  spec.shape = {1, 2048, 1024, 1024};
  spec.chunk_shape = {1, 32, 32, 32};
  spec.shard_shape = {1, 1024, 1024, 1024};
  auto a = create_zarr3_array(tmp / "1", spec);
  json got = json::parse(slurp(tmp / "1" / "zarr.json"));
  json want = json::parse(R"({
    "zarr_format":3,"node_type":"array","shape":[1,2048,1024,1024],"data_type":"uint16",
    "chunk_grid":{"name":"regular","configuration":{"chunk_shape":[1,1024,1024,1024]}},
    "chunk_key_encoding":{"name":"default","configuration":{"separator":"/"}},
    "fill_value":0,"dimension_names":["c","x","y","z"],
    "codecs":[{"name":"sharding_indexed","configuration":{
      "chunk_shape":[1,32,32,32],
      "codecs":[{"name":"transpose","configuration":{"order":[3,2,1,0]}},
                {"name":"bytes","configuration":{"endian":"little"}},
                {"name":"zstd","configuration":{"level":5,"checksum":true}}],
      "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}]})");
  EXPECT_EQ(got, want) << got.dump(1);
  EXPECT_EQ(slurp(tmp / "1" / "zarr.json").find_first_of("\n "), std::string::npos);  // compact
  EXPECT_TRUE(a->compressed());
  EXPECT_EQ(a->codec_summary(), "sharding_indexed(transpose([3,2,1,0]),bytes,zstd(5))");
  expect_error(ErrorKind::AlreadyExists, [&] { create_zarr3_array(tmp / "1", spec); });
}

TEST(Zarr3Create, UnshardedUncompressedFloat) {
  TempDir tmp;
  ArraySpec spec;
  spec.dtype = DType::Float32;
  spec.shape = {3, 64, 64, 64};
  spec.chunk_shape = spec.shard_shape = {3, 32, 32, 32};
  spec.compress = false;
  auto a = create_zarr3_array(tmp / "2", spec);
  json got = json::parse(slurp(tmp / "2" / "zarr.json"));
  EXPECT_EQ(got["codecs"], json::parse(R"([{"name":"transpose","configuration":{"order":[3,2,1,0]}},
                                            {"name":"bytes","configuration":{"endian":"little"}}])"));
  EXPECT_TRUE(got["fill_value"].is_number_float());
  EXPECT_FALSE(a->compressed());
}

TEST(Zarr3Create, DefaultChunkBytesAreFortranOrder) {
  // Notes 4.3: with transpose [3,2,1,0], element (c,x,y,z) sits at c + C*(x + X*(y + Y*z)).
  TempDir tmp;
  ArraySpec spec;
  spec.shape = {2, 4, 4, 4};
  spec.chunk_shape = spec.shard_shape = {2, 4, 4, 4};
  spec.compress = false;
  auto a = create_zarr3_array(tmp / "m", spec);
  Bytes v(128);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::byte>(i);  // C order: c*64+x*16+y*4+z
  a->write({{0, 0, 0, 0}, {2, 4, 4, 4}}, v);
  Bytes f = read_file(tmp / "m" / "c/0/0/0/0");
  ASSERT_EQ(f.size(), 128u);
  for (int c = 0; c < 2; ++c)
    for (int x = 0; x < 4; ++x)
      for (int y = 0; y < 4; ++y)
        for (int z = 0; z < 4; ++z)
          EXPECT_EQ(static_cast<int>(f[static_cast<size_t>(c + 2 * (x + 4 * (y + 4 * z)))]), c * 64 + x * 16 + y * 4 + z);
}

// The default (library) layout decoded by hand: index at the end (u64 LE pairs, z-fastest entry
// order, crc32c), each chunk a zstd frame with a content checksum holding Fortran-order bytes.
TEST(Zarr3Create, DefaultShardDecodedByHand) {
  TempDir tmp;
  ArraySpec spec;
  spec.dtype = DType::UInt16;
  spec.shape = {2, 8, 8, 8};
  spec.chunk_shape = {2, 4, 4, 4};
  spec.shard_shape = {2, 8, 8, 8};
  auto a = create_zarr3_array(tmp / "m", spec);
  Bytes v(2 * 512 * 2);
  auto value = [](int64_t c, int64_t x, int64_t y, int64_t z) { return static_cast<uint16_t>(1 + c * 4096 + x * 256 + y * 16 + z); };
  size_t i = 0;
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t x = 0; x < 8; ++x)
      for (int64_t y = 0; y < 8; ++y)
        for (int64_t z = 0; z < 8; ++z, i += 2) store_le<uint16_t>(v.data() + i, value(c, x, y, z));
  a->write({{0, 0, 0, 0}, {2, 8, 8, 8}}, v);
  Bytes f = read_file(tmp / "m" / "c/0/0/0/0");
  const size_t n = 8, at = f.size() - 16 * n - 4;
  ASSERT_EQ(load_le<uint32_t>(f.data() + at + 16 * n), crc32c(ByteSpan(f.data() + at, 16 * n)));
  uint64_t expected_offset = 0;
  for (size_t e = 0; e < n; ++e) {
    int64_t gx = static_cast<int64_t>(e / 4), gy = static_cast<int64_t>(e / 2 % 2), gz = static_cast<int64_t>(e % 2);
    uint64_t off = load_le<uint64_t>(f.data() + at + 16 * e), len = load_le<uint64_t>(f.data() + at + 16 * e + 8);
    EXPECT_EQ(off, expected_offset) << "chunks are written in index order";
    expected_offset += len;
    ByteSpan frame(f.data() + off, len);
    ASSERT_EQ(load_le<uint32_t>(frame.data()), 0xFD2FB528u);  // zstd magic
    EXPECT_TRUE((static_cast<unsigned>(frame[4]) & 0x04) != 0) << "content checksum flag";
    Bytes raw = zstd_decompress(frame, 2 * 64 * 2);
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t x = 0; x < 4; ++x)
        for (int64_t y = 0; y < 4; ++y)
          for (int64_t z = 0; z < 4; ++z)
            ASSERT_EQ(load_le<uint16_t>(raw.data() + 2 * static_cast<size_t>(c + 2 * (x + 4 * (y + 4 * z)))),
                      value(c, gx * 4 + x, gy * 4 + y, gz * 4 + z));
  }
  EXPECT_EQ(expected_offset, at);
}

TEST(Zarr3Create, IndexAtStart) {
  TempDir tmp;
  json j = sharded_json(DType::UInt8, {1, 8, 8, 8}, {1, 8, 8, 8}, {1, 4, 4, 4}, json::array({bytes_le()}));
  j["codecs"][0]["configuration"]["index_location"] = "start";
  auto a = open_with(tmp / "m", j);
  Bytes v(512);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::byte>(i % 251 + 1);
  a->write({{0, 0, 0, 0}, {1, 8, 8, 8}}, v);
  Bytes f = read_file(tmp / "m" / "c/0/0/0/0");
  ASSERT_EQ(f.size(), 132u + 512u);
  EXPECT_EQ(load_le<uint32_t>(f.data() + 128), crc32c(ByteSpan(f.data(), 128)));
  for (size_t e = 0; e < 8; ++e) {
    EXPECT_EQ(load_le<uint64_t>(f.data() + 16 * e), 132 + 64 * e);
    EXPECT_EQ(load_le<uint64_t>(f.data() + 16 * e + 8), 64u);
  }
  Bytes out(512);
  open_zarr3_array(tmp / "m")->read({{0, 0, 0, 0}, {1, 8, 8, 8}}, out);
  EXPECT_TRUE(out == v);
}

// --- round trips ----------------------------------------------------------------------------------

namespace {

struct Zarr3Config {
  std::string name;
  std::function<std::unique_ptr<Array>(const fs::path&, DType, int64_t channels)> make;
};

VecN shape3(int64_t channels) { return VecN{channels, 13, 11, 9}; }

std::vector<Zarr3Config> zarr3_configs() {
  std::vector<Zarr3Config> cs;
  auto spec = [](DType t, int64_t c, bool compress, bool sharded) {
    ArraySpec s;
    s.dtype = t;
    s.shape = shape3(c);
    s.chunk_shape = {c, 4, 4, 4};
    s.shard_shape = sharded ? VecN{c, 8, 8, 8} : s.chunk_shape;
    s.compress = compress;
    return s;
  };
  cs.push_back({"default", [=](const fs::path& d, DType t, int64_t c) { return create_zarr3_array(d, spec(t, c, true, true)); }});
  cs.push_back({"uncompressed", [=](const fs::path& d, DType t, int64_t c) { return create_zarr3_array(d, spec(t, c, false, true)); }});
  cs.push_back({"unsharded", [=](const fs::path& d, DType t, int64_t c) { return create_zarr3_array(d, spec(t, c, true, false)); }});
  cs.push_back({"blosc", [](const fs::path& d, DType t, int64_t c) {
                  json inner = json::array({codec("transpose", {{"order", "F"}}), bytes_le(),
                                            codec("blosc", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"},
                                                            {"typesize", dtype_size(t)}, {"blocksize", 0}})});
                  return open_with(d, sharded_json(t, shape3(c), {c, 8, 8, 8}, {c, 4, 4, 4}, inner));
                }});
  cs.push_back({"blosc-zstd-bitshuffle-unsharded-dotkeys", [](const fs::path& d, DType t, int64_t c) {
                  json j = unsharded_json(t, shape3(c), {c, 8, 4, 8},
                                          json::array({bytes_le(), codec("blosc", {{"cname", "zstd"}, {"clevel", 3},
                                                                                   {"shuffle", "bitshuffle"}, {"typesize", dtype_size(t)},
                                                                                   {"blocksize", 0}})}));
                  j["chunk_key_encoding"] = {{"name", "default"}, {"configuration", {{"separator", "."}}}};
                  return open_with(d, j);
                }});
  cs.push_back({"gzip-bigendian-transpose-C", [](const fs::path& d, DType t, int64_t c) {
                  json inner = json::array({codec("transpose", {{"order", "C"}}), codec("bytes", {{"endian", "big"}}),
                                            codec("gzip", {{"level", 1}})});
                  return open_with(d, sharded_json(t, shape3(c), {c, 8, 8, 8}, {c, 4, 4, 4}, inner));
                }});
  cs.push_back({"permuted-crc-index-start-v2keys", [](const fs::path& d, DType t, int64_t c) {
                  json inner = json::array({codec("transpose", {{"order", {2, 0, 3, 1}}}), bytes_le(),
                                            codec("zstd", {{"level", 1}, {"checksum", false}}), codec("crc32c")});
                  json j = sharded_json(t, shape3(c), {c, 8, 16, 4}, {c, 4, 4, 4}, inner);
                  j["codecs"][0]["configuration"]["index_location"] = "start";
                  j["chunk_key_encoding"] = {{"name", "v2"}, {"configuration", {{"separator", "/"}}}};
                  return open_with(d, j);
                }});
  return cs;
}

}  // namespace

TEST(Zarr3RoundTrip, EveryDTypeCodecAndChannelCount) {
  uint64_t seed = 1;
  for (const auto& cfg : zarr3_configs())
    for (DType t : kAllDTypes)
      for (int64_t channels : {1, 3}) {
        SCOPED_TRACE(cfg.name + " " + dtype_name(t) + " x" + std::to_string(channels));
        TempDir tmp;
        fs::path dir = tmp / "mag";
        auto a = cfg.make(dir, t, channels);
        check_round_trip(*a, [&] { return open_zarr3_array(dir); }, seed++, 4, 8);
        if (HasFatalFailure()) return;
      }
}

TEST(Zarr3RoundTrip, FiveDimensional) {
  uint64_t seed = 100;
  for (bool compress : {true, false})
    for (DType t : {DType::Int8, DType::Float64, DType::UInt32}) {
      SCOPED_TRACE(dtype_name(t) + (compress ? " compressed" : " raw"));
      TempDir tmp;
      ArraySpec s;
      s.dtype = t;
      s.shape = {1, 5, 11, 17, 19};
      s.chunk_shape = {1, 1, 4, 8, 8};
      s.shard_shape = {1, 2, 8, 16, 16};
      s.axis_names = {"c", "t", "z", "y", "x"};
      s.compress = compress;
      auto a = create_zarr3_array(tmp / "mag", s);
      EXPECT_EQ(a->meta().axis_names, s.axis_names);
      EXPECT_EQ(a->shard_path({0, 2, 1, 0, 1}), tmp / "mag" / "c/0/2/1/0/1");
      json j = json::parse(slurp(tmp / "mag" / "zarr.json"));
      EXPECT_EQ(j["codecs"][0]["configuration"]["codecs"][0]["configuration"]["order"], json::parse("[4,3,2,1,0]"));
      check_round_trip(*a, [&] { return open_zarr3_array(tmp / "mag"); }, seed++, 8, 8);
    }
}

TEST(Zarr3RoundTrip, FillChunksAreOmittedAndEmptyShardsDeleted) {
  TempDir tmp;
  ArraySpec s;
  s.shape = {1, 16, 16, 16};
  s.chunk_shape = {1, 4, 4, 4};
  s.shard_shape = {1, 8, 8, 8};
  auto a = create_zarr3_array(tmp / "m", s);
  Bytes one(1, std::byte{9});
  a->write({{0, 1, 1, 1}, {1, 1, 1, 1}}, one);
  a->write({{0, 5, 1, 1}, {1, 1, 1, 1}}, one);
  Bytes f = read_file(tmp / "m" / "c/0/0/0/0");
  // index: 8 entries, only chunks (0,0,0) and (1,0,0) = entries 0 and 4 stored, in index order
  size_t at = f.size() - 8 * 16 - 4;
  for (size_t i = 0; i < 8; ++i) {
    bool stored = load_le<uint64_t>(f.data() + at + 16 * i) != kShardEntryEmpty;
    EXPECT_EQ(stored, i == 0 || i == 4) << i;
  }
  EXPECT_EQ(load_le<uint64_t>(f.data() + at), 0u);
  EXPECT_EQ(load_le<uint64_t>(f.data() + at + 16 * 4), load_le<uint64_t>(f.data() + at + 8));
  EXPECT_FALSE(fs::exists(tmp / "m" / "c/0/1/0/0"));
  Bytes zeros(1);
  a->write({{0, 1, 1, 1}, {1, 1, 1, 1}}, zeros);
  a->write({{0, 5, 1, 1}, {1, 1, 1, 1}}, zeros);
  EXPECT_FALSE(fs::exists(tmp / "m" / "c/0/0/0/0"));
}

// The transpose codec against a brute-force numpy.transpose, for every permutation of 4 axes,
// with and without length-1 axes, for every element size.
TEST(Zarr3Codec, TransposeMatchesBruteForceForAllPermutations) {
  for (VecN shape : {VecN{2, 3, 5, 4}, VecN{1, 3, 1, 6}, VecN{3, 1, 9, 17}})
    for (size_t es : {1, 2, 4, 8}) {
      VecN order{0, 1, 2, 3};
      do {
        ChunkCodec cc;
        cc.order = order;
        Bytes chunk(static_cast<size_t>(prod(shape)) * es);
        for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::byte>(i * 31 + i / 256);
        Bytes stored = cc.encode(chunk, shape, es);
        VecN tshape(4);
        for (size_t k = 0; k < 4; ++k) tshape[k] = shape[static_cast<size_t>(order[k])];
        size_t bad = 0;
        for_each_element(shape, [&](const VecN& idx) {
          VecN t(4);
          for (size_t k = 0; k < 4; ++k) t[k] = idx[static_cast<size_t>(order[k])];
          bad += std::memcmp(&stored[c_offset(t, tshape) * es], &chunk[c_offset(idx, shape) * es], es) != 0;
        });
        EXPECT_EQ(bad, 0u) << to_string(shape) << " order " << to_string(order) << " es " << es;
        EXPECT_TRUE(cc.decode(stored, shape, es, "t") == chunk) << to_string(order);
      } while (std::next_permutation(order.begin(), order.end()));
    }
}

// --- metadata details -------------------------------------------------------------------------------

TEST(Zarr3Metadata, FillValues) {
  auto fill_of = [](DType t, json fv) {
    json j = unsharded_json(t, {2, 2}, {2, 2}, json::array({bytes_le()}));
    j["fill_value"] = fv;
    return parse_zarr3_metadata(j.dump(), "test").meta.fill_value;
  };
  Bytes f = fill_of(DType::Float32, "NaN");
  float v;
  std::memcpy(&v, f.data(), 4);
  EXPECT_TRUE(std::isnan(v));
  f = fill_of(DType::Float64, "-Infinity");
  double d;
  std::memcpy(&d, f.data(), 8);
  EXPECT_EQ(d, -INFINITY);
  f = fill_of(DType::Float32, 1.5);
  std::memcpy(&v, f.data(), 4);
  EXPECT_EQ(v, 1.5f);
  f = fill_of(DType::Float32, "0x3fc00000");
  std::memcpy(&v, f.data(), 4);
  EXPECT_EQ(v, 1.5f);
  EXPECT_EQ(fill_of(DType::Int16, -2), (Bytes{std::byte{0xfe}, std::byte{0xff}}));
  EXPECT_EQ(fill_of(DType::UInt64, 18446744073709551615ull), Bytes(8, std::byte{0xff}));
  expect_error(ErrorKind::InvalidArgument, [&] { fill_of(DType::UInt8, 256); });
  expect_error(ErrorKind::InvalidArgument, [&] { fill_of(DType::Int8, -129); });
  expect_error(ErrorKind::InvalidArgument, [&] { fill_of(DType::UInt16, "NaN"); });
  expect_error(ErrorKind::InvalidArgument, [&] { fill_of(DType::Int32, 1.5); });
}

TEST(Zarr3Metadata, NonZeroFillReadsWhereNothingIsStored) {
  TempDir tmp;
  json j = sharded_json(DType::UInt16, {1, 8, 8, 8}, {1, 8, 8, 8}, {1, 4, 4, 4}, json::array({bytes_le()}));
  j["fill_value"] = 7;
  auto a = open_with(tmp / "m", j);
  Bytes out(2 * 10);
  a->read({{0, 6, 6, 6}, {1, 1, 1, 10}}, out);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(load_le<uint16_t>(out.data() + 2 * i), 7) << i;
  // a chunk written with the fill value everywhere is not stored
  Bytes sevens(2 * 64);
  for (size_t i = 0; i < 64; ++i) store_le<uint16_t>(sevens.data() + 2 * i, 7);
  a->write({{0, 0, 0, 0}, {1, 4, 4, 4}}, sevens);
  EXPECT_FALSE(fs::exists(tmp / "m" / "c/0/0/0/0"));
}

TEST(Zarr3Metadata, ChunkKeyEncodings) {
  auto key = [](json enc) {
    json j = unsharded_json(DType::UInt8, {2, 2, 2}, {1, 1, 1}, json::array({bytes_le()}));
    if (enc.is_null()) j.erase("chunk_key_encoding");
    else j["chunk_key_encoding"] = enc;
    return parse_zarr3_metadata(j.dump(), "t").key.key({0, 1, 2});
  };
  EXPECT_EQ(key(json::parse(R"({"name":"default","configuration":{"separator":"/"}})")), "c/0/1/2");
  EXPECT_EQ(key(json::parse(R"({"name":"default","configuration":{"separator":"."}})")), "c.0.1.2");
  EXPECT_EQ(key(json::parse(R"({"name":"default"})")), "c/0/1/2");
  EXPECT_EQ(key(json::parse(R"({"name":"v2"})")), "0.1.2");
  EXPECT_EQ(key(json::parse(R"({"name":"v2","configuration":{"separator":"/"}})")), "0/1/2");
  EXPECT_EQ(key(nullptr), "c/0/1/2");
}

TEST(Zarr3Metadata, TransposeStringsAndOldIndexLocation) {
  json j = sharded_json(DType::UInt8, {3, 8, 8, 8}, {3, 8, 8, 8}, {3, 4, 4, 4},
                        json::array({codec("transpose", {{"order", "F"}}), bytes_le()}));
  j["codecs"][0]["configuration"]["index_location"] = "end";
  Zarr3Metadata md = parse_zarr3_metadata(j.dump(), "t");
  EXPECT_EQ(md.codec.order, (VecN{3, 2, 1, 0}));
  ASSERT_TRUE(md.sharding);
  EXPECT_TRUE(md.sharding->at_end);
  EXPECT_EQ(md.sharding->encoded_size(), 8u * 16 + 4);
}

TEST(Zarr3Resize, RewritesShapeOnlyAndKeepsUnknownKeys) {
  TempDir tmp;
  fs::path ds = copy_fixture("simple_zarr3_dataset", tmp.path());
  fs::path mag = ds / "color" / "1";
  json before = json::parse(slurp(mag / "zarr.json"));
  before["x_custom"] = {{"keep", "me"}};
  before["attributes"] = {{"a", 1}};
  write_text(mag / "zarr.json", before.dump(2));
  auto a = open_zarr3_array(mag);
  a->resize({3, 64, 32, 96});
  EXPECT_EQ(a->meta().shape, (VecN{3, 64, 32, 96}));
  json after = json::parse(slurp(mag / "zarr.json"));
  json expected = before;
  expected["shape"] = {3, 64, 32, 96};
  EXPECT_EQ(after, expected);
  EXPECT_EQ(open_zarr3_array(mag)->meta().shape, (VecN{3, 64, 32, 96}));
  expect_fixture_box(*open_zarr3_array(mag), {{0, 0, 0, 0}, {3, 30, 30, 30}});
  expect_error(ErrorKind::InvalidArgument, [&] { a->resize({3, 64}); });
  for (auto& e : fs::directory_iterator(mag)) EXPECT_FALSE(is_temp_file_name(e.path().filename().string()));
}

// --- bad input ------------------------------------------------------------------------------------

namespace {

struct CorruptCase {
  std::unique_ptr<Array> array;
  fs::path shard;
  Bytes bytes;  // what is on disk
};

// The fixture mag copied, with its shard replaced by `mutate(original)`.
CorruptCase corrupt_fixture(const TempDir& tmp, const std::function<void(Bytes&)>& mutate) {
  fs::path ds = copy_fixture("simple_zarr3_dataset", tmp.path());
  fs::path mag = ds / "color" / "1";
  CorruptCase cc;
  cc.shard = mag / "c/0/0/0/0";
  cc.bytes = read_file(cc.shard);
  mutate(cc.bytes);
  write_file_atomic(cc.shard, cc.bytes);
  cc.array = open_zarr3_array(mag);
  return cc;
}

void rewrite_index_crc(Bytes& f) {
  size_t at = f.size() - 8 * 16 - 4;
  store_le<uint32_t>(f.data() + at + 128, crc32c(ByteSpan(f.data() + at, 128)));
}

// Reading and writing both fail with `kind`, and the shard file is left as it was.
void expect_corrupt(const CorruptCase& cc, const std::string& needle) {
  Bytes out(3 * 24 * 24 * 24);
  expect_error(ErrorKind::Corrupt, [&] { cc.array->read({{0, 0, 0, 0}, {3, 24, 24, 24}}, out); }, needle);
  Bytes one(1, std::byte{1});
  expect_error(ErrorKind::Corrupt, [&] { cc.array->write({{0, 3, 3, 3}, {1, 1, 1, 1}}, one); }, needle);
  EXPECT_TRUE(read_file(cc.shard) == cc.bytes) << "shard changed on disk";
}

}  // namespace

TEST(Zarr3BadInput, TruncatedShard) {
  TempDir t1, t2, t3;
  expect_corrupt(corrupt_fixture(t1, [](Bytes& f) { f.resize(100); }), "truncated");
  expect_corrupt(corrupt_fixture(t2, [](Bytes& f) { f.resize(f.size() - 10); }), "");
  // body cut, index kept: the entries now point past the end of the file
  expect_corrupt(corrupt_fixture(t3, [](Bytes& f) { f.erase(f.begin() + 1000, f.begin() + 5000); }), "past the end");
}

TEST(Zarr3BadInput, WrongIndexCrc) {
  TempDir t;
  expect_corrupt(corrupt_fixture(t, [](Bytes& f) { f[f.size() - 30] ^= std::byte{1}; }), "crc32c");
}

TEST(Zarr3BadInput, IndexEntryPastEof) {
  TempDir t1, t2;
  expect_corrupt(corrupt_fixture(t1, [](Bytes& f) {
                   store_le<uint64_t>(f.data() + f.size() - 132 + 16 * 3, 1u << 30);
                   rewrite_index_crc(f);
                 }),
                 "past the end");
  expect_corrupt(corrupt_fixture(t2, [](Bytes& f) {  // offset + nbytes overflows 2^64
                   store_le<uint64_t>(f.data() + f.size() - 132 + 16 * 5, 100);
                   store_le<uint64_t>(f.data() + f.size() - 132 + 16 * 5 + 8, ~uint64_t{0} - 50);
                   rewrite_index_crc(f);
                 }),
                 "past the end");
}

TEST(Zarr3BadInput, RawChunkOfWrongSize) {
  TempDir t;
  expect_corrupt(corrupt_fixture(t, [](Bytes& f) {
                   store_le<uint64_t>(f.data() + f.size() - 132 + 8, 12287);
                   rewrite_index_crc(f);
                 }),
                 "expected 12288");
}

TEST(Zarr3BadInput, CompressedPayloadOfWrongSize) {
  for (const char* which : {"zstd", "blosc", "gzip"}) {
    SCOPED_TRACE(which);
    TempDir tmp;
    json c = std::string(which) == "zstd"    ? codec("zstd", {{"level", 5}, {"checksum", true}})
             : std::string(which) == "gzip" ? codec("gzip", {{"level", 5}})
                                            : codec("blosc", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "noshuffle"}, {"typesize", 1}, {"blocksize", 0}});
    auto a = open_with(tmp / "m", sharded_json(DType::UInt8, {1, 8, 8, 8}, {1, 8, 8, 8}, {1, 4, 4, 4},
                                               json::array({bytes_le(), c})));
    Bytes data(512, std::byte{3});
    a->write({{0, 0, 0, 0}, {1, 8, 8, 8}}, data);
    // replace every chunk by a valid payload of 63 instead of 64 bytes
    Bytes small(63, std::byte{5});
    Bytes payload = std::string(which) == "zstd"   ? zstd_compress(small, 5, true)
                    : std::string(which) == "gzip" ? gzip_compress(small, 5)
                                                   : blosc_compress(small, BloscParams{});
    std::vector<std::optional<Bytes>> chunks(8, payload);
    ShardIndexLayout layout;
    layout.chunks_per_shard = {1, 2, 2, 2};
    layout.codec.byte_codecs.push_back(ByteCodec{ByteCodec::Kind::Crc32c});
    Bytes bad = assemble_shard(chunks, layout);
    fs::path shard = tmp / "m" / "c/0/0/0/0";
    write_file_atomic(shard, bad);
    auto fresh = open_zarr3_array(tmp / "m");
    Bytes out(512);
    expect_error(ErrorKind::Corrupt, [&] { fresh->read({{0, 0, 0, 0}, {1, 8, 8, 8}}, out); });
    expect_error(ErrorKind::Corrupt, [&] { fresh->write({{0, 0, 0, 0}, {1, 1, 1, 1}}, Bytes(1)); });
    EXPECT_TRUE(read_file(shard) == bad);
    // garbage that is no payload at all
    std::vector<std::optional<Bytes>> junk(8, Bytes(40, std::byte{0x55}));
    write_file_atomic(shard, assemble_shard(junk, layout));
    auto fresh2 = open_zarr3_array(tmp / "m");
    expect_error(ErrorKind::Corrupt, [&] { fresh2->read({{0, 0, 0, 0}, {1, 8, 8, 8}}, out); });
  }
}

TEST(Zarr3BadInput, Metadata) {
  TempDir tmp;
  fs::path m = tmp / "m";
  json good = sharded_json(DType::UInt8, {1, 8, 8, 8}, {1, 8, 8, 8}, {1, 4, 4, 4}, json::array({bytes_le()}));
  auto bad_meta = [&](const std::string& text, ErrorKind kind, const std::string& needle) {
    write_text(m / "zarr.json", text);
    expect_error(kind, [&] { open_zarr3_array(m); }, needle);
    EXPECT_EQ(slurp(m / "zarr.json"), text);
  };
  bad_meta("{\"zarr_format\": 3, \"shape\": [1,2", ErrorKind::InvalidArgument, "invalid JSON");
  bad_meta("[]", ErrorKind::InvalidArgument, "");
  json j = good;
  j["codecs"][0]["configuration"]["codecs"].push_back(codec("lzma_fancy"));
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "lzma_fancy");
  j = good;
  j["codecs"] = json::array({codec("bytes"), codec("snappy9")});
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "snappy9");
  j = good;
  j["data_type"] = "complex128";
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "complex128");
  j = good;
  j["data_type"] = "float16";
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "float16");
  j = good;
  j["shape"] = {1, 8, 8};
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "");
  j = good;
  j["codecs"][0]["configuration"]["chunk_shape"] = {1, 3, 4, 4};
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "multiple");
  j = good;
  j["zarr_format"] = 2;
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "zarr_format");
  j = good;
  j["shape"] = {1, "8", 8, 8};
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "integer");
  j = good;
  j["codecs"][0]["configuration"]["codecs"] = json::array({codec("transpose", {{"order", {0, 1, 1, 3}}}), bytes_le()});
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "permutation");
  j = good;
  j["codecs"][0]["configuration"]["index_codecs"] = json::array({bytes_le(), codec("zstd")});
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "index_codecs");
  j = good;
  j["codecs"][0]["configuration"]["index_location"] = "middle";
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "middle");
  j = good;
  j["chunk_grid"]["configuration"]["chunk_shape"] = {1, 1 << 20, 1 << 20, 1 << 20};
  j["codecs"][0]["configuration"]["chunk_shape"] = {1, 1, 1, 1};
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "too large");
  expect_error(ErrorKind::InvalidArgument, [&] { write_text(m / "zarr.json", ""); open_zarr3_array(m); });
  fs::remove(m / "zarr.json");
  expect_error(ErrorKind::NotFound, [&] { open_zarr3_array(m); });
}
