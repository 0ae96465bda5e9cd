// Byte codecs: round trips on EM-like and segmentation-like chunks for every codec and setting,
// cross-checks against independent encoders/decoders (zstd and gzip CLIs, Python zlib/gzip/lz4,
// numcodecs) run at test time, and bad input (truncated, wrong size, garbage, bad checksum,
// random byte flips) which must give Error(Corrupt) and never crash.
#include "codecs/compression.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "support/test_support.hpp"

namespace wkfs {
namespace {

namespace fs = std::filesystem;

constexpr int kEdge = 32;
constexpr size_t kVoxels = size_t{kEdge} * kEdge * kEdge;

// Smooth gradient plus gaussian noise, like an EM chunk.
Bytes em_u8(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 12.0);
  Bytes out(kVoxels);
  size_t i = 0;
  for (int z = 0; z < kEdge; ++z)
    for (int y = 0; y < kEdge; ++y)
      for (int x = 0; x < kEdge; ++x) {
        double v = 120 + 50 * std::sin(x / 9.0) + 30 * std::cos(y / 6.0) + 2.0 * z + noise(rng);
        out[i++] = std::byte(static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)));
      }
  return out;
}

// Piecewise-constant regions (nearest of a few random seeds) with large random uint32 ids.
Bytes seg_u32(uint32_t seed) {
  std::mt19937 rng(seed);
  struct Seed {
    int x, y, z;
    uint32_t id;
  };
  std::vector<Seed> seeds(24);
  for (auto& s : seeds) s = {int(rng() % kEdge), int(rng() % kEdge), int(rng() % kEdge), uint32_t(rng())};
  Bytes out(kVoxels * 4);
  size_t i = 0;
  for (int z = 0; z < kEdge; ++z)
    for (int y = 0; y < kEdge; ++y)
      for (int x = 0; x < kEdge; ++x) {
        int best = 1 << 30;
        uint32_t id = 0;
        for (const auto& s : seeds) {
          int d = (x - s.x) * (x - s.x) + (y - s.y) * (y - s.y) + (z - s.z) * (z - s.z);
          if (d < best) best = d, id = s.id;
        }
        store_le<uint32_t>(out.data() + 4 * i++, id);
      }
  return out;
}

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = std::byte(rng() & 0xFF);
  return out;
}

void write_bytes(const fs::path& p, ByteSpan b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  ASSERT_TRUE(f.good()) << p;
}

Bytes read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f.good()) << p;
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

bool reference_tools_present() {
  return run("command -v zstd >/dev/null && command -v gzip >/dev/null && "
             "/usr/bin/python3 -c 'import numcodecs, numpy, lz4.block' 2>/dev/null") == 0;
}

