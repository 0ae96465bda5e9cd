#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>

namespace wkfs::test {

fs::path fixture(const std::string& name) {
  fs::path p = fs::path(WKFS_SHARED_DIR) / "fixtures" / name;
  if (!fs::exists(p)) {
    std::cerr << "FATAL: fixture " << p << " not found; the tests need ../shared beside the repo"
              << std::endl;
    std::abort();
  }
  return p;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("wkfs-test-" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path copy_fixture(const std::string& name, const fs::path& dir) {
  fs::path dst = dir / name;
  fs::copy(fixture(name), dst, fs::copy_options::recursive);
  // fixtures in shared/ are read-only; the copy must be writable
  for (auto& e : fs::recursive_directory_iterator(dst))
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  fs::permissions(dst, fs::perms::owner_write, fs::perm_options::add);
  return dst;
}

Diagnostics& test_diagnostics() {
  static StderrDiagnostics sink;
  return sink;
}

}  // namespace wkfs::test
