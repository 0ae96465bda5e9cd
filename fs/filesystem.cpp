#include "fs/filesystem.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <set>

#include "control/layer_attributes.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/chunk_cache.hpp"
#include "fs/remote_file.hpp"
#include "storage/store_url.hpp"

namespace wkfs::mount {

namespace {

// Chunk files change only through the mount (which invalidates what it changes): the kernel may
// keep their names, attributes and pages for long. Everything else is revalidated every second,
// and the properties file and our own files on every access.
constexpr double kChunkTimeout = 3600.0;
constexpr double kDefaultTimeout = 1.0;

/// A miss that is the normal answer of a query (lookup of an absent name, an unset xattr): it
/// carries its errno but is logged at debug level only.
[[noreturn]] void quiet_fail(int err, const std::string& what) {
  throw Error(kind_of_errno(err), what, err, LogLevel::Debug);
}

struct stat lstat_or_throw(const fs::path& p, const fs::path& rel) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) fail_errno("lstat " + rel.string());
  return st;
}

std::string read_text(const fs::path& p) {
  auto bytes = read_file(p);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

bool is_special_name(const std::string& n) { return n == kControlFile || n == kStatusFile; }

}  // namespace

Filesystem::Filesystem(FilesystemConfig config)
    : config_(std::move(config)),
      status_(config_.log),
      remote_(config_.remote, &status_),
      catalog_(config_.source, config_.read_only, config_.chunk_cache,
               "wkfs mount " + config_.source.string() + " on " + config_.mountpoint.string(),
               remote_.has_source()),
      paths_(catalog_.source(), config_.mountpoint),
      overlay_(config_.read_only),
      engines_(config_.lazy, config_.auto_pyramid, status_,
               [this](const fs::path& root, const fs::path& rel) { lazy_file_changed(root, rel); }),
      tree_(catalog_, engines_, &remote_),
      listing_(overlay_),
      layer_api_(tree_, overlay_, paths_),
      control_(
          tree_, config_.commands ? config_.commands : control::make_builtin_command_table(), config_.read_only,
          [this](const std::string& a, const fs::path& dir, const std::string& cwd) {
            return paths_.resolve_argument(a, dir, cwd);
          },
          [this](const Location& loc, const std::optional<std::string>& layer) { changed_dataset(loc, layer); }) {
  // the datasets' own reads of URL mags (ctl commands, lazy sources) use the mount's client too
  catalog_.set_remote_context([this] { return remote_.store_context(); });
}

// --- helpers ------------------------------------------------------------------------------------

fs::path Filesystem::path_of(Ino ino) const {
  auto p = nodes_.path(ino);
  if (!p) fail_errno(ESTALE, "node " + std::to_string(ino) + " is gone");
  return *p;
}

fs::path Filesystem::child_of(Ino parent, const std::string& name) const {
  auto p = nodes_.child_path(parent, name);
  if (!p) fail_errno(ESTALE, "node " + std::to_string(parent) + " is gone");
  return *p;
}

std::string Filesystem::where(Ino ino) const {
  auto p = nodes_.path(ino);
  return p ? "/" + p->string() : "#" + std::to_string(ino);
}

void Filesystem::require_writable() const {
  if (config_.read_only && remote_.has_source())
    fail(ErrorKind::ReadOnly, "the mount of " + remote_.source_url() +
                                  " is read-only: the store is never written (-o overlay=DIR takes changes)");
  if (config_.read_only) fail(ErrorKind::ReadOnly, "the mount is read-only (-o ro)");
}

void Filesystem::require_writable(const PathInfo& path) const {
  require_writable();
  if (path.kind == PathKind::Remote)
    fail(ErrorKind::ReadOnly, "/" + path.rel.string() + " is remote (" + path.remote.tree->url_of(path.remote.key) +
                                  "): the store is never written through the mount");
  if (path.loc && !path.loc->busy.empty())
    fail_errno(EBUSY, "/" + path.rel.string() + " is not written: " + path.loc->busy);
  layer_api_.refuse_outside_source(path);
}

double Filesystem::timeout_for(const PathInfo& path, const struct stat& st) const {
  if (path.kind == PathKind::Properties) return 0.0;
  if (path.kind == PathKind::Remote) return kDefaultTimeout;
  if (S_ISREG(st.st_mode) && path.kind == PathKind::InMag) return overlay_.is_lazy_file(path) ? 0.0 : kChunkTimeout;
  return kDefaultTimeout;
}

struct stat Filesystem::stat_or_lazy(const PathInfo& path) const {
  if (path.kind == PathKind::Remote) return remote_stat(path);
  struct stat st {};
  // the link view shows no links: each would be followed by the kernel, wherever it leads
  const bool follow = path.kind == PathKind::LinkView;
  const auto backing = paths_.backing(path.rel);
  if ((follow ? ::stat(backing.c_str(), &st) : ::lstat(backing.c_str(), &st)) == 0) {
    // A read-only mount may serve another version of a lazy file than the backing one (stale there,
    // computed into its cache or memory): its size is the engine's.
    if (config_.read_only && S_ISREG(st.st_mode) && path.kind == PathKind::InMag)
      if (auto lazy = overlay_.stat(path)) st.st_size = lazy->st_size;
    return st;
  }
  int err = errno;
  if (err == ENOENT && path.kind == PathKind::InMag)
    if (auto lazy = overlay_.stat(path)) return *lazy;
  quiet_fail(err, "lstat " + path.rel.string());
}

