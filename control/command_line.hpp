#pragma once
// One control command as typed: `name pos1 pos2 --opt value --flag`, split with shell-like quoting.
// The parser knows no command; what a command accepts is its CommandSchema.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wkfs::control {

/// A parsed command line: `name pos1 pos2 --opt value --flag`.
struct CommandLine {
  std::string name;
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // a flag without value maps to "true"

  /// Splits with shell-like quoting ('..', "..", backslash); InvalidArgument on unbalanced quotes.
  static CommandLine parse(const std::string& text);
  /// Quotes one argument so that parse() gives it back unchanged.
  static std::string quote(const std::string& arg);

  /// The option's value, or nullopt.
  std::optional<std::string> option(const std::string& key) const;
  /// A flag's value: absent is false; true/1/yes or false/0/no, InvalidArgument otherwise.
  bool flag(const std::string& key) const;
  /// The i-th positional argument; InvalidArgument naming `what` if missing.
  const std::string& arg(size_t i, const std::string& what) const;
};

}  // namespace wkfs::control
