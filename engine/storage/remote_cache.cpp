#include "storage/remote_cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <vector>

#include <xxhash.h>

#include "core/error.hpp"
#include "storage/sha256.hpp"

namespace wkfs::storage {

// No fsync anywhere in this file, on purpose: an entry lost or torn by a crash fails its checksum
// (or is missing) and is fetched again; only a wrong entry could hurt, and the checksum prevents that.

namespace {

// Format 2 checks entries with XXH3-128 (0.05 ms per MiB here) where format 1 used SHA-256
// (0.59 ms per MiB, with SHA-NI): the checksum guards against torn writes and bit rot, not against
// someone who can write the folder (they could write a valid SHA-256 as well). Format-1 files
// are outdated, not damaged: dropped at their first lookup and fetched again.
constexpr char kMagic[8] = {'W', 'K', 'F', 'S', 'R', 'C', '0', '2'};
constexpr char kOldMagic[8] = {'W', 'K', 'F', 'S', 'R', 'C', '0', '1'};
constexpr char kVersionMagic[8] = {'W', 'K', 'F', 'S', 'R', 'V', '0', '2'};
// Enough for an entry's header in one read (the identity is a URL and a key): the data is then
// read straight into its own buffer; a longer header takes a second read.
constexpr size_t kHeadRead = 4096;
constexpr const char* kMarker = "wkfs-remote-cache";
constexpr const char* kVersionFile = "version";  // in each object's folder: the version its entries must have
constexpr double kLowWater = 0.9;                        // eviction goes down to this share of the cap
constexpr auto kStaleTemp = std::chrono::seconds(60);    // older temp files belong to killed writers

struct FileLock {
  explicit FileLock(int fd) : fd_(fd) {
    while (flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) fail_errno("flock of the remote cache's lock file");
  }
  ~FileLock() { flock(fd_, LOCK_UN); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  int fd_;
};

timespec fine_now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

std::string range_name(const ByteRange& r) {
  switch (r.kind()) {
    case ByteRange::Kind::Whole: return "whole";
    case ByteRange::Kind::Span: return "bytes-" + std::to_string(r.offset()) + "-" + std::to_string(r.length());
    case ByteRange::Kind::Suffix: return "suffix-" + std::to_string(r.length());
  }
  return "whole";
}

void put_u32(Bytes& out, uint32_t v) {
  size_t at = out.size();
  out.resize(at + 4);
  store_le(out.data() + at, v);
}
void put_u64(Bytes& out, uint64_t v) {
  size_t at = out.size();
  out.resize(at + 8);
  store_le(out.data() + at, v);
}
void put_text(Bytes& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  auto p = reinterpret_cast<const std::byte*>(s.data());
  out.insert(out.end(), p, p + s.size());
}

using Digest = std::array<unsigned char, sizeof(XXH128_canonical_t)>;

// XXH3-128 over length-prefixed pieces, as canonical (big-endian) bytes.
class Checksum {
 public:
  Checksum() : state_(XXH3_createState()) {
    if (!state_ || XXH3_128bits_reset(state_.get()) != XXH_OK) fail(ErrorKind::Io, "XXH3 state could not be made");
  }
  Checksum& u64(uint64_t v) {
    std::byte b[8];
    store_le(b, v);
    return raw(b, sizeof b);
  }
  Checksum& text(std::string_view s) { return u64(s.size()).raw(s.data(), s.size()); }
  Checksum& bytes(ByteSpan d) { return u64(d.size()).raw(d.data(), d.size()); }
  Digest finish() {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(state_.get()));
    Digest d;
    std::memcpy(d.data(), c.digest, d.size());
    return d;
  }

