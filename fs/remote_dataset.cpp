#include "fs/remote_dataset.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/mag_paths.hpp"
#include "dataset/properties.hpp"
#include "fs/remote_mag.hpp"
#include "storage/store_url.hpp"

namespace wkfs::mount {

namespace {

constexpr const char* kProperties = "datasource-properties.json";

/// The key of a mag below the dataset, as its stored path names it; nullopt for a mag that lives
/// elsewhere (another URL or an absolute local path: not part of this dataset's files).
std::optional<std::string> stored_mag_key(const std::string& path) {
  if (is_remote_path(path) || path.starts_with("/")) return std::nullopt;
  std::string key = path;
  while (key.starts_with("./")) key = key.substr(2);
  while (!key.empty() && key.back() == '/') key.pop_back();
  if (key.empty() || key.find("..") != std::string::npos) return std::nullopt;
  return key;
}

void add_from_properties(RemoteTree& tree) {
  storage::GetResult props;
  try {
    props = tree.store().get(kProperties);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound) throw;
    fail(ErrorKind::NotFound, tree.url() + " is no dataset: it has no " + kProperties +
                                  " (a plain HTTP server cannot list a folder of datasets; S3 can)");
  }
  tree.add_file(kProperties, props.data.size());
  const auto parsed = DatasetProperties::parse(
      std::string(reinterpret_cast<const char*>(props.data.data()), props.data.size()));
  for (const char* f : {"zarr.json", ".zgroup", ".zattrs"}) tree.add_candidate(f);
  for (const auto& layer : parsed.layers) {
    for (const char* f : {"zarr.json", ".zgroup", ".zattrs"}) tree.add_candidate(layer.name + "/" + f);
    for (const auto& entry : layer.mags) {
      std::optional<std::string> key;
      if (entry.path) {
        key = stored_mag_key(*entry.path);
      } else {
        // a legacy entry without path: the library looks for LAYER/1 and LAYER/1-1-1
        for (const auto& name : {entry.mag.short_name(), entry.mag.long_name()}) {
          const std::string k = layer.name + "/" + name;
          try {
            tree.store().head(k + "/" + mag_metadata_name(layer.data_format));
            key = k;
            break;
          } catch (const Error& e) {
            if (e.kind() != ErrorKind::NotFound) throw;
          }
        }
      }
      if (key) add_mag_keys(tree, *key, layer, entry.mag);
    }
  }
}

}  // namespace

std::shared_ptr<RemoteTree> open_remote_dataset(const storage::StoreContext& context, const std::string& url,
                                                std::shared_ptr<RemoteBlocks> blocks) {
  auto parsed = storage::StoreUrl::parse(url);
  std::shared_ptr<storage::Store> store = storage::open_store(url, context);
  auto tree = std::make_shared<RemoteTree>(store, parsed.to_string(), std::move(blocks));
  if (parsed.scheme() == storage::StoreUrl::Scheme::S3) {
    tree->add_listing();
    if (tree->list("").empty()) fail(ErrorKind::NotFound, "no objects below " + parsed.to_string());
  } else {
    add_from_properties(*tree);
  }
  return tree;
}

int seed_overlay(RemoteTree& tree, const std::filesystem::path& overlay) {
  std::vector<std::string> datasets;
  if (auto root = tree.stat(kProperties); root && !root->dir) {
    datasets.push_back("");
  } else {
    for (const auto& e : tree.list(""))
      if (e.dir)
        if (auto p = tree.stat(e.name + "/" + kProperties); p && !p->dir) datasets.push_back(e.name);
  }
  int copied = 0;
  for (const auto& d : datasets) {
    const auto local = overlay / d / kProperties;
    std::error_code ec;
    if (std::filesystem::exists(local, ec)) continue;
    auto got = tree.store().get(storage::join_key(d, kProperties));
    std::filesystem::create_directories(local.parent_path());
    write_file_atomic(local, got.data);
    ++copied;
  }
  return copied;
}

}  // namespace wkfs::mount
