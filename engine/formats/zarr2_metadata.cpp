#include "formats/zarr2_metadata.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "formats/metadata_file.hpp"
#include "formats/zarr_codec_json.hpp"

namespace wkfs {

using nlohmann::json;

std::string Zarr2Metadata::key(const VecN& idx) const {
  if (idx.empty()) return "0";
  std::string k;
  for (size_t i = 0; i < idx.size(); ++i) {
    if (i) k += separator;
    k += std::to_string(idx[i]);
  }
  return k;
}

namespace {

constexpr size_t kMaxChunkBytes = size_t{1} << 32;

int level_of(const json& c, int fallback, int lo, int hi, const std::string& what) {
  const json* l = json_member(c, "level");
  return l && !l->is_null() ? static_cast<int>(json_int(*l, lo, hi, what + " level")) : fallback;
}

// numcodecs compressor configurations ({"id": ..., ...}).
ByteCodec parse_compressor(const json& c, size_t elem_size, const std::string& where) {
  if (!c.is_object()) fail(ErrorKind::InvalidArgument, where + ": compressor must be an object or null");
  const json& idj = json_required(c, "id", where + ": compressor");
  if (!idj.is_string()) fail(ErrorKind::InvalidArgument, where + ": compressor id must be a string");
  const std::string id = idj.get<std::string>();
  const std::string what = where + ": compressor '" + id + "'";
  ByteCodec bc;
  if (id == "zstd") {
    bc.kind = ByteCodec::Kind::Zstd;
    bc.level = level_of(c, 1, -131072, 22, what);
    if (const json* k = json_member(c, "checksum"); k && k->is_boolean()) bc.checksum = k->get<bool>();
  } else if (id == "zlib") {
    bc.kind = ByteCodec::Kind::Zlib;
    bc.level = level_of(c, 1, 0, 9, what);
  } else if (id == "gzip") {
    bc.kind = ByteCodec::Kind::Gzip;
    bc.level = level_of(c, 1, 0, 9, what);
  } else if (id == "blosc") {
    bc.kind = ByteCodec::Kind::Blosc;
    const json* cname = json_member(c, "cname");
    if (cname && !cname->is_string()) fail(ErrorKind::InvalidArgument, what + ": cname must be a string");
    bc.blosc.cname = cname ? cname->get<std::string>() : "lz4";
    check_blosc_cname(bc.blosc.cname, what);
    if (const json* l = json_member(c, "clevel")) bc.blosc.clevel = static_cast<int>(json_int(*l, 0, 9, what + " clevel"));
    int shuffle = 1;
    if (const json* s = json_member(c, "shuffle")) shuffle = static_cast<int>(json_int(*s, -1, 2, what + " shuffle"));
    if (shuffle == -1) shuffle = elem_size == 1 ? 2 : 1;  // numcodecs AUTOSHUFFLE
    bc.blosc.shuffle = shuffle;
    bc.blosc.typesize = elem_size;
    if (const json* b = json_member(c, "blocksize"))
      bc.blosc.blocksize = static_cast<size_t>(json_int(*b, 0, int64_t{1} << 31, what + " blocksize"));
  } else {
    fail(ErrorKind::InvalidArgument, where + ": unknown compressor '" + id + "'");
  }
  return bc;
}

Zarr2Metadata parse_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::InvalidArgument, where + ": not a JSON object");
  const json& fmt = json_required(j, "zarr_format", where);
  if (!fmt.is_number_integer() || fmt.get<int64_t>() != 2)
    fail(ErrorKind::InvalidArgument, where + ": zarr_format is " + fmt.dump() + ", expected 2");

  Zarr2Metadata md;
  ArrayMeta& m = md.meta;
  m.shape = json_int_vector(json_required(j, "shape", where), 0, where + ": shape");
  m.chunk_shape = json_int_vector(json_required(j, "chunks", where), 1, where + ": chunks");
  if (m.chunk_shape.size() != m.shape.size())
    fail(ErrorKind::InvalidArgument, where + ": chunks " + to_string(m.chunk_shape) +
                                         " does not match the rank of shape " + to_string(m.shape));
  m.shard_shape = m.chunk_shape;

