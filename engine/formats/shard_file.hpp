#pragma once
// One version of one shard file (a Zarr3 shard, a Zarr v2 chunk file, a WKW file), as the formats
// read it: "the bytes of range R of file F". A local file is an open descriptor (pread); a remote
// one is an object in a storage::Store (ranged GETs). Either way a handle reads one version: a
// remote object that changes between two reads of one handle fails the second with ESTALE
// (never old index bytes with new chunk bytes), and the array reads that shard again.
#include <cstdint>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "storage/byte_range.hpp"

namespace wkfs {

/// What identifies one version of a shard file, for the decoded-chunk and shard-index caches.
/// Local: inode, mtime, size. Remote: a hash of the ETag (and Last-Modified) as `inode`, mtime 0,
/// the object's size, and the tags themselves for conditional requests.
struct ShardFileVersion {
  uint64_t inode = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  std::string etag;
  std::string last_modified;
  friend bool operator==(const ShardFileVersion&, const ShardFileVersion&) = default;
};

class ShardFile {
 public:
  virtual ~ShardFile() = default;
  ShardFile(const ShardFile&) = delete;
  ShardFile& operator=(const ShardFile&) = delete;

  /// The file's path or URL, for messages and cache keys.
  const std::string& name() const { return name_; }
  /// True for an object in a remote store (every read is a request).
  virtual bool remote() const = 0;
  /// The version, if known without a read (local: always; remote: once a read fixed it).
  virtual std::optional<ShardFileVersion> known_version() const = 0;
  /// The version, fixed by a HEAD request if no read has fixed it yet.
  virtual ShardFileVersion version() = 0;
  /// The bytes of `range`: a span must lie inside the file (Corrupt naming the file otherwise), a
  /// suffix gets at most the whole file.
  virtual Bytes read(storage::ByteRange range) = 0;
  /// As read, or nullopt (and no bytes moved) when the file still has version `known`, which this
  /// handle then reads; local files are always read.
  virtual std::optional<Bytes> read_if_changed(storage::ByteRange range, const ShardFileVersion& known) = 0;
  /// As read of a span, into a buffer of this thread or handle that the next read_scratch reuses
  /// (block-sized reads without a fresh zeroed allocation each).
  virtual ByteSpan read_scratch(uint64_t offset, size_t length) = 0;

 protected:
  explicit ShardFile(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

}  // namespace wkfs
