// Raw LZ4 blocks via liblz4 (no frame, no size prefix): the caller always knows the decoded size.
#include <lz4.h>
#include <lz4hc.h>

#include <climits>
#include <string>

#include "codecs/compression.hpp"
#include "core/error.hpp"

namespace wkfs {

Bytes lz4_block_compress(ByteSpan in, bool hc, int level) {
  if (in.size() > LZ4_MAX_INPUT_SIZE)
    fail(ErrorKind::InvalidArgument, "lz4: " + std::to_string(in.size()) + " bytes exceed the block limit of " +
                                         std::to_string(LZ4_MAX_INPUT_SIZE));
  if (hc && (level < 1 || level > LZ4HC_CLEVEL_MAX))
    fail(ErrorKind::InvalidArgument, "lz4hc: level " + std::to_string(level) + " outside [1, " + std::to_string(LZ4HC_CLEVEL_MAX) + "]");
  Bytes out(static_cast<size_t>(LZ4_compressBound(static_cast<int>(in.size()))));
  // liblz4 1.9.4's optimal parser (HC levels 10-12) dereferences a null source even for 0 bytes
  static const char empty_source = 0;
  const char* src = in.empty() ? &empty_source : reinterpret_cast<const char*>(in.data());
  auto* dst = reinterpret_cast<char*>(out.data());
  int n = hc ? LZ4_compress_HC(src, dst, static_cast<int>(in.size()), static_cast<int>(out.size()), level)
             : LZ4_compress_default(src, dst, static_cast<int>(in.size()), static_cast<int>(out.size()));
  if (n <= 0) fail(ErrorKind::Io, std::string(hc ? "lz4hc" : "lz4") + ": compression failed");
  out.resize(static_cast<size_t>(n));
  return out;
}

Bytes lz4_block_decompress(ByteSpan in, size_t expected_size) {
  auto corrupt = [](const std::string& msg) { fail(ErrorKind::Corrupt, "lz4 block: " + msg); };
  if (in.empty()) corrupt("empty payload");
  if (in.size() > INT_MAX) corrupt(std::to_string(in.size()) + " bytes is larger than any lz4 block");
  if (expected_size > static_cast<size_t>(LZ4_MAX_INPUT_SIZE))
    fail(ErrorKind::InvalidArgument, "lz4 block: expected size " + std::to_string(expected_size) + " exceeds the block limit");
  Bytes out(expected_size);
  char scratch = 0;  // a valid pointer even when nothing is expected
  char* dst = expected_size == 0 ? &scratch : reinterpret_cast<char*>(out.data());
  int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()), dst, static_cast<int>(in.size()),
                              static_cast<int>(expected_size));
  if (n < 0)
    corrupt("malformed or truncated, or decodes to more than the expected " + std::to_string(expected_size) + " bytes");
  if (static_cast<size_t>(n) != expected_size)
    corrupt("decodes to " + std::to_string(n) + " bytes, expected " + std::to_string(expected_size));
  return out;
}

}  // namespace wkfs
