#include "dataset/remote_source_mag.hpp"

#include "core/error.hpp"
#include "dataset/mag_paths.hpp"
#include "storage/store_url.hpp"

namespace wkfs {

namespace {
std::string strip_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}
}  // namespace

bool is_url_mag(const MagEntry& entry) { return entry.path && is_remote_path(*entry.path); }

std::optional<std::string> mag_url(const MagEntry& entry) {
  if (is_url_mag(entry)) return storage::StoreUrl::parse(*entry.path).to_string();
  return std::nullopt;
}

std::optional<std::string> remote_location(const std::filesystem::path& root, const std::string& overlaid_url,
                                           const LayerProperties& layer, const MagEntry& entry) {
  if (auto url = mag_url(entry)) return url;
  if (overlaid_url.empty()) return std::nullopt;
  // In the overlay a mag is local once its folder is there (added, or lazily registered, through
  // the mount); every other mag is the remote dataset's, at the path the library resolves there.
  std::error_code ec;
  if (entry.path) {
    if (std::filesystem::exists(resolve_mag_path(root, layer, entry), ec)) return std::nullopt;
  } else {
    for (const auto& name : {entry.mag.short_name(), entry.mag.long_name()})
      if (std::filesystem::exists(root / layer.name / name, ec)) return std::nullopt;
  }
  return remote_mag_url(overlaid_url, layer, entry);
}

std::string mag_location(const std::filesystem::path& root, const LayerProperties& layer, const MagEntry& entry,
                         const std::string& overlaid_url) {
  if (auto url = remote_location(root, overlaid_url, layer, entry)) return *url;
  return resolve_mag_path(root, layer, entry).string();
}

storage::StoreContext RemoteMagContext::get() const {
  std::lock_guard g(mutex_);
  if (!context_.client) context_.client = std::make_shared<storage::HttpClient>();
  return context_;
}

std::shared_ptr<Array> open_mag_array(const std::filesystem::path& root, const LayerProperties& layer,
                                      const MagEntry& entry, const RemoteMagContext& remote,
                                      std::shared_ptr<ChunkCache> cache) {
  if (auto url = remote_location(root, remote.overlaid_url(), layer, entry))
    return open_remote_array(*url, remote.get(), std::move(cache));
  return open_array(resolve_mag_path(root, layer, entry), std::move(cache));
}

std::string remote_mag_url(const std::string& dataset_url, const LayerProperties& layer, const MagEntry& entry) {
  if (auto url = mag_url(entry)) return *url;
  std::string rel = entry.path ? *entry.path : layer.name + "/" + entry.mag.short_name();
  if (!rel.empty() && rel.front() == '/')
    fail(ErrorKind::InvalidArgument, "mag " + entry.mag.long_name() + " of the remote dataset " + dataset_url +
                                         " has the local path " + rel + ", which no other machine can read");
  if (rel.rfind("./", 0) == 0) rel = rel.substr(2);
  return storage::StoreUrl::parse(dataset_url).join(rel).to_string();
}

RemoteMag open_remote_mag(const std::string& dataset_url, const LayerProperties& layer, const MagEntry& entry,
                          const storage::StoreContext& context, std::shared_ptr<ChunkCache> cache) {
  RemoteMag m;
  m.url = remote_mag_url(dataset_url, layer, entry);
  if (!entry.path) {
    try {
      m.array = open_remote_array(m.url, context, cache);
      return m;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::NotFound) throw;
    }
    m.url = storage::StoreUrl::parse(dataset_url).join(layer.name + "/" + entry.mag.long_name()).to_string();
  }
  m.array = open_remote_array(m.url, context, std::move(cache));
  return m;
}

RemoteSourceMag locate_remote_source_mag(const std::string& url_text, const storage::StoreContext& context) {
  const storage::StoreUrl url = storage::StoreUrl::parse(strip_trailing_slashes(url_text));
  const std::string& key = url.key();
  const size_t mag_slash = key.rfind('/');
  const size_t layer_slash = mag_slash == std::string::npos || mag_slash == 0 ? std::string::npos : key.rfind('/', mag_slash - 1);
  if (mag_slash == std::string::npos)
    fail(ErrorKind::InvalidArgument, "a remote mag URL names DATASET/LAYER/MAG, got " + url.to_string());
  const std::string mag_name = key.substr(mag_slash + 1);
  const std::string layer_name = key.substr(layer_slash == std::string::npos ? 0 : layer_slash + 1,
                                            mag_slash - (layer_slash == std::string::npos ? 0 : layer_slash + 1));
  const std::string dataset_key = layer_slash == std::string::npos ? "" : key.substr(0, layer_slash);
  // The dataset root as a URL of the same endpoint (and bucket).
  std::string full = url.to_string();
  RemoteSourceMag src;
  src.dataset_url = strip_trailing_slashes(full.substr(0, full.size() - key.size()) + dataset_key);

  auto store = storage::open_store(src.dataset_url, context);
  Bytes text;
  try {
    text = store->get("datasource-properties.json").data;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound) throw;
    fail(ErrorKind::NotFound, "no dataset at " + src.dataset_url + " (for the mag " + url.to_string() +
                                  "): " + e.what());
  }
  DatasetProperties props;
  try {
    props = DatasetProperties::parse(std::string(reinterpret_cast<const char*>(text.data()), text.size()));
  } catch (const Error& e) {
    fail(ErrorKind::InvalidArgument, src.dataset_url + "/datasource-properties.json: " + e.what());
  }
  const LayerProperties* layer = props.find_layer(layer_name);
  if (!layer) fail(ErrorKind::NotFound, "the dataset " + src.dataset_url + " has no layer '" + layer_name + "'");
  const Mag mag = Mag::parse(mag_name);
  const MagEntry* entry = layer->find_mag(mag);
  if (!entry)
    fail(ErrorKind::NotFound, "layer '" + layer_name + "' of " + src.dataset_url + " has no mag " + mag.long_name());
  src.layer = *layer;
  src.entry = *entry;
  RemoteMag opened = open_remote_mag(src.dataset_url, *layer, *entry, context);  // the metadata must decode
  src.url = opened.url;
  src.array = opened.array;
  return src;
}

}  // namespace wkfs