// Expects `fn` to throw Error(Corrupt) with a message naming the codec.
void expect_corrupt(const std::function<void()>& fn, const std::string& codec, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << codec << ": " << what << " decoded without error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << codec << ": " << what << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(codec), std::string::npos) << "message lacks the codec name: " << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Every codec and setting as an (encode, decode) pair.

struct Codec {
  std::string name;
  std::string family;  // as it appears in error messages
  std::function<Bytes(ByteSpan)> encode;
  std::function<Bytes(ByteSpan, size_t)> decode;
  size_t typesize = 1;
};

std::vector<Codec> all_codecs() {
  std::vector<Codec> v;
  for (int level : {-5, 1, 3, 5, 19})
    for (bool ck : {false, true})
      v.push_back({"zstd_l" + (level < 0 ? "m" + std::to_string(-level) : std::to_string(level)) + (ck ? "_ck" : ""), "zstd",
                   [=](ByteSpan in) { return zstd_compress(in, level, ck); }, zstd_decompress});
  for (int level : {-1, 0, 1, 6, 9}) {
    v.push_back({"gzip_l" + (level < 0 ? "m" + std::to_string(-level) : std::to_string(level)), "gzip", [=](ByteSpan in) { return gzip_compress(in, level); },
                 gzip_decompress});
    v.push_back({"zlib_l" + (level < 0 ? "m" + std::to_string(-level) : std::to_string(level)), "zlib", [=](ByteSpan in) { return zlib_compress(in, level); },
                 zlib_decompress});
  }
  for (const char* cname : {"blosclz", "lz4", "lz4hc", "zlib", "zstd"})
    for (int shuffle : {0, 1, 2})
      for (size_t typesize : {size_t{1}, size_t{4}})
        for (size_t blocksize : {size_t{0}, size_t{8192}}) {
          BloscParams p{cname, 5, shuffle, typesize, blocksize};
          v.push_back({std::string("blosc_") + cname + "_s" + std::to_string(shuffle) + "_t" + std::to_string(typesize) +
                           "_b" + std::to_string(blocksize),
                       "blosc", [=](ByteSpan in) { return blosc_compress(in, p); }, blosc_decompress, typesize});
        }
  v.push_back({"lz4", "lz4", [](ByteSpan in) { return lz4_block_compress(in, false, 0); }, lz4_block_decompress});
  for (int level : {1, 9, 12})
    v.push_back({"lz4hc_l" + std::to_string(level), "lz4",
                 [=](ByteSpan in) { return lz4_block_compress(in, true, level); }, lz4_block_decompress});
  return v;
}

void PrintTo(const Codec& c, std::ostream* os) { *os << c.name; }

class EveryCodec : public ::testing::TestWithParam<Codec> {};

TEST_P(EveryCodec, RoundTripsRealisticAndEdgeData) {
  const Codec& c = GetParam();
  std::map<std::string, Bytes> inputs = {
      {"em_u8", em_u8(1)},          {"seg_u32", seg_u32(2)}, {"zeros", Bytes(kVoxels * 2)},
      {"random", random_bytes(40000, 3)}, {"odd_size", random_bytes(1003, 4)}, {"one_byte", Bytes{std::byte{7}}},
      {"empty", Bytes{}}};
  for (const auto& [label, raw] : inputs) {
    Bytes enc = c.encode(raw);
    Bytes dec = c.decode(enc, raw.size());
    EXPECT_TRUE(dec == raw) << c.name << " on " << label;
    if (label == "zeros" && c.name.find("_l0") == std::string::npos) {  // level 0 deflate only stores
      EXPECT_LT(enc.size(), raw.size() / 20) << c.name << " does not compress zeros";
    }
  }
}

TEST_P(EveryCodec, RejectsWrongExpectedSize) {
  const Codec& c = GetParam();
  Bytes raw = seg_u32(6);
  Bytes enc = c.encode(raw);
  for (size_t wrong : {raw.size() - 1, raw.size() + 1, raw.size() / 2, raw.size() * 2, size_t{0}})
    expect_corrupt([&] { c.decode(enc, wrong); }, c.family, "expected " + std::to_string(wrong));
}

TEST_P(EveryCodec, RejectsTruncatedPayload) {
  const Codec& c = GetParam();
  Bytes raw = em_u8(7);
  Bytes enc = c.encode(raw);
  for (size_t keep : {size_t{0}, size_t{1}, size_t{4}, enc.size() / 2, enc.size() - 1}) {
    ByteSpan cut = ByteSpan(enc).first(keep);
    expect_corrupt([&] { c.decode(cut, raw.size()); }, c.family, "truncated to " + std::to_string(keep));
  }
}

TEST_P(EveryCodec, RejectsRandomGarbage) {
  const Codec& c = GetParam();
  for (size_t n : {size_t{1}, size_t{3}, size_t{16}, size_t{17}, size_t{100}, size_t{5000}})
    for (uint32_t seed = 0; seed < 10; ++seed) {
      Bytes junk = random_bytes(n, seed * 131 + static_cast<uint32_t>(n));
      expect_corrupt([&] { c.decode(junk, kVoxels); }, c.family, "garbage of " + std::to_string(n) + " bytes");
    }
}

// Without checksums (lz4, blosc, zstd without one) a flipped byte may decode to wrong data of the
// right size; what must never happen is a crash, an overrun or another error kind.
TEST_P(EveryCodec, SurvivesByteFlips) {
  const Codec& c = GetParam();
  Bytes raw = seg_u32(8);
  Bytes enc = c.encode(raw);
  std::mt19937 rng(9);
  for (int i = 0; i < 200; ++i) {
    Bytes bad = enc;
    size_t pos = rng() % bad.size();
    bad[pos] ^= std::byte(1 + rng() % 255);
    try {
      Bytes dec = c.decode(bad, raw.size());
      EXPECT_EQ(dec.size(), raw.size());
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << c.name << " flip at " << pos << ": " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, EveryCodec, ::testing::ValuesIn(all_codecs()),
                         [](const auto& info) { return info.param.name; });

// Chunks are decoded from many FUSE threads at once: no codec may share state between calls.
TEST(Concurrency, ParallelRoundTripsAgree) {
  const std::vector<Codec> codecs = all_codecs();
  const Bytes em = em_u8(40), seg = seg_u32(41);
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < codecs.size() * 2; i += 2) {
        const Codec& c = codecs[i % codecs.size()];
        const Bytes& raw = (i + static_cast<size_t>(t)) % 2 ? em : seg;
        try {
          if (c.decode(c.encode(raw), raw.size()) != raw) ++mismatches;
        } catch (const std::exception&) {
          ++errors;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(errors.load(), 0);
}

// ---------------------------------------------------------------------------------------------
// Checksums: libzstd, zlib and gzip must notice a damaged checksum field.

TEST(Checksums, ZstdContentChecksumMismatch) {
  Bytes raw = em_u8(10);
  Bytes enc = zstd_compress(raw, 5, true);
  // the frame ends with the 4-byte XXH64-derived content checksum
  enc[enc.size() - 2] ^= std::byte{0x40};
  expect_corrupt([&] { zstd_decompress(enc, raw.size()); }, "zstd", "bad content checksum");
  try {
    zstd_decompress(enc, raw.size());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
}

TEST(Checksums, GzipCrcAndLengthMismatch) {
  Bytes raw = em_u8(11);
  Bytes enc = gzip_compress(raw, 6);
  Bytes bad_crc = enc, bad_len = enc;
  bad_crc[enc.size() - 8] ^= std::byte{1};  // CRC-32 trailer
  bad_len[enc.size() - 4] ^= std::byte{1};  // ISIZE trailer
  expect_corrupt([&] { gzip_decompress(bad_crc, raw.size()); }, "gzip", "bad crc");
  expect_corrupt([&] { gzip_decompress(bad_len, raw.size()); }, "gzip", "bad length");
}

TEST(Checksums, ZlibAdlerMismatch) {
  Bytes raw = em_u8(12);
  Bytes enc = zlib_compress(raw, 6);
  enc.back() ^= std::byte{1};
  expect_corrupt([&] { zlib_decompress(enc, raw.size()); }, "zlib", "bad adler32");
}

// ---------------------------------------------------------------------------------------------
// Framing details.

TEST(Zstd, ConcatenatedFramesDecodeAsOne) {
  Bytes a = em_u8(13), b = seg_u32(14);
  Bytes enc = zstd_compress(a, 3, true), enc_b = zstd_compress(b, 3, false);
  enc.insert(enc.end(), enc_b.begin(), enc_b.end());
  Bytes both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_TRUE(zstd_decompress(enc, both.size()) == both);
  expect_corrupt([&] { zstd_decompress(enc, a.size()); }, "zstd", "two frames, expected the first only");
}

TEST(Zstd, TrailingGarbageIsRejected) {
  Bytes raw = em_u8(15);
  Bytes enc = zstd_compress(raw, 1, false);
  enc.push_back(std::byte{0});
  expect_corrupt([&] { zstd_decompress(enc, raw.size()); }, "zstd", "trailing byte");
}

TEST(Zstd, HandBuiltFramesWithoutContentSize) {
  // RFC 8878 by hand: magic, FHD 0x00 (no content size, no checksum, not single-segment),
  // window descriptor 0x88 (window 2^27, far larger than the content), then one last block.
  const unsigned char raw_block[] = {0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x88, 0x29, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o'};
  const unsigned char rle_block[] = {0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x88, 0x43, 0x1F, 0x00, 'x'};  // 'x' x 1000
  Bytes raw(sizeof raw_block), rle(sizeof rle_block);
  std::memcpy(raw.data(), raw_block, sizeof raw_block);
  std::memcpy(rle.data(), rle_block, sizeof rle_block);
  Bytes dec = zstd_decompress(raw, 5);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(dec.data()), dec.size()), "hello");
  EXPECT_TRUE(zstd_decompress(rle, 1000) == Bytes(1000, std::byte{'x'}));
  expect_corrupt([&] { zstd_decompress(raw, 4); }, "zstd", "raw block, expected 4");
  expect_corrupt([&] { zstd_decompress(raw, 6); }, "zstd", "raw block, expected 6");
  expect_corrupt([&] { zstd_decompress(rle, 999); }, "zstd", "rle block, expected 999");
  expect_corrupt([&] { zstd_decompress(ByteSpan(raw).first(raw.size() - 1), 5); }, "zstd", "raw block truncated");
}

TEST(Gzip, ConcatenatedMembersAndTrailingGarbage) {
  Bytes a = em_u8(16), b = em_u8(17);
  Bytes enc = gzip_compress(a, 6), enc_b = gzip_compress(b, 1);
  enc.insert(enc.end(), enc_b.begin(), enc_b.end());
  Bytes both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_TRUE(gzip_decompress(enc, both.size()) == both);
  Bytes single = gzip_compress(a, 6);
  single.push_back(std::byte{0x42});
  expect_corrupt([&] { gzip_decompress(single, a.size()); }, "gzip", "trailing byte");
}

TEST(Zlib, KnownVector) {
  // python3 -c 'import zlib; print(zlib.compress(b"hello").hex())'
  const unsigned char hello_z[] = {0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15};
  Bytes enc(sizeof hello_z);
  std::memcpy(enc.data(), hello_z, sizeof hello_z);
  Bytes dec = zlib_decompress(enc, 5);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(dec.data()), dec.size()), "hello");
  expect_corrupt([&] { gzip_decompress(enc, 5); }, "gzip", "zlib stream given to gzip");
}

TEST(Lz4, KnownVector) {
  // A literal-only block: token 0x50 (5 literals, no match) followed by the literals.
  const unsigned char block[] = {0x50, 'h', 'e', 'l', 'l', 'o'};
  Bytes enc(sizeof block);
  std::memcpy(enc.data(), block, sizeof block);
  Bytes dec = lz4_block_decompress(enc, 5);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(dec.data()), dec.size()), "hello");
}