 private:
  Checksum& raw(const void* p, size_t n) {
    XXH3_128bits_update(state_.get(), p, n);
    return *this;
  }
  struct Free {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, Free> state_;
};

Digest checksum(const std::string& identity, const GetResult& v, ByteSpan data) {
  return Checksum().text(identity).text(v.version.etag).text(v.version.last_modified).u64(v.size).bytes(data).finish();
}

// Up to `n` bytes at `offset` of `fd` into `dst`; fewer only at the end of the file (or an error).
size_t read_at(int fd, size_t offset, std::byte* dst, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = pread(fd, dst + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

Bytes read_all(int fd, size_t size) {
  Bytes out(size);
  out.resize(read_at(fd, 0, out.data(), size));
  return out;
}

// Reads an entry file laid out as: magic, identity, etag, last_modified (u32 length + bytes each),
// object size, data length (u64), SHA-256, data. Every length is checked against the file.
class EntryReader {
 public:
  explicit EntryReader(ByteSpan file) : file_(file) {}
  bool u32(uint32_t& v) { return take(4, [&](const std::byte* p) { v = load_le<uint32_t>(p); }); }
  bool u64(uint64_t& v) { return take(8, [&](const std::byte* p) { v = load_le<uint64_t>(p); }); }
  bool text(std::string& s) {
    uint32_t n;
    if (!u32(n)) return false;
    return take(n, [&](const std::byte* p) { s.assign(reinterpret_cast<const char*>(p), n); });
  }
  bool raw(void* dst, size_t n) { return take(n, [&](const std::byte* p) { std::memcpy(dst, p, n); }); }
  size_t remaining() const { return file_.size() - at_; }
  ByteSpan rest() const { return file_.subspan(at_); }

 private:
  template <typename F>
  bool take(size_t n, F&& f) {
    if (remaining() < n) return false;
    f(file_.data() + at_);
    at_ += n;
    return true;
  }
  ByteSpan file_;
  size_t at_ = 0;
};

// What an entry file holds, as far as its header tells.
enum class EntryState { Good, Outdated, Damaged };

// Reads the entry file `fd` of `file_size` bytes, laid out as: magic, identity, etag,
// last_modified (u32 length + bytes each), object size, data length (u64), XXH3-128, data. Every
// length is checked against the file; the data is read into its own buffer (no copy after).
EntryState read_entry(int fd, size_t file_size, const std::string& identity, GetResult& v) {
  Bytes head = read_all(fd, std::min(file_size, kHeadRead));
  if (head.size() >= sizeof kOldMagic && std::memcmp(head.data(), kOldMagic, sizeof kOldMagic) == 0)
    return EntryState::Outdated;
  // the header's length is known once the three texts are read: a long one is read again whole
  for (int pass = 0; pass < 2; ++pass) {
    EntryReader r(head);
    char magic[sizeof kMagic];
    std::string id;
    uint64_t data_len = 0;
    Digest stored;
    if (!r.raw(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0) return EntryState::Damaged;
    if (!r.text(id) || !r.text(v.version.etag) || !r.text(v.version.last_modified) || !r.u64(v.size) ||
        !r.u64(data_len) || !r.raw(stored.data(), stored.size())) {
      if (pass == 0 && head.size() < file_size) {
        head = read_all(fd, file_size);
        continue;
      }
      return EntryState::Damaged;
    }
    const size_t header = head.size() - r.remaining();
    if (id != identity || data_len != file_size - header) return EntryState::Damaged;
    v.data.resize(data_len);
    ByteSpan have = r.rest();
    if (!have.empty()) std::memcpy(v.data.data(), have.data(), have.size());  // an empty entry has no buffer
    if (read_at(fd, header + have.size(), v.data.data() + have.size(), data_len - have.size()) != data_len - have.size())
      return EntryState::Damaged;  // shorter than its size at fstat: changed under us
    return checksum(id, v, v.data) == stored ? EntryState::Good : EntryState::Damaged;
  }
  return EntryState::Damaged;
}

Digest version_checksum(const Version& v) { return Checksum().text(v.etag).text(v.last_modified).finish(); }

Bytes encode_version(const Version& v) {
  auto magic = reinterpret_cast<const std::byte*>(kVersionMagic);
  Bytes out(magic, magic + sizeof kVersionMagic);
  put_text(out, v.etag);
  put_text(out, v.last_modified);
  Digest sum = version_checksum(v);
  auto p = reinterpret_cast<const std::byte*>(sum.data());
  out.insert(out.end(), p, p + sum.size());
  return out;
}

std::optional<Version> parse_version(ByteSpan file) {
  EntryReader r(file);
  char magic[sizeof kVersionMagic];
  Version v;
  Digest stored;
  if (!r.raw(magic, sizeof magic) || std::memcmp(magic, kVersionMagic, sizeof magic) != 0) return std::nullopt;
  if (!r.text(v.etag) || !r.text(v.last_modified) || !r.raw(stored.data(), stored.size()) || r.remaining() != 0)
    return std::nullopt;
  if (version_checksum(v) != stored) return std::nullopt;
  return v;
}

// The version recorded for an object's folder; nullopt when missing or damaged.
std::optional<Version> read_version(const fs::path& object_dir) {
  UniqueFd fd(open((object_dir / kVersionFile).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  Bytes b = read_all(fd.get(), 4096);  // a version file is far smaller: a longer one fails to parse
  return parse_version(b);
}

bool write_all(int fd, ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string temp_name() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" + std::to_string(rng() % 1000000007);
}

}  // namespace

std::string CacheKey::object() const {
  std::string s = store;
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s + "/" + key;
}

std::string CacheKey::identity() const {
  std::string s = object();
  s += '\0';
  s += range_name(range);
  return s;
}

RemoteCache::RemoteCache(fs::path dir, uint64_t max_bytes, Diagnostics* diagnostics)
    : dir_(std::move(dir)), max_bytes_(max_bytes), diagnostics_(diagnostics) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) fail_errno(ec.value(), "cannot create the remote cache folder " + dir_.string());
  if (!fs::exists(dir_ / kMarker)) {
    if (!fs::is_empty(dir_, ec))
      fail(ErrorKind::InvalidArgument, "remote cache folder " + dir_.string() +
                                           " is not empty and holds no '" + kMarker + "' file: choose an empty or a cache folder");
    write_file_atomic(dir_ / kMarker, std::string("wkfs remote cache, format 1\n"));
  }
  fs::create_directories(dir_ / "tmp", ec);
  if (!ec) fs::create_directories(dir_ / "entries", ec);
  if (ec) fail_errno(ec.value(), "cannot create folders in the remote cache " + dir_.string());
  lock_fd_ = open_file(dir_ / "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  std::lock_guard guard(mutex_);
  FileLock lock(lock_fd_.get());
  auto now = fs::file_time_type::clock::now();
  for (auto& e : fs::directory_iterator(dir_ / "tmp", ec)) {
    std::error_code ec2;
    auto t = fs::last_write_time(e.path(), ec2);
    if (!ec2 && now - t > kStaleTemp) fs::remove(e.path(), ec2);
  }
  write_usage_locked(scan_bytes());  // the shared count drifts only by entries of killed writers
  evict_locked();
}

fs::path RemoteCache::object_dir(const std::string& object) const {
  std::string h = sha256_hex(std::string_view(object));
  return dir_ / "entries" / h.substr(0, 2) / h.substr(2);
}

fs::path RemoteCache::entry_path(const CacheKey& key) const {
  return object_dir(key.object()) / range_name(key.range);
}

std::optional<CachedObject> RemoteCache::lookup(const CacheKey& key) {
  fs::path path = entry_path(key);
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;  // missing (or unreadable: a cache never fails a read)
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (static_cast<uint64_t>(st.st_size) > max_bytes_) {  // never written by us: not worth reading
    drop_if_same(path, st.st_dev, st.st_ino, true);
    return std::nullopt;
  }
  std::optional<GetResult> v{std::in_place};
  EntryState state = read_entry(fd.get(), static_cast<size_t>(st.st_size), key.identity(), *v);
  if (state != EntryState::Good) {
    drop_if_same(path, st.st_dev, st.st_ino, state == EntryState::Damaged);  // format 1: a plain miss
    return std::nullopt;
  }
  // Another range of the object came with a newer version since: this one is of the old object,
  // and serving it beside the new ones would mix two versions (a new shard index, old chunks).
  std::optional<Version> current = read_version(path.parent_path());
  if (!current || *current != v->version) {
    drop_if_same(path, st.st_dev, st.st_ino, false);
    return std::nullopt;
  }
  timespec times[2] = {fine_now(), {0, UTIME_OMIT}};
  futimens(fd.get(), times);  // recency for LRU; failing to record it only makes eviction less apt
  auto validated = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  return CachedObject{std::move(*v), validated};
}

void RemoteCache::drop_if_same(const fs::path& path, dev_t dev, ino_t ino, bool damaged) {
  // Another process may have renamed a good entry into place since we opened the bad one: keep that.
  struct stat now;
  if (stat(path.c_str(), &now) == 0 && now.st_dev == dev && now.st_ino == ino) {
    if (unlink(path.c_str()) == 0) add_usage(-static_cast<int64_t>(now.st_size));
  }
  if (!damaged) return;
  {
    std::lock_guard guard(mutex_);
    ++corrupt_dropped_;
  }
  report(LogLevel::Warn, path.string(), "damaged remote cache entry dropped (checksum or layout wrong); fetching again");
}

void RemoteCache::insert(const CacheKey& key, const GetResult& value) {
  std::string identity = key.identity();
  auto magic = reinterpret_cast<const std::byte*>(kMagic);
  Bytes head(magic, magic + sizeof kMagic);
  put_text(head, identity);
  put_text(head, value.version.etag);
  put_text(head, value.version.last_modified);
  put_u64(head, value.size);
  put_u64(head, value.data.size());
  Digest sum = checksum(identity, value, value.data);
  head.insert(head.end(), reinterpret_cast<const std::byte*>(sum.data()),
              reinterpret_cast<const std::byte*>(sum.data()) + sum.size());
  uint64_t file_size = head.size() + value.data.size();
  if (file_size > max_bytes_) return;

  fs::path path = entry_path(key);
  std::optional<fs::path> tmp = write_temp(head, value.data);
  if (!tmp) return;
  fs::path object = path.parent_path();
  std::optional<Version> current = read_version(object);
  if (!current || *current != value.version) {
    if (current) drop_entries(object);  // the object changed: none of its old ranges may be served
    std::optional<fs::path> vtmp = write_temp(encode_version(value.version), {});
    if (!vtmp || !rename_into(*vtmp, object / kVersionFile)) {
      unlink(tmp->c_str());
      return;
    }
  }
  struct stat old;
  int64_t old_size = stat(path.c_str(), &old) == 0 ? old.st_size : 0;
  if (!rename_into(*tmp, path)) return;
  if (add_usage(static_cast<int64_t>(file_size) - old_size) > static_cast<int64_t>(max_bytes_)) {
    std::lock_guard guard(mutex_);
    FileLock lock(lock_fd_.get());
    evict_locked();
  }
}

std::optional<fs::path> RemoteCache::write_temp(ByteSpan head, ByteSpan data) {
  fs::path tmp = dir_ / "tmp" / temp_name();
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    report(LogLevel::Warn, tmp.string(), "cannot write a remote cache entry", errno);
    return std::nullopt;
  }
  bool ok = write_all(fd.get(), head) && write_all(fd.get(), data);
  int err = errno;
  timespec now = fine_now();
  timespec times[2] = {now, now};
  if (ok) futimens(fd.get(), times);
  if (close(fd.release()) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    unlink(tmp.c_str());
    report(LogLevel::Warn, tmp.string(), "cannot write a remote cache entry", err);
    return std::nullopt;
  }
  return tmp;
}

bool RemoteCache::rename_into(const fs::path& tmp, const fs::path& path) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (rename(tmp.c_str(), path.c_str()) == 0) return true;
    if (errno != ENOENT) break;
    std::error_code ec;  // a new object, or eviction or clear() removed its folder meanwhile
    fs::create_directories(path.parent_path(), ec);
  }
  int err = errno;
  unlink(tmp.c_str());
  report(LogLevel::Warn, path.string(), "cannot rename a remote cache entry into place", err);
  return false;
}

void RemoteCache::drop_entries(const fs::path& object_dir) {
  std::error_code ec;
  int64_t removed = 0;
  for (auto& e : fs::directory_iterator(object_dir, ec)) {
    if (e.path().filename() == kVersionFile) continue;
    struct stat st;
    if (lstat(e.path().c_str(), &st) == 0 && unlink(e.path().c_str()) == 0) removed += st.st_size;
  }
  if (removed) add_usage(-removed);
}

void RemoteCache::mark_validated(const CacheKey& key) {
  timespec now = fine_now();
  timespec times[2] = {now, now};
  utimensat(AT_FDCWD, entry_path(key).c_str(), times, AT_SYMLINK_NOFOLLOW);  // a missing entry: nothing to mark
}

void RemoteCache::observe_version(const std::string& store, const std::string& key, const Version& version) {
  const fs::path dir = object_dir(CacheKey{store, key}.object());
  if (auto current = read_version(dir); current && *current != version) invalidate_object(store, key);
}

void RemoteCache::invalidate_object(const std::string& store, const std::string& key) {
  fs::path dir = object_dir(CacheKey{store, key}.object());
  std::error_code ec;
  int64_t removed = 0;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    struct stat st;
    if (lstat(e.path().c_str(), &st) == 0 && unlink(e.path().c_str()) == 0 && e.path().filename() != kVersionFile)
      removed += st.st_size;
  }
  rmdir(dir.c_str());
  if (removed) add_usage(-removed);
}

void RemoteCache::clear() {
  std::lock_guard guard(mutex_);
  FileLock lock(lock_fd_.get());
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir_ / "entries", ec)) fs::remove_all(e.path(), ec);
  write_usage_locked(scan_bytes());
}

