// zstd frames via libzstd. Contexts are reused per thread: creating one per chunk costs more than
// compressing a small chunk.
#include <zstd.h>

#include <memory>
#include <string>

#include "codecs/compression.hpp"
#include "core/error.hpp"

namespace wkfs {

namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const noexcept { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx{ZSTD_createCCtx()};
  if (!ctx) fail(ErrorKind::Io, "zstd: cannot allocate a compression context");
  return ctx.get();
}

ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx{ZSTD_createDCtx()};
  if (!ctx) fail(ErrorKind::Io, "zstd: cannot allocate a decompression context");
  return ctx.get();
}

void check_param(size_t rc, const char* what) {
  if (ZSTD_isError(rc))
    fail(ErrorKind::InvalidArgument, std::string("zstd: cannot set ") + what + ": " + ZSTD_getErrorName(rc));
}

[[noreturn]] void corrupt(const std::string& what) { fail(ErrorKind::Corrupt, "zstd payload: " + what); }

// Frames that do not record their content size (streamed writers) are decoded incrementally into
// the expected_size buffer; one extra probe byte detects a payload that would decode to more.
Bytes decompress_streaming(ZSTD_DCtx* dctx, ByteSpan in, size_t expected_size) {
  Bytes out(expected_size);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  size_t rc = 1;
  while (dst.pos < dst.size) {
    size_t in_before = src.pos, out_before = dst.pos;
    rc = ZSTD_decompressStream(dctx, &dst, &src);
    if (ZSTD_isError(rc)) corrupt(ZSTD_getErrorName(rc));
    if (rc == 0 && src.pos == src.size) break;  // last frame complete
    if (src.pos == in_before && dst.pos == out_before) break;  // no progress: input exhausted
  }
  if (dst.pos == dst.size && !(rc == 0 && src.pos == src.size)) {
    std::byte probe[1];
    ZSTD_outBuffer extra{probe, 1, 0};
    rc = ZSTD_decompressStream(dctx, &extra, &src);
    if (ZSTD_isError(rc)) corrupt(ZSTD_getErrorName(rc));
    if (extra.pos > 0) corrupt("decodes to more than the expected " + std::to_string(expected_size) + " bytes");
  }
  if (rc != 0 || src.pos != src.size)
    corrupt("truncated frame (decoded " + std::to_string(dst.pos) + " of " + std::to_string(expected_size) + " bytes)");
  if (dst.pos != expected_size)
    corrupt("decodes to " + std::to_string(dst.pos) + " bytes, expected " + std::to_string(expected_size));
  return out;
}

}  // namespace

Bytes zstd_compress(ByteSpan in, int level, bool checksum) {
  ZSTD_CCtx* cctx = thread_cctx();
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
    fail(ErrorKind::InvalidArgument, "zstd: level " + std::to_string(level) + " outside [" +
                                         std::to_string(ZSTD_minCLevel()) + ", " + std::to_string(ZSTD_maxCLevel()) + "]");
  check_param(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level), "level");
  check_param(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0), "checksum");
  check_param(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1), "content size flag");
  Bytes out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) fail(ErrorKind::InvalidArgument, std::string("zstd: compression failed: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Bytes zstd_decompress(ByteSpan in, size_t expected_size) {
  if (in.empty()) corrupt("empty (expected a frame decoding to " + std::to_string(expected_size) + " bytes)");
  ZSTD_DCtx* dctx = thread_dctx();
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
  unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) corrupt("not a zstd frame (bad magic number or header)");
  size_t frame_bytes = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame_bytes)) corrupt(std::string("truncated or damaged frame: ") + ZSTD_getErrorName(frame_bytes));
  // Several concatenated frames, or a frame without a recorded size: decode incrementally and count.
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN || frame_bytes != in.size())
    return decompress_streaming(dctx, in, expected_size);
  if (declared != expected_size)
    corrupt("frame declares " + std::to_string(declared) + " bytes, expected " + std::to_string(expected_size));
  Bytes out(expected_size);
  size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) corrupt(ZSTD_getErrorName(n));
  if (n != expected_size)
    corrupt("decodes to " + std::to_string(n) + " bytes, expected " + std::to_string(expected_size));
  return out;
}

}  // namespace wkfs