struct stat Filesystem::synthetic_attr(Ino ino) const {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = S_IFREG | (config_.read_only ? 0444 : 0644);
  st.st_nlink = 1;
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  return st;
}

Entry Filesystem::entry_for(Ino parent, const std::string& name, const PathInfo& path, const struct stat& st) {
  Entry e;
  e.ino = nodes_.lookup(parent, name);
  if (e.ino == 0) fail_errno(ESTALE, "parent node is gone");
  e.attr = st;
  e.timeout = timeout_for(path, st);
  versions_.remember(e.ino, st);
  // what the kernel is told now; lazy files are the engine's (invalidated when they go stale)
  if (S_ISREG(st.st_mode) && !overlay_.is_lazy_file(path)) identities_.changed(e.ino, st);
  return e;
}

Entry Filesystem::new_entry(Ino parent, const std::string& name, const fs::path& rel) {
  Entry e;
  e.attr = lstat_or_throw(paths_.backing(rel), rel);
  e.ino = nodes_.lookup(parent, name);
  if (e.ino == 0) fail_errno(ESTALE, "parent node is gone");
  e.timeout = kDefaultTimeout;  // a folder or a symlink
  return e;
}

void Filesystem::apply(const LayerApiChange& change, Ino parent, const std::string& name, const fs::path& rel) {
  nodes_.remove(parent, name);
  if (change.dataset) changed_dataset(*change.dataset, change.layer);
  else invalidate_below(rel.parent_path());  // only the lazy overlay's listing changed
}

void Filesystem::changed_dataset(const Location& loc, const std::optional<std::string>& layer) {
  status_.count(Op::LayerApi);
  auto* kernel = kernel_.load();
  if (!kernel) return;
  if (auto ino = nodes_.find(loc.dataset_rel / kPropertiesFile)) kernel->inode(*ino);
  invalidate_below(layer ? loc.dataset_rel / *layer : loc.dataset_rel);
}

void Filesystem::invalidate_below(const fs::path& rel) {
  auto* kernel = kernel_.load();
  if (!kernel) return;
  auto entries = nodes_.entries_under(rel);
  for (const auto& [parent, name] : entries)
    if (auto child = nodes_.child_path(parent, name))
      if (auto ino = nodes_.find(*child)) kernel->inode(*ino);
  for (const auto& [parent, name] : entries) kernel->entry(parent, name);
}

void Filesystem::lazy_file_changed(const fs::path& root, const fs::path& rel) {
  // a lazy file became stale: its node stays the old version for the handles open on it (the
  // kernel has one size and one page cache per node) and the name gets a new node at the next
  // lookup; the kernel drops the name, and the old node's pages (read again from those handles)
  auto mount_rel = (root / rel).lexically_relative(paths_.source());
  auto ino = nodes_.find(mount_rel);
  if (ino) nodes_.detach(*ino);
  auto* kernel = kernel_.load();
  if (!kernel) return;
  if (ino) kernel->inode(*ino);
  if (auto parent = nodes_.find(mount_rel.parent_path())) kernel->entry(*parent, mount_rel.filename().string());
}

/// A backing file changed (written, truncated, created, removed, renamed): lazy files computed from
/// it become stale. The change is done by now, so a failure is logged rather than returned: an
/// error reply would claim that nothing changed.
void Filesystem::source_changed(const char* op, const PathInfo& path) {
  if (path.kind != PathKind::InMag) return;
  try {
    overlay_.written(path);
  } catch (const std::exception& e) {
    status_.error(op, path.rel.string(), std::string("files computed from it may be stale: ") + e.what(),
                  errno_of(e));
  }
}

PublishFn Filesystem::publisher(const fs::path& rel) {
  return [this, rel](const std::function<void()>& swap) {
    const auto path = tree_.classify(rel);
    // Durable before the file changes, cleared once the dependents are stale: a crash in
    // between is replayed at the next load (issue 11 item 1).
    auto intent = overlay_.begin_change(path);
    swap();
    source_changed("write", path);
    if (auto* kernel = kernel_.load())
      if (auto ino = nodes_.find(rel)) kernel->inode(*ino);  // a new inode behind the same node
  };
}

