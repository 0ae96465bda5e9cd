#include "core/error.hpp"
#include "formats/array.hpp"
#include "formats/wkw_array.hpp"
#include "formats/zarr2_array.hpp"
#include "formats/zarr3_array.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"
#include "storage/store_url.hpp"

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

std::unique_ptr<Array> open_array(std::shared_ptr<storage::Store> store, const std::string& location,
                                  std::shared_ptr<ChunkCache> cache) {
  // HTTP servers cannot list, so the metadata file is found by asking for each in turn.
  auto fetch = [&](const char* name) -> std::optional<Bytes> {
    try {
      return store->get(name).data;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::NotFound) return std::nullopt;
      throw;
    }
  };
  const fs::path where(location);
  std::unique_ptr<Array> array;
  if (auto zarr_json = fetch("zarr.json")) {
    array = zarr3_array_from_metadata(where, std::string_view(reinterpret_cast<const char*>(zarr_json->data()), zarr_json->size()));
  } else if (auto zarray = fetch(".zarray")) {
    array = zarr2_array_from_metadata(where, std::string_view(reinterpret_cast<const char*>(zarray->data()), zarray->size()));
  } else if (auto header = fetch("header.wkw")) {
    array = wkw_array_from_header(where, *header);
  } else {
    fail(ErrorKind::NotFound, "no array at " + location + " (no zarr.json, .zarray or header.wkw there)");
  }
  array->attach_store(std::move(store));
  array->set_chunk_cache(std::move(cache));
  return array;
}

std::unique_ptr<Array> open_remote_array(const std::string& url, const storage::StoreContext& context,
                                         std::shared_ptr<ChunkCache> cache) {
  if (!storage::StoreUrl::is_url(url)) fail(ErrorKind::InvalidArgument, "not a remote array URL: " + url);
  std::shared_ptr<storage::Store> store = storage::open_store(url, context);
  return open_array(std::move(store), storage::StoreUrl::parse(url).to_string(), std::move(cache));
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
