#include "fs/remote_catalog.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/mag_paths.hpp"
#include "fs/dir_listing.hpp"
#include "fs/mount_tree.hpp"
#include "fs/quiet_fail.hpp"
#include "fs/remote_dataset.hpp"
#include "fs/remote_file.hpp"
#include "fs/remote_mag.hpp"

namespace wkfs::mount {

RemoteCatalog::RemoteCatalog(RemoteContext& context, bool read_only) : context_(context), read_only_(read_only) {}

std::shared_ptr<RemoteTree> RemoteCatalog::source_tree() {
  std::lock_guard lock(mutex_);
  if (!source_tree_) source_tree_ = open_remote_dataset(context_.get(), source_url(), context_.blocks());
  return source_tree_;
}

std::shared_ptr<RemoteTree> RemoteCatalog::mag_tree(const std::string& url, const LayerProperties& layer,
                                                    const Mag& mag) {
  std::lock_guard lock(mutex_);
  auto& tree = mag_trees_[url];
  if (!tree) tree = open_remote_mag(context_.get(), url, layer, mag, context_.blocks());
  return tree;
}

Json RemoteCatalog::status() {
  Json j = context_.counters();
  {
    std::lock_guard lock(mutex_);
    Json mags = Json::array();
    for (const auto& [url, tree] : mag_trees_) mags.push_back(url);
    j["source"] = source_url();
    j["mags"] = mags;
  }
  context_.add_status(j);
  return j;
}

std::map<std::string, const MagEntry*> RemoteCatalog::remote_mags(const LayerProperties& layer) {
  std::map<std::string, const MagEntry*> out;
  for (const auto& entry : layer.mags)
    if (entry.path && is_remote_path(*entry.path)) out[entry.mag.short_name()] = &entry;
  return out;
}

std::optional<RemotePath> RemoteCatalog::find(const std::filesystem::path& rel, DatasetCatalog& catalog,
                                              const std::filesystem::path& source) {
  if (rel.empty()) return std::nullopt;
  struct stat st {};
  if (has_source()) {
    if (::lstat((source / rel).c_str(), &st) == 0) return std::nullopt;  // the overlay has it
    auto tree = source_tree();
    if (tree->stat(rel.generic_string())) return RemotePath{tree, rel.generic_string()};
    // A mag of the remote dataset whose path is another URL lives in that store, not below SOURCE.
    auto sl = source_layer(rel, catalog.locate(rel));
    if (!sl) return std::nullopt;
    std::vector<std::string> parts;
    for (const auto& c : rel) parts.push_back(c.string());
    if (parts.size() <= sl->below) return std::nullopt;
    const auto mags = remote_mags(sl->layer);
    auto it = mags.find(parts[sl->below]);
    if (it == mags.end()) return std::nullopt;
    std::string key;
    for (size_t i = sl->below + 1; i < parts.size(); ++i) key += (key.empty() ? "" : "/") + parts[i];
    return RemotePath{mag_tree(*it->second->path, sl->layer, it->second->mag), key};
  }
  auto loc = catalog.locate(rel);
  if (!loc || loc->inner.size() < 2) return std::nullopt;
  // a remote mag has no folder here (webknossos-libs makes none): a folder that exists is local
  if (::lstat((source / loc->dataset_rel / loc->inner[0] / loc->inner[1]).c_str(), &st) == 0) return std::nullopt;
  const auto props = loc->dataset->properties();
  const auto* layer = props.find_layer(loc->inner[0]);
  if (!layer) return std::nullopt;
  const auto mags = remote_mags(*layer);
  auto it = mags.find(loc->inner[1]);
  if (it == mags.end()) return std::nullopt;
  std::string key;
  for (size_t i = 2; i < loc->inner.size(); ++i) key += (key.empty() ? "" : "/") + loc->inner[i];
  return RemotePath{mag_tree(*it->second->path, *layer, it->second->mag), key};
}

std::optional<DatasetProperties> RemoteCatalog::source_properties(const std::string& prefix) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = source_properties_.find(prefix); it != source_properties_.end()) return it->second;
  }
  auto tree = source_tree();
  std::optional<DatasetProperties> props;
  const std::string key = prefix + kPropertiesFile;
  if (auto node = tree->stat(key); node && !node->dir) {
    const auto got = tree->store().get(key);
    props = DatasetProperties::parse(std::string(reinterpret_cast<const char*>(got.data.data()), got.data.size()));
  }
  std::lock_guard lock(mutex_);
  return source_properties_.emplace(prefix, std::move(props)).first->second;
}

std::optional<RemoteCatalog::SourceLayer> RemoteCatalog::source_layer(const std::filesystem::path& rel,
                                                                      const std::optional<Location>& overlay) {
  std::vector<std::string> parts;
  for (const auto& c : rel) parts.push_back(c.string());
  // one dataset at the root, or a folder of datasets (its first name the dataset)
  const bool single = source_tree()->stat(kPropertiesFile).has_value();
  const size_t layer_at = single ? 0 : 1;
  if (parts.size() <= layer_at) return std::nullopt;
  std::optional<DatasetProperties> props;
  if (overlay) props = overlay->dataset->properties();  // the overlay's (changes included)
  else props = source_properties(single ? "" : parts[0] + "/");
  if (!props) return std::nullopt;
  const auto* layer = props->find_layer(parts[layer_at]);
  if (!layer) return std::nullopt;
  return SourceLayer{*layer, layer_at + 1};
}