UniqueFd Filesystem::open_backing(const PathInfo& path, int flags) {
  const auto backing = paths_.backing(path.rel);
  // A lazy file comes open from the engine: its data are one consistent version even if a
  // source write makes it stale right after (the next open computes it again).
  if (auto lazy = overlay_.open(path)) {
    if (!*lazy) fail_errno(ENOENT, "open " + path.rel.string() + ": its lazy mag is gone");
    return std::move(*lazy);
  }
  int fd = ::open(backing.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail_errno("open " + path.rel.string());
  return UniqueFd(fd);
}

std::string Filesystem::properties_text(const PathInfo& props) const {
  if (auto view = overlay_.properties(props)) return *view;  // pending lazy mags included, as readers see it
  return read_text(paths_.backing(props.rel));
}

void Filesystem::commit_properties(const PathInfo& props, const std::string& text) {
  if (!props.loc) fail(ErrorKind::NotFound, "no dataset at " + props.rel.parent_path().string());
  props.loc->dataset->replace_properties(overlay_.stored_properties(props, text));
  changed_dataset(*props.loc, std::nullopt);
}

// --- remote files ----------------------------------------------------------------------------

struct stat Filesystem::remote_stat(const PathInfo& path) const {
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

Opened Filesystem::open_remote(const PathInfo& path) {
  const auto st = remote_stat(path);
  if (S_ISDIR(st.st_mode)) fail_errno(EISDIR, "open " + path.rel.string());
  Opened o;
  o.file = std::make_unique<RemoteFile>(path.rel, path.remote.tree, path.remote.key, st);
  o.keep_cache = true;  // the tree's size and the bytes are the object's as of the mount
  status_.file_opened();
  return o;
}

PathInfo Filesystem::copy_up(const PathInfo& path) {
  if (path.kind != PathKind::Remote) return path;
  if (!remote_.has_source() || config_.read_only) require_writable(path);  // throws, naming the URL
  auto node = path.remote.tree->stat(path.remote.key);
  if (!node) quiet_fail(ENOENT, "no " + path.remote.tree->url_of(path.remote.key));
  const auto backing = paths_.backing(path.rel);
  if (node->dir) {
    fs::create_directories(backing);
  } else {
    make_overlay_parent(path.rel);
    auto got = path.remote.tree->store().get(path.remote.key);
    write_file_atomic(backing, got.data);
  }
  auto* kernel = kernel_.load();
  if (auto ino = nodes_.find(path.rel); ino && kernel) kernel->inode(*ino);
  return tree_.classify(path.rel);
}

void Filesystem::make_overlay_parent(const fs::path& rel) {
  if (!remote_.has_source() || config_.read_only || rel.parent_path().empty()) return;
  const auto parent = paths_.backing(rel.parent_path());
  std::error_code ec;
  if (fs::exists(parent, ec)) return;
  if (auto node = remote_.source_tree()->stat(rel.parent_path().generic_string()); node && node->dir)
    fs::create_directories(parent);
}

void Filesystem::add_remote_names(const PathInfo& dir, OpenDir& open) {
  std::vector<RemoteDirEntry> names;
  if (remote_.has_source()) {
    auto tree = remote_.source_tree();
    const std::string key = dir.rel.generic_string();
    if (auto node = tree->stat(key); node && node->dir) names = tree->list(key);
  } else if (dir.kind == PathKind::Layer && dir.loc) {
    const auto props = dir.loc->dataset->properties();
    if (const auto* layer = props.find_layer(dir.layer))
      for (const auto& [name, entry] : RemoteCatalog::remote_mags(*layer)) names.push_back({name, true});
  }
  if (names.empty()) return;
  std::set<std::string> present;
  for (const auto& e : open.entries) present.insert(e.name);
  for (const auto& n : names)
    if (!present.count(n.name) && !is_state_name(n.name))
      open.entries.push_back({n.name, lazy_ino(n.name), static_cast<unsigned char>(n.dir ? DT_DIR : DT_REG)});
}

// --- lookup, attributes -------------------------------------------------------------------------

Entry Filesystem::lookup(Ino parent, const std::string& name) {
  status_.count(Op::Lookup);
  auto path = tree_.classify(child_of(parent, name));
  if (path.kind == PathKind::Control || path.kind == PathKind::Status) {
    Entry e;
    e.ino = nodes_.lookup(parent, name, path.kind == PathKind::Control ? NodeKind::Control : NodeKind::Status);
    e.attr = synthetic_attr(e.ino);
    return e;
  }
  if (path.kind == PathKind::Hidden) quiet_fail(ENOENT, "wkfs's own files are hidden: " + path.rel.string());
  // The version the node's handles share went stale or was replaced without the node losing its
  // name (a computation that turned stale unlinks its result; the properties change): the name
  // needs a new node.
  if (auto known = nodes_.find(path.rel); known && !shared_version_current(*known, path)) nodes_.detach(*known);
  auto st = stat_or_lazy(path);
  if (path.kind == PathKind::Properties)  // the size getattr gives: the mount's view
    if (auto text = overlay_.properties(path)) st.st_size = static_cast<off_t>(text->size());
  return entry_for(parent, name, path, st);
}

void Filesystem::forget(Ino ino, uint64_t count) {
  nodes_.forget(ino, count);
  if (!nodes_.kind(ino)) {
    identities_.forget(ino);
    versions_.forget(ino);
  }
}

Attr Filesystem::getattr(Ino ino, OpenFile* file) {
  status_.count(Op::Getattr);
  auto kind = nodes_.kind(ino);
  if (kind && *kind != NodeKind::Backing) return Attr{synthetic_attr(ino), 0};
  if (file)
    if (auto st = file->attr()) {
      versions_.remember(ino, *st);
      return Attr{*st, timeout_for(tree_.classify(file->rel()), *st)};
    }
  // fstat(2) comes without the handle. A lazy file's node is the version its handles share, whatever
  // its name holds now; a node whose name went (unlinked, renamed over, stale) is what it was.
  auto rel = nodes_.path(ino);
  if (!rel || versions_.open_version(ino)) {
    auto st = versions_.attr(ino);
    if (!st) fail_errno(ESTALE, "node " + std::to_string(ino) + " is gone");
    if (!rel && S_ISREG(st->st_mode)) st->st_nlink = 0;
    return Attr{*st, 0.0};
  }
  auto path = tree_.classify(*rel);
  auto st = stat_or_lazy(path);
  if (path.kind == PathKind::Properties)
    if (auto text = overlay_.properties(path)) st.st_size = static_cast<off_t>(text->size());
  versions_.remember(ino, st);
  return Attr{st, timeout_for(path, st)};
}

Attr Filesystem::setattr(Ino ino, const SetAttr& change, OpenFile* file) {
  status_.count(Op::Setattr);
  auto kind = nodes_.kind(ino);
  if (kind && *kind != NodeKind::Backing) return Attr{synthetic_attr(ino), 0};
  require_writable();
  auto path = copy_up(tree_.classify(file ? file->rel() : path_of(ino)));
  require_writable(path);
  const auto backing = paths_.backing(path.rel);
  const int fd = file ? file->fd() : -1;
  if (change.size) {
    if (file) {
      file->truncate(*change.size);
      if (file->take_written()) source_changed("truncate", path);
    } else if (path.kind == PathKind::Properties) {
      // A truncate without an open handle: validated as a whole-file write.
      std::string text = properties_text(path);
      text.resize(static_cast<size_t>(*change.size));
      commit_properties(path, text);
    } else if (path.kind == PathKind::InMag && !is_temp_file_name(path.rel.filename().string())) {
      // truncate(2) of a chunk file: atomic like a write (a copy, truncated, published)
      BackingFile copy(path.rel, backing, open_file(backing, O_RDONLY), *change.size == 0, 0644, publisher(path.rel));
      copy.truncate(*change.size);
      copy.flush();
    } else {
      if (::truncate(backing.c_str(), *change.size) != 0) fail_errno("truncate " + path.rel.string());
      source_changed("truncate", path);
    }
  }
  if (change.mode && (fd >= 0 ? ::fchmod(fd, *change.mode) : ::chmod(backing.c_str(), *change.mode)) != 0)
    fail_errno("chmod " + path.rel.string());
  if ((change.uid || change.gid) &&
      ::lchown(backing.c_str(), change.uid.value_or(static_cast<uid_t>(-1)), change.gid.value_or(static_cast<gid_t>(-1))) != 0)
    fail_errno("chown " + path.rel.string());
  if (change.atime || change.mtime) {
    struct timespec tv[2];
    tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
    if (change.atime) tv[0] = *change.atime;
    if (change.mtime) tv[1] = *change.mtime;
    int r = fd >= 0 ? ::futimens(fd, tv) : ::utimensat(AT_FDCWD, backing.c_str(), tv, AT_SYMLINK_NOFOLLOW);
    if (r != 0) fail_errno("utimens " + path.rel.string());
  }
  auto own = file ? file->attr() : std::nullopt;
  struct stat st = own ? *own : lstat_or_throw(backing, path.rel);
  return Attr{st, timeout_for(path, st)};
}

std::string Filesystem::readlink(Ino ino) {
  status_.count(Op::Readlink);
  auto rel = path_of(ino);
  // a mag link leading outside its dataset leads the kernel into the read-only view instead
  if (tree_.is_outside_mag_link(tree_.classify(rel))) return link_view_target(rel);
  char buf[PATH_MAX + 1];
  ssize_t n = ::readlink(paths_.backing(rel).c_str(), buf, PATH_MAX);
  if (n < 0) fail_errno("readlink " + rel.string());
  return std::string(buf, static_cast<size_t>(n));
}

struct statvfs Filesystem::statfs() {
  status_.count(Op::Statfs);
  struct statvfs sv {};
  if (::statvfs(paths_.source().c_str(), &sv) != 0) fail_errno("statvfs " + paths_.source().string());
  return sv;
}

// --- namespace changes ----------------------------------------------------------------------------

Entry Filesystem::mkdir(Ino parent, const std::string& name, mode_t mode) {
  status_.count(Op::Mkdir);
  auto rel = child_of(parent, name);
  require_writable();
  require_writable(tree_.classify(rel));
  make_overlay_parent(rel);
  if (auto change = layer_api_.mkdir(tree_.classify(rel.parent_path()), name)) {
    changed_dataset(*change->dataset, change->layer);
    return new_entry(parent, name, rel);
  }
  if (is_temp_file_name(name)) fail(ErrorKind::InvalidArgument, "names with " + std::string(kTempMarker) + " are reserved");
  if (::mkdir(paths_.backing(rel).c_str(), mode) != 0) fail_errno("mkdir " + rel.string());
  return new_entry(parent, name, rel);
}

void Filesystem::unlink(Ino parent, const std::string& name) {
  status_.count(Op::Unlink);
  auto path = tree_.classify(child_of(parent, name));
  if (path.kind == PathKind::Control || path.kind == PathKind::Status)
    fail_errno(EPERM, "control files cannot be removed");
  require_writable();
  require_writable(path);
  if (auto change = layer_api_.unlink(path)) return apply(*change, parent, name, path.rel);
  if (::unlink(paths_.backing(path.rel).c_str()) != 0) fail_errno("unlink " + path.rel.string());
  nodes_.remove(parent, name);
  source_changed("unlink", path);
}

void Filesystem::rmdir(Ino parent, const std::string& name) {
  status_.count(Op::Rmdir);
  auto path = tree_.classify(child_of(parent, name));
  require_writable();
  require_writable(path);
  if (auto change = layer_api_.rmdir(path)) return apply(*change, parent, name, path.rel);
  const auto backing = paths_.backing(path.rel);
  if (!LayerApiOps::folder_empty(backing)) fail(ErrorKind::NotEmpty, "folder " + path.rel.string() + " is not empty");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(backing, ec)) fs::remove(e.path(), ec);  // temp leftovers
  if (::rmdir(backing.c_str()) != 0) fail_errno("rmdir " + path.rel.string());
  nodes_.remove(parent, name);
}

Entry Filesystem::symlink(const std::string& target, Ino parent, const std::string& name) {
  status_.count(Op::Symlink);
  auto rel = child_of(parent, name);
  const auto parent_path = tree_.classify(rel.parent_path());
  // a URL is no folder the kernel could follow: a remote mag is added by the Layer API
  if (parent_path.kind == PathKind::Layer && storage::StoreUrl::is_url(target))
    fail(ErrorKind::InvalidArgument, "ln -s " + target + " " + rel.string() +
                                         ": a URL cannot be a symlinked mag; add it with `wkfs ctl " +
                                         (paths_.mountpoint() / rel.parent_path()).string() + " add-remote-mag " +
                                         target + "`");
  require_writable();
  require_writable(tree_.classify(rel));
  make_overlay_parent(rel);
  if (auto change = layer_api_.symlink(tree_.classify(rel.parent_path()), name, target)) {
    changed_dataset(*change->dataset, change->layer);
    return new_entry(parent, name, rel);
  }
  if (::symlink(target.c_str(), paths_.backing(rel).c_str()) != 0) fail_errno("symlink " + rel.string());
  return new_entry(parent, name, rel);
}

void Filesystem::rename(Ino parent, const std::string& name, Ino new_parent, const std::string& new_name,
                        unsigned flags) {
  status_.count(Op::Rename);
  auto from = tree_.classify(child_of(parent, name));
  auto to_rel = child_of(new_parent, new_name);
  if (is_special_name(name) || is_special_name(new_name)) fail_errno(EPERM, "control files cannot be renamed");
  require_writable();
  auto to = tree_.classify(to_rel);
  require_writable(from);
  require_writable(to);
  if (auto change = layer_api_.rename(from, to, flags)) {  // mv DATASET/OLD DATASET/NEW
    nodes_.rename(parent, name, new_parent, new_name);
    changed_dataset(*change->dataset, change->layer);
    return;
  }
  if (to.kind == PathKind::Properties) {
    // The properties file only changes validated (PropertiesEditor's rule): editors save by writing
    // a new file and renaming it over the old one, from wherever; an exchange would swap in text
    // nobody checked. (Moving it away is left to the user: some editors keep their backup so.)
    if (flags & RENAME_EXCHANGE)
      fail(ErrorKind::InvalidArgument, "datasource-properties.json can only be replaced by a valid document, not "
                                       "exchanged with " + from.rel.string());
    commit_properties(to, read_text(paths_.backing(from.rel)));
    if (::unlink(paths_.backing(from.rel).c_str()) != 0) fail_errno("unlink " + from.rel.string());
    nodes_.remove(parent, name);
    return;
  }
  auto intent = overlay_.begin_change(to);  // durable before the data of `to` change (item 1)
  if (::renameat2(AT_FDCWD, paths_.backing(from.rel).c_str(), AT_FDCWD, paths_.backing(to.rel).c_str(), flags) != 0)
    fail_errno("rename " + from.rel.string() + " -> " + to.rel.string());
  nodes_.rename(parent, name, new_parent, new_name);
  source_changed("rename", from);  // moved away: its data is gone from there
  source_changed("rename", to);    // an atomic replace of a chunk file is a write
}

// --- files ---------------------------------------------------------------------------------------

Opened Filesystem::open(Ino ino, int flags) {
  status_.count(Op::Open);
  auto kind = nodes_.kind(ino);
  // The kernel resolved the name to this node before it went stale: it opens the version the
  // node's handles share, or the name's current one (what the kernel's retry after ESTALE would).
  // The node is read once: it may go stale between two looks (CoreVersions test, 1 ESTALE in a run).
  const bool rdonly = (flags & O_ACCMODE) == O_RDONLY;
  if (rdonly && versions_.open_version(ino)) return open_shared(ino, std::nullopt);
  auto current = nodes_.path(ino);
  if (!current && rdonly && nodes_.former_path(ino)) return open_shared(ino, std::nullopt);
  if (!current) fail_errno(ESTALE, "node " + std::to_string(ino) + " is gone");
  const fs::path rel = *current;
  Opened o;
  if (kind && *kind == NodeKind::Control) {
    o.file = std::make_unique<ControlFile>(rel, control_);
    o.direct_io = true;
  } else if (kind && *kind == NodeKind::Status) {
    o.file = std::make_unique<TextFile>(rel, status_json().dump(2) + "\n");
    o.direct_io = true;
  } else {
    auto path = tree_.classify(rel);
    if (path.kind == PathKind::Remote) {
      if ((flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC)) return open_remote(path);
      path = copy_up(path);  // a change: into the overlay, or EROFS naming the URL
    }
    const int acc = flags & O_ACCMODE;
    if (acc != O_RDONLY) {
      require_writable();
      require_writable(path);
    }
    const auto backing = paths_.backing(rel);
    if (acc != O_RDONLY && path.kind == PathKind::Properties) {
      const bool truncated = flags & O_TRUNC;
      o.file = std::make_unique<PropertiesEditor>(rel, open_file(backing, O_RDONLY),
                                                  truncated ? std::string() : properties_text(path), truncated,
                                                  [this, path](const std::string& text) { commit_properties(path, text); });
      o.direct_io = true;
    } else if (acc == O_RDONLY && (path.kind == PathKind::Properties || overlay_.is_lazy_file(path))) {
      return open_shared(ino, std::move(path));
    } else if (auto view = path.kind == PathKind::Properties ? overlay_.properties(path) : std::nullopt) {
      o.file = std::make_unique<TextFile>(rel, std::move(*view));  // the backing file plus pending lazy mags
      o.direct_io = true;
    } else {
      const int open_flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
      // Chunk, shard and metadata files opened for writing are written on a private copy that
      // replaces them atomically at fsync/close (issue 11 item 2); wkfs's own temp names are
      // private already (write_file_atomic through the mount) and are written in place.
      const bool copy = acc != O_RDONLY && path.kind == PathKind::InMag && !is_temp_file_name(rel.filename().string());
      UniqueFd fd = open_backing(path, copy ? O_RDONLY : open_flags);
      // Requests arrive in order but one at a time: a wider readahead on the backing file
      // keeps the disk busy ahead of them (cold sequential reads).
      if (acc == O_RDONLY) ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0) fail_errno("fstat " + rel.string());
      // Changed behind the mount's back since the kernel cached it: its pages and attributes go.
      const bool changed = !overlay_.is_lazy_file(path) && identities_.changed(ino, st);
      auto* kernel = kernel_.load();
      if (changed && kernel) kernel->inode(ino);
      // Until that notification has landed the kernel may hold the old size: a page-cache read
      // that comes back short while the notification bumps the attribute version keeps the old
      // size and pads with zeros (seen under CI load: a truncated zarr.json read back as its old
      // length). Direct I/O reads exactly what the backing file has.
      // The properties file is replaced whole (by rename) while readers hold the old size: a
      // page-cache read is cut at that size (soak: 1 torn JSON in ~25,000 reads); it is small.
      if (changed || path.kind == PathKind::Properties || (kernel && kernel->pending(ino))) o.direct_io = true;
      if (copy)
        o.file = std::make_unique<BackingFile>(rel, backing, std::move(fd), (flags & O_TRUNC) != 0, 0644, publisher(rel));
      else
        o.file = std::make_unique<BackingFile>(rel, std::move(fd), acc != O_RDONLY && (flags & O_TRUNC));
      o.keep_cache = path.kind != PathKind::Properties && !changed;
    }
  }
  status_.file_opened();
  return o;
}

