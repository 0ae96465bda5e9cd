// `wkfs bench remote`: reads every stored inner chunk of a remote Zarr3 mag (the byte ranges its
// shard indexes list) through HttpStore (cold), through CachingStore filling an empty cache, and
// through CachingStore again (warm, every read a hit), beside `curl --parallel` fetching the
// same ranges and a pread of the same ranges from the local files, all in the same run.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/json.hpp"
#include "storage/caching_store.hpp"
#include "storage/http_store.hpp"
#include "storage/store_url.hpp"
#include "tools/bench.hpp"

namespace wkfs::cli {

namespace {

using namespace storage;
using Clock = std::chrono::steady_clock;

const char* kUsage =
    "usage: wkfs bench remote [--url MAG_URL [--ca-file PEM]] [--parallel N] [--runs N] [--https]\n"
    "                         [--dataset DIR | --size X,Y,Z] [--mag LAYER/MAG] [--cache-dir DIR]\n"
    "                         [--nginx-script PATH] [--json]\n"
    "  Reads every stored inner chunk of a Zarr3 mag over HTTP(S), one ranged GET per chunk (the\n"
    "  ranges come from the shard indexes), N at a time (default 8):\n"
    "    http_cold   HttpStore, a new connection pool per run\n"
    "    cache_fill  CachingStore over a new pool, the cache emptied before each run\n"
    "    cache_warm  CachingStore, every range already cached (hits, SHA-256 checked)\n"
    "    curl        curl --parallel --parallel-max N fetching the same ranges (one process per run)\n"
    "    local       pread of the same ranges from the served files (without --url)\n"
    "  Without --url a demo dataset (wkfs make-demo, --size default 512,512,128) is written to a\n"
    "  temp folder (or --dataset DIR is used as it is) and served by tests/servers/nginx.sh; its\n"
    "  --mag (default color/1) is read. MB/s is 1e6 bytes\n"
    "  of chunk data per second, the median of --runs runs (default 3). The cache lives in\n"
    "  --cache-dir (default: a temp folder in TMPDIR). Bytes are checked against the local files.\n";

struct Options {
  std::string url, ca_file, nginx_script, cache_dir, dataset;
  std::string mag = "color/1";
  std::string size = "512,512,128";
  int parallel = 8;
  int runs = 3;
  bool https = false;
  bool json = false;
};

struct ChunkRange {
  std::string key;  // relative to the mag
  uint64_t offset = 0, length = 0;
};

// Runs a shell command, returns its stdout; throws with the output when it fails.
std::string run_shell(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) fail_errno("popen " + cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) fail(ErrorKind::Io, "command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

fs::path self_exe() { return fs::read_symlink("/proc/self/exe"); }

class TempFolder {
 public:
  TempFolder() {
    const char* tmp = getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/wkfs-bench-remote-XXXXXX";
    if (!mkdtemp(templ.data())) fail_errno("mkdtemp " + templ);
    path_ = templ;
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// nginx from tests/servers/nginx.sh serving `root`; stopped (by the script, by PID) on destruction.
class ScratchNginx {
 public:
  ScratchNginx(fs::path script, fs::path dir, const fs::path& root) : script_(std::move(script)), dir_(std::move(dir)) {
    std::istringstream in(run_shell("bash " + shell_quote(script_.string()) + " start " + shell_quote(dir_.string()) + " " +
                                    shell_quote(root.string())));
    in >> http_port_ >> https_port_;
    if (!http_port_ || !https_port_) fail(ErrorKind::Io, "nginx.sh printed no ports");
  }
  ~ScratchNginx() {
    int rc = std::system(("bash " + shell_quote(script_.string()) + " stop " + shell_quote(dir_.string())).c_str());
    (void)rc;
  }
  ScratchNginx(const ScratchNginx&) = delete;
  ScratchNginx& operator=(const ScratchNginx&) = delete;
  std::string url(bool https) const {
    return https ? "https://127.0.0.1:" + std::to_string(https_port_) : "http://127.0.0.1:" + std::to_string(http_port_);
  }
  fs::path ca_file() const { return dir_ / "cert.pem"; }

 private:
  fs::path script_, dir_;
  int http_port_ = 0, https_port_ = 0;
};

fs::path find_nginx_script(const Options& o) {
  if (!o.nginx_script.empty()) return o.nginx_script;
  std::vector<fs::path> candidates = {self_exe().parent_path().parent_path() / "tests/servers/nginx.sh",
                                      fs::current_path() / "tests/servers/nginx.sh"};
  if (const char* src = getenv("WKFS_SOURCE_DIR")) candidates.insert(candidates.begin(), fs::path(src) / "tests/servers/nginx.sh");
  for (auto& c : candidates)
    if (fs::exists(c)) return c;
  fail(ErrorKind::NotFound, "tests/servers/nginx.sh not found next to the binary's build folder; give --nginx-script or --url");
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// The shard keys of a Zarr3 mag and, from each shard's index, the byte range of every stored inner chunk.
std::vector<ChunkRange> chunk_ranges(Store& mag) {
  GetResult meta_bytes = mag.get("zarr.json");
  Json meta = Json::parse(std::string(reinterpret_cast<const char*>(meta_bytes.data.data()), meta_bytes.data.size()));
  std::vector<uint64_t> shape = meta.at("shape").get<std::vector<uint64_t>>();
  std::vector<uint64_t> shard = meta.at("chunk_grid").at("configuration").at("chunk_shape").get<std::vector<uint64_t>>();
  const Json& sharding = meta.at("codecs").at(0);
  if (sharding.at("name") != "sharding_indexed") fail(ErrorKind::Unsupported, "bench remote needs a sharded Zarr3 mag");
  const Json& cfg = sharding.at("configuration");
  std::vector<uint64_t> inner = cfg.at("chunk_shape").get<std::vector<uint64_t>>();
  uint64_t entries = 1;
  for (size_t d = 0; d < shard.size(); ++d) entries *= shard[d] / inner[d];
  uint64_t index_size = 16 * entries;
  for (const Json& c : cfg.value("index_codecs", Json::array()))
    if (c.at("name") == "crc32c") index_size += 4;
  bool at_end = cfg.value("index_location", std::string("end")) == "end";
  std::string sep = "/";
  std::string encoding = "default";
  if (meta.contains("chunk_key_encoding")) {
    encoding = meta["chunk_key_encoding"].value("name", "default");
    sep = meta["chunk_key_encoding"].value("configuration", Json::object()).value("separator", encoding == "v2" ? "." : "/");
  }
  std::vector<uint64_t> grid;
  for (size_t d = 0; d < shape.size(); ++d) grid.push_back(ceil_div(shape[d], shard[d]));
  std::vector<ChunkRange> out;
  std::vector<uint64_t> at(grid.size(), 0);
  for (bool more = true; more;) {
    std::string key = encoding == "v2" ? "" : "c";
    for (size_t d = 0; d < at.size(); ++d) key += (key.empty() ? "" : sep) + std::to_string(at[d]);
    try {
      GetResult index = mag.get(key, at_end ? ByteRange::suffix(index_size) : ByteRange::span(0, index_size));
      if (index.data.size() != index_size) fail(ErrorKind::Corrupt, "short shard index in " + key);
      for (uint64_t i = 0; i < entries; ++i) {
        uint64_t off = load_le<uint64_t>(index.data.data() + 16 * i), n = load_le<uint64_t>(index.data.data() + 16 * i + 8);
        if (off != ~uint64_t{0}) out.push_back({key, off, n});
      }
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::NotFound) throw;  // a shard never written
    }
    more = false;
    for (size_t d = at.size(); d-- > 0;) {
      if (++at[d] < grid[d]) {
        more = true;
        break;
      }
      at[d] = 0;
    }
  }
  return out;
}

// Calls fn(i) for every i < count from `threads` threads; seconds of wall time. Rethrows the first error.
template <typename F>
double parallel_seconds(int threads, size_t count, F&& fn) {
  std::atomic<size_t> next{0};
  std::mutex m;
  std::exception_ptr error;
  auto start = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      try {
        for (size_t i; (i = next.fetch_add(1)) < count;) fn(i);
      } catch (...) {
        std::lock_guard lock(m);
        if (!error) error = std::current_exception();
        next = count;
      }
    });
  for (auto& t : ts) t.join();
  if (error) std::rethrow_exception(error);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// curl fetching every range with `parallel` transfers at a time; seconds of wall time (process start included).
double curl_seconds(const std::vector<ChunkRange>& ranges, const std::string& mag_url, const Options& o,
                    const std::string& ca_file, const fs::path& config, uint64_t expected_bytes) {
  {
    std::ofstream cfg(config);
    for (const auto& r : ranges) {
      if (&r != &ranges.front()) cfg << "next\n";  // options after it are the next transfer's
      cfg << "url = \"" << mag_url << "/" << r.key << "\"\n"
          << "range = \"" << r.offset << "-" << (r.offset + r.length - 1) << "\"\n"
          << "output = \"/dev/null\"\nfail\nsilent\nshow-error\nwrite-out = \"%{size_download}\\n\"\n";
      if (!ca_file.empty()) cfg << "cacert = \"" << ca_file << "\"\n";
    }
  }
  auto start = Clock::now();
  std::string out = run_shell("curl --no-progress-meter --parallel --parallel-max " + std::to_string(o.parallel) + " -K " + shell_quote(config.string()));
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t got = 0;
  std::istringstream in(out);
  for (uint64_t n; in >> n;) got += n;
  if (got != expected_bytes)
    fail(ErrorKind::Io, "curl fetched " + std::to_string(got) + " bytes, the ranges hold " + std::to_string(expected_bytes));
  return s;
}

Options parse(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) fail(ErrorKind::InvalidArgument, args[i] + " needs a value");
      return args[++i];
    };
    auto number = [&](int lo) {
      const std::string& v = value();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < lo || n > 1024) fail(ErrorKind::InvalidArgument, args[i - 1] + " wants a number, got '" + v + "'");
      return static_cast<int>(n);
    };
    const std::string& a = args[i];
    if (a == "--url") o.url = value();
    else if (a == "--ca-file") o.ca_file = value();
    else if (a == "--nginx-script") o.nginx_script = value();
    else if (a == "--cache-dir") o.cache_dir = value();
    else if (a == "--size") o.size = value();
    else if (a == "--dataset") o.dataset = value();
    else if (a == "--mag") o.mag = value();
    else if (a == "--parallel") o.parallel = number(1);
    else if (a == "--runs") o.runs = number(1);
    else if (a == "--https") o.https = true;
    else if (a == "--json") o.json = true;
    else fail(ErrorKind::InvalidArgument, "unknown argument '" + a + "'; see wkfs bench remote --help");
  }
  return o;
}

