#include "formats/zarr2_array.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "formats/zarr2_metadata.hpp"

namespace wkfs {

namespace {

std::string text_of(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// Zarr v2 has no sharding: every chunk is its own file, so a "shard" here is one chunk.
class Zarr2Array final : public Array {
 public:
  Zarr2Array(fs::path path, Zarr2Metadata md) : Array(std::move(path), md.meta), md_(std::move(md)) {}

  fs::path shard_path(const VecN& shard_index) const override { return path() / md_.key(shard_index); }

  void resize(const VecN& new_shape) override {
    if (new_shape.size() != meta().rank())
      fail(ErrorKind::InvalidArgument, "resize of " + path().string() + ": shape " + to_string(new_shape) +
                                           " does not have rank " + std::to_string(meta().rank()));
    for (int64_t s : new_shape)
      if (s < 0) fail(ErrorKind::InvalidArgument, "resize of " + path().string() + ": negative shape " + to_string(new_shape));
    fs::path file = path() / ".zarray";
    nlohmann::ordered_json j;  // keeps unknown keys and their order
    try {
      j = nlohmann::ordered_json::parse(text_of(read_file(file)));
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::InvalidArgument, file.string() + ": invalid JSON: " + e.what());
    }
    if (!j.is_object()) fail(ErrorKind::InvalidArgument, file.string() + ": not a JSON object");
    j["shape"] = std::vector<int64_t>(new_shape.begin(), new_shape.end());
    write_file_atomic(file, j.dump());
    set_shape(new_shape);
  }

  std::string codec_summary() const override { return md_.codec.summary(); }
  bool compressed() const override { return md_.codec.compressed(); }

 protected:
  std::optional<Bytes> decode_chunk(int fd, uint64_t file_size, const fs::path& file, const VecN&) const override {
    Bytes stored = pread_exact(fd, 0, file_size, file);
    return md_.codec.decode(stored, meta().chunk_shape, meta().elem_size(), file.string());
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

std::unique_ptr<Array> open_zarr2_array(const fs::path& mag_dir) {
  fs::path file = mag_dir / ".zarray";
  Zarr2Metadata md = parse_zarray(text_of(read_file(file)), file.string());
  return std::make_unique<Zarr2Array>(mag_dir, std::move(md));
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
