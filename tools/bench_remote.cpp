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
#include "dataset/dataset.hpp"
#include "fs/mount.hpp"
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
    "                         [--nginx-script PATH] [--slice-mb N] [--no-mount] [--json]\n"
    "  Reads every stored inner chunk of a Zarr3 mag over HTTP(S), one ranged GET per chunk (the\n"
    "  ranges come from the shard indexes), N at a time (default 8):\n"
    "    http_cold   HttpStore, a new connection pool per run\n"
    "    cache_fill  CachingStore over a new pool, the cache emptied before each run\n"
    "    cache_warm  CachingStore, every range already cached (hits, XXH3-128 checked)\n"
    "    curl        curl --parallel --parallel-max N fetching the same ranges (one process per run;\n"
    "                its fixed cost is shown by the same command for one range)\n"
    "    local       pread of the same ranges from the served files (without --url)\n"
    "  and, without --url, through a real `wkfs mount` of the served dataset, its shard files cut\n"
    "  into slices of --slice-mb (default 4) read by N threads with 1 MiB preads:\n"
    "    mount_cold  no cache, a new mount per run\n"
    "    mount_warm  remote_cache_dir filled by a read of every slice, then a new mount reading them\n"
    "    curl_slices curl --parallel --parallel-max N fetching the same slices as ranges\n"
    "    local_slices pread of the same slices, same threads, from the served files (page cache)\n"
    "    local_mount a `wkfs mount` of the served folder, the same reads (what FUSE allows here)\n"
    "    lazy_first  a local dataset whose color mag 1 is the remote URL, `downsample`d through the\n"
    "                mount: the first read of lazy 2-2-1 shard 0, beside\n"
    "    native_source  Dataset::open of the same dataset reading and decoding that shard's mag-1 box\n"
    "  Without --url a demo dataset (wkfs make-demo, --size default 512,512,256) is written to a\n"
    "  temp folder (or --dataset DIR is used as it is) and served by tests/servers/nginx.sh; its\n"
    "  --mag (default color/1) is read. MB/s is 1e6 bytes\n"
    "  of chunk data per second, the median of --runs runs (default 3). The cache lives in\n"
    "  --cache-dir (default: a temp folder in TMPDIR). Bytes are checked against the local files.\n";

struct Options {
  std::string url, ca_file, nginx_script, cache_dir, dataset;
  std::string mag = "color/1";
  std::string size = "512,512,256";
  int parallel = 8;
  int runs = 3;
  int slice_mb = 4;
  bool mount = true;
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

// A piece of one file of the served dataset, read through the mount, by curl and locally.
struct Slice {
  std::string rel;  // relative to the dataset
  uint64_t offset = 0, length = 0;
};

// Every data file below `mag` of dataset folder `ds` (sorted), cut into slices of `slice` bytes.
std::vector<Slice> mag_slices(const fs::path& ds, const std::string& mag, uint64_t slice) {
  std::vector<std::string> files;
  for (auto& e : fs::recursive_directory_iterator(ds / mag / "c"))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), ds).generic_string());
  std::sort(files.begin(), files.end());
  std::vector<Slice> out;
  for (auto& f : files) {
    uint64_t size = fs::file_size(ds / f);
    for (uint64_t off = 0; off < size; off += slice) out.push_back({f, off, std::min(slice, size - off)});
  }
  return out;
}

// `wkfs mount SOURCE MNT -o OPTIONS` (the daemon forks away); unmounted on destruction.
class BenchMount {
 public:
  BenchMount(const std::string& source, fs::path mnt, const std::string& options, const fs::path& log) : mnt_(std::move(mnt)) {
    fs::create_directories(mnt_);
    run_shell(shell_quote(self_exe().string()) + " mount " + shell_quote(source) + " " + shell_quote(mnt_.string()) +
              " --log " + shell_quote(log.string()) + (options.empty() ? "" : " -o " + shell_quote(options)) + " 2>&1");
  }
  ~BenchMount() {
    try {
      mount::unmount(mnt_, false);
    } catch (const std::exception& e) {
      std::cerr << "bench remote: " << e.what() << "\n";
    }
  }
  BenchMount(const BenchMount&) = delete;
  BenchMount& operator=(const BenchMount&) = delete;
  const fs::path& path() const { return mnt_; }

