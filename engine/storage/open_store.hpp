#pragma once
// The Store for a location as a mag path or mount source names it: a local folder, an http(s)
// URL, or an s3:// URL (credentials and region found as webknossos-libs finds them).
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "storage/http_client.hpp"
#include "storage/remote_cache.hpp"
#include "storage/remote_counters.hpp"
#include "storage/store.hpp"

namespace wkfs::storage {

struct StoreContext {
  std::shared_ptr<HttpClient> client;  // shared by every remote store of a mount: one connection pool
  std::string auth_token;              // X-Auth-Token for http(s) stores; empty: none
  std::shared_ptr<RemoteCache> cache;          // remote bytes kept locally; null: none
  std::shared_ptr<RemoteCounters> counters;    // the mount's remote counters; null: none
  std::chrono::milliseconds revalidate_after{std::chrono::seconds(60)};  // a cached range is trusted this long
};

/// A LocalStore for a path, HttpStore for http(s)://, S3Store for s3:// (remote ones inside a
/// CachingStore when the context has a cache or counters); throws InvalidArgument for a bad URL.
std::unique_ptr<Store> open_store(std::string_view location, const StoreContext& context);

}  // namespace wkfs::storage
