#pragma once
// Which bytes of an object a read wants: all of it, [offset, offset+length), or the last N bytes
// (the suffix a Zarr3 shard index needs without knowing the shard's size).
#include <cstdint>
#include <string>

namespace wkfs::storage {

class ByteRange {
 public:
  enum class Kind { Whole, Span, Suffix };

  /// The whole object.
  static ByteRange whole() { return ByteRange(Kind::Whole, 0, 0); }
  /// `length` bytes from `offset` (clipped at the end of the object, like pread).
  static ByteRange span(uint64_t offset, uint64_t length) { return ByteRange(Kind::Span, offset, length); }
  /// The last `length` bytes (all of the object if it is shorter).
  static ByteRange suffix(uint64_t length) { return ByteRange(Kind::Suffix, 0, length); }

  Kind kind() const { return kind_; }
  uint64_t offset() const { return offset_; }
  uint64_t length() const { return length_; }
  bool is_whole() const { return kind_ == Kind::Whole; }

  /// [begin, end) of this range in an object of `size` bytes, clipped to the object.
  std::pair<uint64_t, uint64_t> resolve(uint64_t size) const;
  /// The HTTP Range header value ("bytes=10-19", "bytes=-16"); empty for Whole or an empty span.
  std::string http_header() const;
  /// For messages: "bytes 10-19", "last 16 bytes", "whole".
  std::string to_string() const;

  bool operator==(const ByteRange&) const = default;

 private:
  ByteRange(Kind kind, uint64_t offset, uint64_t length) : kind_(kind), offset_(offset), length_(length) {}
  Kind kind_;
  uint64_t offset_;
  uint64_t length_;
};

}  // namespace wkfs::storage
