// The reply schema of `.wkfs-ctl`, built and read in one place.
#include <gtest/gtest.h>

#include <cerrno>

#include "control/protocol.hpp"
#include "control/reply.hpp"

using namespace wkfs;
using namespace wkfs::control;

TEST(Reply, OkReply) {
  auto r = ok_reply("add-mag", Json{{"mag", "2-2-2"}});
  EXPECT_EQ(r.dump(), R"({"ok":true,"command":"add-mag","result":{"mag":"2-2-2"}})");
  EXPECT_TRUE(reply_ok(r));
  EXPECT_EQ(reply_result(r)["mag"], "2-2-2");
  EXPECT_EQ(reply_error(r, "none"), "none");
}

TEST(Reply, ErrorReply) {
  auto r = error_reply("delete-mag", "mag 8 is not in layer color", ENOENT);
  EXPECT_EQ(r[kReplyOk], false);
  EXPECT_EQ(r[kReplyCommand], "delete-mag");
  EXPECT_EQ(r[kReplyError], "mag 8 is not in layer color");
  EXPECT_EQ(r[kReplyErrno], ENOENT);
  EXPECT_EQ(r[kReplyErrnoName], "No such file or directory");
  EXPECT_FALSE(r.contains(kReplyResult));
  EXPECT_FALSE(reply_ok(r));
  EXPECT_EQ(reply_error(r, "x"), "mag 8 is not in layer color");
}

TEST(Reply, NoCommandYetAndNonReplies) {
  EXPECT_EQ(no_command_reply().dump(), R"({"ok":true,"command":null,"result":null})");
  for (const auto& j : {Json(), Json::array(), Json{{"ok", "true"}}}) {
    EXPECT_FALSE(reply_ok(j));
    EXPECT_TRUE(reply_result(j).is_null());
  }
}
