#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "codecs/compression.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/zarr2_array.hpp"
#include "formats/zarr2_metadata.hpp"
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

const std::vector<DType> kAllDTypes = {DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64, DType::Int8,
                                       DType::Int16, DType::Int32,  DType::Int64,  DType::Float32, DType::Float64};

json vec_json(const VecN& v) { return std::vector<int64_t>(v.begin(), v.end()); }

std::string typestr(DType t, bool big) {
  std::string s = zarr2_typestr(t);
  if (big && dtype_size(t) > 1) s[0] = '>';
  return s;
}

json zarray(DType t, const VecN& shape, const VecN& chunks, json compressor, const std::string& order,
            bool big = false, json separator = nullptr) {
  json j = {{"zarr_format", 2},   {"shape", vec_json(shape)}, {"chunks", vec_json(chunks)},
            {"dtype", typestr(t, big)}, {"compressor", compressor}, {"fill_value", 0},
            {"order", order},     {"filters", nullptr}};
  if (!separator.is_null()) j["dimension_separator"] = separator;
  return j;
}

std::unique_ptr<Array> open_with(const fs::path& dir, const json& j) {
  write_text(dir / ".zarray", j.dump(4));
  return open_zarr2_array(dir);
}

}  // namespace

TEST(Zarr2Fixture, ReadsKnownPattern) {
  TempDir tmp;
  fs::path ds = copy_fixture("simple_zarr_dataset", tmp.path());
  fs::path mag = ds / "color" / "1-1-1";
  auto a = open_zarr2_array(mag);
  EXPECT_EQ(a->meta().shape, (VecN{3, 24, 24, 24}));
  EXPECT_EQ(a->meta().chunk_shape, (VecN{3, 32, 32, 32}));
  EXPECT_EQ(a->meta().shard_shape, (VecN{3, 32, 32, 32}));
  EXPECT_EQ(a->shard_path({0, 0, 0, 0}), mag / "0.0.0.0");
  EXPECT_FALSE(a->compressed());
  for (NdBox box : {NdBox{{0, 0, 0, 0}, {3, 24, 24, 24}}, NdBox{{0, 0, 0, 0}, {3, 40, 33, 35}},
                    NdBox{{1, 7, 22, 3}, {2, 20, 9, 30}}}) {
    Bytes out(static_cast<size_t>(box.volume()));
    a->read(box, out);
    size_t i = 0, bad = 0;
    for (int64_t c = 0; c < box.shape[0]; ++c)
      for (int64_t x = 0; x < box.shape[1]; ++x)
        for (int64_t y = 0; y < box.shape[2]; ++y)
          for (int64_t z = 0; z < box.shape[3]; ++z) {
            unsigned char want = box.begin[0] + c < 3
                                     ? fixture_value(box.begin[1] + x, box.begin[2] + y, box.begin[3] + z)
                                     : 0;
            bad += static_cast<unsigned char>(out[i++]) != want;
          }
    EXPECT_EQ(bad, 0u) << to_string(box.begin) << "+" << to_string(box.shape);
  }
}

TEST(Zarr2Fixture, RewritingTheVolumeReproducesTheChunkFile) {
  fs::path src = fixture("simple_zarr_dataset") / "color" / "1-1-1";
  TempDir tmp;
  fs::create_directories(tmp / "m");
  fs::copy_file(src / ".zarray", tmp / "m" / ".zarray");
  auto a = open_zarr2_array(tmp / "m");
  Bytes vol(3 * 24 * 24 * 24);
  size_t i = 0;
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 24; ++x)
      for (int y = 0; y < 24; ++y)
        for (int z = 0; z < 24; ++z) vol[i++] = static_cast<std::byte>(fixture_value(x, y, z));
  a->write({{0, 0, 0, 0}, {3, 24, 24, 24}}, vol);
  EXPECT_TRUE(read_file(tmp / "m" / "0.0.0.0") == read_file(src / "0.0.0.0"));
}

TEST(Zarr2Create, WritesLibraryMetadata) {
  TempDir tmp;
  ArraySpec spec;
  spec.dtype = DType::UInt16;
  spec.shape = {1, 64, 64, 32};
  spec.chunk_shape = spec.shard_shape = {1, 32, 32, 32};
  auto a = create_zarr2_array(tmp / "1", spec);
  json got = json::parse(slurp(tmp / "1" / ".zarray"));
  json want = json::parse(R"({"chunks":[1,32,32,32],"compressor":{"id":"zstd","level":5},
    "dimension_separator":"/","dtype":"<u2","fill_value":0,"filters":null,"order":"F",
    "shape":[1,64,64,32],"zarr_format":2})");
  EXPECT_EQ(got, want) << got.dump();
  EXPECT_TRUE(a->compressed());
  EXPECT_EQ(a->shard_path({0, 1, 0, 0}), tmp / "1" / "0/1/0/0");
  EXPECT_EQ(a->codec_summary(), "transpose([3,2,1,0]),bytes,zstd(5)");

  spec.compress = false;
  spec.dtype = DType::Float64;
  auto b = create_zarr2_array(tmp / "2", spec);
  got = json::parse(slurp(tmp / "2" / ".zarray"));
  EXPECT_TRUE(got["compressor"].is_null());
  EXPECT_EQ(got["dtype"], "<f8");
  EXPECT_FALSE(b->compressed());

  spec.shard_shape = {1, 64, 64, 64};
  expect_error(ErrorKind::InvalidArgument, [&] { create_zarr2_array(tmp / "3", spec); });
  expect_error(ErrorKind::AlreadyExists, [&] { create_zarr2_array(tmp / "2", ArraySpec{}); });
}

