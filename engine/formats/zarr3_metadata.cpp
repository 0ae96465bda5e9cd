#include "formats/zarr3_metadata.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "formats/metadata_file.hpp"
#include "formats/zarr_codec_json.hpp"

namespace wkfs {

using nlohmann::json;

std::string Zarr3ChunkKey::key(const VecN& idx) const {
  std::string k = v2 ? "" : "c";
  for (size_t i = 0; i < idx.size(); ++i) {
    if (!k.empty()) k += separator;
    k += std::to_string(idx[i]);
  }
  if (k.empty()) k = "0";  // rank 0 with v2 keys
  return k;
}

namespace {

// Decoded chunks and shard indexes are held in memory whole; these caps keep hostile metadata
// from asking for absurd allocations.
constexpr size_t kMaxChunkBytes = size_t{1} << 32;
constexpr size_t kMaxShardEntries = size_t{1} << 24;

std::string json_string(const json& v, const std::string& what) {
  if (!v.is_string()) fail(ErrorKind::InvalidArgument, what + ": expected a string, got " + v.dump());
  return v.get<std::string>();
}

// A codec (or other extension point) as {"name":..., "configuration":{...}} or a bare name.
struct NamedConfig {
  std::string name;
  json config = json::object();
};

NamedConfig named_config(const json& v, const std::string& what) {
  NamedConfig nc;
  if (v.is_string()) {
    nc.name = v.get<std::string>();
    return nc;
  }
  if (!v.is_object()) fail(ErrorKind::InvalidArgument, what + ": expected an object, got " + v.dump());
  nc.name = json_string(json_required(v, "name", what), what + " name");
  if (const json* c = json_member(v, "configuration")) {
    if (!c->is_object())
      fail(ErrorKind::InvalidArgument, what + " '" + nc.name + "': configuration must be an object");
    nc.config = *c;
  }
  return nc;
}

struct ParsedChain {
  ChunkCodec codec;
  std::optional<ShardIndexLayout> sharding;
  VecN inner_chunk_shape;  // sharding only
};

ParsedChain parse_chain(const json& codecs, size_t rank, DType dtype, bool allow_sharding,
                        const std::string& where);

ByteCodec parse_byte_codec(const NamedConfig& nc, DType dtype, const std::string& where) {
  ByteCodec bc;
  const json& c = nc.config;
  const std::string what = where + ": codec '" + nc.name + "'";
  if (nc.name == "zstd") {
    bc.kind = ByteCodec::Kind::Zstd;
    bc.level = 0;
    if (const json* l = json_member(c, "level")) bc.level = static_cast<int>(json_int(*l, -131072, 22, what + " level"));
    if (const json* k = json_member(c, "checksum")) {
      if (!k->is_boolean()) fail(ErrorKind::InvalidArgument, what + ": checksum must be a boolean");
      bc.checksum = k->get<bool>();
    }
  } else if (nc.name == "gzip") {
    bc.kind = ByteCodec::Kind::Gzip;
    bc.level = 6;
    if (const json* l = json_member(c, "level")) bc.level = static_cast<int>(json_int(*l, 0, 9, what + " level"));
  } else if (nc.name == "crc32c") {
    bc.kind = ByteCodec::Kind::Crc32c;
  } else if (nc.name == "blosc") {
    bc.kind = ByteCodec::Kind::Blosc;
    bc.blosc.cname = json_string(json_required(c, "cname", what), what + " cname");
    check_blosc_cname(bc.blosc.cname, what);
    if (const json* l = json_member(c, "clevel")) bc.blosc.clevel = static_cast<int>(json_int(*l, 0, 9, what + " clevel"));
    bc.blosc.shuffle = 0;
    if (const json* s = json_member(c, "shuffle")) {
      if (s->is_string()) {
        std::string sh = s->get<std::string>();
        if (sh == "noshuffle") bc.blosc.shuffle = 0;
        else if (sh == "shuffle") bc.blosc.shuffle = 1;
        else if (sh == "bitshuffle") bc.blosc.shuffle = 2;
        else fail(ErrorKind::InvalidArgument, what + ": unknown shuffle '" + sh + "'");
      } else {
        bc.blosc.shuffle = static_cast<int>(json_int(*s, 0, 2, what + " shuffle"));
      }
    }
    bc.blosc.typesize = dtype_size(dtype);
    if (const json* t = json_member(c, "typesize")) bc.blosc.typesize = static_cast<size_t>(json_int(*t, 1, 255, what + " typesize"));
    bc.blosc.blocksize = 0;
    if (const json* b = json_member(c, "blocksize"))
      bc.blosc.blocksize = static_cast<size_t>(json_int(*b, 0, int64_t{1} << 31, what + " blocksize"));
  } else {
    fail(ErrorKind::InvalidArgument, where + ": unknown codec '" + nc.name + "'");
  }
  return bc;
}

VecN parse_transpose_order(const json& c, size_t rank, const std::string& what) {
  const json& o = json_required(c, "order", what);
  VecN order(rank);
  if (o.is_string()) {
    std::string s = o.get<std::string>();
    if (s != "C" && s != "F") fail(ErrorKind::InvalidArgument, what + ": unknown order '" + s + "'");
    for (size_t i = 0; i < rank; ++i) order[i] = static_cast<int64_t>(s == "C" ? i : rank - 1 - i);
    return order;
  }
  order = json_int_vector(o, 0, what + " order");
  ChunkCodec probe;
  probe.order = order;
  probe.validate(rank, what);
  return order;
}

ShardIndexLayout parse_sharding(const json& c, size_t rank, DType dtype, const VecN& shard_shape,
                                VecN& inner_shape, ChunkCodec& inner, const std::string& where) {
  const std::string what = where + ": sharding_indexed";
  inner_shape = json_int_vector(json_required(c, "chunk_shape", what), 1, what + " chunk_shape");
  if (inner_shape.size() != rank)
    fail(ErrorKind::InvalidArgument, what + ": chunk_shape " + to_string(inner_shape) +
                                         " does not match the array rank " + std::to_string(rank));
  ShardIndexLayout layout;
  layout.chunks_per_shard.resize(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (shard_shape[i] % inner_shape[i] != 0)
      fail(ErrorKind::InvalidArgument, what + ": shard shape " + to_string(shard_shape) +
                                           " is not a multiple of the inner chunk shape " +
                                           to_string(inner_shape));
    layout.chunks_per_shard[i] = shard_shape[i] / inner_shape[i];
  }
  checked_volume_bytes(layout.chunks_per_shard, 1, kMaxShardEntries, what + " chunks per shard");
  inner = parse_chain(json_required(c, "codecs", what), rank, dtype, false, what + " codecs").codec;
  layout.codec = parse_chain(json_required(c, "index_codecs", what), rank + 1, DType::UInt64, false,
                             what + " index_codecs").codec;
  if (layout.codec.compressed())
    fail(ErrorKind::InvalidArgument, what + ": index_codecs must not compress (" + layout.codec.summary() + ")");
  layout.at_end = true;
  if (const json* loc = json_member(c, "index_location")) {
    std::string l = json_string(*loc, what + " index_location");
    if (l == "start") layout.at_end = false;
    else if (l != "end") fail(ErrorKind::InvalidArgument, what + ": unknown index_location '" + l + "'");
  }
  return layout;
}

// Codecs in metadata order: array->array (transpose), one array->bytes (bytes or
// sharding_indexed), then bytes->bytes.
ParsedChain parse_chain(const json& codecs, size_t rank, DType dtype, bool allow_sharding,
                        const std::string& where) {
  if (!codecs.is_array()) fail(ErrorKind::InvalidArgument, where + ": codecs must be a list");
  ParsedChain pc;
  VecN order(rank);
  for (size_t i = 0; i < rank; ++i) order[i] = static_cast<int64_t>(i);
  bool have_array_to_bytes = false;
  for (const json& entry : codecs) {
    NamedConfig nc = named_config(entry, where + " codec");
    const std::string what = where + ": codec '" + nc.name + "'";
    if (nc.name == "transpose") {
      if (have_array_to_bytes) fail(ErrorKind::InvalidArgument, what + " after the bytes codec");
      VecN o = parse_transpose_order(nc.config, rank, what);
      VecN composed(rank);
      for (size_t k = 0; k < rank; ++k) composed[k] = order[static_cast<size_t>(o[k])];
      order = composed;
    } else if (nc.name == "bytes") {
      if (have_array_to_bytes) fail(ErrorKind::InvalidArgument, what + ": a second array-to-bytes codec");
      have_array_to_bytes = true;
      if (const json* e = json_member(nc.config, "endian")) {
        std::string en = json_string(*e, what + " endian");
        if (en == "big") pc.codec.big_endian = true;
        else if (en != "little") fail(ErrorKind::InvalidArgument, what + ": unknown endian '" + en + "'");
      } else if (dtype_size(dtype) > 1) {
        fail(ErrorKind::InvalidArgument, what + ": endian is required for " + dtype_name(dtype));
      }
    } else if (nc.name == "sharding_indexed") {
      if (!allow_sharding)
        fail(ErrorKind::Unsupported, what + ": nested sharding is not supported");
      if (codecs.size() != 1)
        fail(ErrorKind::Unsupported, what + ": sharding_indexed combined with other codecs is not supported");
      pc.sharding.emplace();  // filled by the caller, which knows the shard shape
      have_array_to_bytes = true;
    } else {
      if (!have_array_to_bytes && (nc.name == "zstd" || nc.name == "gzip" || nc.name == "blosc" || nc.name == "crc32c"))
        fail(ErrorKind::InvalidArgument, what + " comes before the array-to-bytes codec");
      pc.codec.byte_codecs.push_back(parse_byte_codec(nc, dtype, where));
    }
  }
  if (!have_array_to_bytes)
    fail(ErrorKind::InvalidArgument, where + ": no array-to-bytes codec (\"bytes\") in the chain");
  if (!is_identity_order(order)) pc.codec.order = order;
  pc.codec.validate(rank, where);
  return pc;
}

Zarr3ChunkKey parse_chunk_key(const json* v, const std::string& where) {
  Zarr3ChunkKey key;
  if (!v) return key;
  NamedConfig nc = named_config(*v, where + ": chunk_key_encoding");
  if (nc.name == "v2") {
    key.v2 = true;
    key.separator = '.';
  } else if (nc.name != "default") {
    fail(ErrorKind::InvalidArgument, where + ": unknown chunk_key_encoding '" + nc.name + "'");
  }
  if (const json* s = json_member(nc.config, "separator")) {
    std::string sep = json_string(*s, where + ": chunk_key_encoding separator");
    if (sep != "/" && sep != ".")
      fail(ErrorKind::InvalidArgument, where + ": unknown chunk key separator '" + sep + "'");
    key.separator = sep[0];
  }
  return key;
}

Zarr3Metadata parse_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::InvalidArgument, where + ": not a JSON object");
  const json& fmt = json_required(j, "zarr_format", where);
  if (!fmt.is_number_integer() || fmt.get<int64_t>() != 3)
    fail(ErrorKind::InvalidArgument, where + ": zarr_format is " + fmt.dump() + ", expected 3");
  if (const json* nt = json_member(j, "node_type"); nt && *nt != "array")
    fail(ErrorKind::InvalidArgument, where + ": node_type is " + nt->dump() + ", not an array");
  if (const json* st = json_member(j, "storage_transformers"); st && !(st->is_array() && st->empty()))
    fail(ErrorKind::Unsupported, where + ": storage_transformers are not supported");

