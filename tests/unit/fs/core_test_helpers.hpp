#pragma once
// Helpers for driving wkfs::mount::Filesystem (the FUSE core) without a kernel mount: a temporary
// SOURCE with copies of the fixtures, path lookups through the core, reads and writes of open
// handles, and independent views of the backing folder (its files, its properties JSON).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "fs/filesystem.hpp"
#include "support/test_support.hpp"

namespace wkfs::test::core {

using namespace wkfs::mount;
using Json = wkfs::Json;
namespace fs = std::filesystem;

inline constexpr const char* kMountpoint = "/mnt/wkfs-unit";

/// The core's configuration over `source` for the unit tests: no log, one lazy thread.
inline FilesystemConfig test_config(const fs::path& source, bool read_only = false) {
  FilesystemConfig c;
  c.source = source;
  c.mountpoint = kMountpoint;
  c.read_only = read_only;
  c.log = nullptr;
  c.lazy.threads = 1;
  return c;
}

/// A core over a temporary SOURCE folder holding the given fixtures as named datasets.
struct Mount {
  TempDir tmp;
  fs::path src;
  std::unique_ptr<Filesystem> core;

  explicit Mount(bool read_only = false,
                 const std::vector<std::pair<std::string, std::string>>& datasets = {{"simple_zarr3_dataset", "ds"}}) {
    src = tmp / "src";
    fs::create_directories(src);
    for (const auto& [fixture_name, name] : datasets) fs::rename(copy_fixture(fixture_name, src), src / name);
    core = std::make_unique<Filesystem>(test_config(src, read_only));
  }
  Filesystem& operator*() { return *core; }
  Filesystem* operator->() { return core.get(); }
  fs::path props_path(const std::string& ds = "ds") const { return src / ds / "datasource-properties.json"; }
};

/// The node of a path relative to the mount root ("" is the root), through lookups.
inline Ino lookup_path(Filesystem& f, const std::string& rel) {
  Ino ino = kRootIno;
  for (const auto& part : fs::path(rel))
    if (!part.empty() && part != "/") ino = f.lookup(ino, part.string()).ino;
  return ino;
}

/// The errno the FUSE reply would carry for what `fn` throws; 0 if it does not throw.
template <class F>
int errno_from(F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return errno_of(e);
  }
  return 0;
}

inline std::string read_all(Filesystem& f, Opened& o) {
  std::string out;
  std::vector<char> buf(1 << 16);
  off_t off = 0;
  for (;;) {
    size_t n = f.read(*o.file, buf.data(), buf.size(), off);
    if (n == 0) break;
    out.append(buf.data(), n);
    off += static_cast<off_t>(n);
  }
  return out;
}

/// open O_RDONLY, read to the end, release.
inline std::string read_path(Filesystem& f, const std::string& rel) {
  auto o = f.open(lookup_path(f, rel), O_RDONLY);
  auto text = read_all(f, o);
  f.release(std::move(o.file));
  return text;
}

inline size_t write_str(Filesystem& f, Opened& o, const std::string& s, off_t off = 0) {
  return f.write(*o.file, s.data(), s.size(), off);
}

/// The names a listing of the folder gives (without "." and "..").
inline std::set<std::string> names(Filesystem& f, const std::string& rel) {
  auto d = f.opendir(lookup_path(f, rel));
  std::set<std::string> out;
  for (const auto& e : d->entries)
    if (e.name != "." && e.name != "..") out.insert(e.name);
  return out;
}