TEST(Zarr2Create, OrderFStoresChannelFastest) {
  TempDir tmp;
  ArraySpec spec;
  spec.shape = spec.chunk_shape = spec.shard_shape = {2, 4, 4, 4};
  spec.compress = false;
  auto a = create_zarr2_array(tmp / "m", spec);
  Bytes v(128);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::byte>(i);
  a->write({{0, 0, 0, 0}, {2, 4, 4, 4}}, v);
  Bytes f = read_file(tmp / "m" / "0/0/0/0");
  ASSERT_EQ(f.size(), 128u);
  for (int c = 0; c < 2; ++c)
    for (int x = 0; x < 4; ++x)
      for (int y = 0; y < 4; ++y)
        for (int z = 0; z < 4; ++z)
          EXPECT_EQ(static_cast<int>(f[static_cast<size_t>(c + 2 * (x + 4 * (y + 4 * z)))]), c * 64 + x * 16 + y * 4 + z);
}

TEST(Zarr2Metadata, BigEndianChunkBytes) {
  TempDir tmp;
  auto a = open_with(tmp / "m", zarray(DType::UInt32, {2}, {2}, nullptr, "C", true));
  Bytes v(8);
  store_le<uint32_t>(v.data(), 0x01020304u);
  store_le<uint32_t>(v.data() + 4, 0x0a0b0c0du);
  a->write({{0}, {2}}, v);
  Bytes f = read_file(tmp / "m" / "0");
  EXPECT_EQ(f, (Bytes{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}, std::byte{0xa}, std::byte{0xb},
                      std::byte{0xc}, std::byte{0xd}}));
}

TEST(Zarr2Metadata, DTypesFillValuesAndSeparators) {
  for (const char* ts : {"|u1", "|i1", "<u2", ">u2", "<i2", ">i2", "<u4", ">u4", "<i4", ">i4", "<u8", ">u8", "<i8",
                         ">i8", "<f4", ">f4", "<f8", ">f8", "|b1"}) {
    json j = zarray(DType::UInt8, {4}, {2}, nullptr, "C");
    j["dtype"] = ts;
    Zarr2Metadata md = parse_zarray(j.dump(), "t");
    EXPECT_EQ(md.codec.big_endian, ts[0] == '>') << ts;
    EXPECT_EQ(std::string(1, ts[2]), std::to_string(md.meta.elem_size())) << ts;
  }
  json j = zarray(DType::Float32, {4}, {2}, nullptr, "C");
  j["fill_value"] = "NaN";
  Bytes f = parse_zarray(j.dump(), "t").meta.fill_value;
  EXPECT_EQ(load_le<uint32_t>(f.data()) & 0x7f800000u, 0x7f800000u);
  j["fill_value"] = nullptr;
  EXPECT_EQ(parse_zarray(j.dump(), "t").meta.fill_value, Bytes(4));
  j["fill_value"] = -1.25;
  f = parse_zarray(j.dump(), "t").meta.fill_value;
  float v;
  std::memcpy(&v, f.data(), 4);
  EXPECT_EQ(v, -1.25f);
  Zarr2Metadata md = parse_zarray(zarray(DType::UInt8, {4, 4}, {2, 2}, nullptr, "C").dump(), "t");
  EXPECT_EQ(md.key({1, 0}), "1.0");
  md = parse_zarray(zarray(DType::UInt8, {4, 4}, {2, 2}, nullptr, "C", false, "/").dump(), "t");
  EXPECT_EQ(md.key({1, 0}), "1/0");
}

TEST(Zarr2Resize, RewritesShapeOnly) {
  TempDir tmp;
  fs::path ds = copy_fixture("simple_zarr_dataset", tmp.path());
  fs::path mag = ds / "color" / "1-1-1";
  json before = json::parse(slurp(mag / ".zarray"));
  auto a = open_zarr2_array(mag);
  a->resize({3, 64, 64, 32});
  json after = json::parse(slurp(mag / ".zarray"));
  before["shape"] = {3, 64, 64, 32};
  EXPECT_EQ(after, before);
  EXPECT_EQ(open_zarr2_array(mag)->meta().shape, (VecN{3, 64, 64, 32}));
}