// ---------------------------------------------------------------------------------------------
// Blosc parameters and header.

TEST(Blosc, HeaderMatchesTheFormatNotes) {
  // notes 4.1: 02 01 21 01 = format 2, lz4 version 1, flags 0x21 (byte shuffle, lz4), typesize 1
  Bytes raw = seg_u32(18);
  Bytes enc = blosc_compress(raw, {"lz4", 5, 1, 1, 0});
  ASSERT_GE(enc.size(), 16u);
  EXPECT_EQ(enc[0], std::byte{0x02});
  EXPECT_EQ(enc[1], std::byte{0x01});
  EXPECT_EQ(enc[2], std::byte{0x21});
  EXPECT_EQ(enc[3], std::byte{0x01});
  EXPECT_EQ(load_le<uint32_t>(enc.data() + 4), raw.size());
  EXPECT_EQ(load_le<uint32_t>(enc.data() + 12), enc.size());
}

TEST(Blosc, FlagsEncodeCompressorAndShuffle) {
  Bytes raw = seg_u32(19);
  const std::map<std::string, int> compformat = {{"blosclz", 0}, {"lz4", 1}, {"lz4hc", 1}, {"zlib", 3}, {"zstd", 4}};
  const int shuffle_bits[] = {0x0, 0x1, 0x4};
  for (const auto& [cname, code] : compformat)
    for (int shuffle = 0; shuffle <= 2; ++shuffle) {
      Bytes enc = blosc_compress(raw, {cname, 5, shuffle, 4, 0});
      int flags = static_cast<int>(enc[2]);
      EXPECT_EQ(flags >> 5, code) << cname;
      EXPECT_EQ(flags & 0x5, shuffle_bits[shuffle]) << cname << " shuffle " << shuffle;
      EXPECT_EQ(enc[3], std::byte{4}) << "typesize";
    }
}

