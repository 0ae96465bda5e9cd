#pragma once
// The Store for a location as a mag path or mount source names it: a local folder, an http(s)
// URL, or an s3:// URL (credentials and region found as webknossos-libs finds them).
#include <memory>
#include <string>
#include <string_view>

#include "storage/http_client.hpp"
#include "storage/store.hpp"

namespace wkfs::storage {

struct StoreContext {
  std::shared_ptr<HttpClient> client;  // shared by every remote store of a mount: one connection pool
  std::string auth_token;              // X-Auth-Token for http(s) stores; empty: none
};

/// A LocalStore for a path, HttpStore for http(s)://, S3Store for s3://; throws InvalidArgument for a bad URL.
std::unique_ptr<Store> open_store(std::string_view location, const StoreContext& context);

}  // namespace wkfs::storage
