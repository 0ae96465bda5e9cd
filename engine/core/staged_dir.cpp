#include "core/staged_dir.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>

#include <random>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace wkfs {

namespace {
std::string random_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(rng());
}
}  // namespace

StagedDir::StagedDir(const fs::path& destination, const std::string& tag)
    : destination_(destination),
      path_(destination.parent_path() /
            ("." + destination.filename().string() + kTempMarker + tag + "." + random_suffix())) {
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec) fail_errno(ec.value(), "cannot create staging folder " + path_.string());
}

StagedDir::~StagedDir() {
  if (!owned_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);  // best effort: a leftover has a temp name and is cleared at mount
}

void StagedDir::commit() {
  if (::rename(path_.c_str(), destination_.c_str()) != 0)
    fail_errno("cannot move " + path_.string() + " to " + destination_.string());
  owned_ = false;
}

void StagedDir::exchange() { exchange_paths(path_, destination_); }

fs::path StagedDir::release() {
  owned_ = false;
  return path_;
}

void exchange_paths(const fs::path& a, const fs::path& b) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0)
    fail_errno("cannot swap " + a.string() + " and " + b.string());
}

}  // namespace wkfs
