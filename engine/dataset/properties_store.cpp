#include "dataset/properties_store.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/group_metadata.hpp"

namespace wkfs {

namespace {

/// An exclusive flock on the lock file beside the properties, held for one read-compare-write.
class PropertiesLock {
 public:
  explicit PropertiesLock(const fs::path& root) : fd_(open_file(root / kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    while (::flock(fd_.get(), LOCK_EX) != 0)
      if (errno != EINTR) fail_errno("cannot lock " + (root / kLockFile).string());
  }

 private:
  UniqueFd fd_;  // closing it releases the lock
};

void run_undo(PropertiesStore::UndoList& undo) {
  for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
    try {
      (*it)();
    } catch (...) {  // best effort: the original error is the one to report
    }
  }
  undo.clear();
}

std::string as_text(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

}  // namespace

PropertiesStore::PropertiesStore(fs::path root, bool read_only, std::function<void()> on_adopt)
    : root_(std::move(root)), read_only_(read_only), on_adopt_(std::move(on_adopt)) {}

void PropertiesStore::ensure_writable() const {
  if (read_only_) fail(ErrorKind::ReadOnly, "dataset " + root_.string() + " is read-only, the changes will not be saved");
}

void PropertiesStore::reload() {
  std::string text = as_text(read_file(root_ / kPropertiesFile));
  props_ = DatasetProperties::parse(text);
  disk_text_ = std::move(text);
  if (on_adopt_) on_adopt_();
}

void PropertiesStore::create(const DatasetProperties& props) {
  save(props);
  props_ = props;
}

void PropertiesStore::sync_from_disk() {
  auto bytes = read_file_if_exists(root_ / kPropertiesFile);
  if (!bytes) fail(ErrorKind::NotFound, std::string(kPropertiesFile) + " vanished from " + root_.string());
  std::string text = as_text(*bytes);
  if (text == disk_text_) return;
  // Another process saved since we read: build on its version instead of overwriting it.
  props_ = DatasetProperties::parse(text);
  disk_text_ = std::move(text);
  if (on_adopt_) on_adopt_();
}

void PropertiesStore::save(const DatasetProperties& props) {
  std::string text = props.dump();
  write_group_files(root_, props);
  try {
    write_file_atomic(root_ / kPropertiesFile, text);
  } catch (...) {
    try {
      write_group_files(root_, props_);
    } catch (...) {
    }
    throw;
  }
  disk_text_ = std::move(text);
}

void PropertiesStore::transact(const std::function<void(DatasetProperties&, UndoList&)>& change,
                               const std::function<void(const DatasetProperties&)>& after_save) {
  ensure_writable();
  PropertiesLock lock(root_);
  sync_from_disk();
  DatasetProperties next = props_;
  UndoList undo;
  try {
    change(next, undo);
    save(next);
  } catch (...) {
    run_undo(undo);
    throw;
  }
  props_ = std::move(next);
  if (after_save) after_save(props_);
}

void PropertiesStore::replace(const std::string& text) {
  ensure_writable();
  DatasetProperties parsed = DatasetProperties::parse(text);
  PropertiesLock lock(root_);
  write_group_files(root_, parsed);
  write_file_atomic(root_ / kPropertiesFile, text);
  props_ = std::move(parsed);
  disk_text_ = text;
}

}  // namespace wkfs
