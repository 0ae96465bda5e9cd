#pragma once
// Freshness of lazy files computed from a remote source mag. A remote shard has no mtime to stat;
// what identifies its version is the ETag. The versions of the source shards a computation read
// are taken (HEAD) before it reads them and kept per computed file; opening the file asks again,
// and any difference (a new ETag, a shard that appeared or went) makes it stale. A file computed
// before this process started has no record: then a source whose Last-Modified is newer than
// the computed file makes it stale, as a newer mtime does for a local source.
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "formats/array.hpp"

namespace wkfs {

class RemoteSourceVersions {
 public:
  /// Per source shard covering `box`: its version now, nullopt when it has no object.
  using Versions = std::vector<std::pair<VecN, std::optional<ShardFileVersion>>>;

  /// The versions of `source`'s shards covering `box` (one HEAD each).
  static Versions read(const Array& source, const NdBox& box);
  /// Keeps what `file` was computed from.
  void record(const std::filesystem::path& file, Versions versions);
  /// True when a source of `file` (computed at `computed_ns`, its mtime) is not what it was.
  bool changed(const std::filesystem::path& file, const Array& source, const NdBox& box, int64_t computed_ns) const;
  /// Drops the record of a file that is gone or stale.
  void forget(const std::filesystem::path& file);

 private:
  mutable std::mutex mutex_;
  std::map<std::filesystem::path, Versions> by_file_;
};

/// An HTTP date (RFC 7231 IMF-fixdate, "Wed, 02 Dec 2026 14:03:05 GMT") as ns since the epoch;
/// nullopt when it does not parse.
std::optional<int64_t> http_date_ns(const std::string& text);

}  // namespace wkfs
