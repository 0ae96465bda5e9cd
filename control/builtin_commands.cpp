// The Layer and Dataset API of webknossos-libs as control commands.
#include "core/error.hpp"
#include "control/command_table.hpp"
#include "control/text_values.hpp"

namespace wkfs::control {

MagOptions parse_mag_options(const CommandLine& line) {
  MagOptions o;
  if (auto v = line.option("chunk-shape")) o.chunk_shape = parse_vec3(*v, "--chunk-shape");
  if (auto v = line.option("shard-shape")) o.shard_shape = parse_vec3(*v, "--shard-shape");
  if (auto v = line.option("chunks-per-shard")) {
    if (!o.chunk_shape) fail(ErrorKind::InvalidArgument, "--chunks-per-shard needs --chunk-shape");
    o.shard_shape = *o.chunk_shape * parse_vec3(*v, "--chunks-per-shard");
  }
  if (line.option("compress")) o.compress = line.flag("compress");
  if (line.flag("no-compress")) o.compress = false;
  return o;
}

namespace {



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

void add_layer_commands(CommandTable& t) {
  auto add_mag = [](CommandContext& c, const CommandLine& l) {
    const auto& layer = c.require_layer(l.name);
    auto mag = Mag::parse(l.arg(0, "MAG"));
    c.dataset->add_mag(layer, mag, parse_mag_options(l));
    return mag_result(*c.dataset, layer, mag);
  };
  t.set({"add-mag", CommandScope::Layer, "add-mag MAG [--chunk-shape X,Y,Z] [--shard-shape X,Y,Z|--chunks-per-shard N] [--compress true|false]",
         add_mag});
  t.set({"get-or-add-mag", CommandScope::Layer, "get-or-add-mag MAG [options of add-mag]",
         [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           auto mag = Mag::parse(l.arg(0, "MAG"));
           auto props = c.dataset->properties();
           auto* lp = props.find_layer(layer);
           if (!lp || !lp->find_mag(mag)) c.dataset->add_mag(layer, mag, parse_mag_options(l));
           return mag_result(*c.dataset, layer, mag);
         }});
  t.set({"delete-mag", CommandScope::Layer, "delete-mag MAG", [](CommandContext& c, const CommandLine& l) {
           auto mag = Mag::parse(l.arg(0, "MAG"));
           c.require_lazy().delete_mag(c.dataset, c.require_layer(l.name), mag);
           return Json{{"mag", mag.long_name()}};
         }});
  t.set({"add-symlink-mag", CommandScope::Layer, "add-symlink-mag TARGET_MAG_DIR [--make-relative]",
         [](CommandContext& c, const CommandLine& l) {
           c.dataset->add_symlink_mag(c.require_layer(l.name), c.resolve_path(l.arg(0, "TARGET")),
                                      l.flag("make-relative"));
           return Json();
         }});
  t.set({"add-copy-mag", CommandScope::Layer,
         "add-copy-mag SRC_MAG_DIR [--chunk-shape X,Y,Z] [--shard-shape X,Y,Z|--chunks-per-shard N] [--compress true|false]",
         [](CommandContext& c, const CommandLine& l) {
           c.dataset->add_copy_mag(c.require_layer(l.name), c.resolve_path(l.arg(0, "SRC")), parse_mag_options(l));
           return Json();
         }});
  t.set({"add-fs-copy-mag", CommandScope::Layer, "add-fs-copy-mag SRC_MAG_DIR",
         [](CommandContext& c, const CommandLine& l) {
           c.dataset->add_fs_copy_mag(c.require_layer(l.name), c.resolve_path(l.arg(0, "SRC")));
           return Json();
         }});
  auto add_remote = [](CommandContext& c, const CommandLine& l) {
    std::optional<Mag> as;
    if (auto v = l.option("mag")) as = Mag::parse(*v);
    c.dataset->add_remote_mag(c.require_layer(l.name), c.resolve_path(l.arg(0, "SRC")), as);
    return Json();
  };
  t.set({"add-remote-mag", CommandScope::Layer, "add-remote-mag SRC_MAG_DIR [--mag MAG]", add_remote});
  t.set({"add-mag-as-ref", CommandScope::Layer, "add-mag-as-ref SRC_MAG_DIR [--mag MAG]", add_remote});
  t.set({"add-existing-remote-mag-view", CommandScope::Layer, "add-existing-remote-mag-view SRC_MAG_DIR",
         add_remote});
  t.set({"add-mag-for-existing-files", CommandScope::Layer, "add-mag-for-existing-files MAG",
         [](CommandContext& c, const CommandLine& l) {
           auto mag = Mag::parse(l.arg(0, "MAG"));
           c.dataset->add_mag_for_existing_files(c.require_layer(l.name), mag);
           return mag_result(*c.dataset, *c.layer, mag);
         }});
  t.set({"add-mag-from-zarrarray", CommandScope::Layer, "add-mag-from-zarrarray MAG PATH [--move]",
         [](CommandContext& c, const CommandLine& l) {
           auto mag = Mag::parse(l.arg(0, "MAG"));
           c.dataset->add_mag_from_zarrarray(c.require_layer(l.name), mag, c.resolve_path(l.arg(1, "PATH")),
                                             l.flag("move"));
           return mag_result(*c.dataset, *c.layer, mag);
         }});
  t.set({"set", CommandScope::Layer,
         "set bounding-box X,Y,Z,W,H,D | set largest-segment-id N|none | set default-view-configuration JSON",
         [](CommandContext& c, const CommandLine& l) {
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
             fail(ErrorKind::InvalidArgument,
                  "set: unknown property '" + what +
                      "' (settable: bounding-box, largest-segment-id, default-view-configuration)");
           }
           return Json();
         }});
  t.set({"refresh-largest-segment-id", CommandScope::Layer, "refresh-largest-segment-id",
         [](CommandContext& c, const CommandLine& l) {
           auto id = c.dataset->refresh_largest_segment_id(c.require_layer(l.name));
           return id ? Json(*id) : Json();
         }});
  t.set({"info", CommandScope::Any, "info", [](CommandContext& c, const CommandLine&) {
           auto props = c.dataset->properties();
           if (c.layer) {
             auto* lp = props.find_layer(*c.layer);
             if (!lp) fail(ErrorKind::NotFound, "layer " + *c.layer + " is not in the dataset");
             return layer_summary(*lp);
           }
           Json layers = Json::array();
           for (const auto& lp : props.layers) layers.push_back(layer_summary(lp));
           return Json{{"path", c.dataset->root().string()}, {"layers", layers}};
         }});
}

void add_dataset_commands(CommandTable& t) {
  t.set({"add-layer", CommandScope::Dataset,
         "add-layer NAME --category color|segmentation [--dtype|--dtype-per-channel uint8] [--channels|--num-channels N] "
         "[--format|--data-format zarr3] "
         "[--bounding-box X,Y,Z,W,H,D] [--largest-segment-id N]",
         [](CommandContext& c, const CommandLine& l) {
           LayerSpec spec;
           spec.name = l.arg(0, "NAME");
           spec.category = parse_category(l.option("category").value_or("color"));
           if (auto v = l.option("dtype")) spec.dtype = parse_dtype(*v);
           if (auto v = l.option("dtype-per-channel")) spec.dtype = parse_dtype(*v);
           if (auto v = l.option("channels")) spec.num_channels = static_cast<int>(parse_vec3(*v, "--channels").x);
           if (auto v = l.option("num-channels")) spec.num_channels = static_cast<int>(parse_vec3(*v, "--num-channels").x);
           if (auto v = l.option("format")) spec.data_format = parse_data_format(*v);
           if (auto v = l.option("data-format")) spec.data_format = parse_data_format(*v);
           if (auto v = l.option("bounding-box")) spec.bounding_box = parse_bounding_box(*v);
           if (auto v = l.option("largest-segment-id"))
             spec.largest_segment_id = parse_optional_int(*v, "--largest-segment-id");
           c.dataset->add_layer(spec);
           return Json{{"layer", spec.name}};
         }});
  t.set({"delete-layer", CommandScope::Dataset, "delete-layer NAME", [](CommandContext& c, const CommandLine& l) {
           c.require_lazy().delete_layer(c.dataset, l.arg(0, "NAME"));
           return Json();
         }});
  t.set({"rename-layer", CommandScope::Dataset, "rename-layer OLD NEW", [](CommandContext& c, const CommandLine& l) {
           c.require_lazy().rename_layer(c.dataset, l.arg(0, "OLD"), l.arg(1, "NEW"));
           return Json();
         }});
}

}  // namespace

std::shared_ptr<CommandTable> make_builtin_command_table() {
  auto t = std::make_shared<CommandTable>();
  add_layer_commands(*t);
  add_dataset_commands(*t);
  std::weak_ptr<CommandTable> weak = t;
  t->set({"help", CommandScope::Any, "help", [weak](CommandContext&, const CommandLine&) {
            Json list = Json::array();
            if (auto table = weak.lock())
              for (const auto& n : table->names()) list.push_back(table->find(n)->usage);
            return list;
          }});
  add_lazy_commands(*t);
  return t;
}

}  // namespace wkfs::control
