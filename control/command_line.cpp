#include "control/command_line.hpp"

#include "core/error.hpp"

namespace wkfs::control {

CommandLine CommandLine::parse(const std::string& text) {
  std::vector<std::string> tokens;
  std::string cur;
  bool in_token = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        cur.push_back(text[++i]);
      } else {
        cur.push_back(c);
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_token = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur.push_back(text[++i]);
      in_token = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_token) tokens.push_back(std::move(cur));
      cur.clear();
      in_token = false;
    } else {
      cur.push_back(c);
      in_token = true;
    }
  }
  if (quote) fail(ErrorKind::InvalidArgument, "control command has an unbalanced quote: " + text);
  if (in_token) tokens.push_back(std::move(cur));
  if (tokens.empty()) fail(ErrorKind::InvalidArgument, "empty control command");

  CommandLine line;
  line.name = tokens[0];
  for (size_t i = 1; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (t.size() > 2 && t.compare(0, 2, "--") == 0) {
      std::string key = t.substr(2);
      if (auto eq = key.find('='); eq != std::string::npos) {
        line.options[key.substr(0, eq)] = key.substr(eq + 1);
      } else if (i + 1 < tokens.size() && tokens[i + 1].compare(0, 2, "--") != 0) {
        line.options[key] = tokens[++i];
      } else {
        line.options[key] = "true";
      }
    } else {
      line.positional.push_back(t);
    }
  }
  return line;
}

std::string CommandLine::quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t\n\r'\"\\") == std::string::npos) return arg;
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  out += "'";
  return out;
}

std::optional<std::string> CommandLine::option(const std::string& key) const {
  auto it = options.find(key);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

bool CommandLine::flag(const std::string& key) const {
  auto v = option(key);
  if (!v) return false;
  if (*v == "true" || *v == "1" || *v == "yes") return true;
  if (*v == "false" || *v == "0" || *v == "no") return false;
  fail(ErrorKind::InvalidArgument, "--" + key + " takes true or false, not '" + *v + "'");
}

const std::string& CommandLine::arg(size_t i, const std::string& what) const {
  if (i >= positional.size()) fail(ErrorKind::InvalidArgument, name + ": missing argument " + what);
  return positional[i];
}

}  // namespace wkfs::control
