#include "fs/extended_attributes.hpp"

#include <sys/xattr.h>

#include <cerrno>

#include "control/layer_attributes.hpp"
#include "core/error.hpp"
#include "fs/quiet_fail.hpp"

namespace wkfs::mount {

std::string ExtendedAttributes::get(const PathInfo& path, const std::string& name) const {
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

std::string ExtendedAttributes::list(const PathInfo& path) const {
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

bool ExtendedAttributes::set(const PathInfo& path, const std::string& name, const std::string& value, int flags) const {
  if (control::is_layer_attribute(name)) {
    if (path.kind != PathKind::Layer) fail_errno(ENOTSUP, name + " can be set on layer folders only");
    control::set_layer_attribute(*path.loc->dataset, path.layer, name, value);
    return true;
  }
  if (::lsetxattr(paths_.backing(path.rel).c_str(), name.c_str(), value.data(), value.size(), flags) != 0)
    fail_errno("setxattr " + path.rel.string());
  return false;
}

bool ExtendedAttributes::remove(const PathInfo& path, const std::string& name) const {
  if (control::is_layer_attribute(name)) {
    if (path.kind != PathKind::Layer) quiet_fail(ENODATA, name + " exists on layer folders only");
    control::remove_layer_attribute(*path.loc->dataset, path.layer, name);
    return true;
  }
  if (::lremovexattr(paths_.backing(path.rel).c_str(), name.c_str()) == 0) return false;
  if (errno == ENODATA) quiet_fail(ENODATA, name + " is not set on " + path.rel.string());
  fail_errno("removexattr " + path.rel.string());
}

}  // namespace wkfs::mount
