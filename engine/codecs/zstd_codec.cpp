// zstd frames via libzstd. Contexts are reused per thread: creating one per chunk costs more than
// compressing a small chunk.
#include <zstd.h>
#include <zstd_errors.h>

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
  bool single_frame = frame_bytes == in.size();
  if (single_frame && declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != expected_size)
    corrupt("frame declares " + std::to_string(declared) + " bytes, expected " + std::to_string(expected_size));
  // One-shot decoding into the expected_size buffer also covers frames without a recorded size
  // and concatenated frames: the output buffer is the window, so unlike ZSTD_decompressStream
  // (which allocates the window the header asks for, up to 128 MiB) nothing beyond
  // expected_size is allocated, and more output than expected fails as dstSize_tooSmall.
  Bytes out(expected_size);
  std::byte empty_dst;  // a valid pointer when nothing is expected
  size_t n = ZSTD_decompressDCtx(dctx, expected_size ? out.data() : &empty_dst, out.size(), in.data(), in.size());
  if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
    corrupt("decodes to more than the expected " + std::to_string(expected_size) + " bytes");
  if (ZSTD_isError(n)) corrupt(ZSTD_getErrorName(n));
  if (n != expected_size)
    corrupt("decodes to " + std::to_string(n) + " bytes, expected " + std::to_string(expected_size));
  return out;
}

}  // namespace wkfs
