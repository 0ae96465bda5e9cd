#include "fs/remote_tree.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <exception>
#include <thread>

#include "core/error.hpp"
#include "storage/store_url.hpp"

namespace wkfs::mount {

namespace {

// HEADs in flight while a folder of candidates is listed: the client's connection pool does the
// rest (one request per thread, each blocking).
constexpr size_t kConfirmThreads = 8;

std::string parent_of(const std::string& key) {
  auto slash = key.rfind('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash);
}

std::string name_of(const std::string& key) {
  auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

}  // namespace

void rethrow_as_remote_error() {
  try {
    throw;
  } catch (const Error& e) {
    if (e.sys_errno() != ETIMEDOUT) throw;
    throw Error(ErrorKind::Io, std::string(e.what()) + " (timed out)", EIO, e.level());
  }
}

RemoteTree::RemoteTree(std::shared_ptr<storage::Store> store, std::string url, std::shared_ptr<RemoteBlocks> blocks)
    : store_(std::move(store)),
      url_(std::move(url)),
      blocks_(blocks ? std::move(blocks) : std::make_shared<RemoteBlocks>()),
      made_at_(std::time(nullptr)) {
  dirs_[""];
}

std::string RemoteTree::url_of(const std::string& rel) const {
  if (rel.empty()) return url_;
  return url_.back() == '/' ? url_ + rel : url_ + "/" + rel;
}

void RemoteTree::add_parents(const std::string& key) {
  std::string child = key;
  while (!child.empty()) {
    std::string parent = parent_of(child);
    auto [it, fresh] = dirs_.try_emplace(parent);
    it->second.insert(name_of(child));
    (void)fresh;
    child = parent;
  }
}

void RemoteTree::add_file(const std::string& key, uint64_t size) {
  if (key.empty() || key.back() == '/') return;  // S3 "folder" markers are no files
  blocks_->forget(url_of(key));  // a put of a writable mount: the blocks held are of the old object
  std::lock_guard lock(mutex_);
  files_[key] = File{size, State::Present};
  add_parents(key);
  dir_has_files_.clear();  // a folder without files may have one now (a put of a writable mount)
}

void RemoteTree::forget(const std::string& key) {
  blocks_->forget(url_of(key));
  std::lock_guard lock(mutex_);
  if (files_.erase(key) == 0) return;
  if (auto d = dirs_.find(parent_of(key)); d != dirs_.end()) d->second.erase(name_of(key));
  dir_has_files_.clear();
}

void RemoteTree::add_candidate(const std::string& key) {
  if (key.empty()) return;
  std::lock_guard lock(mutex_);
  auto [it, fresh] = files_.try_emplace(key);
  if (!fresh) return;
  add_parents(key);
}

void RemoteTree::add_listing() {
  auto listed = store_->list("");
  for (const auto& o : listed.objects) add_file(o.key, o.size);
}

void RemoteTree::confirm(const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  std::vector<std::optional<storage::HeadResult>> heads(keys.size());
  std::vector<std::exception_ptr> errors(keys.size());
  auto work = [&](size_t first) {
    for (size_t i = first; i < keys.size(); i += kConfirmThreads) {
      try {
        heads[i] = store_->head(keys[i]);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::NotFound) errors[i] = std::current_exception();
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  if (keys.size() == 1) {
    work(0);
  } else {
    std::vector<std::jthread> threads;
    for (size_t t = 0; t < kConfirmThreads && t < keys.size(); ++t) threads.emplace_back(work, t);
  }
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (errors[i]) continue;  // not recorded: the next look asks again
    auto& f = files_[keys[i]];
    f.state = heads[i] ? State::Present : State::Missing;
    if (heads[i]) f.size = heads[i]->size;
  }
  for (auto& e : errors) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (...) {
      rethrow_as_remote_error();
    }
  }
}

bool RemoteTree::has_files(const std::string& dir) {
  std::vector<std::string> unconfirmed;
  {
    std::lock_guard lock(mutex_);
    if (auto known = dir_has_files_.find(dir); known != dir_has_files_.end()) return known->second;
    const std::string prefix = dir + "/";
    for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.starts_with(prefix); ++it) {
      if (it->second.state == State::Present) return dir_has_files_[dir] = true;
      if (it->second.state == State::Unconfirmed) unconfirmed.push_back(it->first);
    }
  }
  // a batch at a time: a folder of existing files answers after one batch
  constexpr size_t kBatch = kConfirmThreads * 4;
  for (size_t i = 0; i < unconfirmed.size(); i += kBatch) {
    std::vector<std::string> batch(unconfirmed.begin() + static_cast<ptrdiff_t>(i),
                                   unconfirmed.begin() + static_cast<ptrdiff_t>(std::min(unconfirmed.size(), i + kBatch)));
    confirm(batch);
    std::lock_guard lock(mutex_);
    for (const auto& k : batch)
      if (files_[k].state == State::Present) return dir_has_files_[dir] = true;
  }
  std::lock_guard lock(mutex_);
  return dir_has_files_[dir] = false;
}

std::optional<RemoteNode> RemoteTree::stat(const std::string& rel) {
  bool is_dir = false;
  {
    std::lock_guard lock(mutex_);
    is_dir = dirs_.count(rel) > 0;
    auto f = files_.find(rel);
    if (f != files_.end() && f->second.state == State::Present) return RemoteNode{false, f->second.size};
    if (f != files_.end() && f->second.state == State::Unconfirmed) is_dir = false;  // asked below
    else if (!is_dir) return std::nullopt;
  }
  if (!is_dir) {
    confirm({rel});
    std::lock_guard lock(mutex_);
    const auto& f = files_[rel];
    if (f.state == State::Present) return RemoteNode{false, f.size};
    is_dir = dirs_.count(rel) > 0;
    if (!is_dir) return std::nullopt;
  }
  if (rel.empty() || has_files(rel)) return RemoteNode{true, 0};
  return std::nullopt;
}

std::vector<RemoteDirEntry> RemoteTree::list(const std::string& rel) {
  std::vector<std::string> unconfirmed;
  {
    std::lock_guard lock(mutex_);
    auto d = dirs_.find(rel);
    if (d == dirs_.end()) fail(ErrorKind::NotFound, url_of(rel) + " is no remote folder");
    for (const auto& name : d->second) {
      auto f = files_.find(storage::join_key(rel, name));
      if (f != files_.end() && f->second.state == State::Unconfirmed) unconfirmed.push_back(f->first);
    }
  }
  confirm(unconfirmed);
  std::vector<std::pair<std::string, std::string>> subdirs;  // name, key
  std::vector<RemoteDirEntry> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& name : dirs_[rel]) {
      const std::string key = storage::join_key(rel, name);
      auto f = files_.find(key);
      if (f != files_.end() && f->second.state == State::Present) out.push_back(RemoteDirEntry{name, false});
      else if (dirs_.count(key)) subdirs.emplace_back(name, key);
    }
  }
  for (const auto& [name, key] : subdirs)
    if (has_files(key)) out.push_back(RemoteDirEntry{name, true});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace wkfs::mount
