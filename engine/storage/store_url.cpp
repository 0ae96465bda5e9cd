#include "storage/store_url.hpp"

#include <vector>

#include "core/error.hpp"
#include "storage/percent_encoding.hpp"

namespace wkfs::storage {

namespace {

[[noreturn]] void bad(std::string_view url, const std::string& why) {
  fail(ErrorKind::InvalidArgument, "invalid store URL '" + std::string(url) + "': " + why);
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}

// Checks the key's segments: no empty, "." or ".." parts (a LocalStore must never leave its folder,
// and no server resolves them the same way).
void check_key(std::string_view url, const std::string& key) {
  if (key.empty()) return;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    std::string_view seg(key.data() + start, end - start);
    if (seg.empty()) bad(url, "empty path segment ('//')");
    if (seg == "." || seg == "..") bad(url, "'" + std::string(seg) + "' path segment");
    start = end + 1;
  }
}

}  // namespace

bool StoreUrl::is_url(std::string_view s) {
  return s.starts_with("http://") || s.starts_with("https://") || s.starts_with("s3://");
}

StoreUrl StoreUrl::parse(std::string_view url) {
  StoreUrl u;
  std::string_view rest;
  if (url.starts_with("https://")) {
    u.scheme_ = Scheme::Https;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    u.scheme_ = Scheme::Http;
    rest = url.substr(7);
  } else if (url.starts_with("s3://")) {
    u.scheme_ = Scheme::S3;
    rest = url.substr(5);
  } else {
    bad(url, "scheme must be http://, https:// or s3://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) bad(url, "query strings and fragments are not supported");
  for (char c : rest)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) bad(url, "contains a space or control character");

  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (authority.empty()) bad(url, "no host");
  if (authority.find('@') != std::string_view::npos) bad(url, "user names or passwords in the URL are not supported");
  size_t colon = authority.find(':');
  std::string_view host = authority.substr(0, colon);
  if (host.empty()) bad(url, "no host");
  for (char c : host)
    if (!host_char(c)) bad(url, "invalid character '" + std::string(1, c) + "' in host");
  if (colon != std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5) bad(url, "invalid port");
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') bad(url, "invalid port");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) bad(url, "port out of range");
    u.port_ = p;
  }
  u.authority_ = std::string(authority);

  while (path.ends_with('/')) path.remove_suffix(1);
  auto decoded = percent_decode(path);
  if (!decoded) bad(url, "malformed %-escape");
  std::string key = std::move(*decoded);
  if (key.find('\0') != std::string::npos) bad(url, "contains a NUL byte");
  if (u.scheme_ == Scheme::S3) {
    size_t s = key.find('/');
    u.bucket_ = key.substr(0, s);
    key = s == std::string::npos ? std::string() : key.substr(s + 1);
    if (u.bucket_.empty()) bad(url, "no bucket (s3://host[:port]/bucket/key)");
    for (char c : u.bucket_)
      if (!host_char(c)) bad(url, "invalid character '" + std::string(1, c) + "' in bucket name");
  }
  check_key(url, key);
  u.key_ = std::move(key);
  return u;
}

std::string StoreUrl::host() const { return authority_.substr(0, authority_.find(':')); }

std::string StoreUrl::to_string() const {
  std::string path = scheme_ == Scheme::S3 ? join_key(bucket_, key_) : key_;
  const char* scheme = scheme_ == Scheme::S3 ? "s3://" : scheme_ == Scheme::Https ? "https://" : "http://";
  std::string out = scheme + authority_;
  if (!path.empty()) out += "/" + percent_encode(path, true);
  return out;
}

std::string StoreUrl::endpoint() const { return (scheme_ == Scheme::Http ? "http://" : "https://") + authority_; }

StoreUrl StoreUrl::join(std::string_view relative) const {
  while (relative.starts_with('/')) relative.remove_prefix(1);
  while (relative.ends_with('/')) relative.remove_suffix(1);
  StoreUrl u = *this;
  std::string key = join_key(key_, relative);
  check_key(to_string() + "/" + std::string(relative), key);
  u.key_ = std::move(key);
  return u;
}

std::string StoreUrl::request_url() const {
  std::string path = scheme_ == Scheme::S3 ? join_key(bucket_, key_) : key_;
  return endpoint() + "/" + percent_encode(path, true);
}

std::string join_key(std::string_view base, std::string_view relative) {
  if (base.empty()) return std::string(relative);
  if (relative.empty()) return std::string(base);
  return std::string(base) + "/" + std::string(relative);
}

}  // namespace wkfs::storage