// --- the core's questions -------------------------------------------------------------------

std::optional<struct stat> RemoteCatalog::attr(const PathInfo& path) const {
  if (path.kind != PathKind::Remote) return std::nullopt;
  auto node = path.remote.tree->stat(path.remote.key);
  if (!node) quiet_fail(ENOENT, "no " + path.remote.tree->url_of(path.remote.key));
  struct stat st {};
  st.st_ino = static_cast<ino_t>(std::hash<std::string>{}(path.remote.tree->url_of(path.remote.key)) | 1);
  st.st_mode = node->dir ? (S_IFDIR | 0555) : (S_IFREG | 0444);
  st.st_nlink = node->dir ? 2 : 1;
  st.st_size = static_cast<off_t>(node->size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((node->size + 511) / 512);
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  st.st_atim.tv_sec = st.st_mtim.tv_sec = st.st_ctim.tv_sec = path.remote.tree->made_at();
  return st;
}

std::optional<Opened> RemoteCatalog::open(const PathInfo& path, int flags) const {
  if (path.kind != PathKind::Remote || (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return std::nullopt;
  const auto st = *attr(path);
  if (S_ISDIR(st.st_mode)) fail_errno(EISDIR, "open " + path.rel.string());
  Opened o;
  o.file = std::make_unique<RemoteFile>(path.rel, path.remote.tree, path.remote.key, st);
  o.keep_cache = true;  // the tree's size and the bytes are the object's as of the mount
  return o;
}

std::unique_ptr<OpenDir> RemoteCatalog::opendir(const PathInfo& path) {
  if (path.kind != PathKind::Remote) return nullptr;
  auto dir = std::make_unique<OpenDir>();
  dir->rel = path.rel;
  const auto st = *attr(path);
  if (!S_ISDIR(st.st_mode)) fail_errno(ENOTDIR, "opendir " + path.rel.string());
  dir->entries.push_back({".", st.st_ino, DT_DIR});
  dir->entries.push_back({"..", 1, DT_DIR});
  for (const auto& e : path.remote.tree->list(path.remote.key))
    dir->entries.push_back({e.name, lazy_ino(e.name), static_cast<unsigned char>(e.dir ? DT_DIR : DT_REG)});
  // a layer folder of a URL SOURCE also shows the mags whose path is another URL
  if (has_source() && path.remote.tree == source_tree())
    if (auto sl = source_layer(path.rel, path.loc); sl && std::distance(path.rel.begin(), path.rel.end()) ==
                                                            static_cast<long>(sl->below))
      for (const auto& mag : remote_mags(sl->layer)) {
        const std::string& name = mag.first;  // not a structured binding: clang 14 cannot capture those
        if (std::none_of(dir->entries.begin(), dir->entries.end(), [&](const auto& e) { return e.name == name; }))
          dir->entries.push_back({name, lazy_ino(name), DT_DIR});
      }
  return dir;
}

void RemoteCatalog::add_names(const PathInfo& dir, OpenDir& open) {
  std::vector<RemoteDirEntry> names;
  if (has_source()) {
    auto tree = source_tree();
    const std::string key = dir.rel.generic_string();
    if (auto node = tree->stat(key); node && node->dir) names = tree->list(key);
  } else if (dir.kind == PathKind::Layer && dir.loc) {
    const auto props = dir.loc->dataset->properties();
    if (const auto* layer = props.find_layer(dir.layer))
      for (const auto& [name, entry] : remote_mags(*layer)) names.push_back({name, true});
  }
  if (names.empty()) return;
  std::set<std::string> present;
  for (const auto& e : open.entries) present.insert(e.name);
  for (const auto& n : names)
    if (!present.count(n.name) && !is_state_name(n.name))
      open.entries.push_back({n.name, lazy_ino(n.name), static_cast<unsigned char>(n.dir ? DT_DIR : DT_REG)});
}

void RemoteCatalog::require_writable_source() const {
  if (read_only_ && has_source())
    fail(ErrorKind::ReadOnly, "the mount of " + source_url() +
                                  " is read-only: the store is never written (-o overlay=DIR takes changes)");
}

void RemoteCatalog::require_local(const PathInfo& path) const {
  if (path.kind == PathKind::Remote && !writes_source())
    fail(ErrorKind::ReadOnly, "/" + path.rel.string() + " is remote (" + path.remote.tree->url_of(path.remote.key) +
                                  "): the store is never written through the mount");
}

void RemoteCatalog::copy_up(const PathInfo& path, const MountPaths& paths) {
  auto node = path.remote.tree->stat(path.remote.key);
  if (!node) quiet_fail(ENOENT, "no " + path.remote.tree->url_of(path.remote.key));
  const auto backing = paths.backing(path.rel);
  if (node->dir) {
    std::filesystem::create_directories(backing);
  } else {
    make_overlay_parent(path.rel, paths);
    auto got = path.remote.tree->store().get(path.remote.key);
    write_file_atomic(backing, got.data);
  }
}

void RemoteCatalog::make_overlay_parent(const std::filesystem::path& rel, const MountPaths& paths) {
  if (!has_overlay() || rel.parent_path().empty()) return;
  const auto parent = paths.backing(rel.parent_path());
  std::error_code ec;
  if (std::filesystem::exists(parent, ec)) return;
  if (auto node = source_tree()->stat(rel.parent_path().generic_string()); node && node->dir)
    std::filesystem::create_directories(parent);
}

}  // namespace wkfs::mount
