#include "fs/node_table.hpp"

#include <mutex>

namespace wkfs::mount {

NodeTable::NodeTable() {
  Node root;
  root.lookups = 1;  // the kernel never forgets the root
  nodes_.emplace(kRootIno, root);
}

std::string NodeTable::key(Ino parent, const std::string& name) {
  std::string k = std::to_string(parent);
  k.push_back('/');
  k += name;
  return k;
}

Ino NodeTable::lookup(Ino parent, const std::string& name, NodeKind kind) {
  std::unique_lock lock(mutex_);
  auto parent_it = nodes_.find(parent);
  if (parent_it == nodes_.end()) return 0;
  auto k = key(parent, name);
  bool slot_taken = false;
  if (auto it = by_name_.find(k); it != by_name_.end()) {
    auto& n = nodes_.at(it->second);
    if (n.kind == kind) {
      ++n.lookups;
      return it->second;
    }
    // A name changed what it stands for: the old node is detached, a new one takes its place.
    n.parent = 0;
    by_name_.erase(it);
    slot_taken = true;
  }
  Ino ino = next_++;
  Node n;
  n.parent = parent;
  n.name = name;
  n.kind = kind;
  n.lookups = 1;
  nodes_.emplace(ino, std::move(n));
  if (!slot_taken) nodes_.at(parent).children++;  // emplace may have rehashed: look up again
  by_name_.emplace(std::move(k), ino);
  return ino;
}

void NodeTable::release_locked(Ino ino) {
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  auto& n = it->second;
  if (n.children > 0) --n.children;
  if (ino == kRootIno || n.lookups > 0 || n.children > 0) return;
  Ino parent = n.parent;
  if (parent != 0) by_name_.erase(key(parent, n.name));
  nodes_.erase(it);
  if (parent != 0) release_locked(parent);
}

void NodeTable::forget(Ino ino, uint64_t count) {
  std::unique_lock lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || ino == kRootIno) return;
  auto& n = it->second;
  n.lookups = count >= n.lookups ? 0 : n.lookups - count;
  if (n.lookups > 0 || n.children > 0) return;
  Ino parent = n.parent;
  if (parent != 0) by_name_.erase(key(parent, n.name));
  nodes_.erase(it);
  if (parent != 0) release_locked(parent);
}

std::optional<fs::path> NodeTable::path_locked(Ino ino) const {
  std::vector<const std::string*> parts;
  while (ino != kRootIno) {
    auto it = nodes_.find(ino);
    if (it == nodes_.end() || it->second.parent == 0) return std::nullopt;
    parts.push_back(&it->second.name);
    ino = it->second.parent;
  }
  fs::path p;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) p /= **it;
  return p;
}

std::optional<fs::path> NodeTable::path(Ino ino) const {
  std::shared_lock lock(mutex_);
  return path_locked(ino);
}

std::optional<fs::path> NodeTable::child_path(Ino parent, const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto p = path_locked(parent);
  if (!p) return std::nullopt;
  return *p / name;
}

std::optional<NodeKind> NodeTable::kind(Ino ino) const {
  std::shared_lock lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.kind;
}

void NodeTable::rename(Ino parent, const std::string& name, Ino new_parent,
                       const std::string& new_name) {
  std::unique_lock lock(mutex_);
  auto it = by_name_.find(key(parent, name));
  if (it == by_name_.end()) return;
  Ino ino = it->second;
  by_name_.erase(it);
  // A node that the rename replaced is detached first.
  auto target = by_name_.find(key(new_parent, new_name));
  if (target != by_name_.end()) {
    nodes_.at(target->second).parent = 0;
    by_name_.erase(target);
    release_locked(new_parent);
  }
  auto& n = nodes_.at(ino);
  n.parent = new_parent;
  n.name = new_name;
  nodes_.at(new_parent).children++;
  by_name_.emplace(key(new_parent, new_name), ino);
  release_locked(parent);
}

void NodeTable::remove(Ino parent, const std::string& name) {
  std::unique_lock lock(mutex_);
  auto it = by_name_.find(key(parent, name));
  if (it == by_name_.end()) return;
  auto& n = nodes_.at(it->second);
  Ino ino = it->second;
  n.parent = 0;
  by_name_.erase(it);
  if (n.lookups == 0 && n.children == 0) nodes_.erase(ino);
  release_locked(parent);
}

void NodeTable::detach(Ino ino) {
  std::unique_lock lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || ino == kRootIno || it->second.parent == 0) return;
  auto& n = it->second;
  const Ino parent = n.parent;
  n.former = path_locked(ino);
  by_name_.erase(key(parent, n.name));
  n.parent = 0;
  if (n.lookups == 0 && n.children == 0) nodes_.erase(it);
  release_locked(parent);
}

std::optional<fs::path> NodeTable::former_path(Ino ino) const {
  std::shared_lock lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || it->second.parent != 0) return std::nullopt;
  return it->second.former;
}

std::vector<std::pair<Ino, std::string>> NodeTable::entries_under(const fs::path& rel) const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<Ino, std::string>> out;
  const std::string prefix = rel.generic_string();
  for (const auto& [ino, n] : nodes_) {
    if (ino == kRootIno || n.parent == 0) continue;
    auto p = path_locked(ino);
    if (!p) continue;
    const std::string s = p->generic_string();
    if (prefix.empty() || s == prefix ||
        (s.size() > prefix.size() && s.compare(0, prefix.size(), prefix) == 0 && s[prefix.size()] == '/'))
      out.emplace_back(n.parent, n.name);
  }
  return out;
}

std::optional<Ino> NodeTable::find(const fs::path& rel) const {
  std::shared_lock lock(mutex_);
  Ino ino = kRootIno;
  for (const auto& part : rel) {
    auto it = by_name_.find(key(ino, part.string()));
    if (it == by_name_.end()) return std::nullopt;
    ino = it->second;
  }
  return ino;
}

size_t NodeTable::size() const {
  std::shared_lock lock(mutex_);
  return nodes_.size();
}

}  // namespace wkfs::mount
