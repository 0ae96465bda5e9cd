// `wkfs ctl PATH COMMAND [ARGS...]`: writes one command to PATH/.wkfs-ctl and prints the reply.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <thread>
#include <chrono>

#include "control/command_line.hpp"
#include "control/protocol.hpp"
#include "control/reply.hpp"
#include "core/json.hpp"
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

// The mount root above `dir`: the folder whose status file can be opened.
std::filesystem::path mount_root(std::filesystem::path dir) {
  dir = std::filesystem::absolute(dir).lexically_normal();
  for (auto d = dir; !d.empty(); d = d.parent_path()) {
    if (::access((d / wkfs::control::kStatusFile).c_str(), F_OK) == 0) return d;
    if (d == d.root_path()) break;
  }
  return {};
}

// --wait: polls the mount's status until the lazy mags named in the reply are computed, with a
// progress bar on a terminal and one plain line every few seconds otherwise.
int wait_for(const std::filesystem::path& dir, const wkfs::Json& reply) {
  auto root = mount_root(dir);
  if (root.empty()) {
    std::cerr << "wkfs ctl: --wait: no wkfs mount above " << dir.string() << "\n";
    return 1;
  }
  auto result = wkfs::control::reply_result(reply);
  if (!result.is_object()) result = wkfs::Json::object();
  std::string dataset = result.value("dataset", std::string());  // the status is keyed by dataset root
  std::string layer = result.value("layer", std::string());
  std::set<std::string> mags;
  for (const auto& m : result.value("mags", wkfs::Json::array()))
    mags.insert(m.get<std::string>());
  bool tty = ::isatty(STDOUT_FILENO);
  auto last_line = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  auto start = std::chrono::steady_clock::now();
  auto unlisted_since = std::chrono::steady_clock::time_point::max();  // max: not waiting for a listing
  for (;;) {
    int fd = ::open((root / wkfs::control::kStatusFile).c_str(), O_RDONLY);
    if (fd < 0) {
      std::cerr << "wkfs ctl: --wait: the mount went away\n";
      return 1;
    }
    auto status = wkfs::Json::parse(read_all(fd), nullptr, false);
    ::close(fd);
    uint64_t total = 0, done = 0, busy = 0, errors = 0;
    bool all_complete = true;
    if (!status.is_discarded() && status.contains("lazy"))
      for (const auto& [ds, st] : status["lazy"].items()) {
        if (!dataset.empty() && ds != dataset) continue;
        for (const auto& m : st.value("mags", wkfs::Json::array())) {
          if (!layer.empty() && m["layer"] != layer) continue;
          if (!mags.empty() && !mags.count(m["mag"].get<std::string>())) continue;
          total += m["files_total"].get<uint64_t>();
          done += std::min(m["files_computed"].get<uint64_t>(), m["files_total"].get<uint64_t>());
          busy += m["queued"].get<uint64_t>() + m["in_progress"].get<uint64_t>();
          errors += m["errors"].get<uint64_t>();
          all_complete = all_complete && m.value("complete", false);
        }
      }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    double eta = frac > 0 && frac < 1 ? secs / frac - secs : 0;
    char line[200];
    std::snprintf(line, sizeof line, "%llu/%llu files (%.0f%%), %.1f s, eta %.0f s",
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), frac * 100, secs, eta);
    // The last file is counted before its mag is listed in the backing properties (a second
    // write): done only once every mag says complete, so that the properties are final on return.
    const auto now = std::chrono::steady_clock::now();
    if (done < total || busy > 0) unlisted_since = std::chrono::steady_clock::time_point::max();
    else if (unlisted_since == std::chrono::steady_clock::time_point::max()) unlisted_since = now;
    bool finished = all_complete || (busy == 0 && done < total) ||
                    (unlisted_since != std::chrono::steady_clock::time_point::max() && now - unlisted_since > std::chrono::seconds(5));
    if (tty) {
      int width = 30, filled = static_cast<int>(frac * width);
      std::cout << "\r[" << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(width - filled), '.')
                << "] " << line << std::flush;
      if (finished) std::cout << "\n";
    } else if (finished || std::chrono::steady_clock::now() - last_line > std::chrono::seconds(2)) {
      std::cout << line << "\n" << std::flush;
      last_line = std::chrono::steady_clock::now();
    }
    if (finished) {
      if (done < total) {
        std::cerr << "wkfs ctl: " << total - done << " files could not be computed (" << errors
                  << " errors; see the mount's log and status)\n";
        return 1;
      }
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int run(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.size() < 2 && !(args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) ? 2 : 0;
  }
  std::filesystem::path dir = args[0];
  if (args[1] == "status" && args.size() == 2) {
    int fd = ::open((dir / wkfs::control::kStatusFile).c_str(), O_RDONLY);
    if (fd < 0) {
      std::cerr << "wkfs ctl: " << (dir / wkfs::control::kStatusFile).string() << ": " << std::strerror(errno)
                << " (is " << dir.string() << " the root of a wkfs mount?)\n";
      return 1;
    }
    std::cout << read_all(fd);
    ::close(fd);
    return 0;
  }
  std::string line;
  for (size_t i = 1; i < args.size(); ++i) line += (i > 1 ? " " : "") + wkfs::control::CommandLine::quote(args[i]);
  line += std::string(" --") + wkfs::control::kCwdOption + " " +
          wkfs::control::CommandLine::quote(std::filesystem::current_path().string());
  auto ctl = dir / wkfs::control::kControlFile;
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
    auto j = wkfs::Json::parse(reply, nullptr, false);
    std::string reason = wkfs::control::reply_error(j, std::strerror(err));
    std::cerr << "wkfs ctl: " << args[1] << ": " << reason << " (" << std::strerror(err) << ")\n";
    return 1;
  }
  std::cout << reply;
  bool wait = false;
  for (size_t i = 2; i < args.size(); ++i) wait = wait || args[i] == "--wait";
  if (wait) {
    auto j = wkfs::Json::parse(reply, nullptr, false);
    if (wkfs::control::reply_ok(j)) return wait_for(dir, j);
  }
  return 0;
}

static wkfs::cli::Registrar reg{{"ctl", "send a Layer API command to a mounted dataset or layer", run}};

}  // namespace