  Zarr3Metadata md;
  ArrayMeta& m = md.meta;
  m.shape = json_int_vector(json_required(j, "shape", where), 0, where + ": shape");
  const size_t rank = m.shape.size();

  std::string dt = json_string(json_required(j, "data_type", where), where + ": data_type");
  try {
    m.dtype = parse_dtype(dt);
  } catch (const Error&) {
    fail(ErrorKind::InvalidArgument, where + ": unknown data_type '" + dt + "'");
  }

  NamedConfig grid = named_config(json_required(j, "chunk_grid", where), where + ": chunk_grid");
  if (grid.name != "regular")
    fail(ErrorKind::Unsupported, where + ": chunk_grid '" + grid.name + "' is not supported");
  m.shard_shape = json_int_vector(json_required(grid.config, "chunk_shape", where + ": chunk_grid"), 1,
                                  where + ": chunk_grid chunk_shape");
  if (m.shard_shape.size() != rank)
    fail(ErrorKind::InvalidArgument, where + ": chunk_grid chunk_shape " + to_string(m.shard_shape) +
                                         " does not match the rank of shape " + to_string(m.shape));

  md.key = parse_chunk_key(json_member(j, "chunk_key_encoding"), where);
  m.fill_value = parse_fill_value(json_required(j, "fill_value", where), m.dtype, where + ": fill_value");

