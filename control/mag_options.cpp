#include "control/mag_options.hpp"

#include "control/text_values.hpp"
#include "core/error.hpp"

namespace wkfs::control {

std::vector<CommandOption> mag_command_options() {
  return {
      {.name = "chunk-shape", .value = "X,Y,Z", .help = "chunk shape in voxels, N or X,Y,Z", .default_value = "32"},
      {.name = "shard-shape", .value = "X,Y,Z", .help = "shard shape in voxels, N or X,Y,Z (default: the library's)"},
      {.name = "chunks-per-shard", .value = "X,Y,Z",
       .help = "shard shape in chunks, N or X,Y,Z (needs --chunk-shape; instead of --shard-shape)"},
      {.name = "compress", .help = "compress the chunks", .default_value = "true"},
      {.name = "no-compress", .help = "store the chunks raw"},
  };
}

MagOptions parse_mag_options(const CommandLine& line) {
  MagOptions o;
  if (auto v = line.option("chunk-shape")) o.chunk_shape = parse_vec3(*v, "--chunk-shape");
  if (auto v = line.option("shard-shape")) o.shard_shape = parse_vec3(*v, "--shard-shape");
  if (auto v = line.option("chunks-per-shard")) {
    if (!o.chunk_shape) fail(ErrorKind::InvalidArgument, "--chunks-per-shard needs --chunk-shape");
    if (o.shard_shape) fail(ErrorKind::InvalidArgument, "--shard-shape and --chunks-per-shard exclude each other");
    o.shard_shape = *o.chunk_shape * parse_vec3(*v, "--chunks-per-shard");
  }
  if (line.option("compress")) o.compress = line.flag("compress");
  if (line.flag("no-compress")) {
    if (o.compress) fail(ErrorKind::InvalidArgument, "--compress and --no-compress exclude each other");
    o.compress = false;
  }
  return o;
}

}  // namespace wkfs::control
