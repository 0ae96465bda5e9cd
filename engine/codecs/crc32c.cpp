// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), init and final XOR ~0.
// Hand-written because no Debian package provides CRC-32C: an SSE4.2 `crc32` instruction path
// selected at run time, and a slicing-by-8 table path for CPUs without it (and other architectures).
#include "codecs/crc32c.hpp"

#include <array>

#include "core/error.hpp"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace wkfs {

namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;

using SliceTables = std::array<std::array<uint32_t, 256>, 8>;

// tables[k][b] = CRC of byte b followed by k zero bytes, so 8 input bytes fold with 8 lookups.
constexpr SliceTables make_tables() {
  SliceTables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c & 1u) ? (c >> 1) ^ kPolynomial : c >> 1;
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k)
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  return t;
}

constexpr SliceTables kTables = make_tables();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const unsigned char* p, size_t n, uint32_t crc) {
  uint64_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return ~c32;
}

bool cpu_has_sse42() noexcept {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

}  // namespace

uint32_t crc32c_portable(ByteSpan data, uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint32_t lo = load_le<uint32_t>(reinterpret_cast<const std::byte*>(p)) ^ c;
    uint32_t hi = load_le<uint32_t>(reinterpret_cast<const std::byte*>(p + 4));
    c = kTables[7][lo & 0xFFu] ^ kTables[6][(lo >> 8) & 0xFFu] ^ kTables[5][(lo >> 16) & 0xFFu] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFFu] ^ kTables[2][(hi >> 8) & 0xFFu] ^
        kTables[1][(hi >> 16) & 0xFFu] ^ kTables[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) c = (c >> 8) ^ kTables[0][(c ^ *p) & 0xFFu];
  return ~c;
}

bool crc32c_hardware_available() noexcept {
#if defined(__x86_64__)
  return cpu_has_sse42();
#else
  return false;
#endif
}

uint32_t crc32c_hardware(ByteSpan data, uint32_t crc) {
#if defined(__x86_64__)
  if (cpu_has_sse42())
    return crc32c_sse42(reinterpret_cast<const unsigned char*>(data.data()), data.size(), crc);
#endif
  fail(ErrorKind::Unsupported, "crc32c: this CPU has no SSE4.2 crc32 instruction");
}

uint32_t crc32c(ByteSpan data, uint32_t crc) {
#if defined(__x86_64__)
  if (cpu_has_sse42())
    return crc32c_sse42(reinterpret_cast<const unsigned char*>(data.data()), data.size(), crc);
#endif
  return crc32c_portable(data, crc);
}

}  // namespace wkfs
