#pragma once
// Subcommands of the `wkfs` binary register themselves here, one file per command (tools/cmd_*.cpp).
#include <functional>
#include <string>
#include <vector>

namespace wkfs::cli {

/// A subcommand: gets its arguments (without "wkfs <name>"), returns the exit code. Engine errors
/// thrown out of it are printed as one line "wkfs <name>: <message>" and give exit code 1.
using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct Command {
  std::string name;     // "info", "read", "bench" ...
  std::string summary;  // one line for `wkfs --help`
  CommandFn run;
};

/// Registers a command at static-initialisation time: `static Registrar r{{"info", "...", fn}};`
struct Registrar {
  explicit Registrar(Command c);
};

const std::vector<Command>& commands();

}  // namespace wkfs::cli
