#include "fs/s3_write_back.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <set>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/mag_paths.hpp"
#include "dataset/properties.hpp"
#include "fs/mount_tree.hpp"
#include "storage/store_url.hpp"

namespace wkfs::mount {

namespace {

bool is_own_name(const std::string& name) { return is_temp_file_name(name) || is_state_name(name); }

bool is_properties_key(const std::string& key) { return fs::path(key).filename() == kPropertiesFile; }

std::string text_of(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

/// Rethrows the current exception with `what` in front; a missing bucket or a timeout is EIO (a
/// write that did not happen), a refusal keeps its errno (EACCES for 403).
[[noreturn]] void rethrow_write_error(const std::string& what) {
  try {
    rethrow_as_remote_error();
  } catch (const Error& e) {
    const bool missing = e.kind() == ErrorKind::NotFound;
    throw Error(missing ? ErrorKind::Io : e.kind(), what + ": " + e.what(), missing ? EIO : e.sys_errno());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Io, what + ": " + e.what(), EIO);
  }
}

/// The keys (below the dataset) of the mags of `text`'s layers stored in the dataset, by layer.
std::map<std::string, std::set<std::string>> stored_mags(const std::string& text) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& layer : DatasetProperties::parse(text).layers) {
    auto& keys = out[layer.name];
    for (const auto& entry : layer.mags) {
      std::string key = entry.path ? *entry.path : layer.name + "/" + entry.mag.short_name();
      if (is_remote_path(key) || key.starts_with("/")) continue;  // lives elsewhere
      while (key.starts_with("./")) key = key.substr(2);
      while (!key.empty() && key.back() == '/') key.pop_back();
      if (!key.empty() && key.find("..") == std::string::npos) keys.insert(key);
    }
  }
  return out;
}

}  // namespace

S3WriteBack::S3WriteBack(fs::path staging, RemoteCatalog& remote, MountStatus& status)
    : staging_(std::move(staging)), remote_(remote), status_(status) {
  std::vector<std::string> files;
  scan(staging_, false, files);
  for (const auto& key : files) {
    if (auto st = stamp(key)) put_[key] = *st;
    if (is_properties_key(key)) {
      auto bytes = read_file(staging_ / key);
      properties_[fs::path(key).parent_path().generic_string()] = text_of(bytes);
    }
  }
}

std::optional<S3WriteBack::Stamp> S3WriteBack::stamp(const fs::path& rel) const {
  struct stat st {};
  if (::lstat((staging_ / rel).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return Stamp{static_cast<uintmax_t>(st.st_size), int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec,
               static_cast<uint64_t>(st.st_ino)};
}

void S3WriteBack::scan(const fs::path& dir, bool flat, std::vector<std::string>& out) const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (is_own_name(e.path().filename().string())) continue;
    if (e.is_symlink(ec)) continue;  // S3 has no links (the mount refuses to make them)
    if (e.is_directory(ec)) {
      if (!flat) scan(e.path(), false, out);
    } else if (e.is_regular_file(ec)) {
      out.push_back(e.path().lexically_relative(staging_).generic_string());
    }
  }
}

void S3WriteBack::put_locked(const std::string& key) {
  auto st = stamp(key);  // before the read: a change after it is put by the next call
  if (!st) return;
  const Bytes bytes = read_file(staging_ / key);
  auto tree = remote_.source_tree();
  tree->store().put(key, bytes);
  tree->add_file(key, bytes.size());
  put_[key] = *st;
  if (is_properties_key(key))
    properties_[fs::path(key).parent_path().generic_string()] = text_of(bytes);
}

void S3WriteBack::put_file(const fs::path& rel) {
  const std::string key = rel.generic_string();
  if (key.empty() || is_own_name(rel.filename().string())) return;
  std::lock_guard lock(mutex_);
  auto st = stamp(rel);
  if (!st) return;
  if (auto it = put_.find(key); it != put_.end() && it->second == *st) return;
  if (is_properties_key(key)) return sync_dataset_locked(rel.parent_path(), std::nullopt, false);  // in their order
  try {
    put_locked(key);
  } catch (...) {
    std::error_code ec;
    fs::remove(staging_ / rel, ec);  // the mount shows the store's object (or none) again
    put_.erase(key);
    rethrow_write_error("/" + key + " was not written to " + remote_.source_url() +
                        " (the store keeps its version, and so does the mount)");
  }
}

void S3WriteBack::adopt(const fs::path& rel) {
  std::lock_guard lock(mutex_);
  if (auto st = stamp(rel)) put_[rel.generic_string()] = *st;
}

void S3WriteBack::sync_dataset(const fs::path& root, const std::optional<std::string>& layer, bool prune_unlisted) {
  std::lock_guard lock(mutex_);
  sync_dataset_locked(root, layer, prune_unlisted);
}

