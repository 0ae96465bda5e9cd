#include "lazy/remote_source_versions.hpp"

#include <ctime>

namespace wkfs {

RemoteSourceVersions::Versions RemoteSourceVersions::read(const Array& source, const NdBox& box) {
  Versions out;
  for (const auto& s : shards_covering(source.meta(), box)) out.emplace_back(s, source.shard_version(s));
  return out;
}

void RemoteSourceVersions::record(const std::filesystem::path& file, Versions versions) {
  std::lock_guard lock(mutex_);
  by_file_[file] = std::move(versions);
}

void RemoteSourceVersions::forget(const std::filesystem::path& file) {
  std::lock_guard lock(mutex_);
  by_file_.erase(file);
}

bool RemoteSourceVersions::changed(const std::filesystem::path& file, const Array& source, const NdBox& box,
                                   int64_t computed_ns) const {
  std::optional<Versions> recorded;
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_file_.find(file); it != by_file_.end()) recorded = it->second;
  }
  const Versions now = read(source, box);
  if (recorded) return *recorded != now;
  for (const auto& [shard, v] : now) {
    if (!v) continue;
    auto when = http_date_ns(v->last_modified);
    if (when && *when > computed_ns) return true;
  }
  return false;
}

std::optional<int64_t> http_date_ns(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm)) * 1000000000;
}

}  // namespace wkfs
