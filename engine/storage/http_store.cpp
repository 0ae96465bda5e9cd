#include "storage/http_store.hpp"

#include "core/error.hpp"
#include "storage/http_error.hpp"

namespace wkfs::storage {

Version version_of(const HttpResponse& response) {
  return {response.header("etag"), response.header("last-modified")};
}

GetResult get_result_of(HttpResponse&& response, const std::string& method, const std::string& url,
                        const std::string& error_detail) {
  if (response.status != 200 && response.status != 206)
    throw http_status_error(method, url, response.status, error_detail);
  GetResult r;
  r.version = version_of(response);
  r.size = response.object_size_known ? response.object_size : response.body.size();
  r.data = std::move(response.body);
  return r;
}

HttpStore::HttpStore(StoreUrl root, std::shared_ptr<HttpClient> client, std::string auth_token)
    : root_(std::move(root)), client_(std::move(client)), auth_token_(std::move(auth_token)) {
  if (root_.scheme() == StoreUrl::Scheme::S3)
    fail(ErrorKind::InvalidArgument, "HttpStore needs an http(s) URL, got " + root_.to_string());
}

HttpRequest HttpStore::request(const std::string& method, const std::string& key, ByteRange range) const {
  HttpRequest r;
  r.method = method;
  r.url = root_.join(key).request_url();
  r.range = range;
  if (!auth_token_.empty()) r.headers.emplace_back("X-Auth-Token", auth_token_);
  return r;
}

GetResult HttpStore::get(const std::string& key, ByteRange range) {
  if (range.kind() == ByteRange::Kind::Suffix && range.length() == 0) {
    // "bytes=-0" is unsatisfiable in HTTP; an empty suffix needs only the version.
    HeadResult h = head(key);
    return {{}, h.version, h.size};
  }
  HttpRequest req = request("GET", key, range);
  return get_result_of(client_->perform(req), req.method, req.url, "");
}

std::optional<GetResult> HttpStore::get_if_changed(const std::string& key, const Version& version, ByteRange range) {
  HttpRequest req = request("GET", key, range);
  if (!version.etag.empty())
    req.headers.emplace_back("If-None-Match", version.etag);
  else if (!version.last_modified.empty())
    req.headers.emplace_back("If-Modified-Since", version.last_modified);
  HttpResponse resp = client_->perform(req);
  if (resp.status == 304) return std::nullopt;
  GetResult r = get_result_of(std::move(resp), req.method, req.url, "");
  if (!version.empty() && r.version == version) return std::nullopt;  // the server ignored the condition
  return r;
}

HeadResult HttpStore::head(const std::string& key) {
  HttpRequest req = request("HEAD", key, ByteRange::whole());
  HttpResponse resp = client_->perform(req);
  if (resp.status != 200) throw http_status_error(req.method, req.url, resp.status, "");
  if (resp.object_size_known) return {resp.object_size, version_of(resp)};
  // No Content-Length (chunked answers): one byte's Content-Range tells the size.
  req = request("GET", key, ByteRange::span(0, 1));
  GetResult g = get_result_of(client_->perform(req), req.method, req.url, "");
  return {g.size, g.version};
}

ListResult HttpStore::list(const std::string&, const std::string&) {
  fail(ErrorKind::Unsupported, "cannot list " + root_.to_string() + ": HTTP servers have no listing");
}

void HttpStore::put(const std::string& key, ByteSpan) {
  fail(ErrorKind::ReadOnly, "cannot write " + root_.join(key).to_string() + ": HTTP stores are read-only");
}

void HttpStore::remove(const std::string& key) {
  fail(ErrorKind::ReadOnly, "cannot remove " + root_.join(key).to_string() + ": HTTP stores are read-only");
}

}  // namespace wkfs::storage