void S3WriteBack::sync_dataset_locked(const fs::path& root, const std::optional<std::string>& layer,
                                      bool prune_unlisted) {
  const std::string root_key = root.generic_string();
  const std::string prefix = root_key.empty() ? "" : root_key + "/";
  const std::string props_key = (root / kPropertiesFile).generic_string();
  std::vector<std::string> files;
  scan(staging_ / root, true, files);
  if (layer) {
    scan(staging_ / root / *layer, false, files);
  } else {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(staging_ / root, ec))
      if (e.is_directory(ec) && !e.is_symlink(ec) && !is_own_name(e.path().filename().string()))
        scan(e.path(), false, files);
  }
  const std::set<std::string> present(files.begin(), files.end());
  std::vector<std::string> changed, gone;
  for (const auto& key : files) {
    auto it = put_.find(key);
    auto st = stamp(key);
    if (st && (it == put_.end() || !(it->second == *st)) && key != props_key) changed.push_back(key);
  }
  if (auto st = stamp(props_key); st && present.count(props_key) && !(put_.count(props_key) && put_[props_key] == *st))
    changed.push_back(props_key);  // last: a mag is listed only once its files are in the store
  const std::string layer_prefix = layer ? prefix + *layer + "/" : prefix;
  for (const auto& [key, st] : put_) {
    if (!key.starts_with(prefix) || present.count(key)) continue;
    const bool in_scope = key.starts_with(layer_prefix) || key.find('/', prefix.size()) == std::string::npos;
    if (in_scope && key != props_key) gone.push_back(key);
  }
  const std::string before = properties_.count(root_key) ? properties_[root_key] : std::string();
  for (size_t i = 0; i < changed.size(); ++i) {
    try {
      put_locked(changed[i]);
    } catch (...) {
      // Taken back: the files not in the store leave the staging folder (the mount shows the
      // store's objects again), the properties are the store's.
      for (size_t j = i; j < changed.size(); ++j) {
        std::error_code ec;
        if (changed[j] == props_key && !before.empty()) {
          write_file_atomic(staging_ / props_key, before);
          if (auto st = stamp(props_key)) put_[props_key] = *st;
        } else {
          fs::remove(staging_ / changed[j], ec);
          put_.erase(changed[j]);
        }
      }
      rethrow_write_error("the change of /" + changed[i] + " was not written to " + remote_.source_url() +
                          " (taken back: the mount shows what the store has)");
    }
  }
  for (const auto& key : gone) delete_object_locked(key);
  if (!prune_unlisted || before.empty() || properties_[root_key] == before) return;
  const auto old_mags = stored_mags(before), new_mags = stored_mags(properties_[root_key]);
  bool layer_added = false;
  for (const auto& [name, keys] : new_mags) layer_added |= !old_mags.count(name);
  for (const auto& [name, keys] : old_mags) {
    auto now = new_mags.find(name);
    if (now == new_mags.end()) {
      // a layer renamed by a command keeps its old objects: S3 cannot rename, and deleting them
      // would lose the data the new name has only in the staging folder
      if (layer_added) {
        status_.error("write-back", prefix + name, "the layer is gone from the properties; its objects stay in " +
                                                       remote_.source_url(), 0);
        continue;
      }
      remove_below_locked(prefix + name);
      continue;
    }
    for (const auto& key : keys)
      if (!now->second.count(key)) remove_below_locked(prefix + key);
  }
}

void S3WriteBack::remove_below_locked(const std::string& folder) {
  auto tree = remote_.source_tree();
  try {
    for (const auto& o : tree->store().list(folder + "/").objects) {
      tree->store().remove(o.key);
      tree->forget(o.key);
      put_.erase(o.key);
    }
  } catch (...) {
    rethrow_write_error("the objects below /" + folder + " were not all deleted from " + remote_.source_url());
  }
}

void S3WriteBack::remove(const fs::path& rel) {
  const std::string key = rel.generic_string();
  if (key.empty() || is_own_name(rel.filename().string())) return;
  std::lock_guard lock(mutex_);
  auto tree = remote_.source_tree();
  auto node = tree->stat(key);
  if (!put_.count(key) && !(node && !node->dir)) return;  // never in the store
  delete_object_locked(key);
}

void S3WriteBack::delete_object_locked(const std::string& key) {
  auto tree = remote_.source_tree();
  try {
    tree->store().remove(key);
  } catch (...) {
    rethrow_write_error("/" + key + " was not deleted from " + remote_.source_url());
  }
  tree->forget(key);
  put_.erase(key);
}

void S3WriteBack::require_no_objects_below(const fs::path& rel) const {
  auto tree = remote_.source_tree();
  if (auto node = tree->stat(rel.generic_string()); node && node->dir)
    fail(ErrorKind::NotEmpty, "folder /" + rel.string() + " is not empty: " + tree->url_of(rel.generic_string()) +
                                  " still has objects");
}

}  // namespace wkfs::mount
