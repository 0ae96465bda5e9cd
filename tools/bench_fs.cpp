// `wkfs bench fs`: a mounted generated dataset beside the backing folder and beside a minimal
// in-memory FUSE filesystem (the FUSE ceiling), measured in the same run.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "tools/memory_fs.hpp"
#include "fs/mount.hpp"
#include "tools/bench.hpp"

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool drop_caches() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  if (!f) return false;
  f << "3\n";
  return static_cast<bool>(f.flush());
}

/// Reads every file fully with 1 MiB reads; returns bytes per second.
double sequential_read(const std::vector<fs::path>& files) {
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  auto t = Clock::now();
  for (const auto& p : files) {
    int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0) wkfs::fail_errno("open " + p.string());
    ssize_t n;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0) total += static_cast<uint64_t>(n);
    ::close(fd);
  }
  return static_cast<double>(total) / seconds_since(t);
}

/// Random 4 KiB preads over the files; returns reads per second.
double random_reads(const std::vector<fs::path>& files, uint64_t file_size, int count) {
  std::vector<int> fds;
  for (const auto& p : files) fds.push_back(::open(p.c_str(), O_RDONLY));
  std::mt19937_64 rng(42);
  char buf[4096];
  auto t = Clock::now();
  for (int i = 0; i < count; ++i) {
    int fd = fds[rng() % fds.size()];
    off_t off = static_cast<off_t>((rng() % (file_size / 4096)) * 4096);
    if (::pread(fd, buf, sizeof buf, off) != sizeof buf) wkfs::fail(wkfs::ErrorKind::Io, "short random read");
  }
  double s = seconds_since(t);
  for (int fd : fds) ::close(fd);
  return count / s;
}

/// Seconds for stat of every entry of a folder.
double stat_all(const fs::path& dir, const std::vector<std::string>& names) {
  struct stat st {};
  auto t = Clock::now();
  for (const auto& n : names) ::stat((dir / n).c_str(), &st);
  return seconds_since(t);
}

/// Seconds for one full readdir of a folder.
double readdir_all(const fs::path& dir) {
  auto t = Clock::now();
  DIR* d = ::opendir(dir.c_str());
  size_t count = 0;
  while (::readdir(d)) ++count;
  ::closedir(d);
  return seconds_since(t);
}

struct Target {
  std::string name;
  fs::path files_dir;  // holds the shard files
  fs::path many_dir;   // holds the 10 000 entries
  std::vector<std::string> file_names;
};

