#pragma once
// A folder built under a hidden temp name beside its destination and put in place in one atomic
// step (rename, or renameat2(RENAME_EXCHANGE) over an existing folder), or removed if that never
// happens: the destination is never missing and never half-built, whatever fails or crashes (a
// crash leaves only a temp name, which remove_temp_files clears at the next mount).
#include <filesystem>
#include <string>

namespace wkfs {

namespace fs = std::filesystem;

class StagedDir {
 public:
  /// Creates an empty temp folder beside `destination` (named with kTempMarker and `tag`).
  explicit StagedDir(const fs::path& destination, const std::string& tag = "stage");
  /// Removes the temp folder (and what it holds) unless commit() or release() took it.
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  /// The temp folder to build in.
  const fs::path& path() const { return path_; }
  const fs::path& destination() const { return destination_; }
  /// Renames the temp folder to the destination, which must not exist.
  void commit();
  /// Swaps the temp folder with the existing destination in one step; the old content is now at
  /// path() and is removed with this object (call release() to keep it, e.g. for an undo).
  void exchange();
  /// Gives up ownership: the folder at path() is no longer removed.
  fs::path release();

 private:
  fs::path destination_;
  fs::path path_;
  bool owned_ = true;
};

/// Swaps two existing paths in one atomic step (renameat2 RENAME_EXCHANGE); Error with the errno.
void exchange_paths(const fs::path& a, const fs::path& b);

}  // namespace wkfs
