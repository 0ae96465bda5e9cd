#pragma once
// The one JSON type of wkfs: insertion-ordered, so documents keep the key order the library wrote
// (datasource-properties.json is compared with the library's output byte for byte in tests).
#include <nlohmann/json.hpp>

namespace wkfs {

using Json = nlohmann::ordered_json;

}  // namespace wkfs
