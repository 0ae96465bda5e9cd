// The pyramid commands of the control channel (downsample, downsample-mag, downsample-mag-list,
// redownsample, upsample, materialize, lazy-status), translated onto the lazy engine.
#include "core/error.hpp"
#include "control/command_table.hpp"
#include "control/text_values.hpp"
#include "lazy/mag_compression.hpp"

namespace wkfs::control {

namespace {


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

}  // namespace

void add_lazy_commands(CommandTable& t) {
  t.set({"downsample", CommandScope::Layer,
         "downsample [--from-mag M] [--coarsest-mag M] [--interpolation-mode default|median|mode|nearest|bilinear|"
         "bicubic|max|min] [--sampling-mode anisotropic|isotropic|constant_z] [--no-align-with-other-layers] "
         "[--force-sampling-scheme] [--chunk-shape N] [--shard-shape N|--chunks-per-shard N] [--compress|--no-compress] "
         "[--buffer-shape N] [--allow-overwrite] [--materialize] [--wait]",
         [](CommandContext& c, const CommandLine& l) {
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
           auto& lazy = c.require_lazy().of(c.dataset);
           return registered(lazy, layer, lazy.downsample(layer, r), l);
         }});
  t.set({"downsample-mag", CommandScope::Layer,
         "downsample-mag FROM TO [--interpolation-mode M] [--allow-overwrite] [--chunk-shape N] [--shard-shape N|--chunks-per-shard N] "
         "[--compress|--no-compress] [--materialize] [--wait]",
         [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           DownsampleRequest r;
           r.from_mag = Mag::parse(l.arg(0, "FROM"));
           r.explicit_mags = std::vector<Mag>{Mag::parse(l.arg(1, "TO"))};
           if (auto v = l.option("interpolation-mode")) r.interpolation = *v;
           r.allow_overwrite = l.flag("allow-overwrite");
           r.mag_options = parse_mag_options(l);
           auto& lazy = c.require_lazy().of(c.dataset);
           return registered(lazy, layer, lazy.downsample(layer, r), l);
         }});
  t.set({"downsample-mag-list", CommandScope::Layer,
         "downsample-mag-list FROM TO1 [TO2 ...] [--interpolation-mode M] [--allow-overwrite] [--chunk-shape N] "
         "[--shard-shape N|--chunks-per-shard N] [--compress|--no-compress] [--materialize] [--wait]",
         [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           DownsampleRequest r;
           r.from_mag = Mag::parse(l.arg(0, "FROM"));
           std::vector<Mag> targets;
           for (size_t i = 1; i < l.positional.size(); ++i) targets.push_back(Mag::parse(l.positional[i]));
           if (targets.empty()) fail(ErrorKind::InvalidArgument, "downsample-mag-list needs at least one target mag");
           r.explicit_mags = targets;
           if (auto v = l.option("interpolation-mode")) r.interpolation = *v;
           r.allow_overwrite = l.flag("allow-overwrite");
           r.mag_options = parse_mag_options(l);
           auto& lazy = c.require_lazy().of(c.dataset);
           return registered(lazy, layer, lazy.downsample(layer, r), l);
         }});
  t.set({"redownsample", CommandScope::Layer, "redownsample [--materialize] [--wait]", [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           auto& lazy = c.require_lazy().of(c.dataset);
           return registered(lazy, layer, lazy.redownsample(layer), l);
         }});
  t.set({"upsample", CommandScope::Layer,
         "upsample --from-mag M [--finest-mag M] [--sampling-mode anisotropic|isotropic|constant_z] [--chunk-shape N] "
         "[--shard-shape N|--chunks-per-shard N] [--compress|--no-compress] [--materialize] [--wait]",
         [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           auto from = l.option("from-mag");
           if (!from) fail(ErrorKind::InvalidArgument, "upsample needs --from-mag");
           UpsampleRequest r{Mag::parse(*from), std::nullopt, "anisotropic", parse_mag_options(l)};
           if (auto v = l.option("finest-mag")) r.finest_mag = Mag::parse(*v);
           if (auto v = l.option("sampling-mode")) r.sampling_mode = *v;
           auto& lazy = c.require_lazy().of(c.dataset);
           return registered(lazy, layer, lazy.upsample(layer, r), l);
         }});
  t.set({"materialize", CommandScope::Any, "materialize [MAG] [--wait]", [](CommandContext& c, const CommandLine& l) {
           auto& lazy = c.require_lazy().of(c.dataset);
           std::optional<Mag> mag;
           if (!l.positional.empty()) mag = Mag::parse(l.positional[0]);
           size_t n = lazy.materialize(c.layer.value_or(""), mag);
           Json r{{"dataset", lazy.dataset()->root().string()}, {"queued", n}};
           if (c.layer) r["layer"] = *c.layer;
           if (mag) r["mags"] = Json::array({mag->short_name()});
           return r;
         }});
  t.set({"compress", CommandScope::Layer, "compress MAG", [](CommandContext& c, const CommandLine& l) {
           const auto& layer = c.require_layer(l.name);
           auto mag = Mag::parse(l.arg(0, "MAG"));
           bool changed = compress_mag(c.require_lazy().of(c.dataset), layer, mag);
           return Json{{"layer", layer}, {"mag", mag.short_name()}, {"compressed", true}, {"changed", changed}};
         }});
  t.set({"lazy-status", CommandScope::Any, "lazy-status", [](CommandContext& c, const CommandLine&) {
           return c.require_lazy().of(c.dataset).status();
         }});
}

}  // namespace wkfs::control
