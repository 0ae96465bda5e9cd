#pragma once
// The options of a new mag (Layer.add_mag's chunk_shape, shard_shape / chunks_per_shard,
// compress), declared once for every command that creates a mag: add-mag, get-or-add-mag,
// add-copy-mag, the downsample commands, upsample, and the `wkfs` CLI's add-mag and add-layer.
#include <vector>

#include "control/command_line.hpp"
#include "control/command_schema.hpp"
#include "dataset/dataset.hpp"

namespace wkfs::control {

/// --chunk-shape, --shard-shape, --chunks-per-shard, --compress, --no-compress.
std::vector<CommandOption> mag_command_options();

/// The MagOptions those options give; InvalidArgument for a bad shape, --chunks-per-shard without
/// --chunk-shape, or options that exclude each other (--shard-shape and --chunks-per-shard,
/// --compress and --no-compress).
MagOptions parse_mag_options(const CommandLine& line);

}  // namespace wkfs::control
