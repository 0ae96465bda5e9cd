#include "fs/remote_file.hpp"

#include <algorithm>
#include <cstring>
#include <future>
#include <vector>

#include "core/error.hpp"

namespace wkfs::mount {

RemoteFile::RemoteFile(fs::path rel, std::shared_ptr<RemoteTree> tree, std::string key, struct stat st)
    : OpenFile(std::move(rel)), tree_(std::move(tree)), key_(std::move(key)), url_(tree_->url_of(key_)), st_(st) {}

namespace {

/// What one block's fetch needs; it holds the store, so it may outlive the handle and the tree.
struct BlockFetch {
  std::shared_ptr<storage::Store> store;
  std::string key, url;
  uint64_t begin, length, total;
};

/// The block's bytes, exactly, with the errors a remote read reports.
RemoteBlock fetch(const BlockFetch& b) {
  storage::GetResult got;
  try {
    got = b.store->get(b.key, storage::ByteRange::span(b.begin, b.length));
  } catch (const Error& e) {
    // found at lookup, gone now: the open file's data is unavailable (EIO), not a missing name
    if (e.kind() != ErrorKind::NotFound) rethrow_as_remote_error();
    fail(ErrorKind::Io, "read " + b.url + ": the object is gone since it was looked up (" + e.what() + ")");
  }
  const uint64_t total = b.total, length = b.length;
  if (got.data.size() != length || got.size != total)
    fail(ErrorKind::Io, "read " + b.url + ": the object changed (" + std::to_string(got.size) +
                            " bytes now, " + std::to_string(total) + " when it was looked up)");
  return RemoteBlock{std::move(got.data), std::move(got.version)};
}

std::string describe(const storage::Version& v) {
  return v.etag.empty() ? "modified " + v.last_modified : "ETag " + v.etag;
}

}  // namespace

RemoteBlockFuture RemoteFile::block(uint64_t index, bool ahead) {
  const uint64_t total = static_cast<uint64_t>(st_.st_size);
  const uint64_t off = index * kBlock;
  RemoteBlocks& table = tree_->blocks();
  return table.get(url_, index, [&]() -> RemoteBlockFuture {
    BlockFetch b{tree_->store_ptr(), key_, url_, off, std::min(kBlock, total - off), total};
    if (auto slot = table.fetch_slots().try_take())
      return std::async(std::launch::async, [b = std::move(b), slot = std::move(slot)]() mutable {
               auto held = std::move(slot);  // given back when the fetch ends, not when the table drops the block
               return fetch(b);
             }).share();
    if (ahead) return {};  // every slot busy: no read-ahead now
    return std::async(std::launch::deferred, [b = std::move(b)] { return fetch(b); }).share();  // in the first reader that waits
  });
}

const Bytes& RemoteFile::bytes_of(uint64_t i, const RemoteBlockFuture& f) {
  try {
    const RemoteBlock& b = f.get();
    std::lock_guard lock(mutex_);
    if (!version_) version_ = b.version;
    if (b.version != *version_) {
      tree_->blocks().forget(url_);  // the next open reads the new version whole
      fail(ErrorKind::Io, "read " + url_ + ": the object changed while open (" + describe(*version_) +
                              ", now " + describe(b.version) + "); open it again");
    }
    return b.data;
  } catch (const Error& e) {
    tree_->blocks().drop(url_, i);
    std::lock_guard lock(mutex_);
    failed_.emplace(i, e.what());
    throw;
  }
}

std::vector<RemoteFile::Piece> RemoteFile::pieces(size_t size, off_t off) {
  const uint64_t total = static_cast<uint64_t>(st_.st_size);
  const uint64_t begin = static_cast<uint64_t>(off);
  if (off < 0 || begin >= total || size == 0) return {};
  const uint64_t end = std::min<uint64_t>(total, begin + size);
  const uint64_t first = begin / kBlock, last = (end - 1) / kBlock, count = (total + kBlock - 1) / kBlock;
  std::vector<RemoteBlockFuture> need;
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
  }
  std::vector<Piece> out;
  for (uint64_t i = first; i <= last; ++i) {
    const Bytes& data = bytes_of(i, need[i - first]);
    const uint64_t block_off = i * kBlock;
    const uint64_t from = std::max(begin, block_off), to = std::min(end, block_off + data.size());
    out.push_back(Piece{std::move(need[i - first]), &data, static_cast<size_t>(from - block_off), static_cast<size_t>(to - from)});
  }
  return out;
}

size_t RemoteFile::read(char* buf, size_t size, off_t off) {
  size_t done = 0;
  for (const Piece& p : pieces(size, off)) {
    std::memcpy(buf + done, p.bytes->data() + p.from, p.length);
    done += p.length;
  }
  return done;
}

std::optional<ReadView> RemoteFile::read_view(size_t size, off_t off) {
  auto held = std::make_shared<std::vector<Piece>>(pieces(size, off));
  ReadView v;
  for (const Piece& p : *held)
    v.parts.push_back(iovec{const_cast<std::byte*>(p.bytes->data() + p.from), p.length});
  v.keep = std::move(held);
  return v;
}

void RemoteFile::refuse(const char* what) const {
  fail(ErrorKind::ReadOnly, std::string(what) + " " + rel().string() + ": a remote file (" + tree_->url_of(key_) +
                                "); the store is never written through the mount");
}

size_t RemoteFile::write(const char*, size_t, off_t) { refuse("write"); }
void RemoteFile::truncate(off_t) { refuse("truncate"); }

}  // namespace wkfs::mount
