#pragma once
// A shard file that is an object in a storage::Store (HTTP(S), S3): every read is one request
// (ranged where the format asks for a range), and the first answer fixes the version this handle
// reads. A later answer of another version (ETag, Last-Modified or size differ) or a 404 after the
// first answer fails with ESTALE: the caller re-reads the shard from scratch.
#include <memory>

#include "formats/shard_file.hpp"
#include "storage/store.hpp"

namespace wkfs {

class StoreShardFile final : public ShardFile {
 public:
  /// `key` is relative to the store's root; `name` (the object's URL) names it in messages.
  StoreShardFile(storage::Store& store, std::string key, std::string name);

  bool remote() const override { return true; }
  std::optional<ShardFileVersion> known_version() const override { return version_; }
  ShardFileVersion version() override;
  Bytes read(storage::ByteRange range) override;
  std::optional<Bytes> read_if_changed(storage::ByteRange range, const ShardFileVersion& known) override;
  ByteSpan read_scratch(uint64_t offset, size_t length) override;

  /// True once a request found no object before any version was fixed: the shard is not stored.
  bool missing() const { return missing_; }

 private:
  template <typename Call>
  auto request(Call&& call) -> decltype(call());
  /// Fixes the version on the first answer; ESTALE when a later one differs.
  void pin(const storage::Version& version, uint64_t size);
  Bytes checked(storage::GetResult&& result, storage::ByteRange range);

  storage::Store& store_;
  std::string key_;
  std::optional<ShardFileVersion> version_;
  bool missing_ = false;
  Bytes scratch_;
};

/// The version of a remote object as the caches key it.
ShardFileVersion remote_version(const storage::Version& version, uint64_t size);

}  // namespace wkfs
