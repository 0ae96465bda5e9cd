#include "fs/filesystem.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/chunk_cache.hpp"
#include "fs/quiet_fail.hpp"
#include "storage/store_url.hpp"

namespace wkfs::mount {

namespace {

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
      remote_context_(config_.remote, &status_),
      remote_(remote_context_, config_.read_only),
      // the datasets' own reads of URL mags (ctl commands, lazy sources) use the mount's context too
      catalog_(config_.source, config_.read_only, config_.chunk_cache,
               "wkfs mount " + config_.source.string() + " on " + config_.mountpoint.string(),
               remote_.has_source(), &remote_context_),
      write_back_(remote_.writes_source() ? std::make_unique<S3WriteBack>(config_.source, remote_, status_) : nullptr),
      paths_(catalog_.source(), config_.mountpoint),
      overlay_(config_.read_only),
      engines_(config_.lazy, config_.auto_pyramid, status_,
               [this](const fs::path& root, const fs::path& rel) { lazy_file_changed(root, rel); }),
      tree_(catalog_, engines_, &remote_),
      attrs_(NodeParts{config_.read_only, nodes_, identities_, versions_, overlay_, paths_, tree_, remote_, status_,
                       kernel_}),
      listing_(overlay_),
      xattrs_(paths_, overlay_),
      layer_api_(tree_, overlay_, paths_),
      control_(
          tree_, config_.commands ? config_.commands : control::make_builtin_command_table(), config_.read_only,
          [this](const std::string& a, const fs::path& dir, const std::string& cwd) {
            return paths_.resolve_argument(a, dir, cwd);
          },
          [this](const Location& loc, const std::optional<std::string>& layer) { changed_dataset(loc, layer, true); }) {}

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
  if (!config_.read_only) return;
  remote_.require_writable_source();  // a URL SOURCE: the message names it
  fail(ErrorKind::ReadOnly, "the mount is read-only (-o ro)");
}

void Filesystem::require_writable(const PathInfo& path) const {
  require_writable();
  remote_.require_local(path);
  if (path.loc && !path.loc->busy.empty())
    fail_errno(EBUSY, "/" + path.rel.string() + " is not written: " + path.loc->busy);
  layer_api_.refuse_outside_source(path);
}

Entry Filesystem::new_entry(Ino parent, const std::string& name, const fs::path& rel) {
  Entry e;
  e.attr = lstat_or_throw(paths_.backing(rel), rel);
  e.ino = nodes_.lookup(parent, name);
  if (e.ino == 0) fail_errno(ESTALE, "parent node is gone");
  e.timeout = NodeAttributes::kDefaultTimeout;  // a folder or a symlink
  return e;
}

void Filesystem::apply(const LayerApiChange& change, Ino parent, const std::string& name, const fs::path& rel) {
  nodes_.remove(parent, name);
  if (change.dataset) changed_dataset(*change.dataset, change.layer);
  else invalidate_below(rel.parent_path());  // only the lazy overlay's listing changed
}

void Filesystem::changed_dataset(const Location& loc, const std::optional<std::string>& layer, bool prune) {
  status_.count(Op::LayerApi);
  struct Invalidate {  // also when the write-back fails: it took the change back
    Filesystem& f;
    const Location& loc;
    const std::optional<std::string>& layer;
    ~Invalidate() {
      auto* kernel = f.kernel_.load();
      if (!kernel) return;
      if (auto ino = f.nodes_.find(loc.dataset_rel / kPropertiesFile)) kernel->inode(*ino);
      f.invalidate_below(layer ? loc.dataset_rel / *layer : loc.dataset_rel);
    }
  } invalidate{*this, loc, layer};
  if (write_back_) write_back_->sync_dataset(loc.dataset_rel, layer, prune);
}

PathInfo Filesystem::staged_view(const PathInfo& remote) {
  PathInfo p;
  p.rel = remote.rel;
  p.loc = catalog_.locate(remote.rel);
  if (!p.loc) return p;
  for (const auto& c : p.loc->inner) p.in_dataset /= c;
  if (p.loc->inner.size() >= 3) {
    p.kind = PathKind::InMag;
    p.layer = p.loc->inner[0];
    p.lazy = engines_.serving(p.loc->dataset);
  }
  return p;
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
    auto tell_kernel = [&] {
      if (auto* kernel = kernel_.load())
        if (auto ino = nodes_.find(rel)) kernel->inode(*ino);  // a new inode behind the same node
    };
    tell_kernel();
    if (!write_back_) return;
    try {
      write_back_->put_file(rel);  // the close or fsync answers once the store has the object
    } catch (...) {
      tell_kernel();  // the staged file went: the node shows the store's object again
      throw;
    }
  };
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

PathInfo Filesystem::copy_up(const PathInfo& path) {
  if (path.kind != PathKind::Remote) return path;
  if (!remote_.has_overlay()) require_writable(path);  // throws, naming the URL
  remote_.copy_up(path, paths_);
  if (write_back_) write_back_->adopt(path.rel);
  auto* kernel = kernel_.load();
  if (auto ino = nodes_.find(path.rel); ino && kernel) kernel->inode(*ino);
  return tree_.classify(path.rel);
}

// --- lookup, attributes -------------------------------------------------------------------------

Entry Filesystem::lookup(Ino parent, const std::string& name) {
  status_.count(Op::Lookup);
  return attrs_.lookup(parent, name);
}

void Filesystem::forget(Ino ino, uint64_t count) { attrs_.forget(ino, count); }

Attr Filesystem::getattr(Ino ino, OpenFile* file) {
  status_.count(Op::Getattr);
  return attrs_.getattr(ino, file);
}

Attr Filesystem::setattr(Ino ino, const SetAttr& change, OpenFile* file) {
  status_.count(Op::Setattr);
  auto kind = nodes_.kind(ino);
  if (kind && *kind != NodeKind::Backing) return Attr{attrs_.synthetic(ino), 0};
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
    if (write_back_ && !file) write_back_->put_file(path.rel);  // a handle's truncate: at its close
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
  return Attr{st, attrs_.timeout(path, st)};
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
  remote_.make_overlay_parent(rel, paths_);
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
  // A remote file of a writable S3 mount: its folder is made in the staging folder (it stays until
  // rmdir, as a folder does), then it goes as a staged file would, and its object after that.
  const bool only_remote = write_back_ && path.kind == PathKind::Remote;
  if (only_remote) {
    remote_.make_overlay_parent(path.rel, paths_);
    path = staged_view(path);
  }
  if (auto change = layer_api_.unlink(path)) {
    apply(*change, parent, name, path.rel);
    if (write_back_) write_back_->remove(path.rel);
    return;
  }
  if (!only_remote && ::unlink(paths_.backing(path.rel).c_str()) != 0) fail_errno("unlink " + path.rel.string());
  nodes_.remove(parent, name);
  source_changed("unlink", path);
  if (write_back_) write_back_->remove(path.rel);
}

void Filesystem::rmdir(Ino parent, const std::string& name) {
  status_.count(Op::Rmdir);
  auto path = tree_.classify(child_of(parent, name));
  require_writable();
  require_writable(path);
  if (write_back_) write_back_->require_no_objects_below(path.rel);
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
  if (write_back_)
    fail(ErrorKind::Unsupported, "ln -s " + target + " " + rel.string() + ": " + remote_.source_url() +
                                     " is an S3 store, which keeps no symlinks");
  remote_.make_overlay_parent(rel, paths_);
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
  if (write_back_) {
    // S3 cannot rename: a file is put under its new key and deleted under the old one; a folder
    // would be every object below it, which mv does itself on EXDEV (copy, then remove)
    struct stat st {};
    const bool staged_dir = ::lstat(paths_.backing(from.rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    if (staged_dir || (from.kind == PathKind::Remote && from.remote.tree->stat(from.remote.key).value_or(RemoteNode{}).dir))
      fail_errno(EXDEV, "folder " + from.rel.string() + " cannot be renamed in " + remote_.source_url() +
                            " (S3 has no folders to rename): copy it and remove the old one");
    from = copy_up(from);
    remote_.make_overlay_parent(to_rel, paths_);
    to = tree_.classify(to_rel);
  }
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
    if (write_back_) write_back_->remove(from.rel);
    return;
  }
  auto intent = overlay_.begin_change(to);  // durable before the data of `to` change (item 1)
  if (::renameat2(AT_FDCWD, paths_.backing(from.rel).c_str(), AT_FDCWD, paths_.backing(to.rel).c_str(), flags) != 0)
    fail_errno("rename " + from.rel.string() + " -> " + to.rel.string());
  nodes_.rename(parent, name, new_parent, new_name);
  source_changed("rename", from);  // moved away: its data is gone from there
  source_changed("rename", to);    // an atomic replace of a chunk file is a write
  if (write_back_) {
    write_back_->put_file(to.rel);
    write_back_->remove(from.rel);
  }
}

// --- files ---------------------------------------------------------------------------------------

Opened Filesystem::open(Ino ino, int flags) {
  status_.count(Op::Open);
  auto kind = nodes_.kind(ino);
  // The kernel resolved the name to this node before it went stale: it opens the version the
  // node's handles share, or the name's current one (what the kernel's retry after ESTALE would).
  // The node is read once: it may go stale between two looks (CoreVersions test, 1 ESTALE in a run).
  const bool rdonly = (flags & O_ACCMODE) == O_RDONLY;
  if (rdonly && versions_.open_version(ino)) return attrs_.open_shared(ino, std::nullopt);
  auto current = nodes_.path(ino);
  if (!current && rdonly && nodes_.former_path(ino)) return attrs_.open_shared(ino, std::nullopt);
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
    if (auto remote = remote_.open(path, flags)) {
      status_.file_opened();
      return std::move(*remote);
    }
    path = copy_up(path);  // a change of a remote file: into the overlay, or EROFS naming the URL
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
      return attrs_.open_shared(ino, std::move(path));
    } else if (auto view = path.kind == PathKind::Properties ? overlay_.properties(path) : std::nullopt) {
      o.file = std::make_unique<TextFile>(rel, std::move(*view));  // the backing file plus pending lazy mags
      o.direct_io = true;
    } else {
      const int open_flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
      // Chunk, shard and metadata files opened for writing are written on a private copy that
      // replaces them atomically at fsync/close (issue 11 item 2); wkfs's own temp names are
      // private already (write_file_atomic through the mount) and are written in place.
      const bool copy = acc != O_RDONLY && path.kind == PathKind::InMag && !is_temp_file_name(rel.filename().string());
      UniqueFd fd = attrs_.open_backing(path, copy ? O_RDONLY : open_flags);
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

std::pair<Entry, Opened> Filesystem::create(Ino parent, const std::string& name, mode_t mode, int flags) {
  status_.count(Op::Create);
  auto path = tree_.classify(child_of(parent, name));
  require_writable();
  if (is_special_name(name)) fail_errno(EPERM, "reserved name " + name);
  require_writable(path);
  remote_.make_overlay_parent(path.rel, paths_);
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
  auto entry = attrs_.entry(parent, name, path, *file->attr());
  status_.file_opened();
  return {entry, Opened{std::move(file), false, false}};
}

size_t Filesystem::read(OpenFile& file, char* buf, size_t size, off_t off) {
  status_.count(Op::Read);
  return file.read(buf, size, off);
}

std::optional<ReadView> Filesystem::read_view(OpenFile& file, size_t size, off_t off) {
  auto v = file.read_view(size, off);
  if (v) status_.count(Op::Read);
  return v;
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
  if (!file.take_written()) return;
  source_changed("flush", tree_.classify(file.rel()));
  if (write_back_) write_back_->put_file(file.rel());  // a file written in place: the store has it at close
}

void Filesystem::release(std::unique_ptr<OpenFile> file) {
  status_.file_closed();
  try {
    file->flush();
  } catch (const std::exception& e) {
    status_.error("release", file->rel().string(), e.what(), errno_of(e));
  }
  // written after the last flush (mmap)
  if (!file->take_written()) return;
  source_changed("release", tree_.classify(file->rel()));
  try {
    if (write_back_) write_back_->put_file(file->rel());
  } catch (const std::exception& e) {
    status_.error("release", file->rel().string(), e.what(), errno_of(e));
  }
}

void Filesystem::fsync(OpenFile& file, bool datasync) {
  file.fsync(datasync);
  if (write_back_) write_back_->put_file(file.rel());
}

// --- folders -------------------------------------------------------------------------------------

std::unique_ptr<OpenDir> Filesystem::opendir(Ino ino) {
  status_.count(Op::Readdir);
  auto path = tree_.classify(path_of(ino));
  if (auto remote = remote_.opendir(path)) return remote;
  auto dir = listing_.open(paths_.backing(path.rel), path);
  remote_.add_names(path, *dir);
  return dir;
}

void Filesystem::fsyncdir(OpenDir& dir, bool datasync) {
  if (!dir.fd) return;
  if ((datasync ? ::fdatasync(dir.fd.get()) : ::fsync(dir.fd.get())) != 0) fail_errno("fsyncdir " + dir.rel.string());
}

// --- extended attributes -------------------------------------------------------------------------

std::string Filesystem::getxattr(Ino ino, const std::string& name) { return xattrs_.get(xattr_target(ino, false), name); }

std::string Filesystem::listxattr(Ino ino) {
  auto kind = nodes_.kind(ino);
  if (kind && *kind != NodeKind::Backing) return {};
  return xattrs_.list(xattr_target(ino, false));
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
  if (xattrs_.set(path, name, value, flags)) changed_dataset(*path.loc, path.layer);
}

void Filesystem::removexattr(Ino ino, const std::string& name) {
  auto path = xattr_target(ino, true);
  if (xattrs_.remove(path, name)) changed_dataset(*path.loc, path.layer);
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
