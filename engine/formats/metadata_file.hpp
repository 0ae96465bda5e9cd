#pragma once
// The JSON metadata file of a Zarr array (.zarray, zarr.json): parsing with errors that name the
// file, and rewriting its shape on resize.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/vec.hpp"

namespace wkfs {

namespace fs = std::filesystem;

/// Parses `text` as JSON and hands it to `parse`; InvalidArgument naming `where` for malformed JSON
/// or a value of the wrong type.
template <typename Parse>
auto parse_metadata_json(std::string_view text, const std::string& where, Parse parse) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::InvalidArgument, where + ": invalid JSON: " + e.what());
  }
  try {
    return parse(j, where);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::InvalidArgument, where + ": " + e.what());
  }
}

/// Sets "shape" in the metadata file `name` of the array in `array_dir`, keeping every other key
/// in its place; InvalidArgument for a shape of another rank than `rank` or a negative one.
void rewrite_metadata_shape(const fs::path& array_dir, const std::string& name, const VecN& new_shape, size_t rank);

}  // namespace wkfs