TEST(Blosc, BadParametersAreClearErrors) {
  Bytes raw = em_u8(20);
  auto kind_of = [&](const BloscParams& p) {
    try {
      blosc_compress(raw, p);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("blosc"), std::string::npos) << e.what();
      return e.kind();
    }
    ADD_FAILURE() << "accepted cname=" << p.cname << " clevel=" << p.clevel << " shuffle=" << p.shuffle;
    return ErrorKind::Io;
  };
  EXPECT_EQ(kind_of({"lzma", 5, 1, 1, 0}), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of({"lz4", 10, 1, 1, 0}), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of({"lz4", 5, 3, 1, 0}), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of({"lz4", 5, 1, 0, 0}), ErrorKind::InvalidArgument);
}

TEST(Blosc, SnappyRoundTripsOrIsClearlyUnsupported) {
  Bytes raw = seg_u32(21);
  try {
    Bytes enc = blosc_compress(raw, {"snappy", 5, 1, 4, 0});
    EXPECT_TRUE(blosc_decompress(enc, raw.size()) == raw);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("snappy"), std::string::npos) << e.what();
  }
}

TEST(Lz4, BadLevelIsInvalidArgument) {
  Bytes raw = em_u8(22);
  EXPECT_THROW(lz4_block_compress(raw, true, 0), Error);
  EXPECT_THROW(lz4_block_compress(raw, true, 13), Error);
  EXPECT_THROW(zstd_compress(raw, 23, false), Error);
  EXPECT_THROW(gzip_compress(raw, 10), Error);
}

