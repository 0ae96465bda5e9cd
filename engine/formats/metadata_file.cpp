#include "formats/metadata_file.hpp"

#include <vector>

#include "core/file_io.hpp"

namespace wkfs {

void rewrite_metadata_shape(const fs::path& array_dir, const std::string& name, const VecN& new_shape, size_t rank) {
  if (new_shape.size() != rank)
    fail(ErrorKind::InvalidArgument, "resize of " + array_dir.string() + ": shape " + to_string(new_shape) +
                                         " does not have rank " + std::to_string(rank));
  for (int64_t s : new_shape)
    if (s < 0) fail(ErrorKind::InvalidArgument, "resize of " + array_dir.string() + ": negative shape " + to_string(new_shape));
  fs::path file = array_dir / name;
  // ordered_json keeps every key, known or not, in its place; only "shape" changes.
  nlohmann::ordered_json j;
  Bytes b = read_file(file);
  try {
    j = nlohmann::ordered_json::parse(std::string(reinterpret_cast<const char*>(b.data()), b.size()));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::InvalidArgument, file.string() + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) fail(ErrorKind::InvalidArgument, file.string() + ": not a JSON object");
  j["shape"] = std::vector<int64_t>(new_shape.begin(), new_shape.end());
  write_file_atomic(file, j.dump());
}

}  // namespace wkfs
