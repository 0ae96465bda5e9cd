#pragma once
// CRC-32C (Castagnoli), as used by the Zarr v3 `crc32c` codec and shard indexes.
#include <cstdint>

#include "core/bytes.hpp"

namespace wkfs {

/// CRC-32C of data, continuing from `crc` (0 to start). SSE4.2 instruction where the CPU has it.
uint32_t crc32c(ByteSpan data, uint32_t crc = 0);

}  // namespace wkfs
