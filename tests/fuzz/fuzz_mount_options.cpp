// Fuzzes the mount option string (mount(8) -o, an fstab line, the unit's OPTIONS=): anything
// typed there must be taken or refused with a wkfs::Error naming the option, never crash.
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "fs/mount.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wkfs::mount::MountOptions options;
  try {
    wkfs::mount::apply_option_string(options, std::string(reinterpret_cast<const char*>(data), size));
  } catch (const wkfs::Error&) {
  }
  return 0;
}