// ---------------------------------------------------------------------------------------------
// Independent implementations: their output must decode here, and ours must decode there.

class Reference : public ::testing::Test {
 protected:
  void SetUp() override {
    // tools/setup.sh --tests installs these: a missing one is a broken setup, not a reason to skip
    if (!reference_tools_present()) FAIL() << "needs zstd, gzip and /usr/bin/python3 with numcodecs, lz4 (tools/setup.sh --tests)";
    write_bytes(dir_ / "em.bin", em);
    write_bytes(dir_ / "seg.bin", seg);
  }
  test::TempDir dir_;
  Bytes em = em_u8(30), seg = seg_u32(31);
  std::string q(const fs::path& p) const { return "'" + p.string() + "'"; }
};

TEST_F(Reference, DecodesZstdCliFrames) {
  const fs::path in = dir_ / "em.bin";
  ASSERT_EQ(run("zstd -q -f -3 --check " + q(in) + " -o " + q(dir_ / "ck.zst")), 0);
  ASSERT_EQ(run("zstd -q -f -19 --no-check " + q(in) + " -o " + q(dir_ / "nock.zst")), 0);
  // through a pipe the CLI cannot know the size: a frame without content size (streaming path)
  ASSERT_EQ(run("cat " + q(in) + " | zstd -q -c > " + q(dir_ / "stream.zst")), 0);
  for (const char* f : {"ck.zst", "nock.zst", "stream.zst"}) {
    Bytes enc = read_bytes(dir_ / f);
    EXPECT_TRUE(zstd_decompress(enc, em.size()) == em) << f;
    expect_corrupt([&] { zstd_decompress(enc, em.size() + 1); }, "zstd", std::string(f) + " too large");
    expect_corrupt([&] { zstd_decompress(enc, em.size() - 1); }, "zstd", std::string(f) + " too small");
    expect_corrupt([&] { zstd_decompress(ByteSpan(enc).first(enc.size() - 3), em.size()); }, "zstd",
                   std::string(f) + " truncated");
  }
  Bytes stream = read_bytes(dir_ / "stream.zst");
  ASSERT_GE(stream.size(), 6u);
  EXPECT_EQ(static_cast<int>(stream[4]) & 0xC0, 0) << "expected a frame without Frame_Content_Size";
  expect_corrupt([&] { zstd_decompress(stream, 0); }, "zstd", "stream frame, expected 0");
}

