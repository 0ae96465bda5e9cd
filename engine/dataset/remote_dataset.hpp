#pragma once
// A dataset in a remote store (https://host/ds, s3://host:port/bucket/ds), read-only: its
// datasource-properties.json fetched once through the store, each mag read through a remote
// array at the URL the library resolves for it (remote_mag_url). What `wkfs info` and `wkfs read`
// open for a URL; writes have no method here (a remote dataset is changed by its owner).
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "dataset/mag_view.hpp"
#include "dataset/properties.hpp"
#include "formats/chunk_cache.hpp"
#include "storage/open_store.hpp"

namespace wkfs {

class RemoteDataset {
 public:
  /// Fetches and parses `url`/datasource-properties.json; NotFound naming the URL when there is
  /// none, InvalidArgument for an invalid one, the store's errors (EACCES, EIO) otherwise.
  static std::shared_ptr<RemoteDataset> open(const std::string& url, storage::StoreContext context,
                                             std::shared_ptr<ChunkCache> cache = nullptr);

  /// The dataset's URL, as the library writes it.
  const std::string& url() const { return url_; }
  const DatasetProperties& properties() const { return properties_; }
  /// The URL of a mag's array.
  std::string mag_location(const std::string& layer, const Mag& mag) const;
  /// A read-only view on one mag (opened once, then shared).
  std::shared_ptr<MagView> mag_view(const std::string& layer, const Mag& mag) const;

  RemoteDataset(std::string url, DatasetProperties properties, storage::StoreContext context,
                std::shared_ptr<ChunkCache> cache);

 private:
  std::string url_;
  DatasetProperties properties_;
  storage::StoreContext context_;
  std::shared_ptr<ChunkCache> cache_;
  mutable std::mutex mutex_;  // guards views_
  mutable std::map<std::pair<std::string, std::string>, std::shared_ptr<MagView>> views_;
};

}  // namespace wkfs
