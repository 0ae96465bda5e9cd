#pragma once
// The extended attributes of a mount's paths: on a layer folder, the user.wk.* attributes are the
// layer's properties (control/layer_attributes.hpp); everywhere else, the backing file's own
// (l*xattr(2)). Remote files and lazy files not computed yet have none. The core checks that a
// change is allowed (writable, not a control file) before it asks.
#include <string>

#include "fs/lazy_overlay.hpp"
#include "fs/mount_paths.hpp"
#include "fs/mount_tree.hpp"

namespace wkfs::mount {

class ExtendedAttributes {
 public:
  ExtendedAttributes(const MountPaths& paths, const LazyOverlay& overlay) : paths_(paths), overlay_(overlay) {}

  /// The value of `name` on `path`; ENODATA (logged at debug level) if it is not set.
  std::string get(const PathInfo& path, const std::string& name) const;
  /// The attribute names of `path`, each followed by a NUL.
  std::string list(const PathInfo& path) const;
  /// Sets `name` (setxattr(2) `flags`); true if it was a layer attribute (the properties changed).
  bool set(const PathInfo& path, const std::string& name, const std::string& value, int flags) const;
  /// Removes `name`; true if it was a layer attribute (the properties changed).
  bool remove(const PathInfo& path, const std::string& name) const;

 private:
  const MountPaths& paths_;
  const LazyOverlay& overlay_;
};

}  // namespace wkfs::mount
