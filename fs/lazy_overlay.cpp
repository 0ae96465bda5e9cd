#include "fs/lazy_overlay.hpp"

#include <unistd.h>

#include "core/error.hpp"

namespace wkfs::mount {

std::optional<struct stat> LazyOverlay::stat(const PathInfo& path) const {
  if (!path.lazy || path.in_dataset.empty()) return std::nullopt;
  struct stat st {};
  st.st_ino = static_cast<ino_t>(std::hash<std::string>{}(path.rel.string()) | 1);  // readdir skips inode 0
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  if (auto ref = path.lazy->lazy_file(path.in_dataset)) {
    st.st_mode = S_IFREG | (read_only_ ? 0444 : 0644);
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(path.lazy->estimated_size(*ref));
    return st;
  }
  if (path.lazy->lazy_children(path.in_dataset)) {
    st.st_mode = S_IFDIR | (read_only_ ? 0555 : 0755);
    st.st_nlink = 2;
    return st;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, bool>> LazyOverlay::entries(const PathInfo& dir) const {
  if (!dir.lazy) return {};
  auto kids = dir.lazy->lazy_children(dir.in_dataset);
  return kids ? *kids : std::vector<std::pair<std::string, bool>>{};
}

bool LazyOverlay::ensure(const PathInfo& path) const {
  if (!path.lazy || path.kind != PathKind::InMag) return false;
  auto ref = path.lazy->lazy_file(path.in_dataset);
  if (!ref) return false;
  path.lazy->ensure(*ref);
  return true;
}

std::optional<UniqueFd> LazyOverlay::open(const PathInfo& path) const {
  if (!path.lazy || path.kind != PathKind::InMag) return std::nullopt;
  auto ref = path.lazy->lazy_file(path.in_dataset);
  if (!ref) return std::nullopt;
  return path.lazy->open(*ref);
}

ChangeIntents::Intent LazyOverlay::begin_change(const PathInfo& path) const {
  if (!path.lazy || path.kind != PathKind::InMag) return {};
  return path.lazy->begin_source_change(path.in_dataset);
}

bool LazyOverlay::is_lazy_file(const PathInfo& path) const {
  return path.lazy && path.kind == PathKind::InMag && path.lazy->lazy_file(path.in_dataset).has_value();
}

std::optional<std::string> LazyOverlay::properties(const PathInfo& props) const {
  if (!props.lazy || !props.lazy->has_pending_mags()) return std::nullopt;
  return props.lazy->mounted_properties();
}

std::string LazyOverlay::stored_properties(const PathInfo& props, const std::string& text) const {
  return props.lazy ? props.lazy->strip_pending_mags(text) : text;
}

void LazyOverlay::written(const PathInfo& path) const {
  if (path.lazy && path.kind == PathKind::InMag) path.lazy->source_changed(path.in_dataset);
}

bool LazyOverlay::remove(const PathInfo& path, bool is_dir) const {
  if (!path.lazy || path.in_dataset.empty()) return false;
  const auto& parts = path.loc->inner;
  if (is_dir && parts.size() == 2) {
    Mag mag;
    try {
      mag = Mag::parse(parts[1]);
    } catch (const Error&) {
      return false;
    }
    return path.lazy->delete_lazy_mag(parts[0], mag);
  }
  // a listed-but-not-computed file or folder: nothing to remove in the backing folder (one that
  // exists must really go, or the mag folder above it never becomes empty)
  if (is_dir) {
    std::error_code ec;
    return path.lazy->lazy_children(path.in_dataset).has_value() &&
           !fs::exists(path.lazy->dataset()->root() / path.in_dataset, ec);
  }
  auto ref = path.lazy->lazy_file(path.in_dataset);
  return ref && !path.lazy->computed(*ref);
}

}  // namespace wkfs::mount
