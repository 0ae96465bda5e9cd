#pragma once
// The write-back of a writable S3 mount (`-o s3_write` with an s3:// SOURCE). The mount's local folder is
// a private staging folder (seeded with the datasets' properties, like an overlay) that takes every
// change first, as the core makes it; before the request is answered, the change is in the store:
// a file is put as a whole object once it is complete (published at close or fsync), a dataset's
// changed files after a Layer-API change or a properties edit (array metadata and other files
// first, datasource-properties.json last, removed files after it: a crash between two requests
// never leaves properties naming a mag without metadata), a removed file or mag is deleted. A put
// that fails is the request's error and the staged change is taken back, so the mount shows what
// the store has. Everything is serialised (one request to the store at a time): the order of the
// puts is the order of the changes.
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fs/mount_status.hpp"
#include "fs/remote_catalog.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;

class S3WriteBack {
 public:
  /// `staging` is the mount's local folder, its files at this point as the store has them;
  /// `remote`'s SOURCE tree is written (its store) and told (its listing).
  S3WriteBack(fs::path staging, RemoteCatalog& remote, MountStatus& status);

  /// Puts staged file `rel` if it changed since it was last put or adopted; if the put fails, the
  /// staged file is dropped (the mount shows the store's object again) and the error thrown.
  void put_file(const fs::path& rel);
  /// Staged file `rel` was just copied from the store (a copy-up): nothing to put.
  void adopt(const fs::path& rel);
  /// Puts what changed in dataset `root` (only in `layer` and the dataset folder, if given): other
  /// files first, its properties last, then deletes the objects of staged files that are gone.
  /// With `prune_unlisted`, the objects of mags (and layers) the properties no longer list go too
  /// (delete-mag, delete-layer: the data lived in the store). On failure the changes not yet in the
  /// store are taken back (staged files dropped, the properties the store has restored) and thrown.
  void sync_dataset(const fs::path& root, const std::optional<std::string>& layer, bool prune_unlisted);
  /// Deletes object `rel` if the store or the staging folder had it, and forgets it.
  void remove(const fs::path& rel);
  /// ENOTEMPTY if the store still has objects below folder `rel` (rmdir).
  void require_no_objects_below(const fs::path& rel) const;

 private:
  struct Stamp {
    uintmax_t size = 0;
    int64_t mtime_ns = 0;
    uint64_t ino = 0;
    bool operator==(const Stamp&) const = default;
  };
  std::optional<Stamp> stamp(const fs::path& rel) const;
  void sync_dataset_locked(const fs::path& root, const std::optional<std::string>& layer, bool prune_unlisted);
  /// Puts one staged file; records it. mutex_ held.
  void put_locked(const std::string& key);
  /// Deletes every object below `prefix` (a mag or layer folder). mutex_ held.
  void remove_below_locked(const std::string& prefix);
  /// Deletes `key` from the store (its error the request's) and forgets it. mutex_ held.
  void delete_object_locked(const std::string& key);
  /// The staged files of `dir` (recursively unless `flat`), wkfs's own state and temp files skipped.
  void scan(const fs::path& dir, bool flat, std::vector<std::string>& out) const;

  fs::path staging_;
  RemoteCatalog& remote_;
  MountStatus& status_;
  mutable std::mutex mutex_;  // everything below, and the order of the store's requests
  std::map<std::string, Stamp> put_;               // staged files as last put (or found at the start)
  std::map<std::string, std::string> properties_;  // dataset root -> the properties text the store has
};

}  // namespace wkfs::mount
