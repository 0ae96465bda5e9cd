// Fuzzes the loader of .wkfs/lazy.json (the lazy engine's registrations) on arbitrary bytes: a
// damaged file must be a wkfs::Error (lazy features off for that dataset), and whatever loads
// must save and load again to the same registrations.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "lazy/lazy_registry.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path root = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto dir = fs::path(tmp && *tmp ? tmp : "/tmp") / ("wkfs-fuzz-lazy-" + std::to_string(::getpid()));
    fs::create_directories(dir / wkfs::kStateDir);
    return dir;
  }();
  const auto file = wkfs::LazyRegistry::state_dir(root) / "lazy.json";
  wkfs::write_file_atomic(file, std::string(reinterpret_cast<const char*>(data), size));
  wkfs::LazyRegistry reg;
  try {
    reg = wkfs::LazyRegistry::load(root);
  } catch (const wkfs::Error&) {
    return 0;
  }
  const size_t n = reg.mags().size();
  try {
    reg.save();
    if (wkfs::LazyRegistry::load(root).mags().size() != n) std::abort();
  } catch (const wkfs::Error&) {
    std::abort();  // our own output must load
  }
  return 0;
}
