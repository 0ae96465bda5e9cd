#pragma once
// A mag of a remote dataset, given by its URL (the source of add_remote_mag / add_mag_as_ref with
// a URL): as the library's MagView._ensure_mag_view finds it, the dataset is the URL's
// grandparent, the layer its parent's name, the mag its last part; the dataset's
// datasource-properties.json is fetched through the store and the mag's array metadata decoded.
// Also how a local dataset resolves its URL mags (a mag entry whose path is a URL): their URL,
// the store context they are read through, their arrays.
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dataset/properties.hpp"
#include "formats/array.hpp"
#include "storage/open_store.hpp"

namespace wkfs {

struct RemoteSourceMag {
  std::string dataset_url;  // the remote dataset's root
  LayerProperties layer;
  MagEntry entry;
  std::string url;          // where the mag's array is, as the library stores it (dump_path)
  std::shared_ptr<Array> array;
};

/// Finds and opens the remote mag at `url`; InvalidArgument for a URL without dataset/layer/mag
/// parts, NotFound (naming the URL) for a missing dataset, layer, mag or array, the store's errors
/// (EACCES, EIO) otherwise.
RemoteSourceMag locate_remote_source_mag(const std::string& url, const storage::StoreContext& context);

/// The URL of a mag entry of the remote dataset at `dataset_url`: its own URL path, or its
/// relative path below the dataset, or (legacy, no path) <dataset>/<layer>/<short name>.
std::string remote_mag_url(const std::string& dataset_url, const LayerProperties& layer, const MagEntry& entry);

/// A mag of a remote dataset opened: its URL and array. A legacy entry (no path) is looked for as
/// the library does, in <layer>/<short name>, then <layer>/<long name>.
struct RemoteMag {
  std::string url;
  std::shared_ptr<Array> array;
};
RemoteMag open_remote_mag(const std::string& dataset_url, const LayerProperties& layer, const MagEntry& entry,
                          const storage::StoreContext& context, std::shared_ptr<ChunkCache> cache = nullptr);

/// True if a mag entry's path is a URL: its data lives in a remote store.
bool is_url_mag(const MagEntry& entry);
/// The URL a mag entry's path names (as the library stores it); nullopt for a local or legacy mag.
std::optional<std::string> mag_url(const MagEntry& entry);

/// The URL mag entry `entry` of `layer` in the dataset at `root` is read from: its own URL path,
/// or, when `root` is the local overlay of the remote dataset at `overlaid_url` (non-empty) and
/// the mag's folder is not in the overlay, the mag's URL in that dataset; nullopt for a local mag.
std::optional<std::string> remote_location(const std::filesystem::path& root, const std::string& overlaid_url,
                                           const LayerProperties& layer, const MagEntry& entry);

/// Where mag entry `entry` of `layer` in the dataset at `root` is: its URL (see remote_location),
/// or its local folder.
std::string mag_location(const std::filesystem::path& root, const LayerProperties& layer, const MagEntry& entry,
                         const std::string& overlaid_url = {});

/// The store context a dataset's URL mags are read through: the one it was opened with; without a
/// client, a default HttpClient made at first use (one connection pool and thread per dataset that
/// reads remote mags, and only then).
/// A dataset opened as the overlay of a remote one also knows that dataset's URL: the mags the
/// overlay lacks are read from there (a lazy pyramid over a remote SOURCE computes from them).
class RemoteMagContext {
 public:
  explicit RemoteMagContext(storage::StoreContext given, std::string overlaid_url = {})
      : context_(std::move(given)), overlaid_url_(std::move(overlaid_url)) {}
  /// The context, its client made now if it had none.
  storage::StoreContext get() const;
  /// The URL of the remote dataset the local folder overlays; empty for a plain local dataset.
  const std::string& overlaid_url() const { return overlaid_url_; }

 private:
  mutable std::mutex mutex_;  // guards context_.client, made at first use
  mutable storage::StoreContext context_;
  std::string overlaid_url_;
};

/// The array of mag entry `entry` of `layer` in the dataset at `root`: a URL mag read through
/// `remote`, a local one from its folder; both with the decoded-chunk `cache` (null: none).
std::shared_ptr<Array> open_mag_array(const std::filesystem::path& root, const LayerProperties& layer,
                                      const MagEntry& entry, const RemoteMagContext& remote,
                                      std::shared_ptr<ChunkCache> cache);

}  // namespace wkfs
