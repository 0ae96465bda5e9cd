#pragma once
// A WEBKNOSSOS dataset on disk and the Layer API of webknossos-libs as methods.
//
// Every mutating method validates first, then changes files, then saves the properties
// atomically; on error nothing is changed. Methods are safe to call from many threads: mutations
// are serialised per dataset (and with a lock file beside the properties against other processes).
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dataset/mag_paths.hpp"
#include "dataset/mag_view.hpp"
#include "dataset/new_mag.hpp"
#include "dataset/properties.hpp"
#include "dataset/properties_store.hpp"
#include "dataset/remote_source_mag.hpp"
#include "formats/chunk_cache.hpp"
#include "storage/open_store.hpp"

namespace wkfs {

namespace fs = std::filesystem;

/// Arguments of Dataset.add_layer.
struct LayerSpec {
  std::string name;
  Category category = Category::Color;
  DType dtype = DType::UInt8;  // per channel
  int num_channels = 1;
  DataFormat data_format = DataFormat::Zarr3;
  std::optional<BoundingBox> bounding_box;
  std::optional<int64_t> largest_segment_id;
};

class Dataset {
  struct Key {  // only open() and create() make a Dataset, through make_shared
    explicit Key() = default;
  };

 public:
  Dataset(Key, const fs::path& root, bool read_only, std::shared_ptr<ChunkCache> cache,
          storage::StoreContext remote = {}, std::string overlaid_url = {});
  /// Opens an existing dataset folder (reads datasource-properties.json); the arrays of its mag
  /// views share `cache` (null: no caching of decoded chunks); remote (URL) mags are read through
  /// stores of `remote` (its HttpClient shared; without one, a default client is made at first use);
  /// a non-empty `overlaid_url` makes `root` the overlay of that remote dataset (see remote_location).
  static std::shared_ptr<Dataset> open(const fs::path& root, bool read_only = false,
                                       std::shared_ptr<ChunkCache> cache = nullptr,
                                       storage::StoreContext remote = {}, std::string overlaid_url = {});
  /// Creates a new dataset; the folder must be absent or empty.
  static std::shared_ptr<Dataset> create(const fs::path& root, const VoxelSize& voxel_size);

  const fs::path& root() const { return root_; }
  bool read_only() const { return read_only_; }
  /// The decoded-chunk cache its arrays use (null: none), for arrays opened beside it (lazy mags).
  const std::shared_ptr<ChunkCache>& chunk_cache() const { return cache_; }
  /// A snapshot of the current properties.
  DatasetProperties properties() const;
  /// Re-reads the properties file (after a change made outside this object).
  void reload();
  /// Validates `text` as a properties file and replaces the stored one with it (atomically).
  void replace_properties(const std::string& text);
  /// Applies `change` to the properties and saves them, serialised with every other mutation
  /// (used by the lazy engine to list a mag once it is complete, and to unlist it when stale).
  void update_properties(const std::function<void(DatasetProperties&)>& change);

  // --- Dataset-level operations -----------------------------------------------------------
  void add_layer(const LayerSpec& spec);
  void delete_layer(const std::string& layer);
  /// The `name` setter: renames the folder and rewrites the non-foreign mag paths.
  void rename_layer(const std::string& from, const std::string& to);

