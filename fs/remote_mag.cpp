#include "fs/remote_mag.hpp"

#include "core/error.hpp"
#include "core/json.hpp"
#include "formats/wkw_header.hpp"
#include "storage/store_url.hpp"

namespace wkfs::mount {

namespace {

// A tree keeps its names in memory: beyond this many candidate keys a plain-HTTP mag is refused
// (an S3 mag is listed instead and has no such bound).
constexpr uint64_t kMaxCandidates = uint64_t{1} << 21;

std::string text_of(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

Bytes fetch_metadata(RemoteTree& tree, const std::string& key) {
  try {
    auto got = tree.store().get(key);
    tree.add_file(key, got.data.size());
    return std::move(got.data);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::NotFound)
      fail(ErrorKind::NotFound, "remote mag " + tree.url_of(key.substr(0, key.rfind('/') + 1)) + " has no " +
                                    key.substr(key.rfind('/') + 1) + " (" + e.what() + ")");
    throw;
  }
}

std::vector<uint64_t> uint_array(const Json& j, const std::string& what, const std::string& where) {
  if (!j.is_array()) fail(ErrorKind::InvalidArgument, where + ": " + what + " is not an array");
  std::vector<uint64_t> out;
  for (const auto& v : j) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      fail(ErrorKind::InvalidArgument, where + ": " + what + " holds a value that is no count");
    out.push_back(v.get<uint64_t>());
  }
  return out;
}

/// Adds one key per cell of the grid `counts` (row-major), named by `key_of(indices)`.
template <class KeyOf>
void add_grid(RemoteTree& tree, const std::string& prefix, const std::vector<uint64_t>& counts, KeyOf key_of,
              const std::string& where) {
  uint64_t total = 1;
  for (auto c : counts) {
    if (c == 0) return;
    if (total > kMaxCandidates / c)
      fail(ErrorKind::Unsupported, where + ": more than " + std::to_string(kMaxCandidates) +
                                       " chunk keys to derive over plain HTTP (an S3 store is listed instead)");
    total *= c;
  }
  std::vector<uint64_t> idx(counts.size(), 0);
  for (uint64_t n = 0; n < total; ++n) {
    tree.add_candidate(storage::join_key(prefix, key_of(idx)));
    for (size_t d = counts.size(); d-- > 0;) {
      if (++idx[d] < counts[d]) break;
      idx[d] = 0;
    }
  }
}

std::string joined(const std::vector<uint64_t>& idx, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < idx.size(); ++i) s += (i ? sep : std::string()) + std::to_string(idx[i]);
  return s;
}

std::vector<uint64_t> grid_of(const std::vector<uint64_t>& shape, const std::vector<uint64_t>& chunk,
                              const std::string& where) {
  if (shape.size() != chunk.size()) fail(ErrorKind::InvalidArgument, where + ": shape and chunk shape differ in rank");
  std::vector<uint64_t> counts;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (chunk[i] == 0) fail(ErrorKind::InvalidArgument, where + ": a chunk edge is 0");
    counts.push_back((shape[i] + chunk[i] - 1) / chunk[i]);
  }
  return counts;
}

void add_zarr3(RemoteTree& tree, const std::string& prefix, const std::string& where) {
  const Json meta = Json::parse(text_of(fetch_metadata(tree, storage::join_key(prefix, "zarr.json"))));
  auto shape = uint_array(meta.at("shape"), "shape", where);
  // the chunk grid's chunks are the files (shards when sharded): inner chunks live inside them
  auto chunk = uint_array(meta.at("chunk_grid").at("configuration").at("chunk_shape"), "chunk_shape", where);
  std::string encoding = "default", sep = "/";
  if (meta.contains("chunk_key_encoding")) {
    const auto& e = meta["chunk_key_encoding"];
    encoding = e.value("name", std::string("default"));
    sep = encoding == "v2" ? "." : "/";
    if (e.contains("configuration")) sep = e["configuration"].value("separator", sep);
  }
  if (encoding != "default" && encoding != "v2")
    fail(ErrorKind::Unsupported, where + ": chunk key encoding '" + encoding + "'");
  auto counts = grid_of(shape, chunk, where);
  if (counts.empty()) {
    tree.add_candidate(storage::join_key(prefix, encoding == "v2" ? "0" : "c"));
    return;
  }
  add_grid(tree, prefix, counts, [&](const std::vector<uint64_t>& idx) {
    return encoding == "v2" ? joined(idx, sep) : "c" + sep + joined(idx, sep);
  }, where);
}

