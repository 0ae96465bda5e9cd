#include "fs/remote_file.hpp"

#include <algorithm>
#include <cstring>
#include <future>

#include "core/error.hpp"

namespace wkfs::mount {

RemoteFile::RemoteFile(fs::path rel, std::shared_ptr<RemoteTree> tree, std::string key, struct stat st)
    : OpenFile(std::move(rel)), tree_(std::move(tree)), key_(std::move(key)), st_(st) {}

namespace {

/// `length` bytes at `begin` of `key`, exactly, with the errors a remote read reports.
storage::GetResult fetch(const RemoteTree& tree, const std::string& key, uint64_t begin, uint64_t length,
                         uint64_t total) {
  storage::GetResult got;
  try {
    got = tree.store().get(key, storage::ByteRange::span(begin, length));
  } catch (const Error& e) {
    // found at lookup, gone now: the open file's data is unavailable (EIO), not a missing name
    if (e.kind() != ErrorKind::NotFound) rethrow_as_remote_error();
    fail(ErrorKind::Io, "read " + tree.url_of(key) + ": the object is gone since it was looked up (" + e.what() + ")");
  }
  if (got.data.size() != length || got.size != total)
    fail(ErrorKind::Io, "read " + tree.url_of(key) + ": the object changed (" + std::to_string(got.size) +
                            " bytes now, " + std::to_string(total) + " when it was looked up)");
  return got;
}

}  // namespace

RemoteFile::~RemoteFile() { drop_ahead(); }

void RemoteFile::drop_ahead() {
  for (auto& a : ahead_)
    if (a.data.valid()) a.data.wait();  // bounded by the client's deadline
  ahead_.clear();
}

size_t RemoteFile::read(char* buf, size_t size, off_t off) {
  const uint64_t total = static_cast<uint64_t>(st_.st_size);
  const uint64_t begin = static_cast<uint64_t>(off);
  if (off < 0 || begin >= total || size == 0) return 0;
  const uint64_t end = std::min<uint64_t>(total, begin + size);
  std::lock_guard lock(mutex_);
  const uint64_t have_end = window_off_ + window_.size();
  if (begin < window_off_ || end > have_end) {
    if (begin < failed_end_ && end > failed_begin_)
      fail(ErrorKind::Io, failed_message_ + " (this handle's earlier read of the range failed; open it again to retry)");
    // sequential (this read starts inside or at the end of the window): the next GET is larger
    // (a first read at offset 0 is taken as the start of one: most whole-file readers begin there)
    const bool sequential = window_.empty() ? begin == 0 : begin >= window_off_ && begin <= have_end;
    // the kernel's requests may come out of order (several in flight): any window fetched ahead serves
    auto ahead = std::find_if(ahead_.begin(), ahead_.end(),
                              [&](const Ahead& a) { return begin >= a.off && end <= a.off + a.len; });
    const bool in_ahead = ahead != ahead_.end();
    uint64_t got_off = begin, got_len = 0;
    try {
      storage::GetResult got;
      if (in_ahead) {
        Ahead next = std::move(*ahead);
        ahead_.erase(ahead);
        got_off = next.off;
        got_len = next.len;
        got = next.data.get();
      } else {
        drop_ahead();  // a seek: what was fetched ahead is not wanted
        next_window_ = sequential && !window_.empty() ? std::min(kMaxWindow, next_window_ * kGrowth) : kMinWindow;
        got_len = std::min(total - begin, std::max<uint64_t>(end - begin, next_window_));
        got = fetch(*tree_, key_, begin, got_len, total);
      }
      window_ = std::move(got.data);
      window_off_ = got_off;
    } catch (const Error& e) {
      drop_ahead();
      failed_begin_ = got_off;
      failed_end_ = got_off + got_len;
      failed_message_ = e.what();
      throw;
    }
    // A sequential reader: the following windows are fetched while this one is served, so the
    // connection never idles between two GETs (as a streaming download's does not).
    if (sequential || in_ahead) {
      uint64_t from = ahead_.empty() ? window_off_ + window_.size() : ahead_.back().off + ahead_.back().len;
      while (ahead_.size() < kAhead && from < total) {
        next_window_ = std::min(kMaxWindow, next_window_ * kGrowth);
        Ahead a;
        a.off = from;
        a.len = std::min(total - from, next_window_);
        a.data = std::async(std::launch::async, [tree = tree_, key = key_, o = a.off, l = a.len, total] {
          return fetch(*tree, key, o, l, total);
        });
        from += a.len;
        ahead_.push_back(std::move(a));
      }
    }
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
