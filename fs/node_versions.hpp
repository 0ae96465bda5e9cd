#pragma once
// Which file each node is while the kernel holds it. The kernel keeps one size and one page cache
// per node and asks for fstat(2) with a GETATTR that carries no file handle, so all handles of a
// node must read one version of the file, and the node's attributes must be that version's:
//  - a lazy file is recomputed under the same name, the properties file is replaced whole: the
//    read handles of such a node share the version the first of them opened (one descriptor,
//    unlinked or not, or one text) until the last one is closed; the name gets a new node once
//    that version is not the current one;
//  - a node whose name went (unlinked, renamed over, a stale lazy file) keeps the attributes it
//    had, as an unlinked file keeps answering fstat(2).
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/file_io.hpp"
#include "fs/entry.hpp"
#include "fs/open_file.hpp"

namespace wkfs::mount {

namespace fs = std::filesystem;

/// One opened version of a file, shared by the read handles of its node.
struct FileVersion {
  fs::path rel;                     // where it was opened, relative to the mount root
  UniqueFd fd;                      // the file, or
  std::optional<std::string> text;  // a text the daemon made (the properties with pending lazy mags)
  struct stat text_attr {};         // the text's attributes

  struct stat attr() const;
  size_t read(char* buf, size_t size, off_t off) const;
};

class NodeVersions {
 public:
  /// The version the open handles of `ino` share; null if none is open.
  std::shared_ptr<const FileVersion> open_version(Ino ino) const;
  /// Makes `made` the version of `ino` unless another open made one first (then that one is
  /// returned and `made` dropped); `fresh` tells which.
  std::shared_ptr<const FileVersion> share(Ino ino, FileVersion made, bool& fresh);
  /// Records the attributes the kernel was given for the node.
  void remember(Ino ino, const struct stat& st);
  /// The attributes of the node's shared version; else the last ones the kernel was given.
  std::optional<struct stat> attr(Ino ino) const;
  /// The kernel forgot the node.
  void forget(Ino ino);

 private:
  mutable std::mutex mu_;
  std::unordered_map<Ino, std::weak_ptr<const FileVersion>> open_;
  std::unordered_map<Ino, struct stat> last_;
};

/// A read handle of a version that every read handle of its node shares.
class SharedFile final : public OpenFile {
 public:
  explicit SharedFile(std::shared_ptr<const FileVersion> version)
      : OpenFile(version->rel), version_(std::move(version)) {}
  size_t read(char* buf, size_t size, off_t off) override { return version_->read(buf, size, off); }
  std::optional<struct stat> attr() const override { return version_->attr(); }

 private:
  std::shared_ptr<const FileVersion> version_;
};

}  // namespace wkfs::mount
