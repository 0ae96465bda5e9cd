// CRC-32C against published vectors (RFC 3720 B.4, the "123456789" check value) and the shard-index
// checksum of a fixture written by webknossos-libs; both the SSE4.2 and the table implementation.
#include "codecs/crc32c.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "core/error.hpp"
#include "support/test_support.hpp"

namespace wkfs {
namespace {

using CrcFn = uint32_t (*)(ByteSpan, uint32_t);

Bytes bytes_of(const std::string& s) {
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

Bytes filled(size_t n, unsigned char v) { return Bytes(n, std::byte{v}); }

// Bit-at-a-time CRC-32C straight from the definition: the independent reference for random inputs.
uint32_t crc32c_bitwise(ByteSpan data) {
  uint32_t c = 0xFFFFFFFFu;
  for (std::byte b : data) {
    c ^= static_cast<uint32_t>(b);
    for (int i = 0; i < 8; ++i) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

struct Impl {
  const char* name;
  CrcFn fn;
};

class Crc32cImpl : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (std::string(GetParam().name) == "hardware" && !crc32c_hardware_available())
      GTEST_SKIP() << "CPU has no SSE4.2";
  }
  uint32_t crc(ByteSpan d, uint32_t c = 0) { return GetParam().fn(d, c); }
};

TEST_P(Crc32cImpl, Rfc3720Vectors) {
  EXPECT_EQ(crc(filled(32, 0x00)), 0x8A9136AAu);
  EXPECT_EQ(crc(filled(32, 0xFF)), 0x62A8AB43u);
  Bytes asc(32), desc(32);
  for (int i = 0; i < 32; ++i) {
    asc[i] = std::byte(i);
    desc[i] = std::byte(31 - i);
  }
  EXPECT_EQ(crc(asc), 0x46DD794Eu);
  EXPECT_EQ(crc(desc), 0x113FDB5Cu);
}

TEST_P(Crc32cImpl, CheckValueAndEmpty) {
  EXPECT_EQ(crc(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc(ByteSpan{}), 0u);
}

TEST_P(Crc32cImpl, FixtureShardIndex) {
  auto path = test::fixture("simple_zarr3_dataset") / "color/1/c/0/0/0/0";
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f) << path;
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_EQ(all.size(), 98436u);
  Bytes file = bytes_of(all);
  ByteSpan index = ByteSpan(file).subspan(file.size() - 4 - 128, 128);
  uint32_t stored = load_le<uint32_t>(file.data() + file.size() - 4);
  EXPECT_EQ(stored, 0xF7F99C71u);
  EXPECT_EQ(crc(index), stored);
}

TEST_P(Crc32cImpl, MatchesBitwiseAtEveryLengthAndAlignment) {
  std::mt19937 rng(42);
  Bytes buf(300);
  for (auto& b : buf) b = std::byte(rng() & 0xFF);
  for (size_t offset = 0; offset < 9; ++offset)
    for (size_t len = 0; offset + len <= buf.size(); len += 7) {
      ByteSpan s = ByteSpan(buf).subspan(offset, len);
      ASSERT_EQ(crc(s), crc32c_bitwise(s)) << "offset " << offset << " len " << len;
    }
}

TEST_P(Crc32cImpl, ContinuesAcrossSplits) {
  Bytes data = bytes_of("The quick brown fox jumps over the lazy dog, twice over.");
  uint32_t whole = crc(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    ByteSpan a = ByteSpan(data).first(cut), b = ByteSpan(data).subspan(cut);
    EXPECT_EQ(crc(b, crc(a)), whole) << "cut at " << cut;
  }
}

INSTANTIATE_TEST_SUITE_P(Impls, Crc32cImpl,
                         ::testing::Values(Impl{"dispatch", &crc32c}, Impl{"portable", &crc32c_portable},
                                           Impl{"hardware", &crc32c_hardware}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Crc32c, HardwareUnavailableIsAClearError) {
  if (crc32c_hardware_available()) GTEST_SKIP() << "CPU has SSE4.2";
  EXPECT_THROW(crc32c_hardware(filled(4, 0)), Error);
}

}  // namespace
}  // namespace wkfs
