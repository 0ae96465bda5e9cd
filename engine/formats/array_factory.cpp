#include "core/error.hpp"
#include "formats/array.hpp"
#include "formats/wkw_array.hpp"
#include "formats/zarr2_array.hpp"
#include "formats/zarr3_array.hpp"

namespace wkfs {

void require_no_array(const fs::path& mag_dir) {
  for (const char* meta_file : {"zarr.json", ".zarray", "header.wkw"})
    if (fs::exists(mag_dir / meta_file))
      fail(ErrorKind::AlreadyExists, "an array already exists in " + mag_dir.string() + " (" + meta_file + ")");
}

namespace {
std::unique_ptr<Array> open_by_metadata(const fs::path& mag_dir) {
  if (fs::exists(mag_dir / "zarr.json")) return open_zarr3_array(mag_dir);
  if (fs::exists(mag_dir / ".zarray")) return open_zarr2_array(mag_dir);
  if (fs::exists(mag_dir / "header.wkw")) return open_wkw_array(mag_dir);
  if (!fs::exists(mag_dir)) fail(ErrorKind::NotFound, "mag folder not found: " + mag_dir.string());
  fail(ErrorKind::InvalidArgument,
       "no array in " + mag_dir.string() + " (expected zarr.json, .zarray or header.wkw)");
}
}  // namespace

std::unique_ptr<Array> open_array(const fs::path& mag_dir, std::shared_ptr<ChunkCache> cache) {
  auto array = open_by_metadata(mag_dir);
  array->set_chunk_cache(std::move(cache));
  return array;
}

std::unique_ptr<Array> create_array(const fs::path& mag_dir, DataFormat format, const ArraySpec& spec) {
  switch (format) {
    case DataFormat::Zarr3: return create_zarr3_array(mag_dir, spec);
    case DataFormat::Zarr: return create_zarr2_array(mag_dir, spec);
    case DataFormat::Wkw: return create_wkw_array(mag_dir, spec);
    default: break;
  }
  fail(ErrorKind::Unsupported, "cannot create " + data_format_name(format) + " arrays");
}

}  // namespace wkfs
