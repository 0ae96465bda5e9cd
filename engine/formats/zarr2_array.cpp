#include "formats/zarr2_array.hpp"


#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/metadata_file.hpp"
#include "formats/zarr2_metadata.hpp"

namespace wkfs {

namespace {

std::string text_of(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// Zarr v2 has no sharding: every chunk is its own file, so a "shard" here is one chunk.
class Zarr2Array final : public Array {
 public:
  Zarr2Array(fs::path path, Zarr2Metadata md) : Array(std::move(path), md.meta), md_(std::move(md)) {}

  std::string shard_key(const VecN& shard_index) const override { return md_.key(shard_index); }

  void resize(const VecN& new_shape) override {
    require_local("resize of");
    rewrite_metadata_shape(path(), ".zarray", new_shape, meta().rank());
    set_shape(new_shape);
  }

  std::string codec_summary() const override { return md_.codec.summary(); }
  bool compressed() const override { return md_.codec.compressed(); }

 protected:
  std::optional<Bytes> decode_chunk(ShardFile& file, const VecN&) const override {
    Bytes stored = file.read(storage::ByteRange::whole());  // a remote chunk: one GET
    return md_.codec.decode(stored, meta().chunk_shape, meta().elem_size(), file.name());
  }

  ShardChunks decode_shard(ByteSpan file, const fs::path& path) const override {
    ShardChunks chunks;
    chunks.emplace_back(md_.codec.decode(file, meta().chunk_shape, meta().elem_size(), path.string()));
    return chunks;
  }

  std::optional<Bytes> encode_shard(const ShardChunks& chunks, const VecN&) const override {
    // tensorstore does not store chunks equal to the fill value
    if (chunks.empty() || !chunks[0] || is_fill(*chunks[0])) return std::nullopt;
    return md_.codec.encode(*chunks[0], meta().chunk_shape, meta().elem_size());
  }

 private:
  Zarr2Metadata md_;
};

}  // namespace

std::unique_ptr<Array> zarr2_array_from_metadata(const fs::path& location, std::string_view text) {
  Zarr2Metadata md = parse_zarray(text, (location / ".zarray").string());
  return std::make_unique<Zarr2Array>(location, std::move(md));
}

std::unique_ptr<Array> open_zarr2_array(const fs::path& mag_dir) {
  return zarr2_array_from_metadata(mag_dir, text_of(read_file(mag_dir / ".zarray")));
}

std::unique_ptr<Array> create_zarr2_array(const fs::path& mag_dir, const ArraySpec& spec) {
  require_no_array(mag_dir);
  std::string text = zarray_json(spec);
  parse_zarray(text, (mag_dir / ".zarray").string());  // never write what we cannot read
  fs::create_directories(mag_dir);
  write_file_atomic(mag_dir / ".zarray", text);
  return open_zarr2_array(mag_dir);
}

}  // namespace wkfs
