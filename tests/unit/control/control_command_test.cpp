// Control command parsing and the command table, without a mount.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "control/command_table.hpp"

#include <cerrno>

using namespace wkfs;
using namespace wkfs::control;

namespace {
// The message of the InvalidArgument that running `text` throws ("" and a failure if none).
std::string refusal(const CommandTable& t, CommandContext& ctx, const std::string& text) {
  try {
    t.run(ctx, text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << text;
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}
}  // namespace

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
  t->set({.name = "downsample",
          .scope = CommandScope::Layer,
          .schema = {{}, {{.name = "sampling-mode", .value = "M"}}},
          .run = [](CommandContext& c, const CommandLine& l) {
            return Json{{"layer", *c.layer}, {"mode", l.option("sampling-mode").value_or("")}};
          }});
  auto reply = t->run(ctx, "downsample --sampling-mode median");
  EXPECT_EQ(reply["ok"], true);
  EXPECT_EQ(reply["result"]["mode"], "median");
  // an option the schema does not declare is refused, with the usage (a typo is not ignored)
  auto msg = refusal(*t, ctx, "downsample --sampling-mod median");
  EXPECT_NE(msg.find("--sampling-mod "), std::string::npos) << msg;
  EXPECT_EQ(t->run(ctx, "downsample --sampling-mode median --cwd /tmp")["ok"], true);  // sent by wkfs ctl
  refusal(*t, ctx, "no-such-command");
  ctx.layer.reset();
  EXPECT_THROW(t->run(ctx, "add-mag 2"), Error);  // a layer command on a dataset control file
}

TEST(CommandTable, ScopeIsChecked) {
  auto t = make_builtin_command_table();
  CommandContext ctx;
  ctx.layer = "color";
  auto msg = refusal(*t, ctx, "add-layer seg");
  EXPECT_NE(msg.find("dataset command"), std::string::npos) << msg;
}

// The option check runs before the handler, so a refused line touches nothing (here: no dataset).
TEST(CommandTable, RefusedLinesNeverReachTheHandler) {
  auto t = make_builtin_command_table();
  CommandContext ctx;
  ctx.layer = "color";
  for (const char* line : {"add-mag 2 --chunk-shap 32", "add-mag", "add-mag 2 4", "delete-mag 2 --force",
                           "downsample-mag 1", "downsample-mag-list 1", "upsample", "add-mag 2 --no-compress maybe",
                           "add-existing-remote-mag-view /x --mag 2", "compress"}) {
    auto msg = refusal(*t, ctx, line);
    EXPECT_NE(msg.find("(usage: "), std::string::npos) << line << ": " << msg;
  }
}

// Where nothing may change (a -o ro mount, a dataset another mount holds), the commands that only
// read still run and every other one fails with the context's errno before its handler runs.
TEST(CommandTable, OnlyReadingCommandsRunWhereChangesAreRefused) {
  auto t = make_builtin_command_table();
  int changed = 0;
  t->set({.name = "add-mag", .scope = CommandScope::Layer, .schema = {{{"MAG", "m"}}, {}},
          .run = [&](CommandContext&, const CommandLine&) { ++changed; return Json(); }});
  t->set({.name = "peek", .scope = CommandScope::Any,
          .run = [&](CommandContext&, const CommandLine&) { return Json("seen"); }, .reads_only = true});
  CommandContext ctx;
  ctx.layer = "color";
  ctx.refuse_changes_errno = EBUSY;
  ctx.refuse_changes_why = "held by pid 7 on host h";
  EXPECT_EQ(t->run(ctx, "peek")["result"], "seen");
  EXPECT_EQ(t->run(ctx, "help add-mag")["ok"], true);
  try {
    t->run(ctx, "add-mag 2");
    ADD_FAILURE() << "ran";
  } catch (const Error& e) {
    EXPECT_EQ(errno_of(e), EBUSY);
    EXPECT_NE(std::string(e.what()).find("held by pid 7"), std::string::npos) << e.what();
  }
  EXPECT_EQ(changed, 0);
  ctx.refuse_changes_errno = 0;
  t->run(ctx, "add-mag 2");
  EXPECT_EQ(changed, 1);
  // help says which commands only read
  for (const auto& h : t->help())
    EXPECT_EQ(h["reads_only"].get<bool>(), h["name"] == "peek" || h["name"] == "help" || h["name"] == "info" ||
                                               h["name"] == "lazy-status" || h["name"] == "cache-clear")
        << h["name"];
}
