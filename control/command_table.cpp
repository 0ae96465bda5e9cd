#include "control/command_table.hpp"

#include "control/reply.hpp"
#include "core/error.hpp"

namespace wkfs::control {

const std::string& CommandContext::require_layer(const std::string& command) const {
  if (!layer)
    fail(ErrorKind::InvalidArgument,
         command + " is a layer command: write it to LAYER/.wkfs-ctl (or `wkfs ctl LAYER " + command + " ...`)");
  return *layer;
}

LazyEngineRegistry& CommandContext::require_lazy() const {
  if (!lazy) fail(ErrorKind::Unsupported, "lazy pyramids need a mount (no lazy engines here)");
  return *lazy;
}

LazyEngineRegistry& CommandContext::require_lazy_mags() const {
  if (!lazy_mags_refused_why.empty()) fail(ErrorKind::Unsupported, lazy_mags_refused_why);
  return require_lazy();
}

const char* scope_name(CommandScope scope) {
  switch (scope) {
    case CommandScope::Dataset: return "dataset";
    case CommandScope::Layer: return "layer";
    case CommandScope::Mount: return "mount";
    case CommandScope::Any: break;
  }
  return "any";
}

Json ControlCommand::help() const {
  return Json{{"name", name},
              {"scope", scope_name(scope)},
              {"usage", usage()},
              {"description", description},
              {"arguments", schema.arguments_json()},
              {"options", schema.options_json()},
              {"reads_only", reads_only}};
}

void CommandTable::set(ControlCommand command) {
  std::lock_guard lock(mutex_);
  auto name = command.name;
  commands_[name] = std::make_shared<const ControlCommand>(std::move(command));
}

const ControlCommand* CommandTable::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : it->second.get();
}

std::vector<std::string> CommandTable::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, c] : commands_) out.push_back(name);
  return out;
}

Json CommandTable::help() const {
  std::vector<std::shared_ptr<const ControlCommand>> commands;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, c] : commands_) commands.push_back(c);
  }
  Json out = Json::array();
  for (const auto& c : commands) out.push_back(c->help());
  return out;
}

Json CommandTable::run(CommandContext& context, const std::string& text) const {
  return run(context, CommandLine::parse(text));
}

Json CommandTable::run(CommandContext& context, CommandLine line) const {
  std::shared_ptr<const ControlCommand> command;
  {
    std::lock_guard lock(mutex_);
    auto it = commands_.find(line.name);
    if (it != commands_.end()) command = it->second;
  }
  if (!command) fail(ErrorKind::InvalidArgument, "unknown control command '" + line.name + "'");
  if (command->scope == CommandScope::Layer) context.require_layer(line.name);
  if (command->scope == CommandScope::Dataset && context.layer)
    fail(ErrorKind::InvalidArgument, line.name + " is a dataset command: write it to DATASET/.wkfs-ctl");
  command->schema.check(line);
  if (context.refuse_changes_errno && !command->reads_only)
    fail_errno(context.refuse_changes_errno, line.name + ": " + context.refuse_changes_why);
  return ok_reply(line.name, command->run(context, line));
}

}  // namespace wkfs::control