/// Every regular file below `rel` as the mount lists it (paths relative to the mount root).
inline std::vector<std::string> listed_files(Filesystem& f, const std::string& rel) {
  std::vector<std::string> out;
  auto d = f.opendir(lookup_path(f, rel));
  for (const auto& e : d->entries) {
    if (e.name == "." || e.name == "..") continue;
    const std::string child = rel + "/" + e.name;
    if (e.type == DT_DIR) {
      for (auto& c : listed_files(f, child)) out.push_back(std::move(c));
    } else {
      out.push_back(child);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// rm -r through the core: unlink the files, rmdir the folders, deepest first.
inline void rm_r(Filesystem& f, Ino parent, const std::string& name) {
  auto e = f.lookup(parent, name);
  if (S_ISDIR(e.attr.st_mode)) {
    std::vector<std::string> kids;
    {
      auto d = f.opendir(e.ino);
      for (const auto& c : d->entries)
        if (c.name != "." && c.name != "..") kids.push_back(c.name);
    }
    for (const auto& k : kids) rm_r(f, e.ino, k);
    f.rmdir(parent, name);
  } else {
    f.unlink(parent, name);
  }
}

inline std::string file_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void put_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

inline Json read_json(const fs::path& p) { return Json::parse(file_text(p)); }

inline const Json* find_layer(const Json& props, const std::string& layer) {
  for (const auto& l : props["dataLayers"])
    if (l["name"] == layer) return &l;
  return nullptr;
}

/// The mags of a layer in a properties document, as sorted "x-y-z" names.
inline std::vector<std::string> mags_of(const Json& props, const std::string& layer) {
  std::vector<std::string> out;
  const Json* l = find_layer(props, layer);
  if (!l) return out;
  if (!l->contains("mags") && l->contains("wkwResolutions")) {  // the legacy WKW form
    for (const auto& r : (*l)["wkwResolutions"]) {
      const auto& v = r["resolution"];
      out.push_back(v.is_number() ? std::to_string(v.get<int>()) + "-" + std::to_string(v.get<int>()) + "-" +
                                        std::to_string(v.get<int>())
                                  : std::to_string(v[0].get<int>()) + "-" + std::to_string(v[1].get<int>()) + "-" +
                                        std::to_string(v[2].get<int>()));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  for (const auto& m : (*l)["mags"]) {
    const auto& v = m["mag"];
    out.push_back(std::to_string(v[0].get<int>()) + "-" + std::to_string(v[1].get<int>()) + "-" +
                  std::to_string(v[2].get<int>()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string mag_path_of(const Json& props, const std::string& layer, const std::string& mag) {
  const Json* l = find_layer(props, layer);
  if (!l) return "<no layer>";
  for (const auto& m : (*l)["mags"]) {
    const auto& v = m["mag"];
    std::string n = std::to_string(v[0].get<int>()) + "-" + std::to_string(v[1].get<int>()) + "-" +
                    std::to_string(v[2].get<int>());
    if (n == mag) return m.contains("path") ? m["path"].get<std::string>() : "<no path>";
  }
  return "<no mag>";
}

inline std::vector<std::string> layers_of(const Json& props) {
  std::vector<std::string> out;
  for (const auto& l : props["dataLayers"]) out.push_back(l["name"].get<std::string>());
  return out;
}

/// Every entry below `root`: relative path -> kind and content (files) or link target.
inline std::map<std::string, std::string> tree_digest(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const auto rel = it->path().lexically_relative(root).string();
    if (it->path().filename() == "datasource-properties.json.__lock") continue;  // the library's lock
    if (it->is_symlink()) out[rel] = "link:" + fs::read_symlink(it->path()).string();
    else if (it->is_directory()) out[rel] = "dir";
    else out[rel] = "file:" + file_text(it->path());
  }
  return out;
}

/// What differs between two digests, one "+path", "-path" or "~path" per line ("" if nothing).
inline std::string changes(const std::map<std::string, std::string>& before,
                           const std::map<std::string, std::string>& after) {
  std::string out;
  for (const auto& [k, v] : before) {
    auto it = after.find(k);
    if (it == after.end()) out += "-" + k + "\n";
    else if (it->second != v) out += "~" + k + "\n";
  }
  for (const auto& [k, v] : after)
    if (!before.count(k)) out += "+" + k + "\n";
  return out;
}

}  // namespace wkfs::test::core
