#pragma once
// Which mags a downsampling (or upsampling) run creates, step by step (webknossos-libs
// `calculate_mags_to_downsample` and `downsample()`'s sampling-mode rules; notes section 6).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/mag.hpp"
#include "core/vec.hpp"

namespace wkfs {

enum class SamplingMode { Anisotropic, Isotropic, ConstantZ };

/// Parses "anisotropic" | "isotropic" | "constant_z" | "auto" (= anisotropic), case-insensitive;
/// anything else is Error(InvalidArgument).
SamplingMode parse_sampling_mode(const std::string& name);

/// The mode actually used: a layer of depth 1 is always downsampled CONSTANT_Z (the library
/// switches with an "[INFO]" warning so that 2-D data does not mix in black).
SamplingMode effective_sampling_mode(SamplingMode requested, int64_t layer_depth);

/// max(4, 2^ceil(log2(max(W, H) / 100))) from the layer's bounding-box size (x, y only).
Mag default_coarsest_mag(const Vec3& bbox_size);

struct MagSequenceOptions {
  SamplingMode mode = SamplingMode::Anisotropic;
  std::optional<Vec3d> voxel_size;  // nm; used only by Anisotropic (required there)
  std::vector<Mag> align_with;      // every mag of every layer to align with (may repeat)
  bool force_sampling_scheme = false;
};

/// The mags to create when downsampling from `from` towards `coarsest`, in order (from excluded).
/// Each step is computed from the previous one. Errors (InvalidArgument, the library's messages):
/// from > coarsest on some axis, alignment mags with equal max_dim but different shapes, an
/// unreachable coarsest mag, two results with the same max_dim (unless force_sampling_scheme, in
/// which case that is appended to `warnings`). `warnings` receives the library's [INFO] lines.
std::vector<Mag> calculate_mags_to_downsample(const Mag& from, const Mag& coarsest,
                                              const MagSequenceOptions& options,
                                              std::vector<std::string>* warnings = nullptr);

/// The mags to create when upsampling from `from` down to `finest` (default 1), in order: the
/// downsampling sequence finest -> from reversed, without `from`, followed by `finest`.
/// CONSTANT_Z keeps finest.z = from.z.
std::vector<Mag> calculate_mags_to_upsample(const Mag& from, const Mag& finest,
                                            const MagSequenceOptions& options,
                                            std::vector<std::string>* warnings = nullptr);

}  // namespace wkfs
