#include "dataset/remote_dataset.hpp"

#include "core/error.hpp"
#include "dataset/remote_source_mag.hpp"
#include "storage/store_url.hpp"

namespace wkfs {

RemoteDataset::RemoteDataset(std::string url, DatasetProperties properties, storage::StoreContext context,
                             std::shared_ptr<ChunkCache> cache)
    : url_(std::move(url)), properties_(std::move(properties)), context_(std::move(context)), cache_(std::move(cache)) {}

std::shared_ptr<RemoteDataset> RemoteDataset::open(const std::string& url_text, storage::StoreContext context,
                                                   std::shared_ptr<ChunkCache> cache) {
  std::string text = url_text;
  while (!text.empty() && text.back() == '/') text.pop_back();
  const std::string url = storage::StoreUrl::parse(text).to_string();
  if (!context.client) context.client = std::make_shared<storage::HttpClient>();
  auto store = storage::open_store(url, context);
  Bytes bytes;
  try {
    bytes = store->get("datasource-properties.json").data;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound) throw;
    fail(ErrorKind::NotFound, "no dataset at " + url + " (no datasource-properties.json): " + e.what());
  }
  DatasetProperties props;
  try {
    props = DatasetProperties::parse(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const Error& e) {
    fail(ErrorKind::InvalidArgument, url + "/datasource-properties.json: " + e.what());
  }
  return std::make_shared<RemoteDataset>(url, std::move(props), std::move(context), std::move(cache));
}

namespace {
const LayerProperties& find_layer(const DatasetProperties& p, const std::string& name, const std::string& url) {
  const auto* l = p.find_layer(name);
  if (!l) fail(ErrorKind::NotFound, "layer '" + name + "' not found in " + url);
  return *l;
}
const MagEntry& find_mag(const LayerProperties& l, const Mag& mag, const std::string& url) {
  const auto* m = l.find_mag(mag);
  if (!m) fail(ErrorKind::NotFound, "layer '" + l.name + "' of " + url + " has no mag " + mag.long_name());
  return *m;
}
}  // namespace

std::string RemoteDataset::mag_location(const std::string& layer, const Mag& mag) const {
  const auto& l = find_layer(properties_, layer, url_);
  const MagEntry& m = find_mag(l, mag, url_);
  if (!m.path) return mag_view(layer, mag)->array().path().string();  // legacy: where it was found
  return remote_mag_url(url_, l, m);
}

std::shared_ptr<MagView> RemoteDataset::mag_view(const std::string& layer, const Mag& mag) const {
  const auto& l = find_layer(properties_, layer, url_);
  const MagEntry& m = find_mag(l, mag, url_);
  std::lock_guard g(mutex_);
  auto key = std::make_pair(l.name, m.mag.long_name());
  if (auto it = views_.find(key); it != views_.end()) return it->second;
  std::shared_ptr<Array> array = open_remote_mag(url_, l, m, context_, cache_).array;
  auto view = std::make_shared<MagView>(array, m.mag, l.array_axes(), l.num_channels,
                                        static_cast<int>(m.channel_index.value_or(0)), true);
  views_[key] = view;
  return view;
}

}  // namespace wkfs