 private:
  fs::path mnt_;
};

// Reads every slice below `root` with `threads` threads, 1 MiB per pread (as cat or a numpy
// reader would); seconds of wall time. With `want`, compares the bytes with the files below it.
double read_slices_seconds(const fs::path& root, const std::vector<Slice>& slices, int threads,
                           const fs::path& want = {}) {
  return parallel_seconds(threads, slices.size(), [&](size_t i) {
    const Slice& s = slices[i];
    UniqueFd fd = open_file(root / s.rel, O_RDONLY);
    Bytes buf(1 << 20);
    for (uint64_t at = s.offset; at < s.offset + s.length;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), s.offset + s.length - at));
      ssize_t got = pread(fd.get(), buf.data(), n, static_cast<off_t>(at));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) fail_errno(got < 0 ? errno : EIO, "read " + (root / s.rel).string() + " at " + std::to_string(at));
      if (!want.empty()) {
        Bytes expected = pread_exact(open_file(want / s.rel, O_RDONLY).get(), at, static_cast<size_t>(got), want / s.rel);
        if (std::memcmp(expected.data(), buf.data(), static_cast<size_t>(got)) != 0)
          fail(ErrorKind::Corrupt, "bench remote: wrong bytes through the mount in " + s.rel + " at " + std::to_string(at));
      }
      at += static_cast<uint64_t>(got);
    }
  });
}

// A local copy of the served dataset `ds` with only its color layer, whose mag 1 is `mag1_url`
// (as webknossos-libs' add_remote_mag writes it): the source of a lazy pyramid over a remote mag.
void write_remote_source_dataset(const fs::path& ds, const fs::path& out, const std::string& mag1_url) {
  fs::create_directories(out / "color");
  Bytes text = read_file(ds / "datasource-properties.json");
  Json props = Json::parse(std::string(reinterpret_cast<const char*>(text.data()), text.size()));
  Json layers = Json::array();
  for (auto& l : props.at("dataLayers"))
    if (l.at("name") == "color") {
      l["mags"] = Json::array({Json{{"mag", Json::array({1, 1, 1})}, {"path", mag1_url}}});
      layers.push_back(l);
    }
  if (layers.empty()) fail(ErrorKind::NotFound, "bench remote: the dataset has no color layer for the lazy rows");
  props["dataLayers"] = layers;
  write_file_atomic(out / "datasource-properties.json", props.dump(2));
  for (const char* f : {"zarr.json", "color/zarr.json"})
    if (fs::exists(ds / f)) fs::copy_file(ds / f, out / f);
}

