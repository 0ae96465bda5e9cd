#pragma once
// What one control command accepts, declared once: its positional arguments and its options.
// The usage line, the `help` output and the check of a typed line all come from this
// declaration, so a change of wording cannot change what is accepted.
#include <initializer_list>
#include <string>
#include <vector>

#include "control/command_line.hpp"
#include "core/json.hpp"

namespace wkfs::control {

/// One positional argument: `MAG`, `[MAG]` (optional) or `TO...` (one or more / any number).
struct CommandArgument {
  std::string name;  // the placeholder in the usage line, e.g. "MAG"
  std::string help;
  bool required = true;
  bool repeated = false;  // takes every remaining positional; only the last argument
};

/// One `--option`: with a value (`value` is its placeholder) or a flag (`value` empty, which also
/// takes an explicit true/false).
struct CommandOption {
  std::string name;  // without the dashes: "chunk-shape"
  std::vector<std::string> aliases;  // other spellings, handed to the handler under `name`
  std::string value;  // "X,Y,Z"; empty for a flag
  std::string help;
  std::string default_value;  // shown in help; empty if none (or the default is computed)
  bool required = false;

  bool is_flag() const { return value.empty(); }
};

/// The declaration of one command's arguments.
struct CommandSchema {
  std::vector<CommandArgument> arguments;
  std::vector<CommandOption> options;

  /// The option named `key` or aliased so (not --cwd), or nullptr.
  const CommandOption* find_option(const std::string& key) const;
  /// "add-mag MAG [--chunk-shape X,Y,Z] ...", generated from the declaration.
  std::string usage(const std::string& command) const;
  /// The arguments and options as JSON arrays, for `help`.
  Json arguments_json() const;
  Json options_json() const;
  /// Refuses an unknown option (naming it), a missing argument or option, a surplus argument or
  /// a flag with a non-boolean value (InvalidArgument with the usage); renames aliases to the
  /// declared name.
  void check(CommandLine& line) const;
};

/// The declared lists one after another: `join({mag_command_options(), {...}})`.
std::vector<CommandOption> join(std::initializer_list<std::vector<CommandOption>> lists);

}  // namespace wkfs::control
