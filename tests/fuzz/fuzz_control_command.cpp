// Fuzzes one control-command line as the mount receives it: the parser, the command's declared
// schema check, and the typed values its options carry (shapes, boxes, mags, dtypes, modes).
// Only wkfs::Error may escape; a quoted argument must parse back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/command_line.hpp"
#include "control/command_table.hpp"
#include "control/mag_options.hpp"
#include "control/text_values.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/mag.hpp"
#include "downsample/interpolation_mode.hpp"

using namespace wkfs;
using namespace wkfs::control;

namespace {

// Every typed value an option may carry, each parser given the same text.
void parse_values(const std::string& v) {
  auto quietly = [](auto&& f) {
    try {
      f();
    } catch (const Error&) {
    }
  };
  quietly([&] { (void)parse_vec3(v, "v"); });
  quietly([&] {
    auto box = parse_bounding_box(v);
    if (parse_bounding_box(format_bounding_box(box)).size != box.size) std::abort();
  });
  quietly([&] { (void)parse_optional_int(v, "v"); });
  quietly([&] { (void)Mag::parse(v); });
  quietly([&] { (void)parse_dtype(v); });
  quietly([&] { (void)parse_interpolation_mode(v, false); });
  quietly([&] { (void)parse_interpolation_mode(v, true); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto table = make_builtin_command_table();
  std::string text(reinterpret_cast<const char*>(data), size);
  CommandLine line;
  try {
    line = CommandLine::parse(text);
  } catch (const Error&) {
    return 0;
  }
  for (const auto& p : line.positional) {
    auto back = CommandLine::parse("x " + CommandLine::quote(p));
    if (back.positional.size() != 1 || back.positional[0] != p) std::abort();
    parse_values(p);
  }
  for (const auto& [key, value] : line.options) parse_values(value);
  if (const auto* command = table->find(line.name)) {
    try {
      command->schema.check(line);
      (void)parse_mag_options(line);
    } catch (const Error&) {
    }
  }
  return 0;
}
