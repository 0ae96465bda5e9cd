#pragma once
// Byte buffers and little-endian integer access.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace wkfs {

using Bytes = std::vector<std::byte>;
using ByteSpan = std::span<const std::byte>;
using MutableByteSpan = std::span<std::byte>;

template <typename T>
T load_le(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the project targets little-endian hosts only (x86_64, aarch64)
  return v;
}

template <typename T>
void store_le(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

/// Reverses the byte order of every element of `elem_size` bytes in place.
void byteswap_elements(MutableByteSpan data, size_t elem_size);

}  // namespace wkfs
