#include "core/bytes.hpp"

#include <algorithm>

namespace wkfs {

void byteswap_elements(MutableByteSpan data, size_t elem_size) {
  if (elem_size <= 1) return;
  for (size_t i = 0; i + elem_size <= data.size(); i += elem_size)
    std::reverse(data.begin() + static_cast<ptrdiff_t>(i),
                 data.begin() + static_cast<ptrdiff_t>(i + elem_size));
}

}  // namespace wkfs
