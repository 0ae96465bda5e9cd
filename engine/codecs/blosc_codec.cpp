// Blosc1 via c-blosc, using only the *_ctx entry points: they need no blosc_init() and take no
// global lock, so chunks can be (de)compressed from many threads at once.
#include <blosc.h>

#include <algorithm>
#include <array>
#include <string>

#include "codecs/compression.hpp"
#include "core/error.hpp"

namespace wkfs {

namespace {

constexpr std::array<const char*, 6> kKnownCompressors = {"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"};

void check_params(const BloscParams& p, size_t nbytes) {
  const std::string where = "blosc(cname=" + p.cname + "): ";
  bool known = std::any_of(kKnownCompressors.begin(), kKnownCompressors.end(), [&](const char* c) { return p.cname == c; });
  if (!known)
    fail(ErrorKind::InvalidArgument, where + "unknown compressor; expected one of blosclz, lz4, lz4hc, snappy, zlib, zstd");
  if (blosc_compname_to_compcode(p.cname.c_str()) < 0)
    fail(ErrorKind::Unsupported, where + "this c-blosc build lacks that compressor (it has: " +
                                     blosc_list_compressors() + ")");
  if (p.clevel < 0 || p.clevel > 9) fail(ErrorKind::InvalidArgument, where + "clevel " + std::to_string(p.clevel) + " outside [0, 9]");
  if (p.shuffle < BLOSC_NOSHUFFLE || p.shuffle > BLOSC_BITSHUFFLE)
    fail(ErrorKind::InvalidArgument, where + "shuffle " + std::to_string(p.shuffle) + " is not 0 (none), 1 (byte) or 2 (bit)");
  if (p.typesize < 1) fail(ErrorKind::InvalidArgument, where + "typesize must be at least 1");
  if (nbytes > BLOSC_MAX_BUFFERSIZE)
    fail(ErrorKind::InvalidArgument, where + std::to_string(nbytes) + " bytes exceed the blosc1 limit of " +
                                         std::to_string(BLOSC_MAX_BUFFERSIZE));
}

}  // namespace

Bytes blosc_compress(ByteSpan in, const BloscParams& params) {
  check_params(params, in.size());
  Bytes out(in.size() + BLOSC_MAX_OVERHEAD);
  int n = blosc_compress_ctx(params.clevel, params.shuffle, params.typesize, in.size(), in.data(), out.data(),
                             out.size(), params.cname.c_str(), params.blocksize, 1);
  // With BLOSC_MAX_OVERHEAD of room compression cannot run out of space, so n <= 0 is internal.
  if (n <= 0) fail(ErrorKind::Io, "blosc(cname=" + params.cname + "): compression failed (" + std::to_string(n) + ")");
  out.resize(static_cast<size_t>(n));
  return out;
}

Bytes blosc_decompress(ByteSpan in, size_t expected_size) {
  auto corrupt = [](const std::string& msg) { fail(ErrorKind::Corrupt, "blosc payload: " + msg); };
  if (in.size() < BLOSC_MIN_HEADER_LENGTH)
    corrupt(std::to_string(in.size()) + " bytes is shorter than the 16-byte blosc header");
  size_t nbytes = 0, cbytes = 0, blocksize = 0;
  blosc_cbuffer_sizes(in.data(), &nbytes, &cbytes, &blocksize);
  if (cbytes == 0)  // c-blosc zeroes all sizes for a format version it does not read; 0 is never valid
    corrupt("not a blosc1 buffer (format version byte " + std::to_string(static_cast<int>(in[0])) + ", compressed size 0)");
  if (cbytes != in.size())
    corrupt("header says " + std::to_string(cbytes) + " compressed bytes but the payload has " + std::to_string(in.size()));
  if (nbytes != expected_size)
    corrupt("header says " + std::to_string(nbytes) + " decoded bytes, expected " + std::to_string(expected_size));
  // validate also rejects unsupported format versions and sizes beyond the blosc1 limit
  if (blosc_cbuffer_validate(in.data(), in.size(), &nbytes) != 0) corrupt("invalid header");
  Bytes out(expected_size);
  if (expected_size == 0) return out;  // decompress returns 0 for both "empty" and "error"
  int n = blosc_decompress_ctx(in.data(), out.data(), out.size(), 1);
  if (n < 0 || static_cast<size_t>(n) != expected_size)
    corrupt("decompression failed (" + std::to_string(n) + "), the data blocks are damaged");
  return out;
}

}  // namespace wkfs