void add_zarr2(RemoteTree& tree, const std::string& prefix, const std::string& where) {
  const Json meta = Json::parse(text_of(fetch_metadata(tree, storage::join_key(prefix, ".zarray"))));
  tree.add_candidate(storage::join_key(prefix, ".zattrs"));
  auto shape = uint_array(meta.at("shape"), "shape", where);
  auto chunk = uint_array(meta.at("chunks"), "chunks", where);
  std::string sep = ".";
  if (meta.contains("dimension_separator") && meta["dimension_separator"].is_string())
    sep = meta["dimension_separator"].get<std::string>();
  auto counts = grid_of(shape, chunk, where);
  if (counts.empty()) {
    tree.add_candidate(storage::join_key(prefix, "0"));
    return;
  }
  add_grid(tree, prefix, counts, [&](const std::vector<uint64_t>& idx) { return joined(idx, sep); }, where);
}

void add_wkw(RemoteTree& tree, const std::string& prefix, const LayerProperties& layer, const Mag& mag,
             const std::string& where) {
  const auto header = parse_wkw_header(fetch_metadata(tree, storage::join_key(prefix, "header.wkw")), where);
  const auto box = layer.bounding_box.in_mag(mag);
  if (box.empty()) return;
  const int64_t edge = static_cast<int64_t>(header.file_len_vx());
  const Vec3 lo = box.top_left.floor_div(Vec3(edge, edge, edge));
  const Vec3 hi = box.bottom_right().ceil_div(Vec3(edge, edge, edge));
  if (lo.x < 0 || lo.y < 0 || lo.z < 0) fail(ErrorKind::Unsupported, where + ": WKW files at negative positions");
  const std::vector<uint64_t> counts = {static_cast<uint64_t>(hi.z - lo.z), static_cast<uint64_t>(hi.y - lo.y),
                                        static_cast<uint64_t>(hi.x - lo.x)};
  add_grid(tree, prefix, counts, [&](const std::vector<uint64_t>& idx) {
    return "z" + std::to_string(lo.z + static_cast<int64_t>(idx[0])) + "/y" +
           std::to_string(lo.y + static_cast<int64_t>(idx[1])) + "/x" +
           std::to_string(lo.x + static_cast<int64_t>(idx[2])) + ".wkw";
  }, where);
}

}  // namespace

std::string mag_metadata_name(DataFormat format) {
  switch (format) {
    case DataFormat::Zarr3: return "zarr.json";
    case DataFormat::Zarr: return ".zarray";
    case DataFormat::Wkw: return "header.wkw";
    default: fail(ErrorKind::Unsupported, "remote mags of format " + data_format_name(format));
  }
}

void add_mag_keys(RemoteTree& tree, const std::string& prefix, const LayerProperties& layer, const Mag& mag) {
  const std::string where = "remote mag " + tree.url_of(prefix);
  try {
    switch (layer.data_format) {
      case DataFormat::Zarr3: return add_zarr3(tree, prefix, where);
      case DataFormat::Zarr: return add_zarr2(tree, prefix, where);
      case DataFormat::Wkw: return add_wkw(tree, prefix, layer, mag, where);
      default: fail(ErrorKind::Unsupported, where + ": format " + data_format_name(layer.data_format) + " is not served remotely");
    }
  } catch (const Json::exception& e) {
    fail(ErrorKind::InvalidArgument, where + ": invalid array metadata: " + e.what());
  }
}

std::shared_ptr<RemoteTree> open_remote_mag(const storage::StoreContext& context, const std::string& url,
                                            const LayerProperties& layer, const Mag& mag,
                                            std::shared_ptr<RemoteBlocks> blocks) {
  auto parsed = storage::StoreUrl::parse(url);
  std::shared_ptr<storage::Store> store = storage::open_store(url, context);
  auto tree = std::make_shared<RemoteTree>(store, parsed.to_string(), std::move(blocks));
  if (parsed.scheme() == storage::StoreUrl::Scheme::S3) {
    tree->add_listing();
    if (!tree->stat(mag_metadata_name(layer.data_format)))
      fail(ErrorKind::NotFound, "remote mag " + parsed.to_string() + " has no " + mag_metadata_name(layer.data_format));
  } else {
    add_mag_keys(*tree, "", layer, mag);
  }
  return tree;
}

}  // namespace wkfs::mount
