#pragma once
// Control commands of the mount: one line written to a `.wkfs-ctl` file is one command, named as
// the Python API in kebab-case with `--option value` arguments. The table maps names to handlers,
// so other modules (the lazy engine) add or replace commands without touching the FUSE code.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dataset/dataset.hpp"
#include "lazy/lazy_engine_registry.hpp"

namespace wkfs::control {

namespace fs = std::filesystem;

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
  bool flag(const std::string& key) const;
  /// The i-th positional argument; InvalidArgument naming `what` if missing.
  const std::string& arg(size_t i, const std::string& what) const;
};

/// Where a command runs: the dataset, and the layer if written to a layer's control file.
struct CommandContext {
  std::shared_ptr<Dataset> dataset;
  std::optional<std::string> layer;
  /// The mount's lazy engines; null where there are none (then pyramid commands fail, saying so).
  LazyEngineRegistry* lazy = nullptr;
  /// Maps a path argument to a backing path (mount paths become SOURCE paths; relative paths are
  /// taken from --cwd if given, else from the control file's folder).
  std::function<fs::path(const std::string&)> resolve_path;

  /// The layer name; InvalidArgument if the command was sent to a dataset control file.
  const std::string& require_layer(const std::string& command) const;
  /// The lazy engines; Unsupported if this context has none.
  LazyEngineRegistry& require_lazy() const;
};

enum class CommandScope { Dataset, Layer, Any };

/// Handler: does the work and returns the "result" member of the reply (null if nothing to say).
using CommandHandler = std::function<Json(CommandContext&, const CommandLine&)>;

struct ControlCommand {
  std::string name;
  CommandScope scope;
  std::string usage;  // "add-mag MAG [--chunk-shape X,Y,Z] ..."
  CommandHandler run;
};

class CommandTable {
 public:
  /// Adds or replaces the command of that name.
  void set(ControlCommand command);
  /// The command, or nullptr.
  const ControlCommand* find(const std::string& name) const;
  std::vector<std::string> names() const;

  /// Runs `text`; returns {"ok":true,"command":..,"result":..} or throws wkfs::Error.
  Json run(CommandContext& context, const std::string& text) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const ControlCommand>> commands_;
};

/// --chunk-shape, --shard-shape, --chunks-per-shard, --compress [true|false], --no-compress.
MagOptions parse_mag_options(const CommandLine& line);

/// A table with every command: the Layer and Dataset API, the pyramid commands and help.
std::shared_ptr<CommandTable> make_builtin_command_table();

/// Adds the pyramid commands (downsample, downsample-mag, downsample-mag-list, redownsample,
/// upsample, materialize, compress, lazy-status).
void add_lazy_commands(CommandTable& table);

}  // namespace wkfs::control
