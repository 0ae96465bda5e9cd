// The pyramid commands of the control channel (downsample, downsample-mag, downsample-mag-list,
// redownsample, upsample, materialize, compress, lazy-status), translated onto the lazy engine.
#include "control/command_table.hpp"
#include "control/text_values.hpp"
#include "core/error.hpp"
#include "lazy/mag_compression.hpp"

namespace wkfs::control {

namespace {

// --materialize and --wait: what happens after a registration.
std::vector<CommandOption> queue_options() {
  return {{.name = "materialize", .help = "queue the computation of every new file now"},
          {.name = "wait", .help = "--materialize, and `wkfs ctl` shows the progress until done"}};
}

const CommandOption kInterpolation{.name = "interpolation-mode",
                                   .value = "MODE",
                                   .help = "default, median, mode, nearest, bilinear, bicubic, max or min",
                                   .default_value = "default"};
const CommandOption kAllowOverwrite{.name = "allow-overwrite", .help = "replace target mags that exist"};
const CommandOption kSamplingMode{.name = "sampling-mode", .value = "MODE",
                                  .help = "anisotropic, isotropic or constant_z", .default_value = "anisotropic"};

Json mags_json(const std::vector<Mag>& mags) {
  Json a = Json::array();
  for (const auto& m : mags) a.push_back(m.short_name());
  return a;
}

// Registers, then (with --materialize, or --wait, which the ctl front end turns into polling)
// queues the work.
Json registered(LazyEngine& lazy, const std::string& layer, const std::vector<Mag>& mags, const CommandLine& l) {
  size_t queued = 0;
  if (l.flag("wait") || l.flag("materialize"))
    for (const auto& m : mags) queued += lazy.materialize(layer, m);
  // "dataset" lets `ctl --wait` tell this layer from a same-named one of another dataset
  return Json{{"dataset", lazy.dataset()->root().string()}, {"layer", layer}, {"mags", mags_json(mags)},
              {"lazy", true}, {"queued", queued}};
}

Json downsample(CommandContext& c, const CommandLine& l) {
  const auto& layer = c.require_layer(l.name);
  DownsampleRequest r;
  if (auto v = l.option("from-mag")) r.from_mag = Mag::parse(*v);
  if (auto v = l.option("coarsest-mag")) r.coarsest_mag = Mag::parse(*v);
  if (auto v = l.option("interpolation-mode")) r.interpolation = *v;
  if (auto v = l.option("sampling-mode")) r.sampling_mode = *v;
  r.align_with_other_layers = !l.flag("no-align-with-other-layers");
  r.force_sampling_scheme = l.flag("force-sampling-scheme");
  r.allow_overwrite = l.flag("allow-overwrite");
  if (auto v = l.option("buffer-shape")) parse_vec3(*v, "--buffer-shape");  // accepted; tiles are wkfs's own
  r.mag_options = parse_mag_options(l);
  auto& lazy = c.require_lazy_mags().of(c.dataset);
  return registered(lazy, layer, lazy.downsample(layer, r), l);
}

// downsample-mag FROM TO and downsample-mag-list FROM TO...: the positionals after FROM are the targets.
Json downsample_to(CommandContext& c, const CommandLine& l) {
  const auto& layer = c.require_layer(l.name);
  DownsampleRequest r;
  r.from_mag = Mag::parse(l.arg(0, "FROM"));
  std::vector<Mag> targets;
  for (size_t i = 1; i < l.positional.size(); ++i) targets.push_back(Mag::parse(l.positional[i]));
  r.explicit_mags = targets;
  if (auto v = l.option("interpolation-mode")) r.interpolation = *v;
  r.allow_overwrite = l.flag("allow-overwrite");
  r.mag_options = parse_mag_options(l);
  auto& lazy = c.require_lazy_mags().of(c.dataset);
  return registered(lazy, layer, lazy.downsample(layer, r), l);
}

Json upsample(CommandContext& c, const CommandLine& l) {
  const auto& layer = c.require_layer(l.name);
  UpsampleRequest r{Mag::parse(*l.option("from-mag")), std::nullopt, "anisotropic", parse_mag_options(l)};
  if (auto v = l.option("finest-mag")) r.finest_mag = Mag::parse(*v);
  if (auto v = l.option("sampling-mode")) r.sampling_mode = *v;
  auto& lazy = c.require_lazy_mags().of(c.dataset);
  return registered(lazy, layer, lazy.upsample(layer, r), l);
}

Json materialize(CommandContext& c, const CommandLine& l) {
  auto& lazy = c.require_lazy().of(c.dataset);
  std::optional<Mag> mag;
  if (!l.positional.empty()) mag = Mag::parse(l.positional[0]);
  size_t n = lazy.materialize(c.layer.value_or(""), mag);
  Json r{{"dataset", lazy.dataset()->root().string()}, {"queued", n}};
  if (c.layer) r["layer"] = *c.layer;
  if (mag) r["mags"] = Json::array({mag->short_name()});
  return r;
}

// The commands that register lazy mags: each takes the mag options and --materialize/--wait.
void add_registering_commands(CommandTable& t) {
  const CommandArgument from{"FROM", "the source mag"};
  t.set({.name = "downsample", .scope = CommandScope::Layer,
         .description = "Layer.downsample: registers the pyramid's mags, computed when read",
         .schema = {{},
                    join({{{.name = "from-mag", .value = "MAG", .help = "the source mag (default: the finest)"},
                           {.name = "coarsest-mag", .value = "MAG", .help = "the coarsest mag to compute"},
                           kInterpolation, kSamplingMode,
                           {.name = "no-align-with-other-layers", .help = "do not take the other layers' mags"},
                           {.name = "force-sampling-scheme", .help = "keep the sampling mode for thin layers"},
                           {.name = "buffer-shape", .value = "X,Y,Z", .help = "accepted; wkfs tiles on its own"},
                           kAllowOverwrite},
                          mag_command_options(), queue_options()})},
         .run = downsample});
  t.set({.name = "downsample-mag", .scope = CommandScope::Layer,
         .description = "Layer.downsample_mag: registers one mag computed from another",
         .schema = {{from, {"TO", "the new mag"}}, join({{kInterpolation, kAllowOverwrite}, mag_command_options(),
                                                         queue_options()})},
         .run = downsample_to});
  t.set({.name = "downsample-mag-list", .scope = CommandScope::Layer,
         .description = "Layer.downsample_mag_list: registers each mag computed from the one before",
         .schema = {{from, {.name = "TO", .help = "the new mags, finest first", .repeated = true}},
                    join({{kInterpolation, kAllowOverwrite}, mag_command_options(), queue_options()})},
         .run = downsample_to});
  t.set({.name = "redownsample", .scope = CommandScope::Layer,
         .description = "Layer.redownsample: recomputes the layer's lazy mags from their sources",
         .schema = {{}, queue_options()},
         .run = [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           auto& lazy = c.require_lazy_mags().of(c.dataset);
           return registered(lazy, layer, lazy.redownsample(layer), l);
         }});
  t.set({.name = "upsample", .scope = CommandScope::Layer,
         .description = "Layer.upsample: registers finer mags computed from a coarser one",
         .schema = {{},
                    join({{{.name = "from-mag", .value = "MAG", .help = "the source mag", .required = true},
                           {.name = "finest-mag", .value = "MAG", .help = "the finest mag to compute"},
                           kSamplingMode},
                          mag_command_options(), queue_options()})},
         .run = upsample});
}

}  // namespace

void add_lazy_commands(CommandTable& t) {
  add_registering_commands(t);
  t.set({.name = "materialize", .scope = CommandScope::Any,
         .description = "queues the computation of every lazy file (of the layer, of one mag)",
         .schema = {{{"MAG", "only this mag", false}},
                    {{.name = "wait", .help = "`wkfs ctl` shows the progress until done"}}},
         .run = materialize});
  t.set({.name = "compress", .scope = CommandScope::Layer,
         .description = "MagView.compress: rewrites a mag compressed",
         .schema = {{{"MAG", "the mag, e.g. 2 or 2-2-1"}}, {}},
         .run = [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           auto mag = Mag::parse(l.arg(0, "MAG"));
           bool changed = compress_mag(c.require_lazy_mags().of(c.dataset), layer, mag);
           return Json{{"layer", layer}, {"mag", mag.short_name()}, {"compressed", true}, {"changed", changed}};
         }});
  t.set({.name = "lazy-status", .scope = CommandScope::Any,
         .description = "the state of the dataset's lazy mags",
         .run = [](CommandContext& c, const CommandLine&) { return c.require_lazy().of(c.dataset).status(); },
         .reads_only = true});
}

}  // namespace wkfs::control
