#include "formats/array.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/nd_copy.hpp"
#include "formats/chunk_cache.hpp"
#include "formats/local_shard_file.hpp"
#include "formats/store_shard_file.hpp"

namespace wkfs {

namespace {
// Reads of one remote shard before a changing object is reported instead of read again.
constexpr int kStaleRetries = 4;
}  // namespace

VecN ArrayMeta::chunks_per_shard() const {
  VecN r(rank());
  for (size_t i = 0; i < rank(); ++i) r[i] = shard_shape[i] / chunk_shape[i];
  return r;
}

bool Array::is_fill(ByteSpan chunk) const {
  if (store_fill_chunks_) return false;
  size_t es = meta_.elem_size();
  const std::byte* f = meta_.fill_value.data();
  bool zero = std::all_of(f, f + es, [](std::byte b) { return b == std::byte{0}; });
  if (zero) {
    // fast path: compare 8 bytes at a time
    size_t n = chunk.size(), i = 0;
    for (; i + 8 <= n; i += 8)
      if (load_le<uint64_t>(chunk.data() + i) != 0) return false;
    for (; i < n; ++i)
      if (chunk[i] != std::byte{0}) return false;
    return true;
  }
  for (size_t i = 0; i < chunk.size(); i += es)
    if (std::memcmp(chunk.data() + i, f, es) != 0) return false;
  return true;
}

namespace {

// Iterates over all grid cells (of `cell` shape) that intersect `box`.
template <typename F>
void for_each_cell(const NdBox& box, const VecN& cell, F&& f) {
  size_t n = box.rank();
  VecN first(n), last(n);
  for (size_t i = 0; i < n; ++i) {
    if (box.shape[i] <= 0) return;
    first[i] = box.begin[i] / cell[i];
    last[i] = (box.begin[i] + box.shape[i] - 1) / cell[i];
  }
  VecN idx = first;
  while (true) {
    f(idx);
    size_t a = n;
    while (a-- > 0) {
      if (++idx[a] <= last[a]) break;
      idx[a] = first[a];
      if (a == 0) return;
    }
    if (n == 0) return;
  }
}

VecN sub(const VecN& a, const VecN& b) {
  VecN r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] - b[i];
  return r;
}

uint64_t linear_index(const VecN& idx, const VecN& shape) {
  uint64_t l = 0;
  for (size_t i = 0; i < idx.size(); ++i) l = l * static_cast<uint64_t>(shape[i]) + static_cast<uint64_t>(idx[i]);
  return l;
}

}  // namespace

void Array::read(const NdBox& box, MutableByteSpan out) const { read_shards(box, out, nullptr); }

void Array::read(const NdBox& box, MutableByteSpan out, const PinnedShards& pinned) const {
  read_shards(box, out, &pinned);
}

void Array::read_shards(const NdBox& box, MutableByteSpan out, const PinnedShards* pinned) const {
  const size_t es = meta_.elem_size();
  if (box.rank() != meta_.rank())
    fail(ErrorKind::InvalidArgument, "read of " + path_.string() + ": box rank " +
                                         std::to_string(box.rank()) + " != array rank " +
                                         std::to_string(meta_.rank()));
  if (out.size() != static_cast<size_t>(box.volume()) * es)
    fail(ErrorKind::InvalidArgument, "read of " + path_.string() + ": buffer size mismatch");
  if (box.empty()) return;
  // Start with fill everywhere; then copy stored chunks inside the shape.
  VecN zero(box.rank(), 0);
  fill_box(es, out.data(), box.shape, zero, box.shape, meta_.fill_value.data());
  NdBox inside = box.intersect(NdBox{VecN(box.rank(), 0), meta_.shape});
  if (inside.empty()) return;

  for_each_cell(inside, meta_.shard_shape, [&](const VecN& shard) {
    VecN shard_begin(shard.size());
    for (size_t i = 0; i < shard.size(); ++i) shard_begin[i] = shard[i] * meta_.shard_shape[i];
    NdBox in_shard = inside.intersect(NdBox{shard_begin, meta_.shard_shape});
    // A remote shard that changes while it is read (ESTALE from its ShardFile) is read again
    // from scratch, as a new version: its part of `out` back to fill first, since the new
    // version may lack chunks the old one had.
    for (int attempt = 1;; ++attempt) {
      try {
        read_shard(shard, in_shard, box, out, pinned);
        return;
      } catch (const Error& e) {
        if (e.sys_errno() != ESTALE || !remote() || attempt >= kStaleRetries) throw;
        fill_box(es, out.data(), box.shape, sub(in_shard.begin, box.begin), in_shard.shape, meta_.fill_value.data());
      }
    }
  });
}

