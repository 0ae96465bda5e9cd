#include "formats/store_shard_file.hpp"

#include <cerrno>
#include <functional>

#include "core/error.hpp"

namespace wkfs {

ShardFileVersion remote_version(const storage::Version& version, uint64_t size) {
  ShardFileVersion v;
  // The caches compare (inode, mtime, size); a 64-bit hash of the tags stands in for the inode.
  v.inode = std::hash<std::string>{}(version.etag + '\n' + version.last_modified);
  v.size = size;
  v.etag = version.etag;
  v.last_modified = version.last_modified;
  return v;
}

StoreShardFile::StoreShardFile(storage::Store& store, std::string key, std::string name)
    : ShardFile(std::move(name)), store_(store), key_(std::move(key)) {}

template <typename Call>
auto StoreShardFile::request(Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound) throw;
    if (version_)  // it was there a moment ago: the shard changed under this read
      throw Error(ErrorKind::Io, name() + " was removed while being read", ESTALE, LogLevel::Debug);
    missing_ = true;
    throw;
  }
}

void StoreShardFile::pin(const storage::Version& version, uint64_t size) {
  ShardFileVersion v = remote_version(version, size);
  if (!version_) {
    version_ = std::move(v);
    return;
  }
  if (v != *version_)
    throw Error(ErrorKind::Io,
                name() + " changed while being read (ETag " + version_->etag + " -> " + v.etag + ", " +
                    std::to_string(version_->size) + " -> " + std::to_string(v.size) + " bytes)",
                ESTALE, LogLevel::Debug);
}

Bytes StoreShardFile::checked(storage::GetResult&& r, storage::ByteRange range) {
  pin(r.version, r.size);
  if (range.kind() == storage::ByteRange::Kind::Span && r.data.size() != range.length())
    fail(ErrorKind::Corrupt, name() + ": object ends at " + std::to_string(r.size) + ", expected " +
                                 std::to_string(range.length()) + " bytes at offset " + std::to_string(range.offset()));
  return std::move(r.data);
}

ShardFileVersion StoreShardFile::version() {
  if (!version_) {
    storage::HeadResult h = request([&] { return store_.head(key_); });
    pin(h.version, h.size);
  }
  return *version_;
}

Bytes StoreShardFile::read(storage::ByteRange range) {
  return checked(request([&] { return store_.get(key_, range); }), range);
}

std::optional<Bytes> StoreShardFile::read_if_changed(storage::ByteRange range, const ShardFileVersion& known) {
  storage::Version tags{known.etag, known.last_modified};
  if (tags.empty()) return read(range);  // nothing to send a condition with
  auto r = request([&] { return store_.get_if_changed(key_, tags, range); });
  if (!r) {
    if (!version_)
      version_ = known;
    else if (*version_ != known)
      throw Error(ErrorKind::Io, name() + " changed while being read", ESTALE, LogLevel::Debug);
    return std::nullopt;
  }
  return checked(std::move(*r), range);
}

ByteSpan StoreShardFile::read_scratch(uint64_t offset, size_t length) {
  scratch_ = read(storage::ByteRange::span(offset, length));
  return ByteSpan(scratch_.data(), scratch_.size());
}

}  // namespace wkfs
