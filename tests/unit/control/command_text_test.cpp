// The text of one control command: UTF-8, one line, no NUL; path arguments within the kernel's limits.
#include <gtest/gtest.h>

#include <cerrno>

#include "control/command_text.hpp"
#include "core/error.hpp"

using namespace wkfs;
using namespace wkfs::control;

namespace {
int errno_from(const std::string& text, void (*check)(const std::string&)) {
  try {
    check(text);
  } catch (const std::exception& e) {
    return errno_of(e);
  }
  return 0;
}
}  // namespace

TEST(CommandText, OneLineOfUtf8) {
  EXPECT_EQ(errno_from("add-mag 2", check_command_text), 0);
  EXPECT_EQ(errno_from("set bounding_box 'µm ok'", check_command_text), 0);
  EXPECT_EQ(errno_from("add-mag \xff", check_command_text), EINVAL);
  EXPECT_EQ(errno_from("add-mag \xc0\x80", check_command_text), EINVAL);      // overlong NUL
  EXPECT_EQ(errno_from("add-mag \xed\xa0\x80", check_command_text), EINVAL);  // surrogate
  EXPECT_EQ(errno_from("add-mag \xe2\x82", check_command_text), EINVAL);      // cut short
  EXPECT_EQ(errno_from("add-mag 2\nadd-mag 4", check_command_text), EINVAL);
  EXPECT_EQ(errno_from(std::string("add-mag 2\0x", 11), check_command_text), EINVAL);
}

TEST(CommandText, PathArgumentLengths) {
  EXPECT_EQ(errno_from("/a/" + std::string(255, 'b'), check_path_argument), 0);
  EXPECT_EQ(errno_from("/a/" + std::string(256, 'b'), check_path_argument), ENAMETOOLONG);
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += "/abcdefghi";
  EXPECT_EQ(errno_from(deep, check_path_argument), ENAMETOOLONG);
}
