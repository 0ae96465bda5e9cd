#include "lazy/mag_state.hpp"

namespace wkfs {

uint64_t MagState::count_stored() const {
  uint64_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && grid->parse(it->path().lexically_relative(dir))) ++n;
  return n;
}

}  // namespace wkfs
