#pragma once
// The key-value layer below the formats (like tensorstore's kvstore): a folder, an HTTP(S)
// server or an S3 bucket, addressed by '/'-separated keys relative to the store's root.
// Every call may block on the network and throws wkfs::Error: NotFound (ENOENT) for a missing
// key, Io with EACCES for a refused one, Io with EIO or ETIMEDOUT when the server fails.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "storage/byte_range.hpp"

namespace wkfs::storage {

/// What identifies one version of an object: the ETag if the store has one, else Last-Modified.
struct Version {
  std::string etag;
  std::string last_modified;
  bool empty() const { return etag.empty() && last_modified.empty(); }
  bool operator==(const Version&) const = default;
};

struct GetResult {
  Bytes data;           // exactly the requested range, clipped at the end of the object
  Version version;
  uint64_t size = 0;    // the whole object's size
};

struct HeadResult {
  uint64_t size = 0;
  Version version;
};

struct ListEntry {
  std::string key;  // relative to the store's root
  uint64_t size = 0;
};

struct ListResult {
  std::vector<ListEntry> objects;         // sorted by key
  std::vector<std::string> prefixes;      // "common prefixes" ending in the delimiter, sorted
};

class Store {
 public:
  virtual ~Store() = default;
  /// The bytes of `range` of `key` and the object's version.
  virtual GetResult get(const std::string& key, ByteRange range = ByteRange::whole()) = 0;
  /// As get, or nullopt if the object still has `version` (a conditional request where possible).
  virtual std::optional<GetResult> get_if_changed(const std::string& key, const Version& version,
                                                  ByteRange range = ByteRange::whole()) = 0;
  /// Size and version of `key` without its bytes.
  virtual HeadResult head(const std::string& key) = 0;
  /// Objects below `prefix`; with a delimiter, keys containing it after the prefix are folded into prefixes.
  virtual ListResult list(const std::string& prefix, const std::string& delimiter = "") = 0;
  /// Replaces `key` with `data` as a whole (readers see the old or the new object, never a mix).
  virtual void put(const std::string& key, ByteSpan data) = 0;
  /// Removes `key`; removing a missing key is not an error (S3 semantics).
  virtual void remove(const std::string& key) = 0;
  /// The store's root for messages ("/data/ds", "https://host/ds", "s3://host/bucket/ds").
  virtual std::string describe() const = 0;
};

}  // namespace wkfs::storage
