#pragma once
// A shard file on local disk: an open descriptor (owned or borrowed from a pinned snapshot) read
// with pread; its version is its fstat identity.
#include <memory>

#include "core/file_io.hpp"
#include "formats/shard_file.hpp"

namespace wkfs {

class LocalShardFile final : public ShardFile {
 public:
  /// Opens `path`; nullptr when it does not exist (a missing shard reads as fill).
  static std::unique_ptr<LocalShardFile> open(const std::string& path);
  /// Reads through `fd`, which the caller keeps open (a pinned snapshot's descriptor).
  static std::unique_ptr<LocalShardFile> borrow(int fd, const std::string& path);

  bool remote() const override { return false; }
  std::optional<ShardFileVersion> known_version() const override { return version_; }
  ShardFileVersion version() override { return version_; }
  Bytes read(storage::ByteRange range) override;
  std::optional<Bytes> read_if_changed(storage::ByteRange range, const ShardFileVersion&) override { return read(range); }
  ByteSpan read_scratch(uint64_t offset, size_t length) override;

  LocalShardFile(UniqueFd owned, int fd, const std::string& path);

 private:
  UniqueFd owned_;
  int fd_;
  ShardFileVersion version_;
};

}  // namespace wkfs
