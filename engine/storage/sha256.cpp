#include "storage/sha256.hpp"

#include <openssl/sha.h>

#include "core/error.hpp"

namespace wkfs::storage {

std::string to_hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

std::string sha256_hex(ByteSpan data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return to_hex(md, sizeof md);
}

std::string sha256_hex(std::string_view text) {
  return sha256_hex(ByteSpan(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
    fail(ErrorKind::Io, "SHA-256 initialisation failed in OpenSSL");
}

Sha256& Sha256::update(ByteSpan data) {
  if (!data.empty() && EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
    fail(ErrorKind::Io, "SHA-256 update failed in OpenSSL");
  return *this;
}

Sha256& Sha256::update(std::string_view text) {
  return update(ByteSpan(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

Sha256& Sha256::update_u64(uint64_t v) {
  std::byte b[8];
  store_le(b, v);
  return update(ByteSpan(b, sizeof b));
}

Sha256Digest Sha256::finish() {
  Sha256Digest d{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), d.data(), &len) != 1 || len != d.size())
    fail(ErrorKind::Io, "SHA-256 final failed in OpenSSL");
  return d;
}

}  // namespace wkfs::storage
