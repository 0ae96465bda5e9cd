// Control command parsing and the command table, without a mount.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "control/command_table.hpp"
#include "control/text_values.hpp"

using namespace wkfs;
using namespace wkfs::control;

TEST(CommandLine, SplitsPositionalOptionsAndFlags) {
  auto l = CommandLine::parse("add-mag-from-zarrarray 2 '/a b/c' --move --chunk-shape 32,32,16\n");
  EXPECT_EQ(l.name, "add-mag-from-zarrarray");
  ASSERT_EQ(l.positional.size(), 2u);
  EXPECT_EQ(l.positional[1], "/a b/c");
  EXPECT_TRUE(l.flag("move"));
  EXPECT_EQ(l.option("chunk-shape"), "32,32,16");
  EXPECT_FALSE(l.option("compress"));
}

TEST(CommandLine, QuoteRoundTrips) {
  for (std::string s : {"plain", "with space", "it's", "\"dq\"", "back\\slash", "{\"color\": [1, 2]}"}) {
    auto l = CommandLine::parse("set x " + CommandLine::quote(s));
    ASSERT_EQ(l.positional.size(), 2u) << s;
    EXPECT_EQ(l.positional[1], s);
  }
}

TEST(CommandLine, RejectsEmptyAndUnbalanced) {
  EXPECT_THROW(CommandLine::parse("   "), Error);
  EXPECT_THROW(CommandLine::parse("add-mag 'oops"), Error);
  try {
    CommandLine::parse("x --compress maybe").flag("compress");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  }
}

TEST(CommandTable, BuiltinsPresentAndReplaceable) {
  auto t = make_builtin_command_table();
  for (const char* n : {"add-mag", "delete-mag", "add-layer", "delete-layer", "add-copy-mag", "add-fs-copy-mag",
                        "add-remote-mag", "add-mag-for-existing-files", "add-mag-from-zarrarray", "set",
                        "refresh-largest-segment-id", "downsample", "materialize"})
    EXPECT_NE(t->find(n), nullptr) << n;
  CommandContext ctx;
  ctx.layer = "color";
  // A handler can be replaced under its name (tests plug in their own).
  t->set({"downsample", CommandScope::Layer, "downsample [--sampling-mode M]", [](CommandContext& c, const CommandLine& l) {
            return Json{{"layer", *c.layer}, {"mode", l.option("sampling-mode").value_or("")}};
          }});
  auto reply = t->run(ctx, "downsample --sampling-mode median");
  EXPECT_EQ(reply["ok"], true);
  EXPECT_EQ(reply["result"]["mode"], "median");
  // an option the usage line does not name is refused, with the usage (a typo is not ignored)
  try {
    t->run(ctx, "downsample --sampling-mod median");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("--sampling-mod "), std::string::npos) << e.what();
  }
  EXPECT_EQ(t->run(ctx, "downsample --sampling-mode median --cwd /tmp")["ok"], true);  // sent by wkfs ctl
  try {
    t->run(ctx, "no-such-command");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  }
  ctx.layer.reset();
  EXPECT_THROW(t->run(ctx, "add-mag 2"), Error);  // a layer command on a dataset control file
}

TEST(TextValues, BoundingBoxesAndVectors) {
  auto b = parse_bounding_box("1,2,3,10,20,30");
  EXPECT_EQ(b.top_left, Vec3(1, 2, 3));
  EXPECT_EQ(b.size, Vec3(10, 20, 30));
  EXPECT_EQ(format_bounding_box(b), "1,2,3,10,20,30");
  EXPECT_THROW(parse_bounding_box("1,2,3"), Error);
  EXPECT_THROW(parse_bounding_box("1,2,3,-1,2,2"), Error);
  EXPECT_EQ(parse_vec3("32", "x"), Vec3(32, 32, 32));
  EXPECT_EQ(parse_vec3("32,16,8", "x"), Vec3(32, 16, 8));
  EXPECT_THROW(parse_vec3("32,a", "x"), Error);
  EXPECT_EQ(parse_optional_int("none", "x"), std::nullopt);
  EXPECT_EQ(parse_optional_int("42\n", "x"), 42);
}