TEST_F(Reference, DecodesPythonAndCliPayloads) {
  ASSERT_EQ(run("gzip -9 -c " + q(dir_ / "em.bin") + " > " + q(dir_ / "em.gz")), 0);
  std::string script = R"PY(
import sys, os, gzip, zlib, numpy as np, numcodecs, lz4.block
d = sys.argv[1]
em = open(os.path.join(d, "em.bin"), "rb").read()
seg = np.frombuffer(open(os.path.join(d, "seg.bin"), "rb").read(), dtype="<u4")
def put(name, b): open(os.path.join(d, name), "wb").write(bytes(b))
put("em.pygz", gzip.compress(em, 6))
put("em.numgz", numcodecs.GZip(5).encode(em))
put("em.pyzlib", zlib.compress(em, 9))
put("em.numzlib", numcodecs.Zlib(1).encode(em))
put("em.numzstd", numcodecs.Zstd(5).encode(em))
put("em.lz4", lz4.block.compress(em, store_size=False))
put("em.lz4hc", lz4.block.compress(em, mode="high_compression", compression=9, store_size=False))
put("seg.lz4hc", lz4.block.compress(seg.tobytes(), mode="high_compression", compression=9, store_size=False))
for cname in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]:
    for shuffle in [0, 1, 2]:
        put("seg.blosc_%s_%d" % (cname, shuffle), numcodecs.Blosc(cname, 5, shuffle, 0).encode(seg))
        put("em.blosc_%s_%d" % (cname, shuffle), numcodecs.Blosc(cname, 9, shuffle, 4096).encode(em))
)PY";
  write_bytes(dir_ / "make.py", ByteSpan(reinterpret_cast<const std::byte*>(script.data()), script.size()));
  ASSERT_EQ(run("/usr/bin/python3 " + q(dir_ / "make.py") + " " + q(dir_.path())), 0);

  EXPECT_TRUE(gzip_decompress(read_bytes(dir_ / "em.gz"), em.size()) == em);
  EXPECT_TRUE(gzip_decompress(read_bytes(dir_ / "em.pygz"), em.size()) == em);
  EXPECT_TRUE(gzip_decompress(read_bytes(dir_ / "em.numgz"), em.size()) == em);
  EXPECT_TRUE(zlib_decompress(read_bytes(dir_ / "em.pyzlib"), em.size()) == em);
  EXPECT_TRUE(zlib_decompress(read_bytes(dir_ / "em.numzlib"), em.size()) == em);
  EXPECT_TRUE(zstd_decompress(read_bytes(dir_ / "em.numzstd"), em.size()) == em);
  EXPECT_TRUE(lz4_block_decompress(read_bytes(dir_ / "em.lz4"), em.size()) == em);
  EXPECT_TRUE(lz4_block_decompress(read_bytes(dir_ / "em.lz4hc"), em.size()) == em);
  EXPECT_TRUE(lz4_block_decompress(read_bytes(dir_ / "seg.lz4hc"), seg.size()) == seg);
  // our LZ4HC level 9 is byte-identical to python-lz4's (both are liblz4's LZ4_compress_HC)
  EXPECT_TRUE(lz4_block_compress(seg, true, 9) == read_bytes(dir_ / "seg.lz4hc"));
  for (const char* cname : {"blosclz", "lz4", "lz4hc", "zlib", "zstd"})
    for (int shuffle = 0; shuffle <= 2; ++shuffle) {
      std::string suffix = std::string(cname) + "_" + std::to_string(shuffle);
      Bytes s = read_bytes(dir_ / ("seg.blosc_" + suffix));
      EXPECT_TRUE(blosc_decompress(s, seg.size()) == seg) << suffix;
      EXPECT_EQ(static_cast<int>(s[3]), 4) << "numcodecs typesize for uint32";
      EXPECT_TRUE(blosc_decompress(read_bytes(dir_ / ("em.blosc_" + suffix)), em.size()) == em) << suffix;
      expect_corrupt([&] { blosc_decompress(s, seg.size() - 4); }, "blosc", suffix + " wrong size");
    }
}

