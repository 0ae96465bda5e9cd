#pragma once
// The file side of a dataset's properties: datasource-properties.json and its lock file, kept in
// step with the in-memory model. Changes are read-compare-write under the lock (another process's
// save is adopted, not overwritten), saved atomically with the OME group files, and undone on error.
//
// Not thread-safe: the owner (Dataset) serialises every call with its own mutex.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dataset/properties.hpp"

namespace wkfs {

namespace fs = std::filesystem;

class PropertiesStore {
 public:
  /// Undo steps of a change's file operations, run in reverse order if the change fails.
  using UndoList = std::vector<std::function<void()>>;

  /// A store for the dataset at `root` (nothing is read yet); `on_adopt` runs whenever the
  /// in-memory properties are replaced by the version on disk (reload, or another process's save).
  PropertiesStore(fs::path root, bool read_only, std::function<void()> on_adopt = {});

  const DatasetProperties& properties() const { return props_; }
  bool read_only() const { return read_only_; }
  /// ReadOnly unless the store may write.
  void ensure_writable() const;

  /// Reads the properties file (NotFound if missing, InvalidArgument if invalid).
  void reload();
  /// Writes the first properties file of a new dataset (no lock file: nobody else knows it yet).
  void create(const DatasetProperties& props);
  /// Validates `text` as a properties file and stores it byte for byte (atomically, under the lock).
  void replace(const std::string& text);
  /// Under the lock: adopts the file on disk if it changed, runs `change` on a copy, which may
  /// change files and register their undo, and saves the copy. On throw the undo steps run and
  /// nothing changes. `after_save` runs once the new properties are stored (deletions that must
  /// come last; the library saves first, then deletes).
  void transact(const std::function<void(DatasetProperties&, UndoList&)>& change,
                const std::function<void(const DatasetProperties&)>& after_save = {});

 private:
  void sync_from_disk();
  void save(const DatasetProperties& props);

  fs::path root_;
  bool read_only_;
  std::function<void()> on_adopt_;
  DatasetProperties props_;
  std::string disk_text_;  // the properties file as last read or written by us
};

}  // namespace wkfs
