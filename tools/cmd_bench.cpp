// `wkfs bench NAME [ARGS...]` runs one registered benchmark; `wkfs bench` lists them.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "tools/bench.hpp"
#include "tools/command.hpp"

namespace wkfs::cli {

namespace {

struct Bench {
  std::string name;
  std::string summary;
  BenchFn run;
};

// Function-local so benches registering from other translation units never see it unconstructed.
std::vector<Bench>& benches() {
  static std::vector<Bench> b;
  return b;
}

void list_benches(std::ostream& os) {
  os << "usage: wkfs bench NAME [ARGS...]\n\nbenchmarks:\n";
  std::vector<Bench> sorted = benches();
  std::sort(sorted.begin(), sorted.end(), [](const Bench& a, const Bench& b) { return a.name < b.name; });
  for (const auto& b : sorted)
    os << "  " << b.name << std::string(b.name.size() < 12 ? 12 - b.name.size() : 1, ' ') << b.summary << "\n";
  os << "\n`wkfs bench NAME --help` describes one benchmark.\n";
}

int run_bench(const std::vector<std::string>& args) {
  if (args.empty()) {
    list_benches(std::cerr);
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    list_benches(std::cout);
    return 0;
  }
  for (const auto& b : benches())
    if (b.name == args[0]) return b.run(std::vector<std::string>(args.begin() + 1, args.end()));
  std::cerr << "wkfs bench: unknown benchmark '" << args[0] << "'\n";
  list_benches(std::cerr);
  return 2;
}

const Registrar reg{{"bench", "measure throughput: `wkfs bench` lists the benchmarks", run_bench}};

}  // namespace

void register_bench(std::string name, std::string summary, BenchFn fn) {
  benches().push_back({std::move(name), std::move(summary), std::move(fn)});
}

BenchRegistrar::BenchRegistrar(std::string name, std::string summary, BenchFn fn) {
  register_bench(std::move(name), std::move(summary), std::move(fn));
}

double median_seconds_per_call(const std::function<void()>& fn, int runs, double min_run_seconds) {
  using Clock = std::chrono::steady_clock;
  fn();  // warm caches, allocators and lazily created contexts
  std::vector<double> per_call;
  for (int r = 0; r < std::max(runs, 1); ++r) {
    auto start = Clock::now();
    long calls = 0;
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < min_run_seconds);
    per_call.push_back(elapsed / static_cast<double>(calls));
  }
  std::sort(per_call.begin(), per_call.end());
  size_t n = per_call.size();
  return n % 2 ? per_call[n / 2] : (per_call[n / 2 - 1] + per_call[n / 2]) / 2;
}

}  // namespace wkfs::cli