// Seconds to read and decode the mag-1 box under lazy 2-2-1 shard 0 natively, through the same
// remote mag (Dataset::open over HttpStore, no decoded-chunk cache), in columns of 2x2 inner
// chunks read by `parallel` threads (the daemon has as many requests in flight).
double native_source_seconds(const fs::path& lazy_ds, const std::string& ca_file, int parallel) {
  HttpOptions http;
  http.max_host_connections = parallel;
  http.ca_file = ca_file;
  StoreContext ctx;
  ctx.client = std::make_shared<HttpClient>(http);
  auto dataset = Dataset::open(lazy_ds, true, nullptr, ctx);
  auto view = dataset->mag_view("color", Mag(1, 1, 1));
  const VecN& shard = view->array().meta().shard_shape;  // [c, x, y, z]
  const VecN& chunk = view->array().meta().chunk_shape;
  const BoundingBox layer = dataset->properties().find_layer("color")->bounding_box;
  const Vec3 size{std::min(layer.size.x, shard[1] * 2), std::min(layer.size.y, shard[2] * 2), std::min(layer.size.z, shard[3])};
  std::vector<BoundingBox> columns;
  for (int64_t x = 0; x < size.x; x += 2 * chunk[1])
    for (int64_t y = 0; y < size.y; y += 2 * chunk[2])
      columns.push_back({{layer.top_left.x + x, layer.top_left.y + y, layer.top_left.z},
                         {std::min(2 * chunk[1], size.x - x), std::min(2 * chunk[2], size.y - y), size.z}});
  return parallel_seconds(parallel, columns.size(), [&](size_t i) {
    Bytes buf(view->buffer_size(columns[i]));
    view->read(columns[i], buf);
  });
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
    else if (a == "--slice-mb") o.slice_mb = number(1);
    else if (a == "--no-mount") o.mount = false;
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
    // curl's fixed cost (process start, TLS setup) for scale: the same command for one range.
    std::vector<ChunkRange> one(ranges.begin(), ranges.begin() + 1);
    secs["curl_1_range"].push_back(curl_seconds(one, mag_url, o, ca_file, tmp.path() / "curl1.cfg", one[0].length));
    if (!local_mag.empty())
      secs["local"].push_back(parallel_seconds(o.parallel, ranges.size(), [&](size_t i) { local_bytes(ranges[i]); }));
  }

  // Through a real mount of the served dataset (needs the local files for the baselines).
  std::vector<Slice> slices;
  uint64_t slice_bytes = 0;
  std::map<std::string, std::vector<double>> mount_secs;
  if (!local_mag.empty() && o.mount) {
    const fs::path ds = local_mag.parent_path().parent_path();
    const std::string ds_url = mag_url.substr(0, mag_url.size() - o.mag.size() - 1);
    slices = mag_slices(ds, o.mag, static_cast<uint64_t>(o.slice_mb) << 20);
    std::vector<ChunkRange> slice_ranges;
    for (auto& s : slices) {
      slice_bytes += s.length;
      slice_ranges.push_back({s.rel, s.offset, s.length});
    }
    const std::string ca_opt = ca_file.empty() ? "" : "ca_file=" + ca_file;
    auto join = [](const std::string& a, const std::string& b) { return a.empty() ? b : b.empty() ? a : a + "," + b; };
    const fs::path mount_cache = tmp.path() / "mount-cache";
    const std::string cache_opt = "remote_cache_dir=" + mount_cache.string() + ",remote_cache_mb=" +
                                  std::to_string(std::max<uint64_t>(2 * slice_bytes >> 20, 64)) + ",remote_revalidate_s=3600";
    const fs::path mnt = tmp.path() / "mnt", log = tmp.path() / "daemon.log";
    // every name looked up first (HEADs), untimed: readers list before they read
    auto stat_all = [&](const fs::path& root) {
      for (auto& s : slices) (void)fs::file_size(root / s.rel);
    };
    {  // untimed: the bytes through the mount, cold and warm, are the served files'
      fs::remove_all(mount_cache);
      for (int pass = 0; pass < 2; ++pass) {
        BenchMount m(ds_url, mnt, join(ca_opt, cache_opt), log);
        read_slices_seconds(m.path(), slices, o.parallel, ds);
      }
    }
    for (int run = 0; run < o.runs; ++run) {
      {
        BenchMount m(ds_url, mnt, ca_opt, log);
        stat_all(m.path());
        mount_secs["mount_cold"].push_back(read_slices_seconds(m.path(), slices, o.parallel));
      }
      mount_secs["curl_slices"].push_back(curl_seconds(slice_ranges, ds_url, o, ca_file, tmp.path() / "curl-slices.cfg", slice_bytes));
      fs::remove_all(mount_cache);
      {
        BenchMount m(ds_url, mnt, join(ca_opt, cache_opt), log);
        stat_all(m.path());
        mount_secs["mount_fill"].push_back(read_slices_seconds(m.path(), slices, o.parallel));
      }
      {
        BenchMount m(ds_url, mnt, join(ca_opt, cache_opt), log);
        stat_all(m.path());
        mount_secs["mount_warm"].push_back(read_slices_seconds(m.path(), slices, o.parallel));
      }
      mount_secs["local_slices"].push_back(read_slices_seconds(ds, slices, o.parallel));
      {  // what FUSE allows here: a local mount of the served folder, the same reads
        BenchMount m(ds.string(), mnt, "ro", log);
        stat_all(m.path());
        mount_secs["local_mount"].push_back(read_slices_seconds(m.path(), slices, o.parallel));
      }
    }
    // The first read of a lazy mag over the remote mag 1, beside a native fetch + decode of its source.
    const fs::path lazy_root = tmp.path() / "lazy";
    for (int run = 0; run < o.runs; ++run) {
      fs::remove_all(lazy_root);
      write_remote_source_dataset(ds, lazy_root / "src", mag_url);
      {
        BenchMount m(lazy_root.string(), mnt, ca_opt, log);
        run_shell(shell_quote(self_exe().string()) + " ctl " + shell_quote((m.path() / "src/color").string()) + " downsample 2>&1");
        const fs::path file0 = m.path() / "src/color/2-2-1/c/0/0/0/0";
        auto t0 = Clock::now();
        Bytes got = read_file(file0);
        mount_secs["lazy_first"].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        if (got.empty()) fail(ErrorKind::Io, file0.string() + " read empty");
      }
      mount_secs["native_source"].push_back(native_source_seconds(lazy_root / "src", ca_file, o.parallel));
    }
  }

  std::map<std::string, double> mbps;
  for (auto& [name, v] : secs)
    if (name != "curl_1_range") mbps[name] = static_cast<double>(bytes) / 1e6 / median(v);
  for (auto& [name, v] : mount_secs)
    if (name != "lazy_first" && name != "native_source") mbps[name] = static_cast<double>(slice_bytes) / 1e6 / median(v);
  Json ratios = Json::object();
  ratios["http_cold / curl"] = mbps["http_cold"] / mbps["curl"];
  ratios["cache_fill / curl"] = mbps["cache_fill"] / mbps["curl"];
  ratios["cache_warm / http_cold"] = mbps["cache_warm"] / mbps["http_cold"];
  if (mbps.count("local")) ratios["cache_warm / local"] = mbps["cache_warm"] / mbps["local"];
  if (mbps.count("mount_cold")) {
    ratios["mount_cold / curl_slices"] = mbps["mount_cold"] / mbps["curl_slices"];
    ratios["mount_fill / curl_slices"] = mbps["mount_fill"] / mbps["curl_slices"];
    ratios["mount_warm / local_slices"] = mbps["mount_warm"] / mbps["local_slices"];
    ratios["mount_warm / local_mount"] = mbps["mount_warm"] / mbps["local_mount"];
    ratios["lazy_first speed / native_source"] = median(mount_secs["native_source"]) / median(mount_secs["lazy_first"]);
  }

  if (o.json) {
    Json j{{"url", mag_url}, {"ranges", ranges.size()}, {"bytes", bytes}, {"parallel", o.parallel}, {"runs", o.runs}};
    for (auto& [name, v] : secs) j["median_seconds"][name] = median(v);
    for (auto& [name, v] : mount_secs) j["median_seconds"][name] = median(v);
    if (!slices.empty()) j["mount"] = Json{{"slices", slices.size()}, {"bytes", slice_bytes}, {"slice_mb", o.slice_mb}};
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
  if (!slices.empty()) {
    std::cout << "through a mount: " << slices.size() << " slices of " << o.slice_mb << " MiB of the mag's files, " << slice_bytes
              << " bytes, " << o.parallel << " reader threads\n";
    for (const char* name : {"mount_cold", "mount_fill", "mount_warm", "curl_slices", "local_slices", "local_mount"})
      std::cout << std::left << std::setw(14) << name << std::right << std::fixed << std::setprecision(4) << std::setw(10)
                << median(mount_secs[name]) << std::setprecision(1) << std::setw(10) << mbps[name] << "\n";
    std::cout << "lazy 2-2-1 shard 0, first read " << std::setprecision(3) << median(mount_secs["lazy_first"])
              << " s; native fetch+decode of its mag-1 source " << median(mount_secs["native_source"]) << " s\n";
  }
  std::cout << "(curl for one range, its fixed cost: " << std::setprecision(4) << median(secs["curl_1_range"]) << " s)\n";
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
