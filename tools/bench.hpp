#pragma once
// `wkfs bench NAME [ARGS...]`: each benchmark registers itself here from its own tools/bench_*.cpp,
// and the `bench` command (tools/cmd_bench.cpp) dispatches to it by name.
#include <functional>
#include <string>
#include <vector>

namespace wkfs::cli {

/// A benchmark: gets its arguments (without "wkfs bench <name>"), returns the exit code.
using BenchFn = std::function<int(const std::vector<std::string>& args)>;

/// Adds a benchmark to `wkfs bench`; called at static-initialisation time through BenchRegistrar.
void register_bench(std::string name, std::string summary, BenchFn fn);

/// `static BenchRegistrar reg{"codecs", "one line", fn};` registers a bench from its own file.
struct BenchRegistrar {
  BenchRegistrar(std::string name, std::string summary, BenchFn fn);
};

/// Median over `runs` runs of the seconds one call of fn takes; each run repeats fn until at least
/// `min_run_seconds` have passed, so short calls are not lost in clock resolution.
double median_seconds_per_call(const std::function<void()>& fn, int runs, double min_run_seconds);

}  // namespace wkfs::cli