TEST(Zarr2RoundTrip, EveryDTypeCompressorOrderAndChannelCount) {
  struct Cfg {
    std::string name;
    json compressor;
    std::string order;
    bool big;
    json separator;
  };
  std::vector<Cfg> cfgs = {
      {"zstd-F", json{{"id", "zstd"}, {"level", 5}}, "F", false, "/"},
      {"none-C", nullptr, "C", false, nullptr},
      {"none-F-big", nullptr, "F", true, "."},
      {"blosc-C", json{{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}}, "C", false, "/"},
      {"blosc-zstd-bitshuffle-F", json{{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 3}, {"shuffle", 2}, {"blocksize", 0}}, "F", false, nullptr},
      {"blosc-auto-big", json{{"id", "blosc"}, {"cname", "blosclz"}, {"clevel", 9}, {"shuffle", -1}, {"blocksize", 0}}, "C", true, nullptr},
      {"zlib-F", json{{"id", "zlib"}, {"level", 1}}, "F", false, "/"},
      {"gzip-C-big", json{{"id", "gzip"}, {"level", 6}}, "C", true, "."},
  };
  uint64_t seed = 500;
  for (const auto& cfg : cfgs)
    for (DType t : kAllDTypes)
      for (int64_t c : {1, 3}) {
        SCOPED_TRACE(cfg.name + " " + dtype_name(t) + " x" + std::to_string(c));
        TempDir tmp;
        auto a = open_with(tmp / "m", zarray(t, {c, 11, 9, 7}, {c, 8, 4, 4}, cfg.compressor, cfg.order, cfg.big, cfg.separator));
        check_round_trip(*a, [&] { return open_zarr2_array(tmp / "m"); }, seed++, 4, 8);
        if (HasFatalFailure()) return;
      }
}

TEST(Zarr2RoundTrip, FiveDimensionalAndEmptyChunksDeleted) {
  TempDir tmp;
  ArraySpec s;
  s.dtype = DType::Int16;
  s.shape = {1, 4, 9, 10, 11};
  s.chunk_shape = s.shard_shape = {1, 2, 4, 4, 4};
  s.axis_names = {"c", "t", "z", "y", "x"};
  auto a = create_zarr2_array(tmp / "m", s);
  check_round_trip(*a, [&] { return open_zarr2_array(tmp / "m"); }, 9, 8, 8);
  Bytes zeros(static_cast<size_t>(prod(s.shape)) * 2);
  a->write({VecN(5, 0), s.shape}, zeros);
  for (auto& e : fs::recursive_directory_iterator(tmp / "m"))
    EXPECT_TRUE(e.is_directory() || e.path().filename() == ".zarray") << e.path();
}

TEST(Zarr2BadInput, ChunksAndMetadata) {
  TempDir tmp;
  fs::path m = tmp / "m";
  json good = zarray(DType::UInt16, {8, 8}, {4, 4}, json{{"id", "zstd"}, {"level", 3}}, "F");
  auto a = open_with(m, good);
  Bytes data(128, std::byte{7});
  a->write({{0, 0}, {8, 8}}, data);

  // zstd frame of the wrong decoded size, then a truncated frame, then garbage
  Bytes small(31, std::byte{1});
  Bytes full(32, std::byte{1});
  Bytes frame = zstd_compress(full, 3, false);
  for (Bytes bad : {zstd_compress(small, 3, true), Bytes(frame.begin(), frame.end() - 3), Bytes(17, std::byte{0x42})}) {
    write_file_atomic(m / "0.0", bad);
    auto fresh = open_zarr2_array(m);
    Bytes out(32);
    expect_error(ErrorKind::Corrupt, [&] { fresh->read({{0, 0}, {4, 4}}, out); });
    expect_error(ErrorKind::Corrupt, [&] { fresh->write({{1, 1}, {1, 1}}, Bytes(2)); });
    EXPECT_TRUE(read_file(m / "0.0") == bad);
  }
  // uncompressed chunk of the wrong size
  auto raw = open_with(tmp / "r", zarray(DType::UInt16, {8, 8}, {4, 4}, nullptr, "C"));
  write_file_atomic(tmp / "r" / "1.1", Bytes(31));
  Bytes out(128);
  expect_error(ErrorKind::Corrupt, [&] { raw->read({{0, 0}, {8, 8}}, out); }, "expected 32");

  auto bad_meta = [&](const std::string& text, ErrorKind kind, const std::string& needle) {
    write_text(tmp / "b" / ".zarray", text);
    expect_error(kind, [&] { open_zarr2_array(tmp / "b"); }, needle);
  };
  bad_meta("{\"zarr_format\": 2,", ErrorKind::InvalidArgument, "invalid JSON");
  json j = good;
  j["compressor"] = {{"id", "lzma"}};
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "lzma");
  j = good;
  j["dtype"] = "<c16";
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "<c16");
  j = good;
  j["dtype"] = "<f2";
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "<f2");
  j = good;
  j["dtype"] = json::array({json::array({"a", "<u2"})});
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "dtype");
  j = good;
  j["order"] = "K";
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "order");
  j = good;
  j["filters"] = json::array({{{"id", "delta"}, {"dtype", "<u2"}}});
  bad_meta(j.dump(), ErrorKind::Unsupported, "delta");
  j = good;
  j["chunks"] = {4};
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "chunks");
  j = good;
  j["dimension_separator"] = "_";
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "dimension_separator");
  j = good;
  j["zarr_format"] = 3;
  bad_meta(j.dump(), ErrorKind::InvalidArgument, "zarr_format");
}
