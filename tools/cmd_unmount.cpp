// `wkfs unmount MOUNTPOINT [-l]`
#include <iostream>

#include "fs/mount.hpp"
#include "tools/command.hpp"

namespace {

int run(const std::vector<std::string>& args) {
  bool lazy = false;
  std::vector<std::string> positional;
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << "usage: wkfs unmount MOUNTPOINT [-l]\n  -l  lazy: detach now, finish when no longer busy\n";
      return 0;
    }
    if (a == "-l" || a == "--lazy") lazy = true;
    else positional.push_back(a);
  }
  if (positional.size() != 1) {
    std::cerr << "usage: wkfs unmount MOUNTPOINT [-l]\n";
    return 2;
  }
  wkfs::mount::unmount(positional[0], lazy);
  return 0;
}

static wkfs::cli::Registrar reg{{"unmount", "unmount a wkfs mount", run}};

}  // namespace
