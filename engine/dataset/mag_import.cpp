// Dataset's operations that add a mag from data that already exists: a link to another dataset's mag,
// a remote mag (path or URL), a re-encoded or byte copy, files already in the layer folder, a Zarr array.
// Each is one transaction: the mag is listed once its folder (or link) is complete.
#include <algorithm>

#include "core/error.hpp"
#include "core/staged_dir.hpp"
#include "dataset/dataset.hpp"
#include "dataset/layer_lookup.hpp"
#include "dataset/remote_source_mag.hpp"
#include "storage/store_url.hpp"

namespace wkfs {

namespace {

DataFormat array_format_in(const fs::path& dir) {
  if (fs::exists(dir / "zarr.json")) return DataFormat::Zarr3;
  if (fs::exists(dir / ".zarray")) return DataFormat::Zarr;
  if (fs::exists(dir / "header.wkw")) return DataFormat::Wkw;
  fail(ErrorKind::InvalidArgument, "no array in " + dir.string());
}

/// Recursive copy to a staged sibling, then one rename: the target appears complete or not at all.
void copy_tree_atomic(const fs::path& from, const fs::path& to) {
  StagedDir staged(to, "copy");
  std::error_code ec;
  fs::copy(from, staged.path(), fs::copy_options::recursive, ec);
  if (ec) fail_errno(ec.value(), "cannot copy " + from.string() + " to " + to.string());
  staged.commit();
}

std::optional<int64_t> cube_length_of(const SourceMag& src) {
  if (src.entry.cube_length) return src.entry.cube_length;
  if (src.layer.data_format != DataFormat::Wkw) return std::nullopt;
  auto a = open_array(src.dir);
  return spatial(a->meta().shard_shape, xyz_axes(src.layer, a->meta())).x;
}

void check_compatible(const LayerProperties& l, const LayerProperties& src, bool check_format) {
  if (check_format && l.data_format != src.data_format)
    fail(ErrorKind::InvalidArgument, "Cannot add a mag whose data format (" + data_format_name(src.data_format) +
                                         ") differs from the layer's (" + data_format_name(l.data_format) + ")");
  if (l.dtype != src.dtype || l.num_channels != src.num_channels)
    fail(ErrorKind::InvalidArgument, "Cannot add a mag of dtype " + dtype_name(src.dtype) + " x" +
                                         std::to_string(src.num_channels) + " to layer '" + l.name + "' (" +
                                         dtype_name(l.dtype) + " x" + std::to_string(l.num_channels) + ")");
}

void check_no_folder(const fs::path& root, const std::string& layer, const Mag& mag) {
  for (const auto& name : {mag.short_name(), mag.long_name()}) {
    fs::path p = root / layer / name;
    if (fs::exists(fs::symlink_status(p)))
      fail(ErrorKind::AlreadyExists, "cannot add mag " + mag.long_name() + ": " + p.string() + " exists");
  }
}

}  // namespace

void Dataset::add_symlink_mag(const std::string& layer, const fs::path& target, bool make_relative) {
  SourceMag src = locate_source_mag(target);
  transact([&](DatasetProperties& p, UndoList& undo) {
    auto& l = require_layer(p, layer, root_);
    const Mag mag = src.entry.mag;
    require_new_mag(l, mag);
    check_no_folder(root_, layer, mag);
    fs::path layer_dir = root_ / layer;
    if (!fs::exists(layer_dir)) {
      fs::create_directories(layer_dir);
      undo.push_back([layer_dir] { fs::remove_all(layer_dir); });
    }
    fs::path link = layer_dir / mag.short_name();
    fs::path link_target = make_relative ? src.dir.lexically_relative(resolve_path(layer_dir)) : src.dir;
    fs::create_directory_symlink(link_target, link);
    undo.push_back([link] { fs::remove(link); });
    // add_symlink_mag stores the target, relative to the dataset without "./", or absolute
    MagEntry e = new_mag_entry(l, mag, cube_length_of(src));
    e.path = make_relative ? src.dir.lexically_relative(resolve_path(root_)).generic_string() : src.dir.generic_string();
    l.mags.push_back(e);
    l.bounding_box = l.bounding_box.union_with(src.layer.bounding_box);
    resize_mags_locked(l, undo);
  });
}

void Dataset::add_remote_mag_url(const std::string& layer, const std::string& url, std::optional<Mag> as_mag) {
  if (read_only_) fail(ErrorKind::ReadOnly, "dataset " + root_.string() + " is read-only");
  // Fetched before the lock: a slow server delays only this call.
  RemoteSourceMag src = locate_remote_source_mag(url, store_context());
  transact([&](DatasetProperties& p, UndoList& undo) {
    auto& l = require_layer(p, layer, root_);
    check_compatible(l, src.layer, true);
    const Mag mag = as_mag.value_or(src.entry.mag);
    require_new_mag(l, mag);
    std::optional<int64_t> cube_length = src.entry.cube_length;
    if (!cube_length && src.layer.data_format == DataFormat::Wkw)
      cube_length = spatial(src.array->meta().shard_shape, xyz_axes(src.layer, src.array->meta())).x;
    MagEntry e = new_mag_entry(l, mag, cube_length);
    e.path = src.url;
    e.channel_index = src.entry.channel_index;
    l.mags.push_back(e);
    l.bounding_box = l.bounding_box.union_with(src.layer.bounding_box);
    resize_mags_locked(l, undo);
  });
}

void Dataset::add_remote_mag(const std::string& layer, const fs::path& source_mag_dir, std::optional<Mag> as_mag) {
  if (storage::StoreUrl::is_url(source_mag_dir.string())) return add_remote_mag_url(layer, source_mag_dir.string(), as_mag);
  SourceMag src = locate_source_mag(source_mag_dir);
  transact([&](DatasetProperties& p, UndoList& undo) {
    auto& l = require_layer(p, layer, root_);
    check_compatible(l, src.layer, true);
    const Mag mag = as_mag.value_or(src.entry.mag);
    require_new_mag(l, mag);
    MagEntry e = new_mag_entry(l, mag, cube_length_of(src));
    e.path = dump_path(src.dir, root_);
    e.channel_index = src.entry.channel_index;  // the same array, so the same channels in it
    l.mags.push_back(e);
    l.bounding_box = l.bounding_box.union_with(src.layer.bounding_box);
    resize_mags_locked(l, undo);
  });
}

void Dataset::add_copy_mag(const std::string& layer, const fs::path& source_mag_dir, const MagOptions& options) {
  SourceMag src = locate_source_mag(source_mag_dir);
  auto src_ds = Dataset::open(src.dataset_root, true);
  auto src_view = src_ds->mag_view(src.layer.name, src.entry.mag);
  const auto& src_meta = src_view->array().meta();
  auto src_idx = xyz_axes(src.layer, src_meta);
  transact([&](DatasetProperties& p, UndoList& undo) {
    auto& l = require_layer(p, layer, root_);
    check_compatible(l, src.layer, false);
    const Mag mag = src.entry.mag;
    require_new_mag(l, mag);
    if (!l.is_plain_3d() || !src.layer.is_plain_3d())
      fail(ErrorKind::Unsupported, "add_copy_mag supports 3D layers only");
    // add_mag with the source's shapes and compression unless overridden
    MagOptions o = options;
    if (!o.chunk_shape) o.chunk_shape = spatial(src_meta.chunk_shape, src_idx);
    if (!o.shard_shape) o.shard_shape = l.data_format == DataFormat::Zarr ? *o.chunk_shape : spatial(src_meta.shard_shape, src_idx);
    if (!o.compress) o.compress = src_view->array().compressed();
    NewMagShapes shapes = resolve_mag_options(l, o);
    l.bounding_box = l.bounding_box.union_with(src.layer.bounding_box);
    std::shared_ptr<Array> array = create_mag(root_, l, mag, shapes, undo);
    MagView dst(array, mag, l.array_axes(), l.num_channels, 0, false);
    resize_mags_locked(l, undo);
    // Re-encode in steps of shard * mag (mag-1 coordinates), skipping all-fill blocks.
    BoundingBox region = src.layer.bounding_box.align_outward(mag);
    Bytes buf;
    for_each_block(region, shapes.shard * mag.vec(), [&](const BoundingBox& block) {
      buf.assign(src_view->buffer_size(block), std::byte{0});
      src_view->read(block, buf);
      if (std::any_of(buf.begin(), buf.end(), [](std::byte b) { return b != std::byte{0}; })) dst.write(block, buf);
    });
  });
}

void Dataset::add_fs_copy_mag(const std::string& layer, const fs::path& source_mag_dir) {
  SourceMag src = locate_source_mag(source_mag_dir);
  transact([&](DatasetProperties& p, UndoList& undo) {
    auto& l = require_layer(p, layer, root_);
    check_compatible(l, src.layer, true);
    const Mag mag = src.entry.mag;
    require_new_mag(l, mag);
    check_no_folder(root_, layer, mag);
    fs::path dir = root_ / layer / mag.short_name();
    fs::create_directories(dir.parent_path());
    copy_tree_atomic(src.dir, dir);
    undo.push_back([dir] { fs::remove_all(dir); });
    MagEntry e = new_mag_entry(l, mag, cube_length_of(src));
    e.channel_index = src.entry.channel_index;  // a byte copy of the array: the same channels in it
    l.mags.push_back(e);
    l.bounding_box = l.bounding_box.union_with(src.layer.bounding_box);
    resize_mags_locked(l, undo);
  });
}

void Dataset::add_mag_for_existing_files(const std::string& layer, const Mag& mag) {
  transact([&](DatasetProperties& p, UndoList&) {
    auto& l = require_layer(p, layer, root_);
    require_new_mag(l, mag);
    fs::path dir;
    for (const auto& name : {mag.short_name(), mag.long_name()})
      if (dir.empty() && fs::is_directory(root_ / layer / name)) dir = root_ / layer / name;
    if (dir.empty())
      fail(ErrorKind::NotFound, "no folder " + (root_ / layer / mag.short_name()).string() + " (or " + mag.long_name() + ")");
    auto array = open_array(dir);
    if (array_format_in(dir) != l.data_format)
      fail(ErrorKind::InvalidArgument, "the array in " + dir.string() + " is not " + data_format_name(l.data_format));
    if (array->meta().dtype != l.dtype)
      fail(ErrorKind::InvalidArgument, "the array in " + dir.string() + " has dtype " + dtype_name(array->meta().dtype) +
                                           ", the layer " + dtype_name(l.dtype));
    MagEntry e = local_mag_entry(l, mag, array->meta());
    e.path = dump_path(dir, root_);  // the folder found, <short> or <long>
    l.mags.push_back(e);
  });
}

void Dataset::add_mag_from_zarrarray(const std::string& layer, const Mag& mag, const fs::path& array_path, bool move) {
  std::unique_ptr<Array> array;
  DataFormat format;
  try {
    format = array_format_in(array_path);
    if (format == DataFormat::Wkw) fail(ErrorKind::InvalidArgument, "WKW");
    array = open_array(array_path);
  } catch (const Error& e) {
    fail(ErrorKind::InvalidArgument, "The given path does not lead to a valid Zarr Array: " + array_path.string() + " (" + e.what() + ")");
  }
  fs::path source = fs::absolute(array_path);
  bool moved_by_copy = false;
  transact(
      [&](DatasetProperties& p, UndoList& undo) {
        auto& l = require_layer(p, layer, root_);
        require_new_mag(l, mag);
        if (format != l.data_format)
          fail(ErrorKind::InvalidArgument, "the array in " + array_path.string() + " is " + data_format_name(format) +
                                               ", the layer is " + data_format_name(l.data_format));
        if (array->meta().dtype != l.dtype)
          fail(ErrorKind::InvalidArgument, "the array has dtype " + dtype_name(array->meta().dtype) + ", the layer " + dtype_name(l.dtype));
        check_no_folder(root_, layer, mag);
        fs::path dir = root_ / layer / mag.short_name();
        fs::create_directories(dir.parent_path());
        if (move) {
          std::error_code ec;
          fs::rename(source, dir, ec);
          if (!ec) {
            undo.push_back([source, dir] { fs::rename(dir, source); });
          } else if (ec == std::errc::cross_device_link) {
            copy_tree_atomic(source, dir);
            undo.push_back([dir] { fs::remove_all(dir); });
            moved_by_copy = true;
          } else {
            fail_errno(ec.value(), "cannot move " + source.string() + " to " + dir.string());
          }
        } else {
          copy_tree_atomic(source, dir);
          undo.push_back([dir] { fs::remove_all(dir); });
        }
        l.mags.push_back(local_mag_entry(l, mag, array->meta()));
        // layer.py L903-944: bbox size := max(size, array size in array voxels), topLeft kept
        Vec3 size = spatial(array->meta().shape, xyz_axes(l, array->meta()));
        l.bounding_box.size = Vec3::max(l.bounding_box.size, size);
        resize_mags_locked(l, undo);
      },
      [&](const DatasetProperties&) {
        std::error_code ec;
        if (moved_by_copy) fs::remove_all(source, ec);
      });
}

}  // namespace wkfs
