#pragma once
// Real servers for the storage tests, started and stopped by PID: nginx-light through
// tests/servers/nginx.sh, and small python3 programs for misbehaving servers. The remote tests of
// the other areas start from here too: fixture copies served by nginx, OpenStack Swift's s3api
// (tests/servers/swift_s3.sh) with boto3 as the independent uploader, the credentials as
// webknossos-libs looks them up, and a client for the servers' certificate.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/http_client.hpp"
#include "storage/open_store.hpp"
#include "support/test_support.hpp"

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

/// Copies of fixture datasets in `dir`/www, served by an NginxServer (its files in `dir`/nginx).
class ServedFixtures {
 public:
  ServedFixtures(const std::filesystem::path& dir, const std::vector<std::string>& fixtures) : root_(dir / "www") {
    std::filesystem::create_directories(root_);
    for (const auto& f : fixtures) copy_fixture(f, root_);
    nginx_ = std::make_unique<NginxServer>(dir / "nginx", root_);
  }
  /// The served folder: the copies, each under its fixture's name.
  const std::filesystem::path& root() const { return root_; }
  NginxServer& nginx() const { return *nginx_; }

 private:
  std::filesystem::path root_;
  std::unique_ptr<NginxServer> nginx_;
};

/// A client for the test servers: `ca_file` trusted (none: the system's), retries quick.
inline std::shared_ptr<storage::HttpClient> test_client(const std::string& ca_file = "",
                                                        std::chrono::milliseconds backoff = std::chrono::milliseconds(10)) {
  storage::HttpOptions o;
  o.ca_file = ca_file;
  o.backoff_initial = backoff;
  return std::make_shared<storage::HttpClient>(o);
}

/// A store context over test_client(ca_file), no token.
inline storage::StoreContext test_context(const std::string& ca_file = "") {
  return storage::StoreContext{test_client(ca_file), ""};
}

/// OpenStack Swift's s3api behind an nginx TLS front (tests/servers/swift_s3.sh, state in `dir`);
/// stopped on destruction. Takes seconds to start: one test per executable uses it.
class SwiftS3Server {
 public:
  explicit SwiftS3Server(const std::filesystem::path& dir) : dir_(dir) {
    std::istringstream in(run_command("bash " WKFS_SOURCE_DIR "/tests/servers/swift_s3.sh start '" + dir.string() + "'"));
    in >> http_port >> tls_port;
    if (!tls_port) throw std::runtime_error("swift_s3.sh printed no ports");
  }
  ~SwiftS3Server() {
    int rc = std::system(("bash " WKFS_SOURCE_DIR "/tests/servers/swift_s3.sh stop '" + dir_.string() + "'").c_str());
    (void)rc;
  }
  SwiftS3Server(const SwiftS3Server&) = delete;
  SwiftS3Server& operator=(const SwiftS3Server&) = delete;

  std::filesystem::path ca_file() const { return dir_ / "front/cert.pem"; }
  /// host:port of the TLS front, as an s3:// URL names it.
  std::string authority() const { return "127.0.0.1:" + std::to_string(tls_port); }
  /// boto3 (an independent client) uploads every file below `src` into bucket wk-data, made if
  /// absent, under its path relative to `src`, below `prefix` if not empty.
  void upload(const std::filesystem::path& src, const std::string& prefix = "") const {
    const auto script = dir_ / "upload.py";
    std::ofstream(script) << R"PY(
import os, sys, boto3
from botocore.config import Config
endpoint, ca, src, prefix = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, aws_access_key_id="test:tester",
                  aws_secret_access_key="testing", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
if "wk-data" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    s3.create_bucket(Bucket="wk-data")
for root, _, files in os.walk(src):
    for f in files:
        p = os.path.join(root, f)
        s3.upload_file(p, "wk-data", (prefix + "/" if prefix else "") + os.path.relpath(p, src))
print("ok")
)PY";
    const std::string out = run_command("/usr/bin/python3 " + script.string() + " https://" + authority() + " '" +
                                        ca_file().string() + "' '" + src.string() + "' '" + prefix + "'");
    if (out != "ok\n") throw std::runtime_error("boto3 upload failed: " + out);
  }

  int http_port = 0, tls_port = 0;

 private:
  std::filesystem::path dir_;
};

/// The credentials of bucket wk-data at `swift`, in the variables webknossos-libs looks up for
/// that endpoint and bucket (AWS_ACCESS_KEY_ID__<HOST>_<PORT>__WK_DATA); removed on destruction.
class LibraryS3Credentials {
 public:
  explicit LibraryS3Credentials(const SwiftS3Server& swift)
      : suffix_("127_0_0_1_" + std::to_string(swift.tls_port) + "__WK_DATA") {
    ::setenv(("AWS_ACCESS_KEY_ID__" + suffix_).c_str(), "test:tester", 1);
    set_secret("testing");
  }
  ~LibraryS3Credentials() {
    ::unsetenv(("AWS_ACCESS_KEY_ID__" + suffix_).c_str());
    ::unsetenv(("AWS_SECRET_ACCESS_KEY__" + suffix_).c_str());
  }
  LibraryS3Credentials(const LibraryS3Credentials&) = delete;
  LibraryS3Credentials& operator=(const LibraryS3Credentials&) = delete;
  /// Another secret from now on (a wrong one: the server refuses).
  void set_secret(const std::string& secret) { ::setenv(("AWS_SECRET_ACCESS_KEY__" + suffix_).c_str(), secret.c_str(), 1); }

 private:
  std::string suffix_;
};

}  // namespace wkfs::test
