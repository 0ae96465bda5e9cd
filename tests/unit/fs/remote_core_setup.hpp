#pragma once
// Setup shared by the remote tests of the mount's core (remote_tree, remote_s3, remote_options):
// the files and folders below a served folder and in a remote tree (walked through list() and
// stat(), to compare), a local dataset whose mag is a URL as webknossos-libs stores it, and the
// core's configuration for those tests.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "fs/remote_tree.hpp"
#include "unit/fs/core_test_helpers.hpp"

namespace wkfs::test::core {

/// Every file below `dir` with its size, keys '/'-separated, relative to `dir`, after `prefix`.
inline std::map<std::string, uint64_t> files_below(const fs::path& dir, const std::string& prefix = "") {
  std::map<std::string, uint64_t> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[prefix + e.path().lexically_relative(dir).generic_string()] = e.file_size();
  return out;
}

/// Every folder below `dir`, relative to it.
inline std::set<std::string> dirs_below(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_directory()) out.insert(e.path().lexically_relative(dir).generic_string());
  return out;
}

/// Every file of a remote tree with its size, walked through list() and stat().
inline std::map<std::string, uint64_t> files_of(RemoteTree& tree, const std::string& rel = "") {
  std::map<std::string, uint64_t> out;
  for (const auto& e : tree.list(rel)) {
    const std::string key = rel.empty() ? e.name : rel + "/" + e.name;
    if (e.dir) {
      for (auto& [k, v] : files_of(tree, key)) out[k] = v;
    } else {
      out[key] = tree.stat(key).value().size;
    }
  }
  return out;
}

/// Every folder of a remote tree, walked through list(); each also found by stat().
inline std::set<std::string> dirs_of(RemoteTree& tree, const std::string& rel = "") {
  std::set<std::string> out;
  for (const auto& e : tree.list(rel)) {
    const std::string key = rel.empty() ? e.name : rel + "/" + e.name;
    if (!e.dir) continue;
    EXPECT_TRUE(tree.stat(key).value_or(RemoteNode{}).dir) << key;
    out.insert(key);
    for (auto& k : dirs_of(tree, key)) out.insert(k);
  }
  return out;
}

/// The first mag of the first layer of the local dataset at `dataset` becomes `url`, as
/// webknossos-libs' add_remote_mag stores it: its folder removed, its path the URL.
inline void make_url_mag(const fs::path& dataset, const std::string& url) {
  const fs::path props_path = dataset / "datasource-properties.json";
  auto props = read_json(props_path);
  fs::remove_all(dataset / props["dataLayers"][0]["mags"][0]["path"].get<std::string>());
  props["dataLayers"][0]["mags"][0]["path"] = url;
  put_file(props_path, props.dump(2));
}

/// The core's configuration over `source` for the remote tests: no log, one lazy thread, quick retries.
inline FilesystemConfig remote_test_config(const fs::path& source, bool read_only = false) {
  FilesystemConfig c = test_config(source, read_only);
  c.remote.http.backoff_initial = std::chrono::milliseconds(10);
  return c;
}

}  // namespace wkfs::test::core