void Array::read_shard(const VecN& shard, const NdBox& in_shard, const NdBox& box, MutableByteSpan out,
                       const PinnedShards* pinned) const {
  const size_t es = meta_.elem_size();
  const VecN cps = meta_.chunks_per_shard();
  std::unique_ptr<ShardFile> file;
  StoreShardFile* remote_file = nullptr;
  if (store_) {
    auto f = std::make_unique<StoreShardFile>(*store_, shard_key(shard), shard_path(shard).string());
    remote_file = f.get();
    file = std::move(f);
  } else if (pinned) {
    int fd = (*pinned)(shard);
    if (fd < 0) return;  // no file in the snapshot: fill
    file = LocalShardFile::borrow(fd, shard_path(shard).string());
  } else {
    file = LocalShardFile::open(shard_path(shard).string());
    if (!file) return;  // missing shard: fill
  }
  try {
    if (remote_file) prepare_remote_shard(*file);
    for_each_cell(in_shard, meta_.chunk_shape, [&](const VecN& chunk) {
      VecN chunk_begin(chunk.size()), local(chunk.size());
      for (size_t i = 0; i < chunk.size(); ++i) {
        chunk_begin[i] = chunk[i] * meta_.chunk_shape[i];
        local[i] = chunk[i] - shard[i] * cps[i];
      }
      std::optional<ChunkKey> key;
      std::shared_ptr<const Bytes> data;
      if (cache_) {
        ShardFileVersion v = file->version();
        key = ChunkKey{file->name(), v.inode, v.mtime_ns, v.size, linear_index(local, cps)};
        data = cache_->get(*key);
      }
      if (!data) {
        auto decoded = decode_chunk(*file, local);
        if (!decoded) return;  // not stored: fill
        if (decoded->size() != meta_.chunk_bytes())
          fail(ErrorKind::Corrupt, file->name() + ": chunk " + to_string(local) + " decodes to " +
                                       std::to_string(decoded->size()) + " bytes, expected " +
                                       std::to_string(meta_.chunk_bytes()));
        data = std::make_shared<const Bytes>(std::move(*decoded));
        if (cache_) cache_->put(*key, data);
      }
      NdBox part = in_shard.intersect(NdBox{chunk_begin, meta_.chunk_shape});
      copy_box(es, data->data(), meta_.chunk_shape, sub(part.begin, chunk_begin), out.data(),
               box.shape, sub(part.begin, box.begin), part.shape);
    });
  } catch (const Error& e) {
    // A remote shard that is not there reads as fill, like a missing local file.
    if (remote_file && remote_file->missing() && e.kind() == ErrorKind::NotFound) return;
    throw;
  }
}

std::optional<ShardFileVersion> Array::shard_version(const VecN& shard) const {
  if (!store_) {
    auto file = LocalShardFile::open(shard_path(shard).string());
    if (!file) return std::nullopt;
    return file->version();
  }
  StoreShardFile file(*store_, shard_key(shard), shard_path(shard).string());
  try {
    return file.version();
  } catch (const Error& e) {
    if (file.missing() && e.kind() == ErrorKind::NotFound) return std::nullopt;
    throw;
  }
}

void Array::require_local(const std::string& what) const {
  if (store_) fail(ErrorKind::ReadOnly, what + " " + path_.string() + ": a remote array is read-only");
}

