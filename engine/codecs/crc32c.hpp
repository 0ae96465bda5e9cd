#pragma once
// CRC-32C (Castagnoli), as used by the Zarr v3 `crc32c` codec and shard indexes.
#include <cstdint>

#include "core/bytes.hpp"

namespace wkfs {

/// CRC-32C of data, continuing from `crc` (0 to start). SSE4.2 instruction where the CPU has it.
uint32_t crc32c(ByteSpan data, uint32_t crc = 0);

/// The table-driven (slicing-by-8) implementation crc32c() falls back to; exposed for tests and benches.
uint32_t crc32c_portable(ByteSpan data, uint32_t crc = 0);

/// True when this CPU has the SSE4.2 crc32 instruction, i.e. crc32c_hardware() may be called.
bool crc32c_hardware_available() noexcept;

/// The SSE4.2 implementation; throws Error(Unsupported) when crc32c_hardware_available() is false.
uint32_t crc32c_hardware(ByteSpan data, uint32_t crc = 0);

}  // namespace wkfs
