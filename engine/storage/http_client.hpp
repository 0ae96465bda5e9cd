#pragma once
// One pool of HTTP connections for the whole process: a libcurl multi handle driven by its own
// thread, so any number of caller threads can have requests in flight, connections are reused
// (and multiplexed over HTTP/2 where the server offers it), and every request gets retries with
// exponential backoff, a deadline, and verified byte counts: a ranged GET returns exactly the
// requested bytes or throws, whatever the server answers.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.hpp"
#include "core/diagnostics.hpp"
#include "storage/byte_range.hpp"

namespace wkfs::storage {

struct HttpOptions {
  std::chrono::milliseconds attempt_timeout{30000};  // one try, connect to last byte
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds deadline{120000};        // all tries and backoff together
  int max_attempts = 5;
  std::chrono::milliseconds backoff_initial{100};    // doubled per retry, with jitter
  long max_host_connections = 16;
  std::string ca_file;                               // PEM bundle for private endpoints (libcurl ignores CURL_CA_BUNDLE)
  uint64_t max_unranged_body = 256ull << 20;         // a server that ignores Range may send at most this much
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, DELETE
  std::string url;             // percent-encoded
  HttpHeaders headers;
  ByteSpan body;               // PUT only; must outlive the call
  ByteRange range = ByteRange::whole();
  // Called before every attempt for headers that must be fresh (S3 signatures carry the time).
  std::function<HttpHeaders()> sign;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  Bytes body;               // a ranged GET's body is exactly the range, even if the server sent it all
  uint64_t object_size = 0; // the whole object's size when known (Content-Range total, full body, HEAD length)
  bool object_size_known = false;
  std::string header(const std::string& lower_name) const;
};

struct HttpStats {
  std::atomic<uint64_t> requests{0};     // attempts sent
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> in_flight{0};
};

class HttpClient {
 public:
  /// `diagnostics`, if given, gets a warning per retry (URL, attempt, status or transfer error).
  explicit HttpClient(HttpOptions options = {}, Diagnostics* diagnostics = nullptr);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `request` (thread-safe, blocking), retrying 5xx/429/timeouts/broken transfers; returns
  /// the final response, whatever its status. Throws Error (EIO/ETIMEDOUT) if no complete answer came.
  HttpResponse perform(const HttpRequest& request);

  const HttpOptions& options() const { return options_; }
  const HttpStats& stats() const { return stats_; }

 private:
  struct Transfer;
  class Loop;
  HttpOptions options_;
  Diagnostics* diagnostics_;
  HttpStats stats_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace wkfs::storage
