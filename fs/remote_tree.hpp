#pragma once
// The read-only file tree of one remote location (a mag, a dataset, a folder of datasets) over a
// Store: which folders and files exist below it and each file's exact size. An S3 store is listed
// (ListObjectsV2); a plain HTTP server cannot list, so its tree is built from candidate keys (what
// the array metadata says may exist) that are confirmed with HEAD when first looked up or listed.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fs/remote_blocks.hpp"
#include "storage/store.hpp"

namespace wkfs::mount {

/// Rethrows the current exception; a timeout (ETIMEDOUT) becomes EIO with the same message: a
/// remote read that did not finish in time fails as any other failed read does.
[[noreturn]] void rethrow_as_remote_error();

/// One name of a remote tree.
struct RemoteNode {
  bool dir = false;
  uint64_t size = 0;  // files only: the object's exact size
};

/// One name of a remote folder's listing.
struct RemoteDirEntry {
  std::string name;
  bool dir = false;
};

class RemoteTree {
 public:
  /// An empty tree over `store`; `url` names its root in messages. Its files' blocks live in
  /// `blocks` (the mount's one table), or in a table of its own if null.
  RemoteTree(std::shared_ptr<storage::Store> store, std::string url, std::shared_ptr<RemoteBlocks> blocks = nullptr);

  /// Adds a file known to exist with `size` (listed, or fetched while building the tree).
  void add_file(const std::string& key, uint64_t size);
  /// Adds a key that may exist; HEAD decides at its first lookup or listing.
  void add_candidate(const std::string& key);
  /// Every object below the store's root, from one recursive listing (S3).
  void add_listing();
  /// Drops file `key` (removed from the store by a writable mount); a folder left without files goes with it.
  void forget(const std::string& key);

  /// What `rel` ('/'-separated, "" for the root) is; nullopt if nothing is there. Throws (EIO)
  /// when the server cannot say.
  std::optional<RemoteNode> stat(const std::string& rel);
  /// The names in folder `rel` (candidates confirmed first); NotFound if it is no folder.
  std::vector<RemoteDirEntry> list(const std::string& rel);

  storage::Store& store() const { return *store_; }
  /// The store, shared: a fetch under way holds it (it may outlive the tree in the mount's table).
  const std::shared_ptr<storage::Store>& store_ptr() const { return store_; }
  /// The root's URL, for messages.
  const std::string& url() const { return url_; }
  /// The URL of `rel` below the root, for messages.
  std::string url_of(const std::string& rel) const;
  /// The blocks fetched for the tree's open files, shared by all of them (keys: url_of(key)).
  RemoteBlocks& blocks() const { return *blocks_; }
  /// When the tree was made: the modification time its nodes report.
  time_t made_at() const { return made_at_; }

 private:
  enum class State { Present, Unconfirmed, Missing };
  struct File {
    uint64_t size = 0;
    State state = State::Unconfirmed;
  };
  void add_parents(const std::string& key);
  /// HEADs the unconfirmed `keys` (several in flight) and records what they say.
  void confirm(const std::vector<std::string>& keys);
  /// True if a file exists below folder `dir` (not the root): candidates are confirmed in batches
  /// until one is found, so a folder whose candidates are all missing is not shown.
  bool has_files(const std::string& dir);

  std::shared_ptr<storage::Store> store_;
  std::string url_;
  std::shared_ptr<RemoteBlocks> blocks_;
  time_t made_at_;
  std::mutex mutex_;
  std::map<std::string, File> files_;
  std::map<std::string, std::set<std::string>> dirs_;  // folder key ("" root) -> names of subfolders and files
  std::map<std::string, bool> dir_has_files_;         // what has_files found (a result never changes)
};

}  // namespace wkfs::mount
