#pragma once
// AWS Signature Version 4 for S3 requests, on OpenSSL (libcurl 7.88's CURLOPT_AWS_SIGV4 neither
// canonicalizes the query nor adds x-amz-content-sha256). The signature goes in headers:
// x-amz-date, x-amz-content-sha256, x-amz-security-token (temporary credentials) and Authorization.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.hpp"
#include "storage/http_client.hpp"
#include "storage/s3_credentials.hpp"

namespace wkfs::storage {

inline constexpr const char* kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct SigV4Request {
  std::string method;
  std::string canonical_uri;                                // the path as sent, percent-encoded once
  std::vector<std::pair<std::string, std::string>> query;   // names and values not encoded
  HttpHeaders headers;                                      // signed; must include Host
  std::string payload_hash;                                 // sha256_hex(body) or kUnsignedPayload
};

class SigV4Signer {
 public:
  SigV4Signer(S3Credentials credentials, std::string region, std::string service = "s3");

  /// The headers to add to `request` when sent at `now`.
  HttpHeaders sign(const SigV4Request& request, std::chrono::system_clock::time_point now) const;
  /// The canonical request (the string whose hash is signed), for tests and debugging.
  std::string canonical_request(const SigV4Request& request, const std::string& amz_date) const;

  /// Query string in canonical form: names and values RFC 3986-encoded, sorted by name then value.
  static std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);
  /// Lower-case hex SHA-256 (storage/sha256.hpp; kept here for the signer's callers).
  static std::string sha256_hex(ByteSpan data);

  const S3Credentials& credentials() const { return credentials_; }

 private:
  HttpHeaders with_amz_headers(const SigV4Request& request, const std::string& amz_date) const;
  S3Credentials credentials_;
  std::string region_;
  std::string service_;
};

}  // namespace wkfs::storage
