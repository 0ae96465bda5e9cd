#include <gtest/gtest.h>

#include "core/bounding_box.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/mag.hpp"
#include "core/nd_copy.hpp"

using namespace wkfs;

TEST(Mag, ParsesLibraryForms) {
  EXPECT_EQ(Mag::parse("2"), Mag(2, 2, 2));
  EXPECT_EQ(Mag::parse("2-2-1"), Mag(2, 2, 1));
  EXPECT_EQ(Mag::parse("1-1-1").short_name(), "1");
  EXPECT_EQ(Mag(4, 4, 2).short_name(), "4-4-2");
  EXPECT_EQ(Mag(2, 2, 2).long_name(), "2-2-2");
}

TEST(Mag, RejectsWhatTheLibraryRejects) {
  for (const char* bad : {"3", "0", "2,2,1", "mag1", "1-1", "-1", "", "2-3-1", "1-1-1-1"}) {
    try {
      Mag::parse(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << bad;
    }
  }
}

TEST(Mag, OrdersByMaxDim) {
  EXPECT_FALSE(Mag::less_by_max_dim(Mag(2, 2, 1), Mag(2, 2, 2)));
  EXPECT_FALSE(Mag::less_by_max_dim(Mag(2, 2, 2), Mag(2, 2, 1)));
  EXPECT_TRUE(Mag::less_by_max_dim(Mag(2, 2, 2), Mag(4, 1, 1)));
  EXPECT_TRUE(Mag::less_xyz(Mag(2, 2, 1), Mag(2, 2, 2)));
}

TEST(BoundingBox, AlignsOutwardToMag) {
  BoundingBox b{{3, 5, 1}, {10, 10, 10}};  // br = 13,15,11
  auto a = b.align_outward(Mag(4, 4, 2));
  EXPECT_EQ(a.top_left, Vec3(0, 4, 0));
  EXPECT_EQ(a.bottom_right(), Vec3(16, 16, 12));
  EXPECT_EQ(b.in_mag(Mag(4, 4, 2)).top_left, Vec3(0, 1, 0));
  EXPECT_EQ(b.in_mag(Mag(4, 4, 2)).size, Vec3(4, 3, 6));
}

TEST(DType, ElementClassRoundTrips) {
  EXPECT_EQ(element_class(DType::UInt8, 3), "uint24");
  EXPECT_EQ(element_class(DType::UInt16, 2), "uint32");
  EXPECT_EQ(element_class(DType::Float32, 1), "float");
  EXPECT_EQ(element_class(DType::Float64, 1), "double");
  EXPECT_EQ(dtype_from_element_class("uint24", 3), DType::UInt8);
  EXPECT_EQ(dtype_from_element_class("float", 1), DType::Float32);
  EXPECT_EQ(dtype_from_element_class("int64", 1), DType::Int64);
  EXPECT_THROW(dtype_from_element_class("uint24", 1), Error);
  EXPECT_THROW(dtype_from_element_class("complex64", 1), Error);
  bool be = false;
  EXPECT_EQ(parse_zarr2_typestr(">u2", be), DType::UInt16);
  EXPECT_TRUE(be);
  EXPECT_EQ(zarr2_typestr(DType::Float32), "<f4");
  EXPECT_EQ(zarr2_typestr(DType::UInt8), "|u1");
}

TEST(NdCopy, TransposeMatchesBruteForce) {
  VecN shape{2, 3, 4, 5};
  std::vector<std::byte> src(120), t(120), back(120);
  for (int i = 0; i < 120; ++i) src[i] = std::byte(i);
  VecN order{3, 2, 1, 0};
  transpose(1, src.data(), shape, order, t.data());
  // brute force: t[z][y][x][c] = src[c][x][y][z]
  for (int c = 0; c < 2; ++c)
    for (int x = 0; x < 3; ++x)
      for (int y = 0; y < 4; ++y)
        for (int z = 0; z < 5; ++z)
          ASSERT_EQ(t[((z * 4 + y) * 3 + x) * 2 + c], src[((c * 3 + x) * 4 + y) * 5 + z]);
  untranspose(1, t.data(), shape, order, back.data());
  EXPECT_EQ(back, src);
}

TEST(NdCopy, CopyBoxMatchesBruteForce) {
  VecN sshape{5, 6, 7}, dshape{4, 4, 4};
  std::vector<uint16_t> src(5 * 6 * 7), dst(64, 0);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint16_t>(i * 7 + 1);
  copy_box(2, reinterpret_cast<std::byte*>(src.data()), sshape, VecN{1, 2, 3},
           reinterpret_cast<std::byte*>(dst.data()), dshape, VecN{0, 1, 1}, VecN{3, 2, 3});
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b)
      for (int c = 0; c < 4; ++c) {
        bool in = a < 3 && b >= 1 && b < 3 && c >= 1 && c < 4;
        uint16_t want = in ? src[((a + 1) * 6 + (b - 1 + 2)) * 7 + (c - 1 + 3)] : 0;
        ASSERT_EQ(dst[(a * 4 + b) * 4 + c], want) << a << b << c;
      }
}
