#pragma once
// Shared test helpers: fixture location (../shared, never written), scratch folders.
#include <filesystem>
#include <string>

#include "core/diagnostics.hpp"

namespace wkfs::test {

namespace fs = std::filesystem;

/// ../shared/fixtures/<name>; fails the test run with a clear message if shared/ is missing.
fs::path fixture(const std::string& name);

/// A fresh temp folder removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

/// A diagnostics sink for engine objects under test: prints to stderr (shown by ctest on failure).
Diagnostics& test_diagnostics();

/// Copies a fixture dataset into dir/<name> and returns the copy's path.
fs::path copy_fixture(const std::string& name, const fs::path& dir);

/// The known fixture pattern: value(c,x,y,z) = (576x + 24y + z) mod 256 inside 24^3, else 0.
inline unsigned char fixture_value(int64_t x, int64_t y, int64_t z) {
  if (x >= 24 || y >= 24 || z >= 24) return 0;
  return static_cast<unsigned char>((576 * x + 24 * y + z) % 256);
}

}  // namespace wkfs::test
