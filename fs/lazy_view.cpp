#include "fs/lazy_view.hpp"

#include <unistd.h>

#include "core/error.hpp"

namespace wkfs::mount {

struct LazyView::Target {
  LazyEngine* engine;
  fs::path in_dataset;  // path relative to the dataset root
};

std::optional<LazyView::Target> LazyView::target(const fs::path& rel) const {
  auto loc = catalog_.locate(rel);
  if (!loc) return std::nullopt;
  auto* engine = engines_.serving(loc->dataset);
  if (!engine) return std::nullopt;
  fs::path p;
  for (const auto& c : loc->inner) p /= c;
  return Target{engine, p};
}

std::optional<struct stat> LazyView::stat(const fs::path& rel, bool read_only) const {
  auto t = target(rel);
  if (!t || t->in_dataset.empty()) return std::nullopt;
  struct stat st {};
  st.st_ino = static_cast<ino_t>(std::hash<std::string>{}(rel.string()) | 1);  // readdir skips inode 0
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  if (auto ref = t->engine->lazy_file(t->in_dataset)) {
    st.st_mode = S_IFREG | (read_only ? 0444 : 0644);
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(t->engine->estimated_size(*ref));
    return st;
  }
  if (t->engine->lazy_children(t->in_dataset)) {
    st.st_mode = S_IFDIR | (read_only ? 0555 : 0755);
    st.st_nlink = 2;
    return st;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, bool>> LazyView::entries(const fs::path& rel) const {
  auto t = target(rel);
  if (!t) return {};
  auto kids = t->engine->lazy_children(t->in_dataset);
  return kids ? *kids : std::vector<std::pair<std::string, bool>>{};
}

bool LazyView::hidden(const fs::path& dir_rel, const std::string& name) const {
  // the lazy registry folder and the properties lock file are wkfs's own, not the dataset's
  if (name != ".wkfs" && name != "datasource-properties.json.__lock") return false;
  auto loc = catalog_.locate(dir_rel);
  return loc && loc->inner.empty();
}

bool LazyView::ensure(const fs::path& rel) const {
  auto t = target(rel);
  if (!t) return false;
  auto ref = t->engine->lazy_file(t->in_dataset);
  if (!ref) return false;
  t->engine->ensure(*ref);
  return true;
}

bool LazyView::is_lazy_file(const fs::path& rel) const {
  auto t = target(rel);
  return t && t->engine->lazy_file(t->in_dataset).has_value();
}

std::optional<std::string> LazyView::properties(const fs::path& props_rel) const {
  auto loc = catalog_.locate(props_rel.parent_path());
  if (!loc) return std::nullopt;
  auto* engine = engines_.serving(loc->dataset);
  if (!engine || !engine->has_pending_mags()) return std::nullopt;
  return engine->mounted_properties();
}

std::string LazyView::stored_properties(const fs::path& props_rel, const std::string& text) const {
  auto loc = catalog_.locate(props_rel.parent_path());
  if (!loc) return text;
  auto* engine = engines_.find(*loc->dataset);
  return engine ? engine->strip_pending_mags(text) : text;
}

void LazyView::written(const fs::path& rel) const {
  auto t = target(rel);
  if (t && !t->in_dataset.empty()) t->engine->source_changed(t->in_dataset);
}

bool LazyView::remove(const fs::path& rel, bool is_dir) const {
  auto t = target(rel);
  if (!t || t->in_dataset.empty()) return false;
  std::vector<std::string> parts;
  for (const auto& c : t->in_dataset) parts.push_back(c.string());
  if (is_dir && parts.size() == 2) {
    Mag mag;
    try {
      mag = Mag::parse(parts[1]);
    } catch (const Error&) {
      return false;
    }
    return t->engine->delete_lazy_mag(parts[0], mag);
  }
  // a listed-but-not-computed file or folder: nothing to remove in the backing folder (one that
  // exists must really go, or the mag folder above it never becomes empty)
  if (is_dir) {
    std::error_code ec;
    return t->engine->lazy_children(t->in_dataset).has_value() &&
           !fs::exists(t->engine->dataset()->root() / t->in_dataset, ec);
  }
  auto ref = t->engine->lazy_file(t->in_dataset);
  return ref && !t->engine->computed(*ref);
}

}  // namespace wkfs::mount
