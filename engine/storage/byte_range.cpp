#include "storage/byte_range.hpp"

#include <algorithm>

namespace wkfs::storage {

std::pair<uint64_t, uint64_t> ByteRange::resolve(uint64_t size) const {
  switch (kind_) {
    case Kind::Whole: return {0, size};
    case Kind::Suffix: return {size - std::min(size, length_), size};
    case Kind::Span: {
      uint64_t begin = std::min(offset_, size);
      uint64_t end = begin + std::min(length_, size - begin);
      return {begin, end};
    }
  }
  return {0, size};
}

std::string ByteRange::http_header() const {
  switch (kind_) {
    case Kind::Whole: return "";
    case Kind::Suffix: return "bytes=-" + std::to_string(length_);
    case Kind::Span:
      if (length_ == 0) return "";
      return "bytes=" + std::to_string(offset_) + "-" + std::to_string(offset_ + length_ - 1);
  }
  return "";
}

std::string ByteRange::to_string() const {
  switch (kind_) {
    case Kind::Whole: return "whole";
    case Kind::Suffix: return "last " + std::to_string(length_) + " bytes";
    case Kind::Span:
      return "bytes " + std::to_string(offset_) + "+" + std::to_string(length_);
  }
  return "?";
}

}  // namespace wkfs::storage
