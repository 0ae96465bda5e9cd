#pragma once
// An open remote file: read in blocks of a fixed grid (kBlock-aligned ranged GETs, so the remote
// cache holds the same entries whatever order the kernel's reads come in, and a remount hits
// them), the blocks of one large read fetched in parallel, and for a sequential reader the next
// blocks fetched while the current ones are served (a window growing with the run, up to
// kAheadBlocks). The blocks live in the tree's table (RemoteBlocks), shared by all its handles;
// background fetches are capped for all of them (RemoteBlocks::fetch_slots). A handle serves one
// version of the object: a block of another one fails the read (EIO) instead of mixing them.
// Never written (EROFS, naming the URL: the store is never written through the mount).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "fs/open_file.hpp"
#include "fs/remote_blocks.hpp"
#include "fs/remote_tree.hpp"

namespace wkfs::mount {

class RemoteFile final : public OpenFile {
 public:
  /// `key` of `tree`, `st` its attributes (st_size the object's exact size).
  RemoteFile(fs::path rel, std::shared_ptr<RemoteTree> tree, std::string key, struct stat st);
  size_t read(char* buf, size_t size, off_t off) override;
  std::optional<ReadView> read_view(size_t size, off_t off) override;
  size_t write(const char* buf, size_t size, off_t off) override;
  void truncate(off_t size) override;
  std::optional<struct stat> attr() const override { return st_; }

  // One GET per 1 MiB block: large enough that a request's fixed cost (~0.3 ms here) is small
  // beside its transfer, small enough that a 128 KiB read far from the others fetches little.
  static constexpr uint64_t kBlock = 1 << 20;
  // Blocks in flight ahead of a sequential reader: one HTTP stream is slower than several
  // (measured: 32 MiB in one GET ~130 MB/s, in 4 parallel range GETs ~160-250 MB/s here).
  static constexpr uint64_t kAheadBlocks = 8;

 private:
  [[noreturn]] void refuse(const char* what) const;
  /// One block's part of a read: [from, from + length) of its bytes.
  struct Piece {
    RemoteBlockFuture block;
    const Bytes* bytes;
    size_t from, length;
  };
  /// The pieces of [off, off + size) clipped at the end (none at or past it), their blocks
  /// fetched; starts the read-ahead of a sequential reader.
  std::vector<Piece> pieces(size_t size, off_t off);
  /// Block `index` from the tree's table, started there (in the background if a slot is free) if
  /// absent; an invalid future for a block `ahead` when every slot is busy.
  RemoteBlockFuture block(uint64_t index, bool ahead);
  /// Block `i`'s bytes (`f` its future), checked to be of the version this handle has served. Throws
  /// as the fetch did, or EIO for another version; either way later reads of the block fail at once.
  const Bytes& bytes_of(uint64_t i, const RemoteBlockFuture& f);

  std::shared_ptr<RemoteTree> tree_;
  std::string key_;
  std::string url_;  // the object's: its name in messages and in the blocks table
  struct stat st_;
  std::mutex mutex_;
  std::optional<storage::Version> version_;  // of the first block served
  uint64_t last_end_ = 0;  // where the last read ended: a read starting there is sequential
  uint64_t run_bytes_ = 0;  // bytes read sequentially up to last_end_: the read-ahead window grows with it
  // A block of this handle whose GET failed (timeout, dropped transfers, 5xx after the retries):
  // the kernel asks again at once for a failed readahead, and must not wait a second timeout for
  // the same answer. Reads overlapping it fail at once; a new open tries again.
  std::map<uint64_t, std::string> failed_;
};

}  // namespace wkfs::mount
