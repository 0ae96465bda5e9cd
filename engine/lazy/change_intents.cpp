#include "lazy/change_intents.hpp"

#include <unistd.h>

#include <atomic>

#include "core/file_io.hpp"
#include "dataset/properties.hpp"

namespace wkfs {

ChangeIntents::ChangeIntents(fs::path dataset_root) : dir_(std::move(dataset_root) / kStateDir / "intents") {}

ChangeIntents::Intent& ChangeIntents::Intent::operator=(Intent&& o) noexcept {
  if (this != &o) {
    if (!file_.empty()) ::unlink(file_.c_str());
    file_ = std::move(o.file_);
    o.file_.clear();
  }
  return *this;
}

// No fsync of the removal: a record that reappears after a crash only makes files stale that a
// recomputation replaces, it never loses a change.
ChangeIntents::Intent::~Intent() {
  if (!file_.empty()) ::unlink(file_.c_str());
}

ChangeIntents::Intent ChangeIntents::record(const fs::path& relative) const {
  static std::atomic<uint64_t> counter{0};
  std::error_code ec;
  fs::create_directories(dir_, ec);
  fs::path file = dir_ / (std::to_string(::getpid()) + "." + std::to_string(counter++) + ".intent");
  write_file_atomic(file, relative.generic_string());  // fsync of file and folder: durable on return
  return Intent(std::move(file));
}

std::vector<std::pair<fs::path, fs::path>> ChangeIntents::leftovers() const {
  std::vector<std::pair<fs::path, fs::path>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() != ".intent") continue;  // temp names of a record being written
    if (auto bytes = read_file_if_exists(e.path()))
      out.emplace_back(e.path(), std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  }
  return out;
}

void ChangeIntents::remove(const fs::path& record_file) { ::unlink(record_file.c_str()); }

}  // namespace wkfs