int run(const std::vector<std::string>& args) {
  size_t files = 8;
  uint64_t file_size = 64ull << 20;
  size_t many = 10000;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--files") files = std::stoul(args[i + 1]);
    else if (args[i] == "--file-mb") file_size = std::stoull(args[i + 1]) << 20;
    else if (args[i] == "--entries") many = std::stoul(args[i + 1]);
  }
  char tmpl[] = "/var/tmp/wkfs-bench-fs.XXXXXX";
  if (!::mkdtemp(tmpl)) wkfs::fail_errno("mkdtemp");
  fs::path work = tmpl;
  fs::path src = work / "ds", mnt = work / "mnt", memmnt = work / "memmnt";
  fs::create_directories(mnt);
  fs::create_directories(memmnt);
  std::cerr << "generating " << files << " x " << (file_size >> 20) << " MiB files and " << many << " entries in "
            << work << "\n";
  auto ds = wkfs::Dataset::create(src, wkfs::VoxelSize{});
  wkfs::LayerSpec spec;
  spec.name = "color";
  ds->add_layer(spec);
  fs::path shard_dir = src / "color" / "1" / "c" / "0" / "0";
  fs::path many_dir = src / "color" / "1" / "many";
  fs::create_directories(shard_dir);
  fs::create_directories(many_dir);
  std::vector<char> block(1 << 20);
  std::mt19937 rng(1);
  for (auto& c : block) c = static_cast<char>(rng());
  std::vector<std::string> shard_names;
  for (size_t i = 0; i < files; ++i) {
    shard_names.push_back(std::to_string(i));
    std::ofstream out(shard_dir / shard_names.back(), std::ios::binary);
    for (uint64_t w = 0; w < file_size; w += block.size()) out.write(block.data(), block.size());
  }
  std::vector<std::string> entry_names;
  for (size_t i = 0; i < many; ++i) {
    entry_names.push_back("e_" + std::to_string(i));
    std::ofstream(many_dir / entry_names.back()).put('x');
  }

  // wkfs: our own binary, daemonised like a user would run it.
  pid_t pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", "wkfs", "mount", src.c_str(), mnt.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) wkfs::fail(wkfs::ErrorKind::Io, "wkfs mount failed");
  wkfs::mount::MemoryFs memfs(files, file_size, many);
  memfs.mount(memmnt);

  std::vector<std::string> mem_names;
  for (size_t i = 0; i < files; ++i) mem_names.push_back("file_" + std::to_string(i));
  std::vector<Target> targets = {
      {"native", shard_dir, many_dir, shard_names},
      {"wkfs", mnt / "color" / "1" / "c" / "0" / "0", mnt / "color" / "1" / "many", shard_names},
      {"memfs", memmnt, memmnt / "many", mem_names},
  };
  struct Row {
    double cold = 0, warm = 0, iops = 0, stat_first = 0, stat_cached = 0, readdir = 0;
  };
  std::vector<Row> rows(targets.size());
  bool dropped = true;
  for (size_t t = 0; t < targets.size(); ++t) {
    auto& tg = targets[t];
    std::vector<fs::path> paths;
    for (const auto& n : tg.file_names) paths.push_back(tg.files_dir / n);
    dropped = drop_caches() && dropped;
    rows[t].cold = sequential_read(paths);
    sequential_read(paths);
    rows[t].warm = sequential_read(paths);
    rows[t].iops = random_reads(paths, file_size, 200000);
    auto names = tg.name == "memfs" ? std::vector<std::string>() : entry_names;
    if (tg.name == "memfs")
      for (size_t i = 0; i < many; ++i) names.push_back("e_" + std::to_string(i));
    rows[t].stat_first = stat_all(tg.many_dir, names);
    rows[t].stat_cached = stat_all(tg.many_dir, names);
    readdir_all(tg.many_dir);
    double best = 1e9;
    for (int r = 0; r < 5; ++r) best = std::min(best, readdir_all(tg.many_dir));
    rows[t].readdir = best;
  }
  memfs.unmount();
  wkfs::mount::unmount(mnt, false);

  std::printf("wkfs bench fs: %zu files x %llu MiB, %zu entries%s\n", files,
              static_cast<unsigned long long>(file_size >> 20), many,
              dropped ? "" : " (could not drop caches: cold = warm-ish)");
  std::printf("%-8s %12s %12s %12s %14s %14s %12s\n", "target", "cold GB/s", "warm GB/s", "4k IOPS",
              "stat 1st us", "stat cached us", "readdir ms");
  for (size_t t = 0; t < targets.size(); ++t) {
    const auto& r = rows[t];
    std::printf("%-8s %12.2f %12.2f %12.0f %14.2f %14.2f %12.2f\n", targets[t].name.c_str(), r.cold / 1e9,
                r.warm / 1e9, r.iops, r.stat_first / many * 1e6, r.stat_cached / many * 1e6, r.readdir * 1e3);
  }
  const auto &n = rows[0], &w = rows[1], &m = rows[2];
  std::printf("ratios: cold wkfs/native %.2f (aim >= 0.9); warm wkfs/memfs %.2f (aim >= 0.9); "
              "4k wkfs/memfs %.2f; stat cached wkfs/native %.2fx (aim <= 1.5); readdir wkfs/native %.2fx (aim <= 1)\n",
              w.cold / n.cold, w.warm / m.warm, w.iops / m.iops, w.stat_cached / n.stat_cached, w.readdir / n.readdir);
  std::error_code ec;
  fs::remove_all(work, ec);
  return 0;
}

static wkfs::cli::BenchRegistrar reg{"fs", "mounted dataset vs backing folder vs in-memory FUSE ceiling", run};

}  // namespace