uint64_t RemoteCache::scan_bytes() const {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_ / "entries", ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st;
    if (it->path().filename() == kVersionFile) continue;
    if (lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

uint64_t RemoteCache::bytes_used() const {
  std::lock_guard guard(mutex_);
  FileLock lock(lock_fd_.get());
  std::byte b[8] = {};
  if (pread(lock_fd_.get(), b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) return 0;
  return load_le<uint64_t>(b);
}

Json RemoteCache::status() const {
  return Json{{"dir", dir_.string()},
              {"max_bytes", max_bytes_},
              {"bytes_used", bytes_used()},
              {"corrupt_dropped", corrupt_dropped()},
              {"evicted", evicted()}};
}

uint64_t RemoteCache::corrupt_dropped() const {
  std::lock_guard guard(mutex_);
  return corrupt_dropped_;
}

uint64_t RemoteCache::evicted() const {
  std::lock_guard guard(mutex_);
  return evicted_;
}

int64_t RemoteCache::add_usage(int64_t delta) {
  std::lock_guard guard(mutex_);
  FileLock lock(lock_fd_.get());
  std::byte b[8] = {};
  int64_t now = 0;
  if (pread(lock_fd_.get(), b, sizeof b, 0) == static_cast<ssize_t>(sizeof b)) now = load_le<int64_t>(b);
  now = std::max<int64_t>(0, now + delta);
  write_usage_locked(static_cast<uint64_t>(now));
  return now;
}

void RemoteCache::write_usage_locked(uint64_t bytes) {
  std::byte b[8];
  store_le(b, bytes);
  if (pwrite(lock_fd_.get(), b, sizeof b, 0) != static_cast<ssize_t>(sizeof b))
    report(LogLevel::Warn, (dir_ / "lock").string(), "cannot record the remote cache's size", errno);
}

void RemoteCache::evict_locked() {
  struct Item {
    timespec used;
    uint64_t size;
    fs::path path;
  };
  std::vector<Item> items;
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_ / "entries", ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->path().filename() == kVersionFile) continue;
    struct stat st;
    if (lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    items.push_back({st.st_atim, static_cast<uint64_t>(st.st_size), it->path()});
    total += static_cast<uint64_t>(st.st_size);
  }
  if (total > max_bytes_) {
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      if (a.used.tv_sec != b.used.tv_sec) return a.used.tv_sec < b.used.tv_sec;
      if (a.used.tv_nsec != b.used.tv_nsec) return a.used.tv_nsec < b.used.tv_nsec;
      return a.path < b.path;
    });
    uint64_t target = static_cast<uint64_t>(static_cast<double>(max_bytes_) * kLowWater);
    for (const Item& item : items) {
      if (total <= target) break;
      if (unlink(item.path.c_str()) == 0 || errno == ENOENT) {
        total -= item.size;
        ++evicted_;
        remove_if_only_version(item.path.parent_path());
      }
    }
  }
  write_usage_locked(total);
}

void RemoteCache::remove_if_only_version(const fs::path& object_dir) {
  std::error_code ec;
  for (auto& e : fs::directory_iterator(object_dir, ec))
    if (e.path().filename() != kVersionFile) return;  // the object still has entries
  unlink((object_dir / kVersionFile).c_str());
  rmdir(object_dir.c_str());  // a writer may be putting an entry in just now: then it stays
}

void RemoteCache::report(LogLevel level, const std::string& where, const std::string& message, int err) {
  if (diagnostics_) diagnostics_->report(level, "remote-cache", where, message, err);
}

}  // namespace wkfs::storage
