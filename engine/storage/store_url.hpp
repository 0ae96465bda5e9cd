#pragma once
// A remote location as webknossos-libs stores it in datasource-properties.json:
//   https://host[:port]/path, http://host[:port]/path, s3://host[:port]/bucket/key.
// An s3:// URL names the endpoint without its scheme; the library always reads it over https
// (webknossos/utils.py enrich_path), and so do we. Keys below a URL are joined with '/'.
#include <string>
#include <string_view>

namespace wkfs::storage {

class StoreUrl {
 public:
  enum class Scheme { Http, Https, S3 };

  /// Parses a URL; throws Error(InvalidArgument) naming the URL and what is wrong with it.
  static StoreUrl parse(std::string_view url);
  /// True if `s` starts with a scheme we read (http://, https://, s3://), i.e. is not a local path.
  static bool is_url(std::string_view s);

  Scheme scheme() const { return scheme_; }
  /// "host" or "host:port", as written.
  const std::string& authority() const { return authority_; }
  /// The host without the port.
  std::string host() const;
  /// The port, or 0 if the URL names none.
  int port() const { return port_; }
  /// The S3 bucket; empty for http(s).
  const std::string& bucket() const { return bucket_; }
  /// The path below the endpoint (http) or the bucket (s3), decoded, no leading or trailing '/'.
  const std::string& key() const { return key_; }

  /// The form the library stores: "s3://host:port/bucket/key", "https://host/key".
  std::string to_string() const;
  /// Where requests go: "https://host:port" (s3 and https) or "http://host:port".
  std::string endpoint() const;
  /// This URL with `relative` ('/'-separated key parts) appended.
  StoreUrl join(std::string_view relative) const;
  /// The request URL for this location, percent-encoded, path-style for s3 (endpoint/bucket/key).
  std::string request_url() const;

  bool operator==(const StoreUrl&) const = default;

 private:
  Scheme scheme_ = Scheme::Https;
  std::string authority_;
  int port_ = 0;
  std::string bucket_;
  std::string key_;
};

/// Joins two keys with one '/' ("" + "a" = "a", "a" + "b/c" = "a/b/c").
std::string join_key(std::string_view base, std::string_view relative);

}  // namespace wkfs::storage