void Array::patch(ShardChunks& chunks, const VecN& shard, const NdBox& box, ByteSpan in) const {
  const size_t es = meta_.elem_size();
  const VecN cps = meta_.chunks_per_shard();
  chunks.resize(static_cast<size_t>(prod(cps)));
  VecN shard_begin(shard.size());
  for (size_t i = 0; i < shard.size(); ++i) shard_begin[i] = shard[i] * meta_.shard_shape[i];
  NdBox in_shard = box.intersect(NdBox{shard_begin, meta_.shard_shape});
  for_each_cell(in_shard, meta_.chunk_shape, [&](const VecN& chunk) {
    VecN chunk_begin(chunk.size()), local(chunk.size());
    for (size_t i = 0; i < chunk.size(); ++i) {
      chunk_begin[i] = chunk[i] * meta_.chunk_shape[i];
      local[i] = chunk[i] - shard[i] * cps[i];
    }
    auto& slot = chunks[linear_index(local, cps)];
    if (!slot) {
      slot.emplace(meta_.chunk_bytes());
      VecN z(chunk.size(), 0);
      fill_box(es, slot->data(), meta_.chunk_shape, z, meta_.chunk_shape, meta_.fill_value.data());
    }
    NdBox part = in_shard.intersect(NdBox{chunk_begin, meta_.chunk_shape});
    copy_box(es, in.data(), box.shape, sub(part.begin, box.begin), slot->data(),
             meta_.chunk_shape, sub(part.begin, chunk_begin), part.shape);
  });
}

std::optional<Bytes> Array::encode(const NdBox& box, ByteSpan in) const {
  const auto shards = shards_covering(meta_, box);
  if (shards.size() != 1 || in.size() != static_cast<size_t>(box.volume()) * meta_.elem_size())
    fail(ErrorKind::InvalidArgument, "encode for " + path_.string() + ": box " + to_string(box.begin) + "+" +
                                         to_string(box.shape) + " must lie in one shard, with a buffer of its size");
  ShardChunks chunks;
  patch(chunks, shards.front(), box, in);
  return encode_shard(chunks, shards.front());
}

void Array::write(const NdBox& box, ByteSpan in) {
  require_local("write to");
  const size_t es = meta_.elem_size();
  if (box.rank() != meta_.rank())
    fail(ErrorKind::InvalidArgument, "write to " + path_.string() + ": box rank mismatch");
  if (in.size() != static_cast<size_t>(box.volume()) * es)
    fail(ErrorKind::InvalidArgument, "write to " + path_.string() + ": buffer size mismatch");
  for (size_t i = 0; i < box.rank(); ++i)
    if (box.begin[i] < 0 || box.begin[i] + box.shape[i] > meta_.shape[i])
      fail(ErrorKind::InvalidArgument, "write to " + path_.string() + ": box " +
                                           to_string(box.begin) + "+" + to_string(box.shape) +
                                           " is outside the array shape " + to_string(meta_.shape));
  if (box.empty()) return;

  for_each_cell(box, meta_.shard_shape, [&](const VecN& shard) {
    fs::path file = shard_path(shard);
    std::lock_guard lock(shard_locks_[std::hash<std::string>{}(file.native()) % kShardLockStripes]);
    ShardChunks chunks;
    if (auto existing = read_file_if_exists(file)) {
      chunks = decode_shard(*existing, file);
    }
    patch(chunks, shard, box, in);
    auto encoded = encode_shard(chunks, shard);
    if (encoded) {
      fs::create_directories(file.parent_path());
      write_file_atomic(file, *encoded);
    } else if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
      fail_errno("cannot remove empty shard " + file.string());
    }
  });
}

std::vector<VecN> shards_covering(const ArrayMeta& meta, const NdBox& box) {
  NdBox inside = box.intersect(NdBox{VecN(meta.rank(), 0), meta.shape});
  std::vector<VecN> out;
  if (inside.empty()) return out;
  const size_t n = meta.rank();
  VecN first(n), last(n);
  for (size_t i = 0; i < n; ++i) {
    first[i] = inside.begin[i] / meta.shard_shape[i];
    last[i] = (inside.begin[i] + inside.shape[i] - 1) / meta.shard_shape[i];
  }
  VecN idx = first;
  while (true) {
    out.push_back(idx);
    size_t a = n;
    while (a-- > 0) {
      if (++idx[a] <= last[a]) break;
      idx[a] = first[a];
      if (a == 0) return out;
    }
  }
}

}  // namespace wkfs
