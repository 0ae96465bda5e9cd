// The Layer and Dataset API of webknossos-libs as control commands.
#include "control/command_table.hpp"
#include "control/text_values.hpp"
#include "core/error.hpp"
#include "storage/store_url.hpp"

namespace wkfs::control {

namespace {

const CommandArgument kMagArgument{"MAG", "the mag, e.g. 2 or 2-2-1"};

Json mag_result(const Dataset& ds, const std::string& layer, const Mag& mag) {
  return Json{{"layer", layer}, {"mag", mag.long_name()}, {"path", ds.mag_path(layer, mag).string()}};
}

Json layer_summary(const LayerProperties& l) {
  Json mags = Json::array();
  for (const auto& m : l.mags) mags.push_back(m.mag.long_name());
  return Json{{"name", l.name},
              {"category", l.category == Category::Color ? "color" : "segmentation"},
              {"dtype_per_channel", dtype_name(l.dtype)},
              {"num_channels", l.num_channels},
              {"data_format", data_format_name(l.data_format)},
              {"mags", mags}};
}

// Layer.add_mag, get_or_add_mag, delete_mag and the copying and linking add_*_mag.
void add_mag_commands(CommandTable& t) {
  t.set({.name = "add-mag", .scope = CommandScope::Layer, .description = "Layer.add_mag: a new, empty mag",
         .schema = {{kMagArgument}, mag_command_options()},
         .run = [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           auto mag = Mag::parse(l.arg(0, "MAG"));
           c.dataset->add_mag(layer, mag, parse_mag_options(l));
           return mag_result(*c.dataset, layer, mag);
         }});
  t.set({.name = "get-or-add-mag", .scope = CommandScope::Layer,
         .description = "Layer.get_or_add_mag: the mag, added empty if the layer has none",
         .schema = {{kMagArgument}, mag_command_options()},
         .run = [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           auto mag = Mag::parse(l.arg(0, "MAG"));
           auto props = c.dataset->properties();
           auto* lp = props.find_layer(layer);
           if (!lp || !lp->find_mag(mag)) c.dataset->add_mag(layer, mag, parse_mag_options(l));
           return mag_result(*c.dataset, layer, mag);
         }});
  t.set({.name = "delete-mag", .scope = CommandScope::Layer,
         .description = "Layer.delete_mag (a lazy mag's registration goes too)", .schema = {{kMagArgument}, {}},
         .run = [](CommandContext& c, const CommandLine& l) {
           auto mag = Mag::parse(l.arg(0, "MAG"));
           c.require_lazy().delete_mag(c.dataset, c.require_layer(l.name), mag);
           return Json{{"mag", mag.long_name()}};
         }});
  t.set({.name = "add-symlink-mag", .scope = CommandScope::Layer,
         .description = "Layer.add_symlink_mag: a mag that is a symlink to another mag's folder",
         .schema = {{{"TARGET_MAG_DIR", "the mag folder to link to"}},
                    {{.name = "make-relative", .help = "store a relative symlink"}}},
         .run = [](CommandContext& c, const CommandLine& l) {
           c.dataset->add_symlink_mag(c.require_layer(l.name), c.resolve_path(l.arg(0, "TARGET")),
                                      l.flag("make-relative"));
           return Json();
         }});
  t.set({.name = "add-copy-mag", .scope = CommandScope::Layer,
         .description = "Layer.add_copy_mag: a copy of another mag, rechunked and recompressed as asked",
         .schema = {{{"SRC_MAG_DIR", "the mag folder to copy"}}, mag_command_options()},
         .run = [](CommandContext& c, const CommandLine& l) {
           c.dataset->add_copy_mag(c.require_layer(l.name), c.resolve_path(l.arg(0, "SRC")), parse_mag_options(l));
           return Json();
         }});
  t.set({.name = "add-fs-copy-mag", .scope = CommandScope::Layer,
         .description = "Layer.add_fs_copy_mag: a file-by-file copy of another mag",
         .schema = {{{"SRC_MAG_DIR", "the mag folder to copy"}}, {}},
         .run = [](CommandContext& c, const CommandLine& l) {
           c.dataset->add_fs_copy_mag(c.require_layer(l.name), c.resolve_path(l.arg(0, "SRC")));
           return Json();
         }});
}

// The mags a layer takes from elsewhere: another dataset's (by reference), or files already there.
void add_foreign_mag_commands(CommandTable& t) {
  auto add_remote = [](CommandContext& c, const CommandLine& l) {
    std::optional<Mag> as;
    if (auto v = l.option("mag")) as = Mag::parse(*v);
    const std::string src = l.arg(0, "SRC");  // a URL names a remote mag, not a path in the mount: kept as it is
    if (storage::StoreUrl::is_url(src)) c.dataset->add_remote_mag_url(c.require_layer(l.name), src, as);
    else c.dataset->add_remote_mag(c.require_layer(l.name), c.resolve_path(src), as);
    return Json();
  };
  const CommandArgument source{"SRC_MAG_DIR", "the mag folder (or https://, s3:// URL) to refer to"};
  const CommandOption as_mag{.name = "mag", .value = "MAG", .help = "the mag it becomes here (default: its own)"};
  t.set({.name = "add-remote-mag", .scope = CommandScope::Layer,
         .description = "Layer.add_remote_mag: a mag of another dataset, by reference",
         .schema = {{source}, {as_mag}}, .run = add_remote});
  t.set({.name = "add-mag-as-ref", .scope = CommandScope::Layer, .description = "Layer.add_mag_as_ref: add-remote-mag",
         .schema = {{source}, {as_mag}}, .run = add_remote});
  t.set({.name = "add-existing-remote-mag-view", .scope = CommandScope::Layer,
         .description = "Layer.add_existing_remote_mag_view: add-remote-mag under the mag's own name",
         .schema = {{source}, {}}, .run = add_remote});
  t.set({.name = "add-mag-for-existing-files", .scope = CommandScope::Layer,
         .description = "Layer.add_mag_for_existing_files: list a mag whose folder is already there",
         .schema = {{kMagArgument}, {}},
         .run = [](CommandContext& c, const CommandLine& l) {
           auto mag = Mag::parse(l.arg(0, "MAG"));
           c.dataset->add_mag_for_existing_files(c.require_layer(l.name), mag);
           return mag_result(*c.dataset, *c.layer, mag);
         }});
  t.set({.name = "add-mag-from-zarrarray", .scope = CommandScope::Layer,
         .description = "Layer.add_mag_from_zarrarray: a Zarr array becomes a mag (copied, or moved with --move)",
         .schema = {{kMagArgument, {"PATH", "the Zarr array folder"}},
                    {{.name = "move", .help = "move the array instead of copying it"}}},
         .run = [](CommandContext& c, const CommandLine& l) {
           auto mag = Mag::parse(l.arg(0, "MAG"));
           c.dataset->add_mag_from_zarrarray(c.require_layer(l.name), mag, c.resolve_path(l.arg(1, "PATH")),
                                             l.flag("move"));
           return mag_result(*c.dataset, *c.layer, mag);
         }});
}

Json set_property(CommandContext& c, const CommandLine& l) {
  const auto& layer = c.require_layer(l.name);
  const auto& what = l.arg(0, "PROPERTY");
  const auto& value = l.arg(1, "VALUE");
  if (what == "bounding-box") {
    c.dataset->set_bounding_box(layer, parse_bounding_box(value));
  } else if (what == "largest-segment-id") {
    c.dataset->set_largest_segment_id(layer, parse_optional_int(value, "largest-segment-id"));
  } else if (what == "default-view-configuration") {
    Json j = Json::parse(value, nullptr, false);
    if (j.is_discarded() || !(j.is_object() || j.is_null()))
      fail(ErrorKind::InvalidArgument, "default-view-configuration must be a JSON object: " + value);
    c.dataset->set_default_view_configuration(layer, j);
  } else {
    fail(ErrorKind::InvalidArgument, "set: unknown property '" + what +
                                         "' (settable: bounding-box, largest-segment-id, default-view-configuration)");
  }
  return Json();
}

Json info(CommandContext& c, const CommandLine&) {
  auto props = c.dataset->properties();
  if (c.layer) {
    auto* lp = props.find_layer(*c.layer);
    if (!lp) fail(ErrorKind::NotFound, "layer " + *c.layer + " is not in the dataset");
    return layer_summary(*lp);
  }
  Json layers = Json::array();
  for (const auto& lp : props.layers) layers.push_back(layer_summary(lp));
  return Json{{"path", c.dataset->root().string()}, {"layers", layers}};
}

// The layer's properties: set, refresh-largest-segment-id, info.
void add_property_commands(CommandTable& t) {
  t.set({.name = "set", .scope = CommandScope::Layer,
         .description = "sets a layer property: bounding-box X,Y,Z,W,H,D | largest-segment-id N|none | "
                        "default-view-configuration JSON",
         .schema = {{{"PROPERTY", "bounding-box, largest-segment-id or default-view-configuration"},
                     {"VALUE", "X,Y,Z,W,H,D; N or none; a JSON object"}},
                    {}},
         .run = set_property});
  t.set({.name = "refresh-largest-segment-id", .scope = CommandScope::Layer,
         .description = "SegmentationLayer.refresh_largest_segment_id: scans the data for it",
         .run = [](CommandContext& c, const CommandLine& l) {
           auto id = c.dataset->refresh_largest_segment_id(c.require_layer(l.name));
           return id ? Json(*id) : Json();
         }});
  t.set({.name = "info", .scope = CommandScope::Any, .description = "the dataset's layers, or the layer's properties",
         .run = info, .reads_only = true});
}

Json add_layer(CommandContext& c, const CommandLine& l) {
  LayerSpec spec;
  spec.name = l.arg(0, "NAME");
  spec.category = parse_category(l.option("category").value_or("color"));
  if (auto v = l.option("dtype-per-channel")) spec.dtype = parse_dtype(*v);
  if (auto v = l.option("num-channels")) spec.num_channels = static_cast<int>(parse_vec3(*v, "--num-channels").x);
  if (auto v = l.option("data-format")) spec.data_format = parse_data_format(*v);
  if (auto v = l.option("bounding-box")) spec.bounding_box = parse_bounding_box(*v, "--bounding-box");
  if (auto v = l.option("largest-segment-id")) spec.largest_segment_id = parse_optional_int(*v, "--largest-segment-id");
  c.dataset->add_layer(spec);
  return Json{{"layer", spec.name}};
}

void add_dataset_commands(CommandTable& t) {
  t.set({.name = "add-layer", .scope = CommandScope::Dataset, .description = "Dataset.add_layer: a new, empty layer",
         .schema = {{{"NAME", "the layer name"}},
                    {{.name = "category", .value = "color|segmentation", .help = "the layer category",
                      .default_value = "color"},
                     {.name = "dtype-per-channel", .aliases = {"dtype"}, .value = "DTYPE",
                      .help = "uint8, uint16, uint32, uint64, int8 ... float32, float64", .default_value = "uint8"},
                     {.name = "num-channels", .aliases = {"channels"}, .value = "N", .help = "channels per voxel",
                      .default_value = "1"},
                     {.name = "data-format", .aliases = {"format"}, .value = "FORMAT", .help = "zarr3, zarr or wkw",
                      .default_value = "zarr3"},
                     {.name = "bounding-box", .value = "X,Y,Z,W,H,D", .help = "topLeft and size in mag-1 voxels"},
                     {.name = "largest-segment-id", .value = "N", .help = "segmentation layers: the largest id"}}},
         .run = add_layer});
  t.set({.name = "delete-layer", .scope = CommandScope::Dataset,
         .description = "Dataset.delete_layer (its lazy registrations go too)",
         .schema = {{{"NAME", "the layer name"}}, {}},
         .run = [](CommandContext& c, const CommandLine& l) {
           c.require_lazy().delete_layer(c.dataset, l.arg(0, "NAME"));
           return Json();
         }});
  t.set({.name = "rename-layer", .scope = CommandScope::Dataset,
         .description = "Layer.name = NEW (its lazy registrations follow)",
         .schema = {{{"OLD", "the layer's name"}, {"NEW", "its new name"}}, {}},
         .run = [](CommandContext& c, const CommandLine& l) {
           c.require_lazy().rename_layer(c.dataset, l.arg(0, "OLD"), l.arg(1, "NEW"));
           return Json();
         }});
}

// `help [COMMAND]`: the declaration of every command (or one), from the table it is in.
void add_help_command(const std::shared_ptr<CommandTable>& table) {
  std::weak_ptr<CommandTable> weak = table;  // the table owns this handler: no cycle
  table->set({.name = "help", .scope = CommandScope::Any,
              .description = "every command with its scope, usage, description, arguments and options",
              .schema = {{{"COMMAND", "only this command", false}}, {}},
              .run = [weak](CommandContext&, const CommandLine& l) {
                auto t = weak.lock();
                if (!t) return Json::array();
                if (l.positional.empty()) return t->help();
                const auto* c = t->find(l.positional[0]);
                if (!c) fail(ErrorKind::InvalidArgument, "help: unknown control command '" + l.positional[0] + "'");
                return Json::array({c->help()});
              },
              .reads_only = true});
}

// `cache-clear`: the mount's remote cache. It changes no dataset (the bytes are fetched again), so
// it runs on read-only mounts and on datasets held by another mount.
void add_cache_command(CommandTable& t) {
  t.set({.name = "cache-clear", .scope = CommandScope::Mount,
         .description = "drops every entry of the mount's remote cache (remote_cache_dir=): reads fetch again",
         .run = [](CommandContext& c, const CommandLine&) {
           if (!c.clear_remote_cache)
             fail(ErrorKind::InvalidArgument, "cache-clear: the mount has no remote cache (no remote_cache_dir= option)");
           return c.clear_remote_cache();
         },
         .reads_only = true});
}

}  // namespace

std::shared_ptr<CommandTable> make_builtin_command_table() {
  auto t = std::make_shared<CommandTable>();
  add_mag_commands(*t);
  add_foreign_mag_commands(*t);
  add_property_commands(*t);
  add_dataset_commands(*t);
  add_help_command(t);
  add_cache_command(*t);
  add_lazy_commands(*t);
  return t;
}

}  // namespace wkfs::control
