#pragma once
// Real servers for the storage tests, started and stopped by PID: nginx-light through
// tests/servers/nginx.sh, and small python3 programs for misbehaving servers.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace wkfs::test {

/// Runs a shell command and returns its stdout; throws if it exits non-zero.
inline std::string run_command(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = pclose(p);
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
  return out;
}

/// nginx serving `root` on two loopback ports (HTTP, HTTPS+h2); stopped on destruction.
class NginxServer {
 public:
  NginxServer(const std::filesystem::path& dir, const std::filesystem::path& root) : dir_(dir) {
    std::string out = run_command("bash " WKFS_SOURCE_DIR "/tests/servers/nginx.sh start '" + dir.string() + "' '" +
                                  root.string() + "'");
    std::istringstream in(out);
    in >> http_port_ >> https_port_;
    if (!http_port_ || !https_port_) throw std::runtime_error("nginx.sh printed no ports: " + out);
  }
  ~NginxServer() {
    int rc = std::system(("bash " WKFS_SOURCE_DIR "/tests/servers/nginx.sh stop '" + dir_.string() + "'").c_str());
    (void)rc;
  }
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  std::string https_url() const { return "https://127.0.0.1:" + std::to_string(https_port_); }
  std::filesystem::path ca_file() const { return dir_ / "cert.pem"; }
  /// Lines of the access log (nginx writes each line when its request ends).
  std::vector<std::string> access_log() const {
    std::ifstream in(dir_ / "access.log");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  /// Distinct connections that served requests whose log line contains `needle`.
  size_t connections_for(const std::string& needle) const {
    std::set<std::string> ids;
    for (auto& l : access_log())
      if (l.find(needle) != std::string::npos) ids.insert(l.substr(0, l.find(' ')));
    return ids.size();
  }
  size_t requests_for(const std::string& needle) const {
    size_t n = 0;
    for (auto& l : access_log()) n += l.find(needle) != std::string::npos;
    return n;
  }
  /// As requests_for, after waiting (up to 5 s) for at least `expected` such lines: nginx logs a
  /// request after sending its answer, so the client can be faster than the log.
  size_t wait_requests_for(const std::string& needle, size_t expected) const {
    for (int i = 0; i < 250 && requests_for(needle) < expected; ++i) usleep(20000);
    usleep(100000);  // and a moment for any extra ones
    return requests_for(needle);
  }
  /// The access log once it has at least `lines` lines (waiting up to 5 s).
  std::vector<std::string> wait_access_log(size_t lines) const {
    for (int i = 0; i < 250 && access_log().size() < lines; ++i) usleep(20000);
    return access_log();
  }

 private:
  std::filesystem::path dir_;
  int http_port_ = 0, https_port_ = 0;
};

/// A /usr/bin/python3 program that prints its port on the first line; killed by PID on destruction.
class PythonServer {
 public:
  explicit PythonServer(const std::string& program) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      execl("/usr/bin/python3", "python3", "-u", "-c", program.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    std::string line;
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    close(fds[0]);
    port_ = std::atoi(line.c_str());
    if (!port_) throw std::runtime_error("python server printed no port");
  }
  ~PythonServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace wkfs::test
