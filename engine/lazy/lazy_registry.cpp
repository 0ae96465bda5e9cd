#include "lazy/lazy_registry.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include "core/json.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace wkfs {

namespace {

Json mag_json(const Mag& m) { return Json::array({m.x(), m.y(), m.z()}); }
// Only JSON integers: nlohmann holds an out-of-range number as a double, and converting that to an
// integer is undefined behaviour (fuzz_lazy_registry found it with a 43-digit mag component).
int64_t int_from(const Json& j, int64_t min, int64_t max) {
  if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(max)))
    fail(ErrorKind::Corrupt, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                                 "], got " + j.dump());
  const int64_t v = j.get<int64_t>();
  if (v < min || v > max)
    fail(ErrorKind::Corrupt, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                                 "], got " + j.dump());
  return v;
}
Mag mag_from(const Json& j) {
  if (!j.is_array() || j.size() != 3) fail(ErrorKind::Corrupt, "a mag must be [x, y, z], got " + j.dump());
  constexpr int64_t kMaxMag = int64_t{1} << 30;
  return Mag(int_from(j[0], 1, kMaxMag), int_from(j[1], 1, kMaxMag), int_from(j[2], 1, kMaxMag));
}
}  // namespace

LazyRegistry LazyRegistry::load(const fs::path& root) {
  LazyRegistry r;
  r.root_ = root;
  fs::path file = state_dir(root) / "lazy.json";
  auto bytes = read_file_if_exists(file);
  if (!bytes) return r;
  try {
    Json j = Json::parse(reinterpret_cast<const char*>(bytes->data()),
                         reinterpret_cast<const char*>(bytes->data()) + bytes->size());
    for (const auto& e : j.at("mags")) {
      LazyMag m;
      m.layer = e.at("layer").get<std::string>();
      m.mag = mag_from(e.at("mag"));
      m.source_mag = mag_from(e.at("sourceMag"));
      m.kind = e.at("kind").get<std::string>() == "upsample" ? LazyKind::Upsample : LazyKind::Downsample;
      m.interpolation = e.at("interpolation").get<std::string>();
      m.complete = e.value("complete", false);
      m.generation = e.contains("generation") ? static_cast<uint64_t>(int_from(e["generation"], 0, INT64_MAX)) : 0;
      r.mags_.push_back(std::move(m));
    }
  } catch (const Error& e) {
    fail(ErrorKind::Corrupt, file.string() + ": unreadable lazy registry: " + e.what());
  } catch (const std::exception& e) {
    fail(ErrorKind::Corrupt, file.string() + ": unreadable lazy registry: " + e.what());
  }
  return r;
}

void LazyRegistry::save() const {
  Json mags = Json::array();
  for (const auto& m : mags_)
    mags.push_back(Json{{"layer", m.layer},
                        {"mag", mag_json(m.mag)},
                        {"sourceMag", mag_json(m.source_mag)},
                        {"kind", m.kind == LazyKind::Upsample ? "upsample" : "downsample"},
                        {"interpolation", m.interpolation},
                        {"complete", m.complete},
                        {"generation", m.generation}});
  std::error_code ec;
  fs::create_directories(state_dir(root_), ec);
  if (ec) fail_errno(ec.value(), "cannot create " + state_dir(root_).string());
  write_file_atomic(state_dir(root_) / "lazy.json", Json{{"version", 1}, {"mags", mags}}.dump(2) + "\n");
}

const LazyMag* LazyRegistry::find(const std::string& layer, const Mag& mag) const {
  for (const auto& m : mags_)
    if (m.layer == layer && m.mag == mag) return &m;
  return nullptr;
}

LazyMag* LazyRegistry::find(const std::string& layer, const Mag& mag) {
  for (auto& m : mags_)
    if (m.layer == layer && m.mag == mag) return &m;
  return nullptr;
}

bool LazyRegistry::remove(const std::string& layer, const Mag& mag) {
  auto it = std::remove_if(mags_.begin(), mags_.end(),
                           [&](const LazyMag& m) { return m.layer == layer && m.mag == mag; });
  bool removed = it != mags_.end();
  mags_.erase(it, mags_.end());
  return removed;
}

void LazyRegistry::rename_layer(const std::string& from, const std::string& to) {
  for (auto& m : mags_)
    if (m.layer == from) m.layer = to;
}

}  // namespace wkfs
