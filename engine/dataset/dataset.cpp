#include "dataset/dataset.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/layer_lookup.hpp"
#include "dataset/remote_source_mag.hpp"

namespace wkfs {

namespace {

const MagEntry& require_mag(const LayerProperties& l, const Mag& mag) {
  const auto* m = l.find_mag(mag);
  if (!m) fail(ErrorKind::NotFound, "layer '" + l.name + "' has no mag " + mag.long_name());
  return *m;
}

Vec3 round_up(Vec3 v, Vec3 m) { return v.ceil_div(m) * m; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Opening, creating, saving

namespace {
fs::path normal_root(const fs::path& root) {
  fs::path r = fs::absolute(root).lexically_normal();
  return r.has_filename() ? r : r.parent_path();
}
}  // namespace

Dataset::Dataset(Key, const fs::path& root, bool read_only, std::shared_ptr<ChunkCache> cache,
                 storage::StoreContext remote, std::string overlaid_url)
    : root_(normal_root(root)),
      read_only_(read_only),
      cache_(std::move(cache)),
      remote_(std::move(remote), std::move(overlaid_url)),
      store_(root_, read_only, [this] { views_.clear(); }) {}

std::shared_ptr<Dataset> Dataset::open(const fs::path& root, bool read_only, std::shared_ptr<ChunkCache> cache,
                                       storage::StoreContext remote, std::string overlaid_url) {
  if (!fs::is_directory(root)) fail(ErrorKind::NotFound, "dataset folder not found: " + root.string());
  auto ds = std::make_shared<Dataset>(Key{}, root, read_only, std::move(cache), std::move(remote),
                                      std::move(overlaid_url));
  ds->store_.reload();
  if (!read_only) ds->remove_unlisted_mag_links();
  return ds;
}

std::shared_ptr<Dataset> Dataset::create(const fs::path& root, const VoxelSize& voxel_size) {
  if (fs::exists(root) && !fs::is_directory(root))
    fail(ErrorKind::InvalidArgument, "cannot create a dataset at " + root.string() + ": not a directory");
  if (fs::is_directory(root) && !fs::is_empty(root))
    fail(ErrorKind::NotEmpty, "cannot create a dataset at " + root.string() + ": the folder is not empty");
  parse_length_unit(voxel_size.unit);
  bool created = fs::create_directories(root);
  auto ds = std::make_shared<Dataset>(Key{}, root, false, nullptr);
  try {
    DatasetProperties p;
    p.id = Json{{"name", ds->root_.filename().string()}, {"team", ""}};
    p.voxel_size = voxel_size;
    p.voxel_size.unit = parse_length_unit(voxel_size.unit);
    std::lock_guard g(ds->mutex_);
    ds->store_.create(p);
  } catch (...) {
    std::error_code ec;
    if (created) fs::remove_all(root, ec);
    throw;
  }
  return ds;
}

// add_symlink_mag makes the link, then lists it; delete_mag unlists, then removes the link. A kill
// between the two steps leaves a link named like a mag that no properties entry has: it is ours
// (only those two make such links) and holds no data, so it goes. A link that is not to a mag
// folder of a dataset is not ours and stays.
void Dataset::remove_unlisted_mag_links() {
  const DatasetProperties props = properties();
  for (const auto& l : props.layers) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root_ / l.name, ec)) {
      const std::string name = e.path().filename().string();
      if (!e.is_symlink(ec) || name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
      std::optional<Mag> mag;
      try {
        mag = Mag::parse(name);
      } catch (const Error&) {
        continue;
      }
      if (name != mag->short_name() && name != mag->long_name()) continue;
      if (l.find_mag(*mag)) continue;
      try {
        locate_source_mag(e.path());
      } catch (const Error&) {
        continue;  // not a link to a mag: not one of ours
      }
      fs::remove(e.path(), ec);
    }
  }
}

DatasetProperties Dataset::properties() const {
  std::lock_guard g(mutex_);
  return store_.properties();
}

void Dataset::reload() {
  std::lock_guard g(mutex_);
  store_.reload();
}

void Dataset::prune_views_locked() {
  const DatasetProperties& props = store_.properties();
  for (auto it = views_.begin(); it != views_.end();) {
    const auto* l = props.find_layer(it->first.first);
    const MagEntry* m = l ? l->find_mag(Mag::parse(it->first.second)) : nullptr;
    if (!m || m->path != it->second.path) it = views_.erase(it);
    else ++it;
  }
}

void Dataset::transact(const std::function<void(DatasetProperties&, UndoList&)>& change,
                       const std::function<void(const DatasetProperties&)>& after_save) {
  std::lock_guard g(mutex_);
  try {
    // every change is held to the bounding-box limits, whichever call grew the box (a mag import
    // unions it with its source's); a refusal undoes the change's file operations
    auto checked = [&](DatasetProperties& p, UndoList& undo) {
      const DatasetProperties before = p;
      change(p, undo);
      check_new_bounding_boxes(before, p);
    };
    store_.transact(checked, [&](const DatasetProperties& p) {
      prune_views_locked();
      if (after_save) after_save(p);
    });
  } catch (...) {
    prune_views_locked();  // views opened for the failed change must not outlive it
    throw;
  }
}

void Dataset::mutate(const std::function<void(DatasetProperties&)>& change) {
  transact([&](DatasetProperties& p, UndoList&) { change(p); });
}

void Dataset::update_properties(const std::function<void(DatasetProperties&)>& change) { mutate(change); }

namespace {

// The library's rule for a local mag path: it resolves to a folder holding an array that opens.
// Entries the current properties already have (same layer, mag and path) are not rechecked, so an
// edit elsewhere in the file is never refused because of an old, broken mag.
void check_new_mag_paths(const fs::path& root, const DatasetProperties& current, const DatasetProperties& next) {
  for (const auto& l : next.layers) {
    const LayerProperties* old_layer = current.find_layer(l.name);
    for (const auto& m : l.mags) {
      const MagEntry* old = old_layer ? old_layer->find_mag(m.mag) : nullptr;
      if (old && old->path == m.path) continue;
      if (is_url_mag(m)) continue;  // not opened by wkfs (Unsupported when used)
      const std::string what = "mag " + m.mag.long_name() + " of layer '" + l.name + "'";
      fs::path dir;
      try {
        dir = resolve_mag_path(root, l, m);
        open_array(dir);
      } catch (const Error& e) {
        fail(ErrorKind::InvalidArgument, what + " (path " + m.path.value_or("<legacy>") + ") is not a mag folder with " +
                                             "array metadata: " + e.what() + "; add the mag with mkdir or the add-mag "
                                             "commands, or point its path at a mag folder");
      }
    }
  }
}

}  // namespace

void Dataset::replace_properties(const std::string& text) {
  std::lock_guard g(mutex_);
  const auto next = DatasetProperties::parse(text);
  check_new_bounding_boxes(store_.properties(), next);
  check_new_mag_paths(root_, store_.properties(), next);
  store_.replace(text);
  prune_views_locked();
}

// ---------------------------------------------------------------------------------------------
// Data access

fs::path Dataset::mag_path(const std::string& layer, const Mag& mag) const {
  std::lock_guard g(mutex_);
  const auto& l = require_layer(store_.properties(), layer, root_);
  return resolve_mag_path(root_, l, require_mag(l, mag));
}

std::string Dataset::mag_location(const std::string& layer, const Mag& mag) const {
  std::lock_guard g(mutex_);
  const auto& l = require_layer(store_.properties(), layer, root_);
  return wkfs::mag_location(root_, l, require_mag(l, mag), remote_.overlaid_url());
}

bool Dataset::is_remote_mag(const std::string& layer, const Mag& mag) const {
  std::lock_guard g(mutex_);
  const auto& l = require_layer(store_.properties(), layer, root_);
  return remote_location(root_, remote_.overlaid_url(), l, require_mag(l, mag)).has_value();
}

storage::StoreContext Dataset::store_context() const { return remote_.get(); }

bool Dataset::is_foreign_mag(const std::string& layer, const Mag& mag) const {
  std::lock_guard g(mutex_);
  const auto& l = require_layer(store_.properties(), layer, root_);
  return is_foreign_mag_entry(root_, l, require_mag(l, mag));
}

std::optional<Mag> Dataset::finest_mag(const std::string& layer) const {
  std::lock_guard g(mutex_);
  const auto& l = require_layer(store_.properties(), layer, root_);
  if (l.mags.empty()) return std::nullopt;
  return std::min_element(l.mags.begin(), l.mags.end(),
                          [](const MagEntry& a, const MagEntry& b) { return Mag::less_by_max_dim(a.mag, b.mag); })
      ->mag;
}

std::shared_ptr<MagView> Dataset::mag_view_locked(const LayerProperties& l, const MagEntry& m) const {
  auto key = std::make_pair(l.name, m.mag.long_name());
  auto it = views_.find(key);
  if (it != views_.end()) return it->second.view;
  auto array = open_mag_array(root_, l, m, remote_, cache_);
  bool ro = read_only_ || is_foreign_mag_entry(root_, l, m);
  auto view = std::make_shared<MagView>(array, m.mag, l.array_axes(), l.num_channels,
                                        static_cast<int>(m.channel_index.value_or(0)), ro);
  views_[key] = CachedView{view, m.path};
  return view;
}

std::shared_ptr<MagView> Dataset::mag_view(const std::string& layer, const Mag& mag) const {
  std::lock_guard g(mutex_);
  const auto& l = require_layer(store_.properties(), layer, root_);
  return mag_view_locked(l, require_mag(l, mag));
}

void Dataset::resize_mags_locked(const LayerProperties& layer, UndoList& undo) {
  for (const auto& m : layer.mags) {
    if (is_foreign_mag_entry(root_, layer, m)) continue;
    std::shared_ptr<MagView> view;
    try {
      view = mag_view_locked(layer, m);
    } catch (const Error&) {
      continue;  // a mag without a valid array fails only when used (notes 2.3)
    }
    Array& a = view->array();
    auto idx = xyz_axes(layer, a.meta());
    Vec3 shard = spatial(a.meta().shard_shape, idx);
    // bounding_box setter: ceil(floor(bottomright / mag) / shard) * shard (notes 4.5)
    Vec3 extent = round_up(layer.bounding_box.bottom_right().floor_div(m.mag.vec()), shard);
    VecN old_shape = a.meta().shape, shape = old_shape;
    for (int i = 0; i < 3; ++i) shape[idx[static_cast<size_t>(i)]] = extent[i];
    if (shape == old_shape) continue;
    a.resize(shape);
    // a std::vector copy: moving a small_vector into std::function trips gcc 12's stringop-overread
    std::vector<int64_t> old(old_shape.begin(), old_shape.end());
    undo.push_back([&a, old] { a.resize(VecN(old.begin(), old.end())); });
  }
}

// ---------------------------------------------------------------------------------------------
// Layers

void Dataset::add_layer(const LayerSpec& spec) {
  if (!is_valid_layer_name(spec.name))
    fail(ErrorKind::InvalidArgument, "invalid layer name '" + spec.name + "'");
  if (spec.num_channels < 1 || spec.num_channels > 4096)
    fail(ErrorKind::InvalidArgument, "numChannels must be between 1 and 4096, got " + std::to_string(spec.num_channels));
  if (spec.data_format != DataFormat::Zarr3 && spec.data_format != DataFormat::Zarr && spec.data_format != DataFormat::Wkw)
    fail(ErrorKind::Unsupported, "layers can be created as wkw, zarr or zarr3, not " + data_format_name(spec.data_format));
  // dataset.py L113-131: the dtypes the library allows per category
  if (spec.category == Category::Color && (spec.dtype == DType::UInt64 || spec.dtype == DType::Int64 || spec.dtype == DType::Float64))
    fail(ErrorKind::InvalidArgument, "dtype " + dtype_name(spec.dtype) + " is not allowed for color layers");
  if (spec.category == Category::Segmentation && dtype_is_float(spec.dtype))
    fail(ErrorKind::InvalidArgument, "dtype " + dtype_name(spec.dtype) + " is not allowed for segmentation layers");
  if (spec.bounding_box) check_bounding_box(*spec.bounding_box);  // before any folder is made
  transact([&](DatasetProperties& p, UndoList& undo) {
    if (p.find_layer(spec.name))
      fail(ErrorKind::AlreadyExists, "layer '" + spec.name + "' already exists in " + root_.string());
    LayerProperties l;
    l.name = spec.name;
    l.category = spec.category;
    l.dtype = spec.dtype;
    l.num_channels = spec.num_channels;
    l.data_format = spec.data_format;
    if (spec.bounding_box) l.bounding_box = *spec.bounding_box;
    if (spec.category == Category::Segmentation) l.largest_segment_id = spec.largest_segment_id;
    p.layers.push_back(l);
    fs::path dir = root_ / spec.name;
    if (!fs::exists(dir)) {
      fs::create_directories(dir);
      undo.push_back([dir] { fs::remove_all(dir); });
    }
  });
}

void Dataset::delete_layer(const std::string& layer) {
  fs::path dir = root_ / layer;
  transact(
      [&](DatasetProperties& p, UndoList&) {
        require_layer(p, layer, root_);
        std::erase_if(p.layers, [&](const LayerProperties& l) { return l.name == layer; });
      },
      [&](const DatasetProperties&) {
        std::error_code ec;
        if (fs::is_symlink(dir)) fs::remove(dir, ec);  // a symlinked layer: keep its target
        else fs::remove_all(dir, ec);
        if (ec) fail_errno(ec.value(), "layer '" + layer + "' was removed from the properties but its folder " +
                                           dir.string() + " could not be deleted");
      });
}

void Dataset::rename_layer(const std::string& from, const std::string& to) {
  if (from == to) {
    std::lock_guard g(mutex_);
    require_layer(store_.properties(), from, root_);
    return;
  }
  if (!is_valid_layer_name(to)) fail(ErrorKind::InvalidArgument, "invalid layer name '" + to + "'");
  transact([&](DatasetProperties& p, UndoList& undo) {
    auto& l = require_layer(p, from, root_);
    if (p.find_layer(to)) fail(ErrorKind::AlreadyExists, "layer '" + to + "' already exists in " + root_.string());
    fs::path old_dir = root_ / from, new_dir = root_ / to;
    if (fs::exists(fs::symlink_status(new_dir)))
      fail(ErrorKind::AlreadyExists, "cannot rename layer '" + from + "': " + new_dir.string() + " exists");
    // Decide what is foreign before the folder moves.
    std::vector<std::optional<std::string>> new_paths;
    for (const auto& m : l.mags) {
      if (is_foreign_mag_entry(root_, l, m)) {
        new_paths.push_back(m.path);
        continue;
      }
      std::string folder = m.mag.short_name();
      try {
        folder = resolve_mag_path(root_, l, m).filename().string();
      } catch (const Error&) {
      }
      new_paths.push_back("./" + to + "/" + folder);
    }
    if (fs::exists(fs::symlink_status(old_dir))) {
      fs::rename(old_dir, new_dir);
      undo.push_back([old_dir, new_dir] { fs::rename(new_dir, old_dir); });
    }
    l.name = to;
    for (size_t i = 0; i < l.mags.size(); ++i) l.mags[i].path = new_paths[i];
  });
}

// ---------------------------------------------------------------------------------------------
// Mags

void Dataset::add_mag(const std::string& layer, const Mag& mag, const MagOptions& options) {
  transact([&](DatasetProperties& p, UndoList& undo) {
    auto& l = require_layer(p, layer, root_);
    require_new_mag(l, mag);
    create_mag(root_, l, mag, resolve_mag_options(l, options), undo);
  });
}

void Dataset::delete_mag(const std::string& layer, const Mag& mag) {
  std::optional<fs::path> local_dir;
  bool foreign = false;
  transact(
      [&](DatasetProperties& p, UndoList&) {
        auto& l = require_layer(p, layer, root_);
        const MagEntry* m = l.find_mag(mag);
        if (!m)
          fail(ErrorKind::NotFound, "Deleting mag " + mag.long_name() + " of layer '" + layer +
                                        "' failed. There is no mag with this name");
        foreign = is_foreign_mag_entry(root_, l, *m);
        if (!foreign) {
          try {
            local_dir = resolve_mag_path(root_, l, *m);
          } catch (const Error&) {
          }
        }
        std::erase_if(l.mags, [&](const MagEntry& e) { return e.mag == mag; });
      },
      [&](const DatasetProperties&) {
        std::error_code ec;
        if (foreign) {  // only the symlink in the layer folder, never the data
          for (const auto& name : {mag.short_name(), mag.long_name()}) {
            fs::path link = root_ / layer / name;
            if (fs::is_symlink(link)) fs::remove(link, ec);
          }
        } else if (local_dir) {
          fs::remove_all(*local_dir, ec);
        }
        if (ec) fail_errno(ec.value(), "mag " + mag.long_name() + " was removed from the properties but its files could not be deleted");
      });
}

void Dataset::unlist_mag(const std::string& layer, const Mag& mag) {
  mutate([&](DatasetProperties& p) {
    auto& l = require_layer(p, layer, root_);
    require_mag(l, mag);
    std::erase_if(l.mags, [&](const MagEntry& e) { return e.mag == mag; });
  });
}

void Dataset::set_bounding_box(const std::string& layer, const BoundingBox& box) {
  check_bounding_box(box);  // before any array is resized
  transact([&](DatasetProperties& p, UndoList& undo) {
    auto& l = require_layer(p, layer, root_);
    l.bounding_box = box;
    resize_mags_locked(l, undo);
  });
}

void Dataset::set_largest_segment_id(const std::string& layer, std::optional<int64_t> id) {
  transact([&](DatasetProperties& p, UndoList&) {
    auto& l = require_layer(p, layer, root_);
    if (l.category != Category::Segmentation)
      fail(ErrorKind::InvalidArgument, "layer '" + layer + "' is a color layer and has no largestSegmentId");
    l.largest_segment_id = id;
  });
}

void Dataset::set_default_view_configuration(const std::string& layer, const Json& config) {
  if (!config.is_null() && !config.is_object())
    fail(ErrorKind::InvalidArgument, "defaultViewConfiguration must be an object");
  transact([&](DatasetProperties& p, UndoList&) { require_layer(p, layer, root_).default_view_configuration = config; });
}

}  // namespace wkfs
