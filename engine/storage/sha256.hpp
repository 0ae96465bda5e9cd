#pragma once
// SHA-256 on OpenSSL, as lower-case hex: SigV4 signs with it, the remote cache names its
// entries with it.
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.hpp"

namespace wkfs::storage {

using Sha256Digest = std::array<unsigned char, 32>;

/// Lower-case hex of `n` bytes at `p`.
std::string to_hex(const unsigned char* p, size_t n);

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(ByteSpan data);
/// Lower-case hex SHA-256 of the bytes of `text`.
std::string sha256_hex(std::string_view text);

/// An incremental SHA-256 (for digests over several pieces without copying them together).
class Sha256 {
 public:
  Sha256();
  /// Adds `data` to the digest.
  Sha256& update(ByteSpan data);
  /// Adds the bytes of `text`.
  Sha256& update(std::string_view text);
  /// Adds `v` as 8 little-endian bytes.
  Sha256& update_u64(uint64_t v);
  /// The digest of everything added; the object is spent afterwards.
  Sha256Digest finish();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

}  // namespace wkfs::storage