TEST_F(Reference, OurPayloadsDecodeElsewhere) {
  struct Out {
    std::string file;
    Bytes payload;
  };
  std::vector<Out> outs = {
      {"zstd1", zstd_compress(em, 1, false)},         {"zstd5ck", zstd_compress(seg, 5, true)},
      {"gzip6", gzip_compress(em, 6)},                {"zlib6", zlib_compress(seg, 6)},
      {"lz4", lz4_block_compress(seg, false, 0)},     {"lz4hc9", lz4_block_compress(em, true, 9)},
      {"blosc_lz4", blosc_compress(seg, {"lz4", 5, 1, 4, 0})},
      {"blosc_zstd", blosc_compress(em, {"zstd", 3, 2, 1, 0})},
      {"blosc_blosclz", blosc_compress(seg, {"blosclz", 9, 1, 1, 16384})},
  };
  for (const auto& o : outs) write_bytes(dir_ / ("ours." + o.file), o.payload);
  ASSERT_EQ(run("zstd -q -d -c " + q(dir_ / "ours.zstd1") + " > " + q(dir_ / "dec.zstd1")), 0);
  ASSERT_EQ(run("zstd -q -d -c " + q(dir_ / "ours.zstd5ck") + " > " + q(dir_ / "dec.zstd5ck")), 0);
  ASSERT_EQ(run("gzip -d -c " + q(dir_ / "ours.gzip6") + " > " + q(dir_ / "dec.gzip6")), 0);
  std::string script = R"PY(
import sys, os, zlib, lz4.block, numcodecs
d = sys.argv[1]
def get(n): return open(os.path.join(d, "ours." + n), "rb").read()
def put(n, b): open(os.path.join(d, "dec." + n), "wb").write(bytes(b))
put("zlib6", zlib.decompress(get("zlib6")))
put("lz4", lz4.block.decompress(get("lz4"), uncompressed_size=32**3 * 4))
put("lz4hc9", lz4.block.decompress(get("lz4hc9"), uncompressed_size=32**3))
for n in ["blosc_lz4", "blosc_zstd", "blosc_blosclz"]:
    put(n, numcodecs.Blosc().decode(get(n)))
)PY";
  write_bytes(dir_ / "check.py", ByteSpan(reinterpret_cast<const std::byte*>(script.data()), script.size()));
  ASSERT_EQ(run("/usr/bin/python3 " + q(dir_ / "check.py") + " " + q(dir_.path())), 0);
  const std::map<std::string, const Bytes*> expected = {
      {"zstd1", &em}, {"zstd5ck", &seg}, {"gzip6", &em},      {"zlib6", &seg},        {"lz4", &seg},
      {"lz4hc9", &em}, {"blosc_lz4", &seg}, {"blosc_zstd", &em}, {"blosc_blosclz", &seg}};
  for (const auto& [name, want] : expected) EXPECT_TRUE(read_bytes(dir_ / ("dec." + name)) == *want) << name;
}

}  // namespace
}  // namespace wkfs
