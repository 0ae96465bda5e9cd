// gzip members and zlib streams via zlib (the same deflate engine; only the wrapper differs).
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <string>

#include "codecs/compression.hpp"
#include "core/error.hpp"

namespace wkfs {

namespace {

enum class Wrapper { Gzip, Zlib };

constexpr int kGzipWindowBits = 16 + MAX_WBITS;  // 16+ selects the gzip header and CRC-32 trailer
constexpr int kZlibWindowBits = MAX_WBITS;

const char* name(Wrapper w) { return w == Wrapper::Gzip ? "gzip" : "zlib"; }

// zlib counts in uInt; feed larger buffers in pieces.
uInt clamp_uint(size_t n) { return static_cast<uInt>(std::min<size_t>(n, UINT_MAX)); }

Bytes deflate_with(ByteSpan in, int level, Wrapper w) {
  if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
    fail(ErrorKind::InvalidArgument, std::string(name(w)) + ": level " + std::to_string(level) + " outside [-1, 9]");
  z_stream zs{};
  int rc = deflateInit2(&zs, level, Z_DEFLATED, w == Wrapper::Gzip ? kGzipWindowBits : kZlibWindowBits, 8,
                        Z_DEFAULT_STRATEGY);
  if (rc != Z_OK) fail(ErrorKind::Io, std::string(name(w)) + ": deflateInit2 failed (" + std::to_string(rc) + ")");
  Bytes out(deflateBound(&zs, in.size()));
  auto* next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  size_t left_in = in.size();
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  size_t left_out = out.size();
  do {
    zs.next_in = next_in;
    zs.avail_in = clamp_uint(left_in);
    zs.avail_out = clamp_uint(left_out);
    uInt in_given = zs.avail_in, out_given = zs.avail_out;
    rc = deflate(&zs, zs.avail_in == left_in ? Z_FINISH : Z_NO_FLUSH);
    next_in = zs.next_in;
    left_in -= in_given - zs.avail_in;
    left_out -= out_given - zs.avail_out;
  } while (rc == Z_OK);
  size_t produced = out.size() - left_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) fail(ErrorKind::Io, std::string(name(w)) + ": deflate failed (" + std::to_string(rc) + ")");
  out.resize(produced);
  return out;
}

struct InflateStream {
  z_stream zs{};
  explicit InflateStream(int window_bits, Wrapper w) {
    if (inflateInit2(&zs, window_bits) != Z_OK) fail(ErrorKind::Io, std::string(name(w)) + ": inflateInit2 failed");
  }
  ~InflateStream() { inflateEnd(&zs); }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
};

Bytes inflate_with(ByteSpan in, size_t expected_size, Wrapper w) {
  const std::string what = std::string(name(w)) + " payload: ";
  auto corrupt = [&](const std::string& msg) { fail(ErrorKind::Corrupt, what + msg); };
  if (in.empty()) corrupt("empty (expected " + std::to_string(expected_size) + " bytes)");
  InflateStream s(w == Wrapper::Gzip ? kGzipWindowBits : kZlibWindowBits, w);
  z_stream& zs = s.zs;
  Bytes out(expected_size);
  const auto* in_base = reinterpret_cast<const Bytef*>(in.data());
  size_t in_pos = 0, out_pos = 0;
  std::byte probe[1];
  for (;;) {
    zs.next_in = const_cast<Bytef*>(in_base + in_pos);
    zs.avail_in = clamp_uint(in.size() - in_pos);
    bool probing = out_pos == out.size();  // buffer full: any further output means too much data
    zs.next_out = reinterpret_cast<Bytef*>(probing ? probe : out.data() + out_pos);
    zs.avail_out = probing ? 1 : clamp_uint(out.size() - out_pos);
    uInt in_given = zs.avail_in, out_given = zs.avail_out;
    int rc = inflate(&zs, Z_NO_FLUSH);
    size_t consumed = in_given - zs.avail_in, produced = out_given - zs.avail_out;
    in_pos += consumed;
    if (probing && produced > 0)
      corrupt("decodes to more than the expected " + std::to_string(expected_size) + " bytes");
    out_pos += produced;
    if (rc == Z_STREAM_END) {
      if (in_pos == in.size()) break;
      // numcodecs writes one member, but gzip allows several concatenated ones
      if (w == Wrapper::Gzip && in.size() - in_pos >= 2 && in_base[in_pos] == 0x1f && in_base[in_pos + 1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      corrupt(std::to_string(in.size() - in_pos) + " trailing bytes after the end of the stream");
    }
    if (rc == Z_NEED_DICT) corrupt("needs a preset dictionary");
    if (rc == Z_DATA_ERROR) corrupt(zs.msg ? zs.msg : "invalid deflate data");
    if (rc == Z_MEM_ERROR) fail(ErrorKind::Io, what + "out of memory");
    if (rc == Z_BUF_ERROR || (consumed == 0 && produced == 0)) {
      if (in_pos == in.size())
        corrupt("truncated (decoded " + std::to_string(out_pos) + " of " + std::to_string(expected_size) + " bytes)");
      corrupt("inflate made no progress");
    }
  }
  if (out_pos != expected_size)
    corrupt("decodes to " + std::to_string(out_pos) + " bytes, expected " + std::to_string(expected_size));
  return out;
}

}  // namespace

Bytes gzip_compress(ByteSpan in, int level) { return deflate_with(in, level, Wrapper::Gzip); }
Bytes gzip_decompress(ByteSpan in, size_t expected_size) { return inflate_with(in, expected_size, Wrapper::Gzip); }
Bytes zlib_compress(ByteSpan in, int level) { return deflate_with(in, level, Wrapper::Zlib); }
Bytes zlib_decompress(ByteSpan in, size_t expected_size) { return inflate_with(in, expected_size, Wrapper::Zlib); }

}  // namespace wkfs
