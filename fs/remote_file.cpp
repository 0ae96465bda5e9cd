#include "fs/remote_file.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace wkfs::mount {

RemoteFile::RemoteFile(fs::path rel, std::shared_ptr<RemoteTree> tree, std::string key, struct stat st)
    : OpenFile(std::move(rel)), tree_(std::move(tree)), key_(std::move(key)), st_(st) {}

namespace {

/// `length` bytes at `begin` of `key`, exactly, with the errors a remote read reports.
Bytes fetch(const RemoteTree& tree, const std::string& key, uint64_t begin, uint64_t length, uint64_t total) {
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
  return std::move(got.data);
}

bool ready(const std::shared_future<Bytes>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace

RemoteFile::~RemoteFile() {
  for (auto& [i, f] : blocks_)
    if (f.valid()) f.wait();  // bounded by the client's deadline
}

std::shared_future<Bytes> RemoteFile::block(uint64_t index, bool ahead) {
  if (auto it = blocks_.find(index); it != blocks_.end()) return it->second;
  const uint64_t total = static_cast<uint64_t>(st_.st_size);
  const uint64_t off = index * kBlock, len = std::min(kBlock, total - off);
  std::shared_future<Bytes> f;
  if (auto slot = tree_->fetch_slots().try_take()) {
    f = std::async(std::launch::async, [tree = tree_, key = key_, off, len, total, slot = std::move(slot)] {
          return fetch(*tree, key, off, len, total);
        }).share();
  } else if (ahead) {
    return {};  // every slot busy: no read-ahead now
  } else {
    f = std::async(std::launch::deferred, [tree = tree_, key = key_, off, len, total] {
          return fetch(*tree, key, off, len, total);  // in the reader, at its get()
        }).share();
  }
  blocks_.emplace(index, f);
  return f;
}

void RemoteFile::trim(uint64_t keep_from, uint64_t keep_to) {
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if ((it->first < keep_from || it->first > keep_to) && ready(it->second))
      it = blocks_.erase(it);
    else
      ++it;
  }
}

size_t RemoteFile::read(char* buf, size_t size, off_t off) {
  const uint64_t total = static_cast<uint64_t>(st_.st_size);
  const uint64_t begin = static_cast<uint64_t>(off);
  if (off < 0 || begin >= total || size == 0) return 0;
  const uint64_t end = std::min<uint64_t>(total, begin + size);
  const uint64_t first = begin / kBlock, last = (end - 1) / kBlock, count = (total + kBlock - 1) / kBlock;
  std::vector<std::shared_future<Bytes>> need;
  {
    std::lock_guard lock(mutex_);
    for (uint64_t i = first; i <= last; ++i)
      if (auto f = failed_.find(i); f != failed_.end())
        fail(ErrorKind::Io, f->second + " (this handle's earlier read of the range failed; open it again to retry)");
    // the blocks of this read first (in parallel: the last one in the reader if no slot is free),
    // then, for a sequential reader (a first read at offset 0 counts: most whole-file readers begin
    // there), the ones after it
    for (uint64_t i = first; i <= last; ++i) need.push_back(block(i, false));
    const bool sequential = begin == last_end_ || (begin < last_end_ && end > last_end_);
    run_bytes_ = sequential ? run_bytes_ + (end - begin) : 0;
    // The window grows with the sequential run (as the kernel's readahead does): a reader of a
    // 4 MiB range fetched 8 MiB past it with a fixed window of 8 blocks.
    const uint64_t ahead = std::min(kAheadBlocks, std::max<uint64_t>(1, run_bytes_ / kBlock));
    if (sequential)
      for (uint64_t i = last + 1; i < std::min(count, last + 1 + ahead); ++i)
        if (!block(i, true).valid()) break;
    last_end_ = end;
    trim(first > 0 ? first - 1 : 0, last + kAheadBlocks);
  }
  size_t done = 0;
  for (uint64_t i = first; i <= last; ++i) {
    const Bytes* data = nullptr;
    try {
      data = &need[i - first].get();
    } catch (const Error& e) {
      std::lock_guard lock(mutex_);
      failed_.emplace(i, e.what());
      blocks_.erase(i);
      throw;
    }
    const uint64_t block_off = i * kBlock;
    const uint64_t from = std::max(begin, block_off), to = std::min(end, block_off + data->size());
    std::memcpy(buf + done, data->data() + (from - block_off), to - from);
    done += to - from;
  }
  return done;
}

void RemoteFile::refuse(const char* what) const {
  fail(ErrorKind::ReadOnly, std::string(what) + " " + rel().string() + ": a remote file (" + tree_->url_of(key_) +
                                "); the store is never written through the mount");
}

size_t RemoteFile::write(const char*, size_t, off_t) { refuse("write"); }
void RemoteFile::truncate(off_t) { refuse("truncate"); }

}  // namespace wkfs::mount