int run(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  Options o = parse(args);
  TempFolder tmp;
  std::optional<ScratchNginx> nginx;
  std::string mag_url = o.url, ca_file = o.ca_file;
  fs::path local_mag;
  if (mag_url.empty()) {
    fs::path ds = tmp.path() / "root/demo";
    if (o.dataset.empty())
      run_shell(shell_quote(self_exe().string()) + " make-demo " + shell_quote(ds.string()) + " --size " + shell_quote(o.size) + " 2>&1");
    else
      ds = fs::absolute(o.dataset).lexically_normal();
    if (!fs::is_directory(ds / o.mag)) fail(ErrorKind::NotFound, "no mag folder " + (ds / o.mag).string());
    nginx.emplace(find_nginx_script(o), tmp.path() / "nginx", ds.parent_path());
    mag_url = nginx->url(o.https) + "/" + ds.filename().string() + "/" + o.mag;
    if (o.https) ca_file = nginx->ca_file().string();
    local_mag = ds / o.mag;
  }
  StoreUrl url = StoreUrl::parse(mag_url);
  HttpOptions http;
  http.max_host_connections = o.parallel;
  http.ca_file = ca_file;
  auto new_store = [&] { return std::make_unique<HttpStore>(url, std::make_shared<HttpClient>(http)); };

  std::vector<ChunkRange> ranges = chunk_ranges(*new_store());
  if (ranges.empty()) fail(ErrorKind::NotFound, "no stored chunks in " + mag_url);
  uint64_t bytes = 0;
  for (auto& r : ranges) bytes += r.length;

  fs::path cache_dir = o.cache_dir.empty() ? tmp.path() / "cache" : fs::path(o.cache_dir);
  auto cache = std::make_shared<RemoteCache>(cache_dir, std::max<uint64_t>(bytes * 2, 64 << 20));
  auto counters = std::make_shared<RemoteCounters>();
  auto caching_store = [&] { return CachingStore(new_store(), cache, counters, std::chrono::hours(1)); };

  std::map<std::string, int> local_fds;
  std::vector<UniqueFd> fds;
  if (!local_mag.empty())
    for (auto& r : ranges)
      if (!local_fds.count(r.key)) {
        fds.push_back(open_file(local_mag / r.key, O_RDONLY));
        local_fds[r.key] = fds.back().get();
      }
  auto local_bytes = [&](const ChunkRange& r) { return pread_exact(local_fds.at(r.key), r.offset, r.length, local_mag / r.key); };

  // Untimed: every way of reading gives the served files' bytes.
  if (!local_mag.empty()) {
    auto cold = new_store();
    CachingStore filled = caching_store();
    for (auto& r : ranges) {
      Bytes want = local_bytes(r);
      if (cold->get(r.key, ByteRange::span(r.offset, r.length)).data != want ||
          filled.get(r.key, ByteRange::span(r.offset, r.length)).data != want ||
          filled.get(r.key, ByteRange::span(r.offset, r.length)).data != want)
        fail(ErrorKind::Corrupt, "bench remote read wrong bytes of " + r.key + " at " + std::to_string(r.offset));
    }
  }

  std::map<std::string, std::vector<double>> secs;
  for (int run = 0; run < o.runs; ++run) {
    {
      auto s = new_store();
      secs["http_cold"].push_back(parallel_seconds(o.parallel, ranges.size(), [&](size_t i) {
        s->get(ranges[i].key, ByteRange::span(ranges[i].offset, ranges[i].length));
      }));
    }
    {
      cache->clear();
      CachingStore s = caching_store();
      secs["cache_fill"].push_back(parallel_seconds(o.parallel, ranges.size(), [&](size_t i) {
        s.get(ranges[i].key, ByteRange::span(ranges[i].offset, ranges[i].length));
      }));
    }
    {
      CachingStore s = caching_store();
      uint64_t hits_before = counters->hits();
      secs["cache_warm"].push_back(parallel_seconds(o.parallel, ranges.size(), [&](size_t i) {
        s.get(ranges[i].key, ByteRange::span(ranges[i].offset, ranges[i].length));
      }));
      if (counters->hits() - hits_before != ranges.size())
        fail(ErrorKind::Io, "warm run was not all hits (" + std::to_string(counters->hits() - hits_before) + " of " +
                                std::to_string(ranges.size()) + "): is the cache too small?");
    }
    secs["curl"].push_back(curl_seconds(ranges, mag_url, o, ca_file, tmp.path() / "curl.cfg", bytes));
    if (!local_mag.empty())
      secs["local"].push_back(parallel_seconds(o.parallel, ranges.size(), [&](size_t i) { local_bytes(ranges[i]); }));
  }

  std::map<std::string, double> mbps;
  for (auto& [name, v] : secs) mbps[name] = static_cast<double>(bytes) / 1e6 / median(v);
  Json ratios = Json::object();
  ratios["http_cold / curl"] = mbps["http_cold"] / mbps["curl"];
  ratios["cache_fill / curl"] = mbps["cache_fill"] / mbps["curl"];
  ratios["cache_warm / http_cold"] = mbps["cache_warm"] / mbps["http_cold"];
  if (mbps.count("local")) ratios["cache_warm / local"] = mbps["cache_warm"] / mbps["local"];

  if (o.json) {
    Json j{{"url", mag_url}, {"ranges", ranges.size()}, {"bytes", bytes}, {"parallel", o.parallel}, {"runs", o.runs}};
    for (auto& [name, v] : secs) j["median_seconds"][name] = median(v);
    for (auto& [name, v] : mbps) j["mb_per_s"][name] = v;
    j["ratios"] = ratios;
    j["counters"] = counters->snapshot();
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "remote Zarr3 mag " << mag_url << ": " << ranges.size() << " chunk ranges, " << bytes << " bytes, "
            << o.parallel << " in flight, median of " << o.runs << " runs\n";
  std::cout << std::left << std::setw(12) << "reader" << std::right << std::setw(10) << "seconds" << std::setw(10) << "MB/s"
            << "\n";
  for (const char* name : {"http_cold", "cache_fill", "cache_warm", "curl", "local"}) {
    if (!secs.count(name)) continue;
    std::cout << std::left << std::setw(12) << name << std::right << std::fixed << std::setprecision(4) << std::setw(10)
              << median(secs[name]) << std::setprecision(1) << std::setw(10) << mbps[name] << "\n";
  }
  for (auto& [name, v] : ratios.items()) std::cout << name << ": " << std::setprecision(2) << v.get<double>() << "\n";
  Json fetch = counters->fetch_latency().to_json();
  std::cout << "fetch latency p50/p90/p99 ms: " << std::setprecision(3) << fetch["p50_ms"].get<double>() << " / "
            << fetch["p90_ms"].get<double>() << " / " << fetch["p99_ms"].get<double>() << "\n";
  return 0;
}

const BenchRegistrar reg{"remote", "remote Zarr3 chunk ranges: HttpStore cold, cache fill, cache warm, beside curl --parallel",
                         run};

}  // namespace

}  // namespace wkfs::cli
