#include "storage/open_store.hpp"

#include "core/error.hpp"
#include "storage/caching_store.hpp"
#include "storage/http_store.hpp"
#include "storage/local_store.hpp"
#include "storage/s3_store.hpp"
#include "storage/store_url.hpp"

namespace wkfs::storage {

std::unique_ptr<Store> open_store(std::string_view location, const StoreContext& context) {
  if (!StoreUrl::is_url(location)) {
    if (location.find("://") != std::string_view::npos)
      fail(ErrorKind::Unsupported, "unsupported store URL '" + std::string(location) + "' (http, https and s3 are)");
    return std::make_unique<LocalStore>(std::string(location));
  }
  StoreUrl url = StoreUrl::parse(location);
  if (!context.client) fail(ErrorKind::InvalidArgument, "no HTTP client to open " + url.to_string());
  std::unique_ptr<Store> store;
  if (url.scheme() == StoreUrl::Scheme::S3)
    store = open_s3_store(url, context.client);
  else
    store = std::make_unique<HttpStore>(url, context.client, context.auth_token);
  if (!context.cache && !context.counters) return store;
  return std::make_unique<CachingStore>(std::move(store), context.cache, context.counters, context.revalidate_after);
}

}  // namespace wkfs::storage
