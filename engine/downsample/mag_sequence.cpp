#include "downsample/mag_sequence.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"

namespace wkfs {

namespace {

Vec3 min3(const Vec3& a, const Vec3& b) { return Vec3::min(a, b); }

// Python's repr of a float tuple is close enough for messages: "(10.5, 10.5, 24.0)".
std::string voxel_size_text(const std::optional<Vec3d>& v) {
  if (!v) return "None";
  std::ostringstream out;
  out << "(" << v->x << ", " << v->y << ", " << v->z << ")";
  return out.str();
}

std::string mag_list_text(const std::vector<Mag>& mags) {
  std::string s = "[";
  for (size_t i = 0; i < mags.size(); ++i) s += (i ? ", '" : "'") + mags[i].short_name() + "'";
  return s + "]";
}

// The loop of `calculate_mags_to_downsample` (_downsampling_utils.py L47-117), voxel size already
// chosen by the sampling mode.
std::vector<Mag> downsampling_steps(const Mag& from, const Mag& coarsest,
                                    const std::vector<Mag>& align_with,
                                    const std::optional<Vec3d>& voxel_size,
                                    std::vector<std::string>* warnings) {
  if (from.x() > coarsest.x() || from.y() > coarsest.y() || from.z() > coarsest.z())
    fail(ErrorKind::InvalidArgument, "cannot downsample from mag " + from.short_name() +
                                         " to the finer mag " + coarsest.short_name());
  std::set<std::tuple<int64_t, int64_t, int64_t>> distinct;
  std::map<int64_t, Mag> align_by_max_dim;
  for (const Mag& m : align_with) {
    distinct.insert({m.x(), m.y(), m.z()});
    align_by_max_dim.emplace(m.max_dim(), m);
  }
  if (distinct.size() != align_by_max_dim.size())
    fail(ErrorKind::InvalidArgument,
         "Some layers contain different values for the same mag, this is not allowed.");

  std::vector<Mag> mags;
  Mag current = from;
  while (current.max_dim() < coarsest.max_dim()) {
    auto aligned = align_by_max_dim.find(current.max_dim() * 2);
    if (aligned != align_by_max_dim.end()) {
      current = aligned->second;
      if (current.max_dim() > coarsest.max_dim() && warnings)
        warnings->push_back(
            "[INFO] The mag taken from another layer is larger in some dimensions than "
            "`coarsest_mag`.");
    } else if (!voxel_size) {
      current = Mag(min3(current.vec() * 2, coarsest.vec()));
    } else {
      double size[3];
      for (int i = 0; i < 3; ++i) size[i] = static_cast<double>(current.vec()[i]) * (*voxel_size)[i];
      const double smallest = std::min({size[0], size[1], size[2]});
      Vec3 factor;
      double doubled_min[3];
      for (int i = 0; i < 3; ++i) {
        factor[i] = size[i] == smallest ? 2 : 1;
        doubled_min[i] = size[i] * static_cast<double>(factor[i]);
      }
      // Doubling every axis keeps the ratio max/min of the voxel edges; doubling only the
      // smallest axes changes it. The smaller ratio wins; ties double only the smallest axes.
      const double ratio_all = std::max({size[0] * 2, size[1] * 2, size[2] * 2}) /
                               std::min({size[0] * 2, size[1] * 2, size[2] * 2});
      const double ratio_min = std::max({doubled_min[0], doubled_min[1], doubled_min[2]}) /
                               std::min({doubled_min[0], doubled_min[1], doubled_min[2]});
      Mag next;
      if (ratio_all < ratio_min) {
        next = Mag(min3(current.vec() * 2, coarsest.vec()));
      } else {
        next = Mag(min3(current.vec() * factor, coarsest.vec()));
        // 4-4-2 at 1,1,1 nm would become 4-4-4 with the same max_dim: step over it unrecorded.
        if (next.max_dim() == current.max_dim() && !(next == current)) {
          current = next;
          continue;
        }
      }
      if (next == current)
        fail(ErrorKind::InvalidArgument, "The coarsest mag " + coarsest.short_name() +
                                             " can not be reached from " + current.short_name() +
                                             " with voxel_size " + voxel_size_text(voxel_size) +
                                             "!");
      current = next;
    }
    mags.push_back(current);
  }
  return mags;
}

std::optional<Vec3d> voxel_size_for(const MagSequenceOptions& options) {
  if (options.mode != SamplingMode::Anisotropic) return std::nullopt;
  if (!options.voxel_size)
    fail(ErrorKind::InvalidArgument, "anisotropic downsampling needs the dataset's voxel size");
  return options.voxel_size;
}

}  // namespace

SamplingMode parse_sampling_mode(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (lower == "anisotropic" || lower == "auto") return SamplingMode::Anisotropic;
  if (lower == "isotropic") return SamplingMode::Isotropic;
  if (lower == "constant_z") return SamplingMode::ConstantZ;
  fail(ErrorKind::InvalidArgument, "unknown sampling mode '" + name +
                                       "': expected anisotropic, isotropic, constant_z or auto");
}

SamplingMode effective_sampling_mode(SamplingMode requested, int64_t layer_depth) {
  return layer_depth == 1 ? SamplingMode::ConstantZ : requested;
}

Mag default_coarsest_mag(const Vec3& bbox_size) {
  const int64_t widest = std::max(bbox_size.x, bbox_size.y);
  if (widest <= 0) return Mag(4, 4, 4);  // Python raises on log(0); an empty layer needs no pyramid
  // Exactly Python's 2 ** math.ceil(math.log(widest / 100, 2)): math.log(x, b) is log(x)/log(b).
  const double exponent = std::ceil(std::log(static_cast<double>(widest) / 100.0) / std::log(2.0));
  if (exponent <= 2) return Mag(4, 4, 4);
  if (exponent > 40) fail(ErrorKind::InvalidArgument, "layer too large for a default coarsest mag");
  const int64_t p = int64_t{1} << static_cast<int>(exponent);
  return Mag(p, p, p);
}

std::vector<Mag> calculate_mags_to_downsample(const Mag& from, const Mag& coarsest,
                                              const MagSequenceOptions& options,
                                              std::vector<std::string>* warnings) {
  Mag target = coarsest;
  if (options.mode == SamplingMode::ConstantZ) target = Mag(coarsest.x(), coarsest.y(), from.z());
  std::vector<Mag> mags =
      downsampling_steps(from, target, options.align_with, voxel_size_for(options), warnings);

  std::set<int64_t> max_dims;
  for (const Mag& m : mags) max_dims.insert(m.max_dim());
  if (max_dims.size() != mags.size()) {
    const std::string msg =
        "[INFO] The downsampling scheme contains multiple magnifications with the same maximum "
        "value. This is not supported by WEBKNOSSOS. Consider using a different sampling mode "
        "(e.g. isotropic). The calculated downsampling scheme is: " +
        mag_list_text(mags);
    if (!options.force_sampling_scheme) fail(ErrorKind::InvalidArgument, msg);
    if (warnings) warnings->push_back(msg);
  }
  return mags;
}

std::vector<Mag> calculate_mags_to_upsample(const Mag& from, const Mag& finest,
                                            const MagSequenceOptions& options,
                                            std::vector<std::string>* warnings) {
  Mag bottom = finest;
  if (options.mode == SamplingMode::ConstantZ) bottom = Mag(finest.x(), finest.y(), from.z());
  std::vector<Mag> down =
      downsampling_steps(bottom, from, options.align_with, voxel_size_for(options), warnings);
  std::vector<Mag> up(down.rbegin(), down.rend());
  if (!up.empty()) up.erase(up.begin());
  up.push_back(bottom);
  return up;
}

}  // namespace wkfs
