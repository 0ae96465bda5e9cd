#include "storage/sigv4_signer.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "core/error.hpp"
#include "storage/percent_encoding.hpp"
#include "storage/sha256.hpp"

namespace wkfs::storage {

namespace {

std::string hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len))
    fail(ErrorKind::Io, "HMAC-SHA256 failed in OpenSSL");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// SigV4's Trimall: no leading/trailing blanks, inner runs of blanks become one space.
std::string trimall(const std::string& v) {
  std::string out;
  bool blank = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      blank = !out.empty();
      continue;
    }
    if (blank) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

}  // namespace

SigV4Signer::SigV4Signer(S3Credentials credentials, std::string region, std::string service)
    : credentials_(std::move(credentials)), region_(std::move(region)), service_(std::move(service)) {}

std::string SigV4Signer::sha256_hex(ByteSpan data) { return storage::sha256_hex(data); }

std::string SigV4Signer::canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  for (auto& [k, v] : query) enc.emplace_back(percent_encode(k, false), percent_encode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (auto& [k, v] : enc) out += (out.empty() ? "" : "&") + k + "=" + v;
  return out;
}

HttpHeaders SigV4Signer::with_amz_headers(const SigV4Request& request, const std::string& amz_date) const {
  HttpHeaders h = request.headers;
  h.emplace_back("x-amz-date", amz_date);
  h.emplace_back("x-amz-content-sha256", request.payload_hash);
  if (!credentials_.session_token.empty()) h.emplace_back("x-amz-security-token", credentials_.session_token);
  return h;
}

std::string SigV4Signer::canonical_request(const SigV4Request& request, const std::string& amz_date) const {
  // Lower-case names, sorted; repeated names join their values with ','.
  std::vector<std::pair<std::string, std::string>> headers;
  for (auto& [n, v] : with_amz_headers(request, amz_date)) headers.emplace_back(lower(n), trimall(v));
  std::stable_sort(headers.begin(), headers.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::string canonical_headers, signed_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() = ',';
      canonical_headers += headers[i].second + "\n";
      continue;
    }
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + headers[i].first;
  }
  return request.method + "\n" + request.canonical_uri + "\n" + canonical_query(request.query) + "\n" +
         canonical_headers + "\n" + signed_headers + "\n" + request.payload_hash;
}

HttpHeaders SigV4Signer::sign(const SigV4Request& request, std::chrono::system_clock::time_point now) const {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  std::string amz_date = buf, date = amz_date.substr(0, 8);

  std::string creq = canonical_request(request, amz_date);
  std::string scope = date + "/" + region_ + "/" + service_ + "/aws4_request";
  auto creq_bytes = std::as_bytes(std::span(creq.data(), creq.size()));
  std::string to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + sha256_hex(creq_bytes);
  std::string key = hmac("AWS4" + credentials_.secret_key, date);
  key = hmac(key, region_);
  key = hmac(key, service_);
  key = hmac(key, "aws4_request");
  std::string sig = hmac(key, to_sign);
  std::string signed_headers = creq.substr(0, creq.rfind('\n'));
  signed_headers = signed_headers.substr(signed_headers.rfind('\n') + 1);

  HttpHeaders out;
  out.emplace_back("x-amz-date", amz_date);
  out.emplace_back("x-amz-content-sha256", request.payload_hash);
  if (!credentials_.session_token.empty()) out.emplace_back("x-amz-security-token", credentials_.session_token);
  out.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + credentials_.access_key + "/" + scope +
                                        ", SignedHeaders=" + signed_headers + ", Signature=" +
                                        to_hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size()));
  return out;
}

}  // namespace wkfs::storage