  const json& dt = json_required(j, "dtype", where);
  if (!dt.is_string()) fail(ErrorKind::InvalidArgument, where + ": unsupported dtype " + dt.dump());
  try {
    m.dtype = parse_zarr2_typestr(dt.get<std::string>(), md.codec.big_endian);
  } catch (const Error&) {
    fail(ErrorKind::InvalidArgument, where + ": unknown dtype '" + dt.get<std::string>() + "'");
  }
  checked_volume_bytes(m.chunk_shape, m.elem_size(), kMaxChunkBytes, where + ": chunks");

  m.fill_value = parse_fill_value(j.value("fill_value", json()), m.dtype, where + ": fill_value");

  const json* order = json_member(j, "order");
  std::string ord = order && order->is_string() ? order->get<std::string>() : "";
  if (ord == "F") {
    for (size_t i = m.rank(); i-- > 0;) md.codec.order.push_back(static_cast<int64_t>(i));
    if (is_identity_order(md.codec.order)) md.codec.order.clear();
  } else if (ord != "C") {
    fail(ErrorKind::InvalidArgument, where + ": order must be \"C\" or \"F\", got " + (order ? order->dump() : "nothing"));
  }

  if (const json* f = json_member(j, "filters"); f && !f->is_null() && !(f->is_array() && f->empty())) {
    std::string ids;
    if (f->is_array())
      for (const json& e : *f) ids += (ids.empty() ? "" : ",") + (e.is_object() ? e.value("id", std::string("?")) : e.dump());
    fail(ErrorKind::Unsupported, where + ": filters (" + ids + ") are not supported");
  }
  if (const json* c = json_member(j, "compressor"); c && !c->is_null())
    md.codec.byte_codecs.push_back(parse_compressor(*c, m.elem_size(), where));

  if (const json* sep = json_member(j, "dimension_separator"); sep && !sep->is_null()) {
    if (*sep == "/") md.separator = '/';
    else if (*sep != ".") fail(ErrorKind::InvalidArgument, where + ": unknown dimension_separator " + sep->dump());
  }
  m.axis_names = default_axis_names(m.rank());
  md.codec.validate(m.rank(), where);
  return md;
}

}  // namespace

Zarr2Metadata parse_zarray(std::string_view text, const std::string& where) {
  return parse_metadata_json(text, where, parse_json);
}

std::string zarray_json(const ArraySpec& spec) {
  const size_t rank = spec.shape.size();
  if (rank == 0 || spec.chunk_shape.size() != rank)
    fail(ErrorKind::InvalidArgument, "zarr array spec: shape " + to_string(spec.shape) + " and chunk " +
                                         to_string(spec.chunk_shape) + " must have the same rank");
  if (!spec.shard_shape.empty() && spec.shard_shape != spec.chunk_shape)
    fail(ErrorKind::InvalidArgument, "zarr (v2) arrays cannot be sharded: shard " + to_string(spec.shard_shape) +
                                         " != chunk " + to_string(spec.chunk_shape));
  for (size_t i = 0; i < rank; ++i)
    if (spec.shape[i] < 0 || spec.chunk_shape[i] <= 0)
      fail(ErrorKind::InvalidArgument, "zarr array spec: invalid shape " + to_string(spec.shape) +
                                           " or chunk " + to_string(spec.chunk_shape));
  json compressor = spec.compress ? json{{"id", "zstd"}, {"level", 5}} : json(nullptr);
  json j = {
      {"chunks", std::vector<int64_t>(spec.chunk_shape.begin(), spec.chunk_shape.end())},
      {"compressor", compressor},
      {"dimension_separator", "/"},
      {"dtype", zarr2_typestr(spec.dtype)},
      {"fill_value", zero_fill_json(spec.dtype)},
      {"filters", nullptr},
      {"order", "F"},
      {"shape", std::vector<int64_t>(spec.shape.begin(), spec.shape.end())},
      {"zarr_format", 2},
  };
  return j.dump();
}

}  // namespace wkfs
