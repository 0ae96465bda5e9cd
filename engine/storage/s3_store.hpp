#pragma once
// A Store over an S3 bucket, path-style (https://host:port/bucket/key, as webknossos-libs
// addresses custom endpoints), signed with SigV4 when credentials are found, unsigned otherwise.
#include <memory>
#include <optional>

#include "storage/http_client.hpp"
#include "storage/sigv4_signer.hpp"
#include "storage/store.hpp"
#include "storage/store_url.hpp"

namespace wkfs::storage {

class S3Store : public Store {
 public:
  /// `root` is an s3:// URL (bucket and an optional key prefix); requests go to root.endpoint().
  S3Store(StoreUrl root, std::shared_ptr<HttpClient> client, std::optional<S3Credentials> credentials,
          std::string region);

  GetResult get(const std::string& key, ByteRange range = ByteRange::whole()) override;
  std::optional<GetResult> get_if_changed(const std::string& key, const Version& version,
                                          ByteRange range = ByteRange::whole()) override;
  HeadResult head(const std::string& key) override;
  ListResult list(const std::string& prefix, const std::string& delimiter = "") override;
  void put(const std::string& key, ByteSpan data) override;
  void remove(const std::string& key) override;
  std::string describe() const override { return root_.to_string(); }
  /// Keys per ListObjectsV2 page (max-keys); S3's default is 1000.
  void set_list_page_size(int n) { list_page_size_ = n; }

 private:
  HttpRequest request(const std::string& method, const std::string& object_key,
                      std::vector<std::pair<std::string, std::string>> query, ByteSpan body, ByteRange range,
                      HttpHeaders headers = {}) const;
  HttpResponse perform(const HttpRequest& request) const;
  [[noreturn]] void fail_status(const HttpRequest& request, const HttpResponse& response) const;
  std::string object_key(const std::string& key) const;

  StoreUrl root_;
  std::shared_ptr<HttpClient> client_;
  std::optional<SigV4Signer> signer_;
  int list_page_size_ = 1000;
};

/// An S3Store for `url` with credentials and region found as webknossos-libs finds them.
std::unique_ptr<S3Store> open_s3_store(const StoreUrl& url, std::shared_ptr<HttpClient> client);

}  // namespace wkfs::storage
