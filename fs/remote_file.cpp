#include "fs/remote_file.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"

namespace wkfs::mount {

RemoteFile::RemoteFile(fs::path rel, std::shared_ptr<RemoteTree> tree, std::string key, struct stat st)
    : OpenFile(std::move(rel)), tree_(std::move(tree)), key_(std::move(key)), st_(st) {}

size_t RemoteFile::read(char* buf, size_t size, off_t off) {
  const uint64_t total = static_cast<uint64_t>(st_.st_size);
  const uint64_t begin = static_cast<uint64_t>(off);
  if (off < 0 || begin >= total || size == 0) return 0;
  const uint64_t end = std::min<uint64_t>(total, begin + size);
  std::lock_guard lock(mutex_);
  const uint64_t have_end = window_off_ + window_.size();
  if (begin < window_off_ || end > have_end) {
    // sequential (this read starts inside or at the end of the window): the next GET is larger
    const bool sequential = !window_.empty() && begin >= window_off_ && begin <= have_end;
    next_window_ = sequential ? std::min(kMaxWindow, next_window_ * 2) : kMinWindow;
    const uint64_t want = std::min(total - begin, std::max<uint64_t>(end - begin, next_window_));
    if (begin < failed_end_ && end > failed_begin_)
      fail(ErrorKind::Io, failed_message_ + " (this handle's earlier read of the range failed; open it again to retry)");
    storage::GetResult got;
    try {
      try {
        got = tree_->store().get(key_, storage::ByteRange::span(begin, want));
      } catch (const Error& e) {
        // found at lookup, gone now: the open file's data is unavailable (EIO), not a missing name
        if (e.kind() != ErrorKind::NotFound) rethrow_as_remote_error();
        fail(ErrorKind::Io, "read " + tree_->url_of(key_) + ": the object is gone since it was looked up (" + e.what() + ")");
      }
    } catch (const Error& e) {
      failed_begin_ = begin;
      failed_end_ = begin + want;
      failed_message_ = e.what();
      throw;
    }
    if (got.data.size() != want || got.size != total)
      fail(ErrorKind::Io, "read " + tree_->url_of(key_) + ": the object changed (" + std::to_string(got.size) +
                              " bytes now, " + std::to_string(total) + " when it was looked up)");
    window_ = std::move(got.data);
    window_off_ = begin;
  }
  const uint64_t n = end - begin;
  std::memcpy(buf, window_.data() + (begin - window_off_), n);
  return static_cast<size_t>(n);
}

void RemoteFile::refuse(const char* what) const {
  fail(ErrorKind::ReadOnly, std::string(what) + " " + rel().string() + ": a remote file (" + tree_->url_of(key_) +
                                "); the store is never written through the mount");
}

size_t RemoteFile::write(const char*, size_t, off_t) { refuse("write"); }
void RemoteFile::truncate(off_t) { refuse("truncate"); }

}  // namespace wkfs::mount
