#include "fs/dataset_catalog.hpp"

#include "core/error.hpp"
#include "storage/store_url.hpp"

namespace wkfs::mount {

namespace {

bool is_dataset_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kPropertiesFile, ec);
}

// A holder killed a moment ago may still be exiting; the wait blocks the catalog, once per dataset.
constexpr int kLaterLockGraceMs = 500;

}  // namespace

DatasetCatalog::DatasetCatalog(fs::path source, bool read_only, std::shared_ptr<ChunkCache> cache,
                               std::string lock_purpose, bool may_be_empty, RemoteContext* remote)
    : source_(fs::absolute(std::move(source)).lexically_normal()),
      read_only_(read_only),
      cache_(std::move(cache)),
      lock_purpose_(std::move(lock_purpose)),
      remote_(remote) {
  if (source_.has_filename() == false && source_.has_parent_path()) source_ = source_.parent_path();
  std::error_code ec;
  if (!fs::is_directory(source_, ec)) fail(ErrorKind::NotFound, "source " + source_.string() + " is not a folder");
  single_ = is_dataset_dir(source_);
  for (const auto& root : dataset_roots()) at_mount_.insert(root.string());
  if (!at_mount_.empty() || may_be_empty) return;
  fail(ErrorKind::InvalidArgument, "source " + source_.string() +
                                       " is not a dataset (no " + kPropertiesFile +
                                       ") and holds no dataset folder");
}

std::shared_ptr<Dataset> DatasetCatalog::open_cached(const fs::path& rel, std::string& busy) {
  const fs::path dir = rel.empty() ? source_ : source_ / rel;
  std::error_code ec;
  auto mtime = fs::last_write_time(dir / kPropertiesFile, ec);
  if (ec) {
    std::lock_guard lock(mutex_);
    open_.erase(rel.string());
    return nullptr;
  }
  auto size = fs::file_size(dir / kPropertiesFile, ec);
  std::lock_guard lock(mutex_);
  auto it = open_.find(rel.string());
  if (it != open_.end()) {
    if (it->second.mtime != mtime || it->second.size != size) {
      // Changed on disk (by us or another process): re-read so decisions use the stored truth.
      it->second.dataset->reload();
      it->second.mtime = mtime;
      it->second.size = size;
    }
    busy = it->second.busy;
    return it->second.dataset;
  }
  // One writable mount per dataset, also for a dataset made or copied in after the mount: its lock
  // is taken before anything of it is written (remove_unlisted_mag_links at open included). Held by
  // another mount, it is served read-only and writes are refused naming the holder.
  Entry entry{nullptr, mtime, size, std::nullopt, ""};
  if (!read_only_ && !at_mount_.count(rel.string())) {
    try {
      entry.lock.emplace(dir, lock_purpose_, kLaterLockGraceMs);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Busy) throw;
      entry.busy = e.what();
    }
  }
  // Under a URL SOURCE the folder is the overlay of the remote dataset at the same place: the
  // mags it lacks are read from there (lazy mags over them included).
  std::string overlaid;
  if (remote_ && !remote_->config().source_url.empty())
    overlaid = rel.empty() ? remote_->config().source_url
                           : storage::StoreUrl::parse(remote_->config().source_url).join(rel.generic_string()).to_string();
  entry.dataset = Dataset::open(dir, read_only_ || !entry.busy.empty(), cache_,
                                remote_ ? remote_->get() : storage::StoreContext{}, std::move(overlaid));
  busy = entry.busy;
  auto ds = entry.dataset;
  open_[rel.string()] = std::move(entry);
  return ds;
}

std::optional<Location> DatasetCatalog::locate(const fs::path& rel) {
  Location loc;
  auto it = rel.begin();
  if (!single_) {
    if (it == rel.end()) return std::nullopt;
    loc.dataset_rel = *it++;
  }
  loc.dataset = open_cached(loc.dataset_rel, loc.busy);
  if (!loc.dataset) return std::nullopt;
  for (; it != rel.end(); ++it) loc.inner.push_back(it->string());
  return loc;
}

std::vector<fs::path> DatasetCatalog::dataset_roots() const {
  if (single_) return {fs::path()};
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(source_, ec))
    if (e.is_directory() && is_dataset_dir(e.path())) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace wkfs::mount
