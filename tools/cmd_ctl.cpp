// `wkfs ctl PATH COMMAND [ARGS...]`: writes one command to PATH/.wkfs-ctl and prints the reply.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "fs/command_table.hpp"
#include "fs/filesystem.hpp"
#include "tools/command.hpp"

namespace {

constexpr const char* kUsage =
    "usage: wkfs ctl PATH COMMAND [ARGS...]\n"
    "  PATH is a dataset or layer folder inside a wkfs mount; `wkfs ctl PATH help` lists commands.\n"
    "  wkfs ctl MOUNTPOINT status   prints the mount-wide status\n";

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

int run(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.size() < 2 && !(args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) ? 2 : 0;
  }
  std::filesystem::path dir = args[0];
  if (args[1] == "status" && args.size() == 2) {
    int fd = ::open((dir / wkfs::mount::kStatusFile).c_str(), O_RDONLY);
    if (fd < 0) {
      std::cerr << "wkfs ctl: " << (dir / wkfs::mount::kStatusFile).string() << ": " << std::strerror(errno)
                << " (is " << dir.string() << " the root of a wkfs mount?)\n";
      return 1;
    }
    std::cout << read_all(fd);
    ::close(fd);
    return 0;
  }
  std::string line;
  for (size_t i = 1; i < args.size(); ++i) line += (i > 1 ? " " : "") + wkfs::mount::CommandLine::quote(args[i]);
  line += " --cwd " + wkfs::mount::CommandLine::quote(std::filesystem::current_path().string());
  auto ctl = dir / wkfs::mount::kControlFile;
  int fd = ::open(ctl.c_str(), O_RDWR);
  if (fd < 0) {
    std::cerr << "wkfs ctl: " << ctl.string() << ": " << std::strerror(errno)
              << " (PATH must be a dataset or layer folder inside a wkfs mount)\n";
    return 1;
  }
  ssize_t n = ::write(fd, line.data(), line.size());
  int err = n < 0 ? errno : 0;
  std::string reply = read_all(fd);
  ::close(fd);
  if (err) {
    auto j = nlohmann::json::parse(reply, nullptr, false);
    std::string reason = (!j.is_discarded() && j.contains("error")) ? j["error"].get<std::string>() : std::strerror(err);
    std::cerr << "wkfs ctl: " << args[1] << ": " << reason << " (" << std::strerror(err) << ")\n";
    return 1;
  }
  std::cout << reply;
  return 0;
}

static wkfs::cli::Registrar reg{{"ctl", "send a Layer API command to a mounted dataset or layer", run}};

}  // namespace
