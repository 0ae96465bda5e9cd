#include "fs/node_attributes.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.hpp"
#include "fs/quiet_fail.hpp"

namespace wkfs::mount {

Entry NodeAttributes::lookup(Ino parent, const std::string& name) {
  auto rel = p_.nodes.child_path(parent, name);
  if (!rel) fail_errno(ESTALE, "node " + std::to_string(parent) + " is gone");
  auto path = p_.tree.classify(*rel);
  if (path.kind == PathKind::Control || path.kind == PathKind::Status) {
    Entry e;
    e.ino = p_.nodes.lookup(parent, name, path.kind == PathKind::Control ? NodeKind::Control : NodeKind::Status);
    e.attr = synthetic(e.ino);
    return e;
  }
  if (path.kind == PathKind::Hidden) quiet_fail(ENOENT, "wkfs's own files are hidden: " + path.rel.string());
  // The version the node's handles share went stale or was replaced without the node losing its
  // name (a computation that turned stale unlinks its result; the properties change): the name
  // needs a new node.
  if (auto known = p_.nodes.find(path.rel); known && !shared_version_current(*known, path)) p_.nodes.detach(*known);
  auto st = stat(path);
  if (path.kind == PathKind::Properties)  // the size getattr gives: the mount's view
    if (auto text = p_.overlay.properties(path)) st.st_size = static_cast<off_t>(text->size());
  return entry(parent, name, path, st);
}

void NodeAttributes::forget(Ino ino, uint64_t count) {
  p_.nodes.forget(ino, count);
  if (!p_.nodes.kind(ino)) {
    p_.identities.forget(ino);
    p_.versions.forget(ino);
  }
}

Attr NodeAttributes::getattr(Ino ino, OpenFile* file) {
  auto kind = p_.nodes.kind(ino);
  if (kind && *kind != NodeKind::Backing) return Attr{synthetic(ino), 0};
  if (file)
    if (auto st = file->attr()) {
      p_.versions.remember(ino, *st);
      return Attr{*st, timeout(p_.tree.classify(file->rel()), *st)};
    }
  // fstat(2) comes without the handle. A lazy file's node is the version its handles share, whatever
  // its name holds now; a node whose name went (unlinked, renamed over, stale) is what it was.
  auto rel = p_.nodes.path(ino);
  if (!rel || p_.versions.open_version(ino)) {
    auto st = p_.versions.attr(ino);
    if (!st) fail_errno(ESTALE, "node " + std::to_string(ino) + " is gone");
    if (!rel && S_ISREG(st->st_mode)) st->st_nlink = 0;
    return Attr{*st, 0.0};
  }
  auto path = p_.tree.classify(*rel);
  auto st = stat(path);
  if (path.kind == PathKind::Properties)
    if (auto text = p_.overlay.properties(path)) st.st_size = static_cast<off_t>(text->size());
  p_.versions.remember(ino, st);
  return Attr{st, timeout(path, st)};
}

Entry NodeAttributes::entry(Ino parent, const std::string& name, const PathInfo& path, const struct stat& st) {
  Entry e;
  e.ino = p_.nodes.lookup(parent, name);
  if (e.ino == 0) fail_errno(ESTALE, "parent node is gone");
  e.attr = st;
  e.timeout = timeout(path, st);
  p_.versions.remember(e.ino, st);
  // what the kernel is told now; lazy files are the engine's (invalidated when they go stale)
  if (S_ISREG(st.st_mode) && !p_.overlay.is_lazy_file(path)) p_.identities.changed(e.ino, st);
  return e;
}

struct stat NodeAttributes::stat(const PathInfo& path) const {
  if (auto remote = p_.remote.attr(path)) return *remote;
  struct stat st {};
  // the link view shows no links: each would be followed by the kernel, wherever it leads
  const bool follow = path.kind == PathKind::LinkView;
  const auto backing = p_.paths.backing(path.rel);
  if ((follow ? ::stat(backing.c_str(), &st) : ::lstat(backing.c_str(), &st)) == 0) {
    // A read-only mount may serve another version of a lazy file than the backing one (stale there,
    // computed into its cache or memory): its size is the engine's.
    if (p_.read_only && S_ISREG(st.st_mode) && path.kind == PathKind::InMag)
      if (auto lazy = p_.overlay.stat(path)) st.st_size = lazy->st_size;
    return st;
  }
  int err = errno;
  if (err == ENOENT && path.kind == PathKind::InMag)
    if (auto lazy = p_.overlay.stat(path)) return *lazy;
  quiet_fail(err, "lstat " + path.rel.string());
}

struct stat NodeAttributes::synthetic(Ino ino) const {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = S_IFREG | (p_.read_only ? 0444 : 0644);
  st.st_nlink = 1;
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  return st;
}

double NodeAttributes::timeout(const PathInfo& path, const struct stat& st) const {
  if (path.kind == PathKind::Properties) return 0.0;
  if (S_ISREG(st.st_mode) && path.kind == PathKind::InMag) return p_.overlay.is_lazy_file(path) ? 0.0 : kChunkTimeout;
  return kDefaultTimeout;  // remote names too: they are the store's as of the mount
}

UniqueFd NodeAttributes::open_backing(const PathInfo& path, int flags) const {
  const auto backing = p_.paths.backing(path.rel);
  // A lazy file comes open from the engine: its data are one consistent version even if a
  // source write makes it stale right after (the next open computes it again).
  if (auto lazy = p_.overlay.open(path)) {
    if (!*lazy) fail_errno(ENOENT, "open " + path.rel.string() + ": its lazy mag is gone");
    return std::move(*lazy);
  }
  int fd = ::open(backing.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail_errno("open " + path.rel.string());
  return UniqueFd(fd);
}

Opened NodeAttributes::open_shared(Ino ino, std::optional<PathInfo> path) {
  auto version = p_.versions.open_version(ino);
  bool fresh = false;
  if (!version) {
    if (!path) {  // the shared version was closed meanwhile, or the node was detached
      auto rel = p_.nodes.former_path(ino);
      if (!rel) rel = p_.nodes.path(ino);
      if (!rel) fail_errno(ESTALE, "node " + std::to_string(ino) + " is gone");
      path = p_.tree.classify(*rel);
    }
    FileVersion made{path->rel};
    if (auto view = path->kind == PathKind::Properties ? p_.overlay.properties(*path) : std::nullopt) {
      made.text_attr = stat(*path);  // the backing file plus pending lazy mags
      made.text_attr.st_size = static_cast<off_t>(view->size());
      made.text = std::move(*view);
    } else {
      made.fd = open_backing(*path, O_RDONLY);
      ::posix_fadvise(made.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    // of two first opens that raced with a change, both take the one shared first
    version = p_.versions.share(ino, std::move(made), fresh);
  }
  const struct stat st = version->attr();
  p_.versions.remember(ino, st);
  const bool properties = version->rel.filename() == kPropertiesFile;
  // A new version under a node whose pages the kernel may keep from an older one: they go, and
  // this handle reads around them until the notification has landed. The properties file is
  // small and replaced whole: always read directly.
  const bool changed = fresh && !properties && p_.identities.changed(ino, st);
  auto* kernel = p_.kernel.load();
  if (changed && kernel) kernel->inode(ino);
  Opened o;
  o.direct_io = properties || changed || (kernel && kernel->pending(ino));
  o.keep_cache = !properties && !changed;
  o.file = std::make_unique<SharedFile>(version);
  p_.status.file_opened();
  return o;
}

bool NodeAttributes::shared_version_current(Ino ino, const PathInfo& path) const {
  auto version = p_.versions.open_version(ino);
  if (!version) return true;
  if (path.kind == PathKind::Properties) {
    auto view = p_.overlay.properties(path);
    if (version->text || view) return version->text && view && *version->text == *view;
  }
  struct stat st {};
  return ::fstat(version->fd.get(), &st) == 0 && st.st_nlink > 0;
}

}  // namespace wkfs::mount
