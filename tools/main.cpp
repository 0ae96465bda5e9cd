// wkfs command line: dispatches to the subcommands registered by tools/cmd_*.cpp.
#include <filesystem>
#include <iostream>

#include "core/error.hpp"
#include "fs/wkfs_version.hpp"
#include "tools/command.hpp"

namespace wkfs::cli {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
}  // namespace

Registrar::Registrar(Command c) { registry().push_back(std::move(c)); }
const std::vector<Command>& commands() { return registry(); }

}  // namespace wkfs::cli

namespace {
void usage(std::ostream& os) {
  os << "usage: wkfs COMMAND [ARGS...]\n       wkfs --version\n\ncommands:\n";
  for (const auto& c : wkfs::cli::commands()) os << "  " << c.name << std::string(c.name.size() < 14 ? 14 - c.name.size() : 1, ' ') << c.summary << "\n";
  os << "\n`wkfs COMMAND --help` describes one command.\n";
}
const wkfs::cli::Command* find_command(const std::string& name) {
  for (const auto& c : wkfs::cli::commands())
    if (c.name == name) return &c;
  return nullptr;
}

/// Runs `c` with `args`; an error is printed with the command's name and exits 1.
int run_command(const wkfs::cli::Command& c, const std::vector<std::string>& args) {
  try {
    return c.run(args);
  } catch (const std::exception& e) {  // wkfs::Error included
    std::cerr << "wkfs " << c.name << ": " << e.what() << "\n";
    return 1;
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "-V") {
    std::cout << "wkfs " << wkfs::kVersion;
    if (*wkfs::kGitCommit) std::cout << " (commit " << wkfs::kGitCommit << ")";
    std::cout << "\n";
    return 0;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    usage(std::cout);
    return 0;
  }
  if (const auto* c = find_command(name)) return run_command(*c, std::vector<std::string>(argv + 2, argv + argc));
  // mount.fuse3 (an fstab line of type fuse.wkfs) runs `wkfs SOURCE MOUNTPOINT -o OPTIONS`: a first
  // word that is no command, followed by an existing folder, is that call of `wkfs mount`.
  std::error_code ec;
  if (argc >= 3 && name[0] != '-' && std::filesystem::is_directory(argv[2], ec))
    if (const auto* c = find_command("mount")) return run_command(*c, std::vector<std::string>(argv + 1, argv + argc));
  std::cerr << "wkfs: unknown command '" << name << "'\n";
  usage(std::cerr);
  return 2;
}
