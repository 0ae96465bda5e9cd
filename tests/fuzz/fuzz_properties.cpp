// Fuzzes DatasetProperties::parse on arbitrary bytes. Only wkfs::Error may escape; anything that
// parses must serialise, and the serialised text must parse again to the same text (a fixpoint).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "dataset/properties.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  wkfs::DatasetProperties props;
  try {
    props = wkfs::DatasetProperties::parse(text);
  } catch (const wkfs::Error&) {
    return 0;
  }
  for (const auto& layer : props.layers) (void)layer.array_axes();
  std::string once = props.dump();
  std::string twice;
  try {
    twice = wkfs::DatasetProperties::parse(once).dump();
  } catch (const wkfs::Error&) {
    std::abort();  // our own output must always be valid
  }
  if (once != twice) std::abort();
  return 0;
}
