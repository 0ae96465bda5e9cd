#include "storage/s3_store.hpp"

#include "core/error.hpp"
#include "storage/http_error.hpp"
#include "storage/http_store.hpp"
#include "storage/percent_encoding.hpp"
#include "storage/s3_xml.hpp"

namespace wkfs::storage {

namespace {
std::string body_text(const HttpResponse& r) {
  return std::string(reinterpret_cast<const char*>(r.body.data()), r.body.size());
}
// The Host value curl sends: the authority without a default port.
std::string host_header(const StoreUrl& url) {
  return url.port() == 443 ? url.host() : url.authority();
}
}  // namespace

S3Store::S3Store(StoreUrl root, std::shared_ptr<HttpClient> client, std::optional<S3Credentials> credentials,
                 std::string region)
    : root_(std::move(root)), client_(std::move(client)) {
  if (root_.scheme() != StoreUrl::Scheme::S3)
    fail(ErrorKind::InvalidArgument, "S3Store needs an s3:// URL, got " + root_.to_string());
  if (credentials) signer_.emplace(std::move(*credentials), std::move(region));
}

std::string S3Store::object_key(const std::string& key) const { return join_key(root_.key(), key); }

HttpRequest S3Store::request(const std::string& method, const std::string& key,
                             std::vector<std::pair<std::string, std::string>> query, ByteSpan body, ByteRange range,
                             HttpHeaders headers) const {
  std::string path = "/" + percent_encode(join_key(root_.bucket(), key), true);
  HttpRequest r;
  r.method = method;
  r.url = root_.endpoint() + path;
  std::string q = SigV4Signer::canonical_query(query);
  if (!q.empty()) r.url += "?" + q;
  r.body = body;
  r.range = range;
  r.headers = headers;
  if (signer_) {
    SigV4Request sr;
    sr.method = method;
    sr.canonical_uri = path;
    sr.query = std::move(query);
    sr.headers.emplace_back("Host", host_header(root_));
    sr.payload_hash = SigV4Signer::sha256_hex(body);
    const SigV4Signer* signer = &*signer_;
    r.sign = [signer, sr = std::move(sr)] { return signer->sign(sr, std::chrono::system_clock::now()); };
  }
  return r;
}

HttpResponse S3Store::perform(const HttpRequest& request) const { return client_->perform(request); }

void S3Store::fail_status(const HttpRequest& request, const HttpResponse& response) const {
  std::string detail = s3_error_detail(body_text(response));
  if (!signer_ && (response.status == 401 || response.status == 403))
    detail += std::string(detail.empty() ? "" : "; ") + "no credentials found for " + root_.to_string();
  throw http_status_error(request.method, request.url, response.status, detail);
}

GetResult S3Store::get(const std::string& key, ByteRange range) {
  if (range.kind() == ByteRange::Kind::Suffix && range.length() == 0) {
    HeadResult h = head(key);
    return {{}, h.version, h.size};
  }
  HttpRequest req = request("GET", object_key(key), {}, {}, range);
  HttpResponse resp = perform(req);
  if (resp.status != 200 && resp.status != 206) fail_status(req, resp);
  return get_result_of(std::move(resp), req.method, req.url, "");
}

std::optional<GetResult> S3Store::get_if_changed(const std::string& key, const Version& version, ByteRange range) {
  HttpHeaders cond;
  if (!version.etag.empty())
    cond.emplace_back("If-None-Match", version.etag);
  else if (!version.last_modified.empty())
    cond.emplace_back("If-Modified-Since", version.last_modified);
  HttpRequest req = request("GET", object_key(key), {}, {}, range, cond);
  HttpResponse resp = perform(req);
  if (resp.status == 304) return std::nullopt;
  if (resp.status != 200 && resp.status != 206) fail_status(req, resp);
  GetResult r = get_result_of(std::move(resp), req.method, req.url, "");
  if (!version.empty() && r.version == version) return std::nullopt;
  return r;
}

HeadResult S3Store::head(const std::string& key) {
  HttpRequest req = request("HEAD", object_key(key), {}, {}, ByteRange::whole());
  HttpResponse resp = perform(req);
  if (resp.status != 200) fail_status(req, resp);
  return {resp.object_size, version_of(resp)};
}

ListResult S3Store::list(const std::string& prefix, const std::string& delimiter) {
  // Keys are relative to the root's key, which is a folder: "root/" + prefix on the server.
  std::string base = root_.key().empty() ? "" : root_.key() + "/";
  ListResult out;
  std::string token;
  do {
    std::vector<std::pair<std::string, std::string>> q{{"list-type", "2"}, {"prefix", base + prefix}};
    if (!delimiter.empty()) q.emplace_back("delimiter", delimiter);
    if (!token.empty()) q.emplace_back("continuation-token", token);
    if (list_page_size_ != 1000) q.emplace_back("max-keys", std::to_string(list_page_size_));
    HttpRequest req = request("GET", "", q, {}, ByteRange::whole());
    HttpResponse resp = perform(req);
    if (resp.status != 200) fail_status(req, resp);
    ListPage page = parse_list_objects_v2(body_text(resp), req.url);
    for (auto& o : page.result.objects) {
      if (!o.key.starts_with(base)) continue;
      out.objects.push_back({o.key.substr(base.size()), o.size});
    }
    for (auto& p : page.result.prefixes)
      if (p.starts_with(base)) out.prefixes.push_back(p.substr(base.size()));
    token = page.truncated ? page.next_continuation_token : "";
  } while (!token.empty());
  return out;
}

void S3Store::put(const std::string& key, ByteSpan data) {
  HttpRequest req = request("PUT", object_key(key), {}, data, ByteRange::whole(),
                            {{"Content-Type", "application/octet-stream"}});
  HttpResponse resp = perform(req);
  if (resp.status != 200 && resp.status != 201 && resp.status != 204) fail_status(req, resp);
}

void S3Store::remove(const std::string& key) {
  HttpRequest req = request("DELETE", object_key(key), {}, {}, ByteRange::whole());
  HttpResponse resp = perform(req);
  if (resp.status != 200 && resp.status != 204 && resp.status != 404) fail_status(req, resp);
}

std::unique_ptr<S3Store> open_s3_store(const StoreUrl& url, std::shared_ptr<HttpClient> client) {
  return std::make_unique<S3Store>(url, std::move(client), find_s3_credentials(url), find_s3_region(process_env()));
}

}  // namespace wkfs::storage
