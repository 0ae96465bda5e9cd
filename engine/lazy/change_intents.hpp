#pragma once
// The durable record of source changes under way, so that staleness survives a crash: before a
// source file of a lazy mag changes, a small file naming it is written (fsync'd, atomically) into
// the dataset's `.wkfs/intents/`; once the files computed from it are stale (deleted), it is
// removed. A crash in between leaves the file, and the next load of the engine replays it (makes
// the dependents stale), so a computed file never outlives a change of its sources.
#include <filesystem>
#include <string>
#include <vector>

namespace wkfs {

namespace fs = std::filesystem;

class ChangeIntents {
 public:
  /// The log of the dataset at `dataset_root` (its folder is made at the first record).
  explicit ChangeIntents(fs::path dataset_root);

  /// One recorded change; its destructor removes the record (the change is dealt with).
  class Intent {
   public:
    Intent() = default;
    explicit Intent(fs::path file) : file_(std::move(file)) {}
    Intent(Intent&& o) noexcept : file_(std::move(o.file_)) { o.file_.clear(); }
    Intent& operator=(Intent&& o) noexcept;
    Intent(const Intent&) = delete;
    Intent& operator=(const Intent&) = delete;
    ~Intent();

   private:
    fs::path file_;
  };

  /// Durably records "`relative` (to the dataset root) is changing"; returns when it is on disk.
  Intent record(const fs::path& relative) const;
  /// The changes a crash left recorded: (record file, relative path of the source).
  std::vector<std::pair<fs::path, fs::path>> leftovers() const;
  /// Forgets a replayed record.
  static void remove(const fs::path& record_file);

 private:
  fs::path dir_;
};

}  // namespace wkfs