  ParsedChain chain = parse_chain(json_required(j, "codecs", where), rank, m.dtype, true, where);
  if (chain.sharding) {
    const json& codec = json_required(j, "codecs", where)[0];
    md.sharding = parse_sharding(codec.is_object() ? codec.value("configuration", json::object()) : json::object(),
                                 rank, m.dtype, m.shard_shape, m.chunk_shape, md.codec, where);
  } else {
    md.codec = chain.codec;
    m.chunk_shape = m.shard_shape;
  }
  checked_volume_bytes(m.chunk_shape, m.elem_size(), kMaxChunkBytes, where + ": chunk shape");

  if (const json* names = json_member(j, "dimension_names"); names && !names->is_null()) {
    if (!names->is_array() || names->size() != rank)
      fail(ErrorKind::InvalidArgument, where + ": dimension_names must list one name per axis");
    for (const json& n : *names) m.axis_names.push_back(n.is_string() ? n.get<std::string>() : "");
  } else {
    m.axis_names = default_axis_names(rank);
  }
  return md;
}

json codec_json(const char* name, json config) {
  json c = {{"name", name}};
  if (!config.is_null()) c["configuration"] = std::move(config);
  return c;
}

}  // namespace

Zarr3Metadata parse_zarr3_metadata(std::string_view text, const std::string& where) {
  return parse_metadata_json(text, where, parse_json);
}

