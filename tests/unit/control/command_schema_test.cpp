// CommandSchema: the declaration of a command's arguments and options, and what it makes of a line.
#include <gtest/gtest.h>

#include "control/command_schema.hpp"
#include "control/command_table.hpp"
#include "core/error.hpp"

using namespace wkfs;
using namespace wkfs::control;

namespace {

const CommandSchema kSchema{{{"FROM", "the source"}, {"TO", "the targets", true, true}},
                            {{.name = "num-channels", .aliases = {"channels"}, .value = "N", .help = "channels"},
                             {.name = "move", .help = "move instead"},
                             {.name = "from-mag", .value = "MAG", .help = "source mag", .required = true}}};

std::string refusal(const CommandSchema& schema, const std::string& text) {
  auto line = CommandLine::parse(text);
  try {
    schema.check(line);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}

}  // namespace

TEST(CommandSchema, UsageComesFromTheDeclaration) {
  EXPECT_EQ(kSchema.usage("x"), "x FROM TO... [--num-channels|--channels N] [--move] --from-mag MAG");
  CommandSchema optional{{{"MAG", "", false}}, {}};
  EXPECT_EQ(optional.usage("materialize"), "materialize [MAG]");
}

TEST(CommandSchema, UnknownOptionIsRefusedByName) {
  auto msg = refusal(kSchema, "x 1 2 --from-mag 1 --mvoe");
  EXPECT_NE(msg.find("unknown option --mvoe"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(usage: x FROM TO..."), std::string::npos) << msg;
  // a prefix of a declared option is not that option (the old substring check's weakness)
  msg = refusal(kSchema, "x 1 2 --from-mag 1 --mo");
  EXPECT_NE(msg.find("--mo"), std::string::npos) << msg;
}

TEST(CommandSchema, AliasIsRenamedToTheDeclaredName) {
  auto line = CommandLine::parse("x 1 2 --from-mag 1 --channels 3 --cwd /tmp");
  kSchema.check(line);
  EXPECT_EQ(line.option("num-channels"), "3");
  EXPECT_FALSE(line.option("channels"));
  EXPECT_EQ(line.option("cwd"), "/tmp");  // --cwd is accepted by every command, kept for the adapter
  auto msg = refusal(kSchema, "x 1 2 --from-mag 1 --channels 3 --num-channels 3");
  EXPECT_NE(msg.find("twice"), std::string::npos) << msg;
}

TEST(CommandSchema, MissingAndSurplusArguments) {
  auto msg = refusal(kSchema, "x --from-mag 1");
  EXPECT_NE(msg.find("missing argument FROM"), std::string::npos) << msg;
  msg = refusal(kSchema, "x 1 --from-mag 1");
  EXPECT_NE(msg.find("missing argument TO"), std::string::npos) << msg;
  msg = refusal(kSchema, "x 1 2");
  EXPECT_NE(msg.find("missing option --from-mag"), std::string::npos) << msg;
  auto line = CommandLine::parse("x 1 2 3 4 --from-mag 1");  // TO... takes the rest
  kSchema.check(line);
  CommandSchema one{{{"MAG", ""}}, {}};
  msg = refusal(one, "y 1 2");
  EXPECT_NE(msg.find("unexpected argument '2'"), std::string::npos) << msg;
}

TEST(CommandSchema, FlagsTakeOnlyBooleans) {
  auto line = CommandLine::parse("x 1 2 --from-mag 1 --move false");
  kSchema.check(line);
  EXPECT_FALSE(line.flag("move"));
  auto msg = refusal(kSchema, "x 1 2 --from-mag 1 --move later");
  EXPECT_NE(msg.find("--move is a flag"), std::string::npos) << msg;
}

TEST(CommandSchema, JsonListsEveryOption) {
  auto j = kSchema.options_json();
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["name"], "--num-channels");
  EXPECT_EQ(j[0]["aliases"], Json::array({"--channels"}));
  EXPECT_EQ(j[0]["value"], "N");
  EXPECT_TRUE(j[1]["value"].is_null());  // a flag
  EXPECT_EQ(j[2]["required"], true);
  EXPECT_EQ(kSchema.arguments_json()[1]["repeated"], true);
}

TEST(BuiltinCommands, HelpListsEveryCommandWithItsOptions) {
  auto t = make_builtin_command_table();
  CommandContext ctx;
  auto reply = t->run(ctx, "help");
  const auto& list = reply["result"];
  ASSERT_TRUE(list.is_array());
  auto names = t->names();
  ASSERT_EQ(list.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& e = list[i];
    SCOPED_TRACE(names[i]);
    EXPECT_EQ(e["name"], names[i]);
    for (const char* key : {"scope", "usage", "description", "arguments", "options"}) EXPECT_TRUE(e.contains(key));
    EXPECT_EQ(e["usage"], t->find(names[i])->usage());
    EXPECT_FALSE(e["description"].get<std::string>().empty());
    EXPECT_TRUE(e["options"].is_array());
  }
  auto one = t->run(ctx, "help add-layer")["result"];
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["scope"], "dataset");
  EXPECT_EQ(one[0]["usage"],
            "add-layer NAME [--category color|segmentation] [--dtype-per-channel|--dtype DTYPE] "
            "[--num-channels|--channels N] [--data-format|--format FORMAT] [--bounding-box X,Y,Z,W,H,D] "
            "[--largest-segment-id N]");
  EXPECT_THROW(t->run(ctx, "help frobnicate"), Error);
}

// The mag options are one declaration: every command that makes a mag lists all of them.
TEST(BuiltinCommands, MagOptionsAreTheSameEverywhere) {
  auto t = make_builtin_command_table();
  auto mag = CommandSchema{{}, mag_command_options()}.options_json();
  for (const char* n : {"add-mag", "get-or-add-mag", "add-copy-mag", "downsample", "downsample-mag",
                        "downsample-mag-list", "upsample"}) {
    SCOPED_TRACE(n);
    auto options = t->find(n)->schema.options_json();
    for (const auto& o : mag) EXPECT_NE(std::find(options.begin(), options.end(), o), options.end()) << o.dump();
  }
  for (const char* n : {"downsample", "downsample-mag", "downsample-mag-list", "upsample", "redownsample"}) {
    EXPECT_NE(t->find(n)->schema.find_option("materialize"), nullptr) << n;
    EXPECT_NE(t->find(n)->schema.find_option("wait"), nullptr) << n;
  }
  EXPECT_EQ(t->find("add-mag")->usage(),
            "add-mag MAG [--chunk-shape X,Y,Z] [--shard-shape X,Y,Z] [--chunks-per-shard X,Y,Z] [--compress] "
            "[--no-compress]");
}
