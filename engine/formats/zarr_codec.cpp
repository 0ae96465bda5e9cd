#include "formats/zarr_codec.hpp"

#include "codecs/crc32c.hpp"
#include "core/error.hpp"
#include "core/nd_copy.hpp"

namespace wkfs {

bool is_identity_order(const VecN& order) {
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] != static_cast<int64_t>(i)) return false;
  return true;
}

std::string ByteCodec::summary() const {
  switch (kind) {
    case Kind::Zstd: return "zstd(" + std::to_string(level) + ")";
    case Kind::Gzip: return "gzip(" + std::to_string(level) + ")";
    case Kind::Zlib: return "zlib(" + std::to_string(level) + ")";
    case Kind::Blosc: {
      const char* shuffle = blosc.shuffle == 0 ? "noshuffle" : (blosc.shuffle == 1 ? "shuffle" : "bitshuffle");
      return "blosc(" + blosc.cname + "," + std::to_string(blosc.clevel) + "," + shuffle + ")";
    }
    case Kind::Crc32c: return "crc32c";
  }
  return "?";
}

bool ChunkCodec::compressed() const {
  for (const auto& c : byte_codecs)
    if (c.compresses()) return true;
  return false;
}

std::optional<size_t> ChunkCodec::fixed_encoded_size(size_t raw) const {
  size_t n = raw;
  for (const auto& c : byte_codecs) {
    if (c.compresses()) return std::nullopt;
    n += 4;
  }
  return n;
}

void ChunkCodec::validate(size_t rank, const std::string& where) const {
  if (!order.empty()) {
    if (order.size() != rank)
      fail(ErrorKind::InvalidArgument, where + ": transpose order " + to_string(order) +
                                           " does not have one entry per axis (rank " +
                                           std::to_string(rank) + ")");
    std::vector<bool> seen(rank, false);
    for (int64_t a : order) {
      if (a < 0 || static_cast<size_t>(a) >= rank || seen[static_cast<size_t>(a)])
        fail(ErrorKind::InvalidArgument,
             where + ": transpose order " + to_string(order) + " is not a permutation");
      seen[static_cast<size_t>(a)] = true;
    }
  }
  bool compressor_seen = false;
  for (const auto& c : byte_codecs) {
    if (c.compresses() && compressor_seen)
      fail(ErrorKind::Unsupported,
           where + ": two compressors in one codec chain (" + summary() + ") are not supported");
    compressor_seen = compressor_seen || c.compresses();
  }
}

std::string ChunkCodec::summary() const {
  std::string s;
  if (!is_identity_order(order)) s += "transpose(" + to_string(order) + "),";
  s += big_endian ? "bytes(big)" : "bytes";
  for (const auto& c : byte_codecs) s += "," + c.summary();
  return s;
}

namespace {

Bytes decompress(const ByteCodec& c, ByteSpan in, size_t expected, const std::string& where) {
  try {
    switch (c.kind) {
      case ByteCodec::Kind::Zstd: return zstd_decompress(in, expected);
      case ByteCodec::Kind::Gzip: return gzip_decompress(in, expected);
      case ByteCodec::Kind::Zlib: return zlib_decompress(in, expected);
      case ByteCodec::Kind::Blosc: return blosc_decompress(in, expected);
      case ByteCodec::Kind::Crc32c: break;
    }
  } catch (const Error& e) {
    throw Error(e.kind(), where + ": " + c.summary() + ": " + e.what(), e.sys_errno(), e.level());
  }
  fail(ErrorKind::Corrupt, where + ": internal: not a compressor");
}

Bytes compress(const ByteCodec& c, ByteSpan in) {
  switch (c.kind) {
    case ByteCodec::Kind::Zstd: return zstd_compress(in, c.level, c.checksum);
    case ByteCodec::Kind::Gzip: return gzip_compress(in, c.level);
    case ByteCodec::Kind::Zlib: return zlib_compress(in, c.level);
    case ByteCodec::Kind::Blosc: return blosc_compress(in, c.blosc);
    case ByteCodec::Kind::Crc32c: break;
  }
  fail(ErrorKind::InvalidArgument, "internal: not a compressor");
}

}  // namespace

Bytes ChunkCodec::decode(ByteSpan stored, const VecN& shape, size_t es, const std::string& where) const {
  const size_t raw = static_cast<size_t>(prod(shape)) * es;
  // Undo the byte codecs last-to-first. `view` is the current payload; `owned` backs it once a
  // decompressor has produced a new buffer.
  ByteSpan view = stored;
  Bytes owned;
  bool is_owned = false;
  size_t crcs_before = 0;
  for (const auto& c : byte_codecs) crcs_before += c.compresses() ? 0 : 1;
  for (size_t i = byte_codecs.size(); i-- > 0;) {
    const ByteCodec& c = byte_codecs[i];
    if (c.kind == ByteCodec::Kind::Crc32c) {
      --crcs_before;
      if (view.size() < 4)
        fail(ErrorKind::Corrupt, where + ": crc32c: payload of " + std::to_string(view.size()) +
                                     " bytes is too short for a checksum");
      ByteSpan body = view.first(view.size() - 4);
      uint32_t want = load_le<uint32_t>(view.data() + body.size());
      uint32_t got = crc32c(body);
      if (want != got)
        fail(ErrorKind::Corrupt, where + ": crc32c mismatch (stored " + std::to_string(want) +
                                     ", computed " + std::to_string(got) + ")");
      view = body;
    } else {
      // validate() guarantees only fixed-size codecs (crc32c) come before a compressor.
      Bytes next = decompress(c, view, raw + 4 * crcs_before, where);
      owned = std::move(next);
      view = owned;
      is_owned = true;
    }
  }
  if (view.size() != raw)
    fail(ErrorKind::Corrupt, where + ": chunk is " + std::to_string(view.size()) +
                                 " bytes, expected " + std::to_string(raw) + " (" +
                                 to_string(shape) + " x " + std::to_string(es) + ")");
  if (!is_owned) {
    owned.assign(view.begin(), view.end());
    is_owned = true;
  }
  if (big_endian && es > 1) byteswap_elements(owned, es);
  if (is_identity_order(order)) return owned;
  Bytes out(raw);
  untranspose(es, owned.data(), shape, order, out.data());
  return out;
}

Bytes ChunkCodec::encode(ByteSpan chunk, const VecN& shape, size_t es) const {
  Bytes data;
  if (is_identity_order(order)) {
    data.assign(chunk.begin(), chunk.end());
  } else {
    data.resize(chunk.size());
    transpose(es, chunk.data(), shape, order, data.data());
  }
  if (big_endian && es > 1) byteswap_elements(data, es);
  for (const auto& c : byte_codecs) {
    if (c.kind == ByteCodec::Kind::Crc32c) {
      uint32_t crc = crc32c(data);
      size_t n = data.size();
      data.resize(n + 4);
      store_le<uint32_t>(data.data() + n, crc);
    } else {
      data = compress(c, data);
    }
  }
  return data;
}

}  // namespace wkfs
