// Typed values: one notation and one validation for control commands, xattrs and the CLI.
#include <gtest/gtest.h>

#include "control/text_values.hpp"
#include "core/error.hpp"

using namespace wkfs;
using namespace wkfs::control;

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
  EXPECT_THROW(parse_vec3("32,16", "x"), Error);
  EXPECT_EQ(parse_optional_int("none", "x"), std::nullopt);
  EXPECT_EQ(parse_optional_int("42\n", "x"), 42);
}

TEST(TextValues, NegativeTopLeftIsRefused) {
  try {
    parse_bounding_box("-1,0,0,4,4,4", "--bbox");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("--bbox"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_vec3("-32", "--chunk-shape"), Error);
}

TEST(TextValues, ValuesAbove2To40AreRefused) {
  const std::string max = std::to_string(kMaxCoordinate), above = std::to_string(kMaxCoordinate + 1);
  EXPECT_EQ(parse_bounding_box("0,0," + max + ",1,1," + max).size.z, kMaxCoordinate);
  EXPECT_THROW(parse_bounding_box("0,0," + above + ",1,1,1"), Error);
  EXPECT_THROW(parse_bounding_box("0,0,0,1,1," + above), Error);
  EXPECT_EQ(parse_vec3(max, "x"), Vec3::full(kMaxCoordinate));
  EXPECT_THROW(parse_vec3(above, "x"), Error);
  EXPECT_THROW(parse_vec3("99999999999999999999", "x"), Error);  // beyond int64: not a number
  // segment ids are not coordinates: the full int64 range stays open
  EXPECT_EQ(parse_optional_int(above, "largest-segment-id"), kMaxCoordinate + 1);
}

TEST(TextValues, IntLists) {
  EXPECT_EQ(parse_int_list("1, -2,3", "x"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_THROW(parse_int_list("1,,2", "x"), Error);
  EXPECT_THROW(parse_int_list("", "x"), Error);
}
