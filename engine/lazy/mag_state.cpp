#include "lazy/mag_state.hpp"

namespace wkfs {

uint64_t MagState::count_stored() const {
  uint64_t n = 0;
  store->for_each_under(rel_dir, [&](const fs::path& r) {
    if (grid->parse(r)) ++n;
  });
  return n;
}

}  // namespace wkfs
