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

#include "control/command_line.hpp"
#include "control/command_schema.hpp"
#include "control/mag_options.hpp"  // parse_mag_options, which users of this header call
#include "dataset/dataset.hpp"
#include "lazy/lazy_engine_registry.hpp"

namespace wkfs::control {

namespace fs = std::filesystem;

/// Where a command runs: the dataset, and the layer if written to a layer's control file.
struct CommandContext {
  std::shared_ptr<Dataset> dataset;
  std::optional<std::string> layer;
  /// The mount's lazy engines; null where there are none (then pyramid commands fail, saying so).
  LazyEngineRegistry* lazy = nullptr;
  /// Maps a path argument to a backing path (mount paths become SOURCE paths; relative paths are
  /// taken from --cwd if given, else from the control file's folder).
  std::function<fs::path(const std::string&)> resolve_path;
  /// Set where nothing may change (errno and why: EROFS on a -o ro mount, EBUSY with the holder for a
  /// dataset another mount holds): only commands that read run; the others fail with it.
  int refuse_changes_errno = 0;
  std::string refuse_changes_why;
  /// Drops the mount's remote cache and says what it dropped (`cache-clear`); null: no mount set it.
  std::function<Json()> clear_remote_cache;
  /// Set where lazy mags cannot be kept (a writable S3 mount): commands that register or rewrite
  /// lazy files fail with it (Unsupported).
  std::string lazy_mags_refused_why;

  /// The layer name; InvalidArgument if the command was sent to a dataset control file.
  const std::string& require_layer(const std::string& command) const;
  /// The lazy engines; Unsupported if this context has none.
  LazyEngineRegistry& require_lazy() const;
  /// The lazy engines for a command that registers or rewrites lazy files; Unsupported if refused here.
  LazyEngineRegistry& require_lazy_mags() const;
};

/// Any: a dataset's or a layer's control file; Mount: needs no dataset, so it also runs at the root
/// of a URL SOURCE mount (which has a control file there for such commands).
enum class CommandScope { Dataset, Layer, Any, Mount };

/// Handler: does the work and returns the "result" member of the reply (null if nothing to say).
using CommandHandler = std::function<Json(CommandContext&, const CommandLine&)>;

/// "dataset", "layer", "any" or "mount", as `help` shows it.
const char* scope_name(CommandScope scope);

struct ControlCommand {
  std::string name;
  CommandScope scope = CommandScope::Any;
  std::string description;  // one line, for `help`
  CommandSchema schema;     // what it accepts; the handler sees only declared option names
  CommandHandler run;
  bool reads_only = false;  // changes nothing: runs on read-only mounts and on datasets held elsewhere

  /// The usage line, from the schema.
  std::string usage() const { return schema.usage(name); }
  /// {name, scope, usage, description, arguments, options}, one entry of `help`.
  Json help() const;
};

class CommandTable {
 public:
  /// Adds or replaces the command of that name.
  void set(ControlCommand command);
  /// The command, or nullptr.
  const ControlCommand* find(const std::string& name) const;
  std::vector<std::string> names() const;
  /// The help entry of every command, by name.
  Json help() const;

  /// Checks `text` against the command's schema and scope and runs it; returns ok_reply (reply.hpp)
  /// or throws wkfs::Error (InvalidArgument with the usage for a line the schema refuses).
  Json run(CommandContext& context, const std::string& text) const;
  /// The same for a line already parsed (the mount reads --cwd from it first).
  Json run(CommandContext& context, CommandLine line) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const ControlCommand>> commands_;
};

/// A table with every command: the Layer and Dataset API, the pyramid commands and help.
std::shared_ptr<CommandTable> make_builtin_command_table();

/// Adds the pyramid commands (downsample, downsample-mag, downsample-mag-list, redownsample,
/// upsample, materialize, compress, lazy-status).
void add_lazy_commands(CommandTable& table);

}  // namespace wkfs::control
