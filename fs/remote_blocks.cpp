#include "fs/remote_blocks.hpp"

#include <algorithm>
#include <chrono>

namespace wkfs::mount {

namespace {

// Under way: neither done nor a deferred fetch that nobody has started.
bool under_way(const RemoteBlockFuture& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::timeout;
}

}  // namespace

RemoteBlocks::~RemoteBlocks() {
  for (auto& [id, e] : blocks_)
    if (under_way(e.future)) e.future.wait();
}

bool RemoteBlocks::expired(const Entry& e, std::chrono::steady_clock::time_point now) const {
  if (e.future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
  try {
    return now - e.future.get().fetched_at > hold_;
  } catch (...) {
    return true;  // a failed fetch is not kept (its reader drops it too)
  }
}

RemoteBlockFuture RemoteBlocks::get(const std::string& url, uint64_t index,
                                    const std::function<RemoteBlockFuture()>& start) {
  // An async fetch whose last future is dropped waits for its thread: futures leave the table
  // into `dropped` and are released after the lock.
  std::vector<RemoteBlockFuture> dropped;
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  Id id{url, index};
  if (auto it = blocks_.find(id); it != blocks_.end()) {
    if (!expired(it->second, now)) {
      it->second.used = ++clock_;
      return it->second.future;
    }
    dropped.push_back(std::move(it->second.future));
    blocks_.erase(it);
  }
  RemoteBlockFuture f = start();
  if (!f.valid()) return f;
  blocks_.emplace(std::move(id), Entry{f, ++clock_});
  evict_locked(dropped);
  return f;
}

void RemoteBlocks::evict_locked(std::vector<RemoteBlockFuture>& out) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<uint64_t, std::map<Id, Entry>::iterator>> idle;
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (expired(it->second, now)) {
      out.push_back(std::move(it->second.future));
      it = blocks_.erase(it);
      continue;
    }
    if (!under_way(it->second.future)) idle.emplace_back(it->second.used, it);
    ++it;
  }
  if (idle.size() <= max_ready_) return;
  std::sort(idle.begin(), idle.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < idle.size() - max_ready_; ++i) {
    out.push_back(std::move(idle[i].second->second.future));
    blocks_.erase(idle[i].second);
  }
}

void RemoteBlocks::drop(const std::string& url, uint64_t index) {
  std::vector<RemoteBlockFuture> dropped;
  std::lock_guard lock(mutex_);
  if (auto it = blocks_.find(Id{url, index}); it != blocks_.end()) {
    dropped.push_back(std::move(it->second.future));
    blocks_.erase(it);
  }
}

void RemoteBlocks::forget(const std::string& url) {
  std::vector<RemoteBlockFuture> dropped;
  std::lock_guard lock(mutex_);
  for (auto it = blocks_.lower_bound(Id{url, 0}); it != blocks_.end() && it->first.first == url;) {
    dropped.push_back(std::move(it->second.future));
    it = blocks_.erase(it);
  }
}

void RemoteBlocks::clear() {
  std::vector<RemoteBlockFuture> dropped;
  std::lock_guard lock(mutex_);
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (under_way(it->second.future)) {
      ++it;
      continue;
    }
    dropped.push_back(std::move(it->second.future));
    it = blocks_.erase(it);
  }
}

size_t RemoteBlocks::size() const {
  std::lock_guard lock(mutex_);
  return blocks_.size();
}

}  // namespace wkfs::mount
