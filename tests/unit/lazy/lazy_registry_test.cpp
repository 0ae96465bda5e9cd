// The loader of .wkfs/lazy.json refuses what it did not write with a Corrupt error, and never
// converts a number it cannot hold (fuzz_lazy_registry: a 43-digit mag component was a double
// cast to int64, undefined behaviour).
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "lazy/lazy_registry.hpp"
#include "support/test_support.hpp"

namespace wkfs {
namespace {

std::string entry(const std::string& mag, const std::string& extra = "") {
  return R"({"version": 1, "mags": [{"layer": "color", "mag": )" + mag +
         R"(, "sourceMag": [1, 1, 1], "kind": "downsample", "interpolation": "median", "complete": false)" +
         extra + "}]}";
}

class LazyRegistryLoad : public ::testing::Test {
 protected:
  void write(const std::string& text) {
    fs::create_directories(LazyRegistry::state_dir(tmp.path()));
    write_file_atomic(LazyRegistry::state_dir(tmp.path()) / "lazy.json", text);
  }
  ErrorKind kind_of_load() {
    try {
      LazyRegistry::load(tmp.path());
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("lazy.json"), std::string::npos) << e.what();
      return e.kind();
    }
    ADD_FAILURE() << "loaded";
    return ErrorKind::Io;
  }
  test::TempDir tmp;
};

TEST_F(LazyRegistryLoad, AWellFormedEntryLoadsAndSavesTheSame) {
  write(entry("[2, 2, 1]", R"(, "generation": 7)"));
  auto reg = LazyRegistry::load(tmp.path());
  ASSERT_EQ(reg.mags().size(), 1u);
  EXPECT_EQ(reg.mags()[0].mag, Mag(2, 2, 1));
  EXPECT_EQ(reg.mags()[0].generation, 7u);
  reg.save();
  auto again = LazyRegistry::load(tmp.path());
  ASSERT_EQ(again.mags().size(), 1u);
  EXPECT_EQ(again.mags()[0].mag, Mag(2, 2, 1));
  EXPECT_EQ(again.mags()[0].generation, 7u);
}

TEST_F(LazyRegistryLoad, NumbersOutOfRangeAreCorruptNotConverted) {
  for (const std::string mag : {"[2, 2, 5555555555555555555555555555555555555555552]", "[2, 2, 1e300]",
                                "[2, 2, 18446744073709551615]", "[2, 2, -4]", "[2, 2, 0]", "[2, 2, 2.5]",
                                "[2, 2]", "[2, 2, 2, 2]", "\"2-2-1\"", "[2, 2, 3]"}) {
    SCOPED_TRACE(mag);
    write(entry(mag));
    EXPECT_EQ(kind_of_load(), ErrorKind::Corrupt);
  }
  for (const std::string gen : {R"(, "generation": 1e30)", R"(, "generation": -1)", R"(, "generation": "x")"}) {
    SCOPED_TRACE(gen);
    write(entry("[2, 2, 1]", gen));
    EXPECT_EQ(kind_of_load(), ErrorKind::Corrupt);
  }
}

}  // namespace
}  // namespace wkfs