Opened Filesystem::open_shared(Ino ino, std::optional<PathInfo> path) {
  auto version = versions_.open_version(ino);
  bool fresh = false;
  if (!version) {
    if (!path) {  // the shared version was closed meanwhile, or the node was detached
      auto former = nodes_.former_path(ino);
      path = tree_.classify(former ? *former : path_of(ino));
    }
    FileVersion made{path->rel};
    if (auto view = path->kind == PathKind::Properties ? overlay_.properties(*path) : std::nullopt) {
      made.text_attr = stat_or_lazy(*path);  // the backing file plus pending lazy mags
      made.text_attr.st_size = static_cast<off_t>(view->size());
      made.text = std::move(*view);
    } else {
      made.fd = open_backing(*path, O_RDONLY);
      ::posix_fadvise(made.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    // of two first opens that raced with a change, both take the one shared first
    version = versions_.share(ino, std::move(made), fresh);
  }
  const struct stat st = version->attr();
  versions_.remember(ino, st);
  const bool properties = version->rel.filename() == kPropertiesFile;
  // A new version under a node whose pages the kernel may keep from an older one: they go, and
  // this handle reads around them until the notification has landed. The properties file is
  // small and replaced whole: always read directly.
  const bool changed = fresh && !properties && identities_.changed(ino, st);
  auto* kernel = kernel_.load();
  if (changed && kernel) kernel->inode(ino);
  Opened o;
  o.direct_io = properties || changed || (kernel && kernel->pending(ino));
  o.keep_cache = !properties && !changed;
  o.file = std::make_unique<SharedFile>(version);
  status_.file_opened();
  return o;
}

bool Filesystem::shared_version_current(Ino ino, const PathInfo& path) const {
  auto version = versions_.open_version(ino);
  if (!version) return true;
  if (path.kind == PathKind::Properties) {
    auto view = overlay_.properties(path);
    if (version->text || view) return version->text && view && *version->text == *view;
  }
  struct stat st {};
  return ::fstat(version->fd.get(), &st) == 0 && st.st_nlink > 0;
}

std::pair<Entry, Opened> Filesystem::create(Ino parent, const std::string& name, mode_t mode, int flags) {
  status_.count(Op::Create);
  auto path = tree_.classify(child_of(parent, name));
  require_writable();
  if (is_special_name(name)) fail_errno(EPERM, "reserved name " + name);
  require_writable(path);
  make_overlay_parent(path.rel);
  const auto backing = paths_.backing(path.rel);
  std::unique_ptr<BackingFile> file;
  if (path.kind == PathKind::InMag && !is_temp_file_name(name)) {
    // A new chunk or shard file appears only complete: written on a private copy, published at
    // fsync/close. Until then the name does not exist for anyone else.
    UniqueFd current(::open(backing.c_str(), O_RDONLY | O_CLOEXEC));
    if (current && (flags & O_EXCL)) fail_errno(EEXIST, "create " + path.rel.string());
    if (!current && errno != ENOENT) fail_errno("create " + path.rel.string());
    const bool empty = !current || (flags & O_TRUNC);
    file = std::make_unique<BackingFile>(path.rel, backing, std::move(current), empty, mode, publisher(path.rel));
  } else {
    int fd = ::open(backing.c_str(), (flags | O_CREAT | O_CLOEXEC) & ~O_NOCTTY, mode);
    if (fd < 0) fail_errno("create " + path.rel.string());
    // a new file is a change even if nothing is written into it (absent = fill value); a temp
    // name is no data of a mag until it is renamed (then rename says so)
    file = std::make_unique<BackingFile>(path.rel, UniqueFd(fd), !is_temp_file_name(name));
  }
  auto entry = entry_for(parent, name, path, *file->attr());
  status_.file_opened();
  return {entry, Opened{std::move(file), false, false}};
}

size_t Filesystem::read(OpenFile& file, char* buf, size_t size, off_t off) {
  status_.count(Op::Read);
  return file.read(buf, size, off);
}

size_t Filesystem::write(OpenFile& file, const char* buf, size_t size, off_t off) {
  status_.count(Op::Write);
  if (dynamic_cast<ControlFile*>(&file)) status_.count(Op::Control);
  return file.write(buf, size, off);
}

void Filesystem::flush(OpenFile& file) {
  file.flush();
  // close() waits for flush but not for release: a read right after close() must not find
  // lazy files computed from the old data.
  if (file.take_written()) source_changed("flush", tree_.classify(file.rel()));
}

void Filesystem::release(std::unique_ptr<OpenFile> file) {
  status_.file_closed();
  try {
    file->flush();
  } catch (const std::exception& e) {
    status_.error("release", file->rel().string(), e.what(), errno_of(e));
  }
  // written after the last flush (mmap)
  if (file->take_written()) source_changed("release", tree_.classify(file->rel()));
}

void Filesystem::fsync(OpenFile& file, bool datasync) { file.fsync(datasync); }

// --- folders -------------------------------------------------------------------------------------

std::unique_ptr<OpenDir> Filesystem::opendir(Ino ino) {
  status_.count(Op::Readdir);
  auto path = tree_.classify(path_of(ino));
  if (path.kind == PathKind::Remote) {
    auto dir = std::make_unique<OpenDir>();
    dir->rel = path.rel;
    const auto st = remote_stat(path);
    if (!S_ISDIR(st.st_mode)) fail_errno(ENOTDIR, "opendir " + path.rel.string());
    dir->entries.push_back({".", st.st_ino, DT_DIR});
    dir->entries.push_back({"..", 1, DT_DIR});
    for (const auto& e : path.remote.tree->list(path.remote.key))
      dir->entries.push_back({e.name, lazy_ino(e.name), static_cast<unsigned char>(e.dir ? DT_DIR : DT_REG)});
    return dir;
  }
  auto dir = listing_.open(paths_.backing(path.rel), path);
  add_remote_names(path, *dir);
  return dir;
}

void Filesystem::fsyncdir(OpenDir& dir, bool datasync) {
  if (!dir.fd) return;
  if ((datasync ? ::fdatasync(dir.fd.get()) : ::fsync(dir.fd.get())) != 0) fail_errno("fsyncdir " + dir.rel.string());
}

// --- extended attributes -------------------------------------------------------------------------

std::string Filesystem::getxattr(Ino ino, const std::string& name) {
  auto path = xattr_target(ino, false);
  if (control::is_layer_attribute(name)) {
    if (path.kind != PathKind::Layer) quiet_fail(ENODATA, name + " exists on layer folders only");
    auto props = path.loc->dataset->properties();
    const auto* layer = props.find_layer(path.layer);
    if (!layer) quiet_fail(ENODATA, "layer " + path.layer + " is gone");
    try {
      return control::get_layer_attribute(*path.loc->dataset, *layer, name);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::NotFound) quiet_fail(ENODATA, e.what());
      throw;
    }
  }
  if (path.kind == PathKind::Remote) quiet_fail(ENODATA, "remote files have no attributes: " + path.rel.string());
  const auto backing = paths_.backing(path.rel);
  ssize_t len = ::lgetxattr(backing.c_str(), name.c_str(), nullptr, 0);
  if (len < 0 && errno == ENOENT && overlay_.stat(path)) quiet_fail(ENODATA, "lazy file not computed yet");
  if (len < 0 && errno == ENODATA) quiet_fail(ENODATA, name + " is not set on " + path.rel.string());
  if (len < 0) fail_errno("getxattr " + path.rel.string());
  std::string value(static_cast<size_t>(len), '\0');
  len = ::lgetxattr(backing.c_str(), name.c_str(), value.data(), value.size());
  if (len < 0) fail_errno("getxattr " + path.rel.string());
  value.resize(static_cast<size_t>(len));
  return value;
}

std::string Filesystem::listxattr(Ino ino) {
  auto kind = nodes_.kind(ino);
  if (kind && *kind != NodeKind::Backing) return {};
  auto path = xattr_target(ino, false);
  if (path.kind == PathKind::Remote) return {};
  const auto backing = paths_.backing(path.rel);
  std::string list;
  ssize_t len = ::llistxattr(backing.c_str(), nullptr, 0);
  if (len > 0) {
    list.resize(static_cast<size_t>(len));
    len = ::llistxattr(backing.c_str(), list.data(), list.size());
    list.resize(len > 0 ? static_cast<size_t>(len) : 0);
  }
  if (path.kind == PathKind::Layer) {
    auto props = path.loc->dataset->properties();
    if (const auto* layer = props.find_layer(path.layer))
      for (const auto& n : control::layer_attribute_names(*layer)) list += n + '\0';
  }
  return list;
}

PathInfo Filesystem::xattr_target(Ino ino, bool change) {
  status_.count(Op::Xattr);
  auto kind = nodes_.kind(ino);
  if (kind && *kind != NodeKind::Backing) {
    if (!change) quiet_fail(ENODATA, "no attributes on control files");
    fail_errno(ENOTSUP, "no attributes on control files");
  }
  auto path = tree_.classify(path_of(ino));
  if (change) {
    require_writable();
    require_writable(path);
  }
  return path;
}

void Filesystem::setxattr(Ino ino, const std::string& name, const std::string& value, int flags) {
  auto path = xattr_target(ino, true);
  if (control::is_layer_attribute(name)) {
    if (path.kind != PathKind::Layer) fail_errno(ENOTSUP, name + " can be set on layer folders only");
    control::set_layer_attribute(*path.loc->dataset, path.layer, name, value);
    return changed_dataset(*path.loc, path.layer);
  }
  if (::lsetxattr(paths_.backing(path.rel).c_str(), name.c_str(), value.data(), value.size(), flags) != 0)
    fail_errno("setxattr " + path.rel.string());
}

void Filesystem::removexattr(Ino ino, const std::string& name) {
  auto path = xattr_target(ino, true);
  if (control::is_layer_attribute(name)) {
    if (path.kind != PathKind::Layer) quiet_fail(ENODATA, name + " exists on layer folders only");
    control::remove_layer_attribute(*path.loc->dataset, path.layer, name);
    return changed_dataset(*path.loc, path.layer);
  }
  if (::lremovexattr(paths_.backing(path.rel).c_str(), name.c_str()) == 0) return;
  if (errno == ENODATA) quiet_fail(ENODATA, name + " is not set on " + path.rel.string());
  fail_errno("removexattr " + path.rel.string());
}

// --- status --------------------------------------------------------------------------------------

Json Filesystem::status_json() {
  Json datasets = Json::array();
  for (const auto& root : catalog_.dataset_roots()) {
    Json d = Json{{"path", root.string()}};
    try {
      Json layers = Json::array();
      if (auto loc = catalog_.locate(root)) {
        for (const auto& l : loc->dataset->properties().layers) {
          Json mags = Json::array();
          for (const auto& m : l.mags) mags.push_back(m.mag.long_name());
          layers.push_back(Json{{"name", l.name}, {"data_format", data_format_name(l.data_format)}, {"mags", mags}});
        }
      }
      d["layers"] = layers;
    } catch (const std::exception& e) {
      d["error"] = e.what();
    }
    datasets.push_back(d);
  }
  Json j = Json::object();
  j["source"] = paths_.source().string();
  j["mountpoint"] = paths_.mountpoint().string();
  j["read_only"] = config_.read_only;
  j["datasets"] = datasets;
  auto s = status_.to_json();
  j["open_files"] = s["open_files"];
  j["known_inodes"] = nodes_.size();
  j["operations"] = s["operations"];
  j["errors"] = s["errors"];
  for (const char* key : {"version", "mount_options"}) j[key] = s[key];
  const ChunkCache* cache = config_.chunk_cache.get();
  j["chunk_cache"] = Json{{"capacity_bytes", cache ? cache->capacity() : 0},
                          {"size_bytes", cache ? cache->size_bytes() : 0},
                          {"hits", cache ? cache->hits() : 0},
                          {"misses", cache ? cache->misses() : 0}};
  Json cmds = Json::array();
  for (const auto& n : control_.commands().names()) cmds.push_back(n);
  j["control_commands"] = cmds;
  // lazy pyramids of every dataset: files total / computed / stale, bytes, compute time, queue
  j["lazy"] = engines_.status();
  // remote stores: the URL SOURCE, the URL mags opened, the HTTP client's counters, the reads'
  // counters (hits, misses, bytes fetched...) and with remote_cache_dir the cache's status
  j["remote"] = remote_.status();
  return j;
}

}  // namespace wkfs::mount
