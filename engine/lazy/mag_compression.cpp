#include "lazy/mag_compression.hpp"

#include "core/error.hpp"

namespace wkfs {

bool compress_mag(LazyEngine& lazy, const std::string& layer, const Mag& mag) {
  // Its missing files would be computed with the codec of the array the engine opened: refused.
  if (lazy.is_pending_mag(layer, mag))
    fail(ErrorKind::InvalidArgument, "mag " + mag.long_name() + " of layer " + layer +
                                         " is lazy and not computed yet: materialize it first");
  bool changed = lazy.dataset()->compress_mag(layer, mag);
  if (changed) lazy.reopen_mag(layer, mag);
  return changed;
}

}  // namespace wkfs
