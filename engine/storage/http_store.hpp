#pragma once
// A read-only Store over plain HTTP(S): GET with Range, conditional GET, HEAD. HTTP servers
// cannot list, so list() is Unsupported; put/remove are ReadOnly.
#include <memory>

#include "storage/http_client.hpp"
#include "storage/store.hpp"
#include "storage/store_url.hpp"

namespace wkfs::storage {

class HttpStore : public Store {
 public:
  /// `root` is an http(s) URL; `auth_token`, if set, goes out as X-Auth-Token (webknossos' convention).
  HttpStore(StoreUrl root, std::shared_ptr<HttpClient> client, std::string auth_token = "");

  GetResult get(const std::string& key, ByteRange range = ByteRange::whole()) override;
  std::optional<GetResult> get_if_changed(const std::string& key, const Version& version,
                                          ByteRange range = ByteRange::whole()) override;
  HeadResult head(const std::string& key) override;
  ListResult list(const std::string& prefix, const std::string& delimiter = "") override;
  void put(const std::string& key, ByteSpan data) override;
  void remove(const std::string& key) override;
  std::string describe() const override { return root_.to_string(); }

 private:
  HttpRequest request(const std::string& method, const std::string& key, ByteRange range) const;
  StoreUrl root_;
  std::shared_ptr<HttpClient> client_;
  std::string auth_token_;
};

/// The version headers of a response (ETag, Last-Modified).
Version version_of(const HttpResponse& response);
/// A GetResult from a successful (200/206) GET response; throws for any other status.
GetResult get_result_of(HttpResponse&& response, const std::string& method, const std::string& url,
                        const std::string& error_detail);

}  // namespace wkfs::storage
