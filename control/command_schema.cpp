#include "control/command_schema.hpp"

#include <algorithm>

#include "control/protocol.hpp"
#include "core/error.hpp"

namespace wkfs::control {

namespace {

std::string option_text(const CommandOption& o) {
  std::string names = "--" + o.name;
  for (const auto& a : o.aliases) names += "|--" + a;
  return o.is_flag() ? names : names + " " + o.value;
}

bool is_boolean_word(const std::string& v) {
  for (const char* w : {"true", "1", "yes", "false", "0", "no"})
    if (v == w) return true;
  return false;
}

}  // namespace

const CommandOption* CommandSchema::find_option(const std::string& key) const {
  for (const auto& o : options)
    if (o.name == key || std::find(o.aliases.begin(), o.aliases.end(), key) != o.aliases.end()) return &o;
  return nullptr;
}

std::string CommandSchema::usage(const std::string& command) const {
  std::string out = command;
  for (const auto& a : arguments) {
    std::string text = a.repeated ? a.name + "..." : a.name;
    out += " " + (a.required ? text : "[" + text + "]");
  }
  for (const auto& o : options) out += " " + (o.required ? option_text(o) : "[" + option_text(o) + "]");
  return out;
}

Json CommandSchema::arguments_json() const {
  Json out = Json::array();
  for (const auto& a : arguments)
    out.push_back(Json{{"name", a.name}, {"help", a.help}, {"required", a.required}, {"repeated", a.repeated}});
  return out;
}

Json CommandSchema::options_json() const {
  Json out = Json::array();
  for (const auto& o : options) {
    Json j{{"name", "--" + o.name}};
    Json aliases = Json::array();
    for (const auto& a : o.aliases) aliases.push_back("--" + a);
    j["aliases"] = aliases;
    j["value"] = o.is_flag() ? Json() : Json(o.value);
    j["help"] = o.help;
    j["default"] = o.default_value.empty() ? Json() : Json(o.default_value);
    j["required"] = o.required;
    out.push_back(std::move(j));
  }
  return out;
}

void CommandSchema::check(CommandLine& line) const {
  auto refuse = [&](const std::string& what) {
    fail(ErrorKind::InvalidArgument, line.name + ": " + what + " (usage: " + usage(line.name) + ")");
  };
  std::map<std::string, std::string> renamed;
  for (auto& [key, value] : line.options) {
    if (key == kCwdOption) {  // sent by `wkfs ctl` with every command; the adapter reads it
      renamed[key] = value;
      continue;
    }
    const auto* o = find_option(key);
    if (!o) refuse("unknown option --" + key);
    if (renamed.count(o->name)) refuse("--" + key + " is given twice (as --" + o->name + " or an alias)");
    if (o->is_flag() && !is_boolean_word(value))
      refuse("--" + key + " is a flag; it takes true or false, not '" + value + "'");
    renamed[o->name] = value;
  }
  line.options = std::move(renamed);
  for (const auto& o : options)
    if (o.required && !line.options.count(o.name)) refuse("missing option --" + o.name);
  size_t required = 0;
  bool repeated = false;
  for (const auto& a : arguments) {
    if (a.required) ++required;
    repeated = repeated || a.repeated;
  }
  if (line.positional.size() < required) refuse("missing argument " + arguments[line.positional.size()].name);
  if (!repeated && line.positional.size() > arguments.size())
    refuse("unexpected argument '" + line.positional[arguments.size()] + "'");
}

std::vector<CommandOption> join(std::initializer_list<std::vector<CommandOption>> lists) {
  std::vector<CommandOption> out;
  for (const auto& l : lists) out.insert(out.end(), l.begin(), l.end());
  return out;
}

}  // namespace wkfs::control