std::string zarr3_metadata_json(const ArraySpec& spec) {
  const size_t rank = spec.shape.size();
  if (rank == 0 || spec.chunk_shape.size() != rank || spec.shard_shape.size() != rank)
    fail(ErrorKind::InvalidArgument, "zarr3 array spec: shape " + to_string(spec.shape) + ", chunk " +
                                         to_string(spec.chunk_shape) + " and shard " +
                                         to_string(spec.shard_shape) + " must have the same rank");
  for (size_t i = 0; i < rank; ++i) {
    if (spec.shape[i] < 0 || spec.chunk_shape[i] <= 0 || spec.shard_shape[i] <= 0 ||
        spec.shard_shape[i] % spec.chunk_shape[i] != 0)
      fail(ErrorKind::InvalidArgument, "zarr3 array spec: shard " + to_string(spec.shard_shape) +
                                           " must be a positive multiple of chunk " +
                                           to_string(spec.chunk_shape));
  }
  if (!spec.axis_names.empty() && spec.axis_names.size() != rank)
    fail(ErrorKind::InvalidArgument, "zarr3 array spec: " + std::to_string(spec.axis_names.size()) +
                                         " axis names for rank " + std::to_string(rank));
  json order = json::array();
  for (size_t i = rank; i-- > 0;) order.push_back(i);
  json inner = json::array();
  inner.push_back(codec_json("transpose", {{"order", order}}));
  inner.push_back(codec_json("bytes", {{"endian", "little"}}));
  if (spec.compress) inner.push_back(codec_json("zstd", {{"checksum", true}, {"level", 5}}));

  json codecs;
  if (spec.chunk_shape == spec.shard_shape) {
    codecs = inner;
  } else {
    json index_codecs = json::array({codec_json("bytes", {{"endian", "little"}}), codec_json("crc32c", nullptr)});
    codecs = json::array({codec_json("sharding_indexed", {{"chunk_shape", json(std::vector<int64_t>(spec.chunk_shape.begin(), spec.chunk_shape.end()))},
                                                          {"codecs", inner},
                                                          {"index_codecs", index_codecs}})});
  }
  json j = {
      {"chunk_grid", {{"configuration", {{"chunk_shape", std::vector<int64_t>(spec.shard_shape.begin(), spec.shard_shape.end())}}},
                      {"name", "regular"}}},
      {"chunk_key_encoding", {{"configuration", {{"separator", "/"}}}, {"name", "default"}}},
      {"codecs", codecs},
      {"data_type", dtype_name(spec.dtype)},
      {"fill_value", zero_fill_json(spec.dtype)},
      {"node_type", "array"},
      {"shape", std::vector<int64_t>(spec.shape.begin(), spec.shape.end())},
      {"zarr_format", 3},
  };
  if (!spec.axis_names.empty()) j["dimension_names"] = spec.axis_names;
  return j.dump();
}

}  // namespace wkfs