  // --- Layer operations (names as in webknossos-libs) --------------------------------------
  void add_mag(const std::string& layer, const Mag& mag, const MagOptions& options = {});
  void delete_mag(const std::string& layer, const Mag& mag);
  /// The first step of delete_mag alone: the mag leaves the properties, its files stay (they are
  /// plain files then). `rm -r LAYER/MAG` removes the files itself, after this.
  void unlist_mag(const std::string& layer, const Mag& mag);
  /// `target` is a mag folder of another dataset; relative = make_relative.
  void add_symlink_mag(const std::string& layer, const fs::path& target, bool make_relative);
  void add_copy_mag(const std::string& layer, const fs::path& source_mag_dir, const MagOptions& options = {});
  void add_fs_copy_mag(const std::string& layer, const fs::path& source_mag_dir);
  /// add_mag_as_ref / add_remote_mag: registers by path, no files. A URL source (https://, http://,
  /// s3://host:port/bucket/key) is a mag of a remote dataset: its properties and array metadata are
  /// fetched and checked first, and the entry's path is the URL, as the library stores it.
  void add_remote_mag(const std::string& layer, const fs::path& source_mag_dir,
                      std::optional<Mag> as_mag = std::nullopt);
  /// add_remote_mag with a URL source.
  void add_remote_mag_url(const std::string& layer, const std::string& url, std::optional<Mag> as_mag = std::nullopt);
  void add_mag_for_existing_files(const std::string& layer, const Mag& mag);
  void add_mag_from_zarrarray(const std::string& layer, const Mag& mag, const fs::path& array_path, bool move);
  void set_bounding_box(const std::string& layer, const BoundingBox& box);
  void set_largest_segment_id(const std::string& layer, std::optional<int64_t> id);
  void set_default_view_configuration(const std::string& layer, const Json& config);
  /// Max over the finest mag; stores and returns it (nullopt for an empty layer).
  std::optional<int64_t> refresh_largest_segment_id(const std::string& layer);

  // --- Data ------------------------------------------------------------------------------
  /// The mag's folder, resolved as the library resolves it (stored path or legacy lookup);
  /// Unsupported for a remote mag (see mag_location).
  fs::path mag_path(const std::string& layer, const Mag& mag) const;
  /// The mag's folder, or for a remote mag its URL (the form the library stores).
  std::string mag_location(const std::string& layer, const Mag& mag) const;
  /// True if the mag's path is a URL, or the dataset overlays a remote one that holds the mag: its
  /// data lives in a remote store (read-only; delete_mag only unlists it).
  bool is_remote_mag(const std::string& layer, const Mag& mag) const;
  /// The context remote mags are read through (a default HttpClient is made at first use).
  storage::StoreContext store_context() const;
  /// Opens a view on one mag for region reads and writes.
  std::shared_ptr<MagView> mag_view(const std::string& layer, const Mag& mag) const;
  /// True if the mag's resolved folder is not <dataset>/<layer>/... (read-only in the library).
  bool is_foreign_mag(const std::string& layer, const Mag& mag) const;
  /// The layer's finest mag, the library's way (smallest max dimension, first of equals); nullopt
  /// for a layer without mags.
  std::optional<Mag> finest_mag(const std::string& layer) const;
  /// MagView.compress(): rewrites an uncompressed local mag compressed, swapped in atomically
  /// (dataset/mag_compression.cpp); returns false if it already was compressed.
  bool compress_mag(const std::string& layer, const Mag& mag);

  /// Undo steps of a mutation's file changes, run in reverse order if the mutation fails.
  using UndoList = PropertiesStore::UndoList;

 private:
  /// Runs `change` on a copy of the properties, then saves it atomically; on throw, nothing changes.
  void mutate(const std::function<void(DatasetProperties&)>& change);
  /// PropertiesStore::transact under the mutex, keeping the cached views in step.
  void transact(const std::function<void(DatasetProperties&, UndoList&)>& change,
                const std::function<void(const DatasetProperties&)>& after_save = {});
  /// Recovery at open: removes mag symlinks an interrupted add_symlink_mag or delete_mag left unlisted.
  void remove_unlisted_mag_links();
  /// Drops cached views of mags that are gone or moved.
  void prune_views_locked();
  /// Resizes every local, non-foreign mag of `layer` to its bounding box (notes 4.5 rounding).
  void resize_mags_locked(const LayerProperties& layer, UndoList& undo);
  std::shared_ptr<MagView> mag_view_locked(const LayerProperties& layer, const MagEntry& entry) const;

  struct CachedView {
    std::shared_ptr<MagView> view;
    std::optional<std::string> path;  // the entry's stored path when opened
  };

  fs::path root_;
  bool read_only_;
  std::shared_ptr<ChunkCache> cache_;
  RemoteMagContext remote_;  // what URL mags are read through
  mutable std::mutex mutex_;  // guards store_ and views_
  PropertiesStore store_;
  mutable std::map<std::pair<std::string, std::string>, CachedView> views_;  // (layer, long mag name)
};

}  // namespace wkfs
