// Dataset-level guards of issue 11: mag paths in a properties file must lead to arrays (item 3),
// add_mag never writes through a symlink (item 9), interrupted symlink-mag steps are recovered at
// open (item 10), and the shape and box limits are the same on every path (item 6).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

template <typename F>
ErrorKind kind_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::Io;
}

std::string text_of(const fs::path& p) {
  auto b = read_file(p);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string with_mag_path(std::string s, const std::string& path) {
  auto at = s.find("\"./color/1\"");
  EXPECT_NE(at, std::string::npos);
  s.replace(at, std::string("\"./color/1\"").size(), "\"" + path + "\"");
  return s;
}

}  // namespace

TEST(DatasetInvariants, ReplacePropertiesRefusesAMagPathThatIsNotAnArray) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto ds = Dataset::open(root);
  const std::string before = text_of(root / kPropertiesFile);
  for (const char* bad : {"/etc", "./color", "./color/8", "../../../../etc"}) {
    EXPECT_EQ(kind_of([&] { ds->replace_properties(with_mag_path(before, bad)); }), ErrorKind::InvalidArgument) << bad;
    EXPECT_EQ(text_of(root / kPropertiesFile), before) << bad;
  }
  // the same mag path, or another folder holding the array, is accepted
  ds->replace_properties(before);
  fs::rename(root / "color/1", root / "color/one");
  ds->replace_properties(with_mag_path(before, "./color/one"));
}

TEST(DatasetInvariants, AddMagNeverWritesThroughASymlink) {
  test::TempDir tmp, outside;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  fs::create_directory_symlink(outside.path(), root / "color/2");
  auto ds = Dataset::open(root);
  EXPECT_EQ(kind_of([&] { ds->add_mag("color", Mag(2, 2, 2)); }), ErrorKind::AlreadyExists);
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_FALSE(ds->properties().find_layer("color")->find_mag(Mag(2, 2, 2)));
}

TEST(DatasetInvariants, OpenRemovesAnUnlistedMagLinkLeftByAnInterruptedStep) {
  test::TempDir tmp, other, plain;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto foreign = test::copy_fixture("simple_zarr3_dataset", other.path());
  Dataset::open(foreign)->add_mag("color", Mag(2, 2, 2));
  // add_symlink_mag killed after the link, before the properties were saved
  fs::create_directory_symlink(foreign / "color/2", root / "color/2");
  fs::create_directory_symlink(plain.path(), root / "color/4");  // not a mag: not ours, stays
  auto ds = Dataset::open(root);
  EXPECT_FALSE(fs::exists(fs::symlink_status(root / "color/2")));
  EXPECT_TRUE(fs::is_symlink(root / "color/4"));
  EXPECT_TRUE(fs::exists(foreign / "color/2/zarr.json"));  // the data is never touched
  ds->add_symlink_mag("color", foreign / "color/2", false);  // and the step can be done again
  EXPECT_TRUE(ds->properties().find_layer("color")->find_mag(Mag(2, 2, 2)));
  // a read-only open changes nothing
  auto second = test::copy_fixture("simple_zarr3_dataset", plain.path());
  fs::create_directory_symlink(foreign / "color/2", second / "color/2");
  Dataset::open(second, true);
  EXPECT_TRUE(fs::is_symlink(second / "color/2"));
}

TEST(DatasetInvariants, ChunksLargerThanTheCapAreRefusedOnEveryPath) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto ds = Dataset::open(root);
  const auto props = ds->properties();  // a copy: find_layer points into it
  const auto& layer = *props.find_layer("color");
  MagOptions huge{Vec3::full(1024), Vec3::full(1024), std::nullopt};
  EXPECT_EQ(kind_of([&] { resolve_mag_options(layer, huge); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([&] { ds->add_mag("color", Mag(2, 2, 2), huge); }), ErrorKind::InvalidArgument);
  EXPECT_FALSE(fs::exists(root / "color/2"));
  MagOptions fine{Vec3::full(64), Vec3::full(1024), std::nullopt};  // 64^3 x 3 B chunks, big shards
  EXPECT_NO_THROW(resolve_mag_options(layer, fine));
}

TEST(DatasetInvariants, BoundingBoxLimitsAreThoseOfThePropertiesFile) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto ds = Dataset::open(root);
  const std::string before = text_of(root / kPropertiesFile);
  BoundingBox huge{{0, 0, 0}, {100000000000000000, 1, 1}};
  EXPECT_EQ(kind_of([&] { ds->set_bounding_box("color", huge); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(text_of(root / kPropertiesFile), before);
  EXPECT_EQ(kind_of([&] { ds->set_bounding_box("color", BoundingBox{{0, 0, 0}, {-1, 1, 1}}); }),
            ErrorKind::InvalidArgument);
}

TEST(DatasetInvariants, AddLayerHoldsItsBoxToTheSameLimits) {
  test::TempDir tmp;
  auto ds = Dataset::create(tmp / "ds", VoxelSize{{1, 1, 1}, "nanometer"});
  LayerSpec spec;
  spec.name = "color";
  spec.bounding_box = BoundingBox{{0, 0, 0}, {1, 100000000000000000, 1}};
  EXPECT_EQ(kind_of([&] { ds->add_layer(spec); }), ErrorKind::InvalidArgument);
  EXPECT_TRUE(ds->properties().layers.empty());
}

// Issue 11 item 6: one check of a bounding box (check_bounding_box) on every path; 10^17 voxels
// with every value in range was accepted by the xattr and the properties file.
TEST(DatasetInvariants, ABoxOfTenToTheSeventeenVoxelsIsRefusedOnEveryPath) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto ds = Dataset::open(root);
  const std::string before = text_of(root / kPropertiesFile);
  const BoundingBox huge{{0, 0, 0}, {1000000000, 1000000000, 100000}};
  EXPECT_EQ(kind_of([&] { check_bounding_box(huge); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([&] { ds->set_bounding_box("color", huge); }), ErrorKind::InvalidArgument);
  Json j = Json::parse(before);
  j["dataLayers"][0]["boundingBox"]["width"] = 1000000000;
  j["dataLayers"][0]["boundingBox"]["height"] = 1000000000;
  j["dataLayers"][0]["boundingBox"]["depth"] = 100000;
  EXPECT_EQ(kind_of([&] { ds->replace_properties(j.dump()); }), ErrorKind::InvalidArgument);
  LayerSpec spec;
  spec.name = "other";
  spec.bounding_box = huge;
  EXPECT_EQ(kind_of([&] { ds->add_layer(spec); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(text_of(root / kPropertiesFile), before);
  // a corner beyond 32 bits, even with few voxels
  EXPECT_EQ(kind_of([&] { check_bounding_box(BoundingBox{{int64_t{1} << 31, 0, 0}, {1, 1, 1}}); }),
            ErrorKind::InvalidArgument);
  // the limits themselves are accepted: 2^31-1 on an axis, 2^53 voxels
  EXPECT_NO_THROW(check_bounding_box(BoundingBox{{0, 0, 0}, {kMaxBoxCorner, 1, 1}}));
  EXPECT_NO_THROW(check_bounding_box(BoundingBox{{0, 0, 0}, {int64_t{1} << 20, int64_t{1} << 20, int64_t{1} << 13}}));
  EXPECT_EQ(kind_of([&] { check_bounding_box(BoundingBox{{0, 0, 0}, {int64_t{1} << 20, int64_t{1} << 20, (int64_t{1} << 13) + 1}}); }),
            ErrorKind::InvalidArgument);
}

// An old box beyond the limits does not block an edit elsewhere in the file.
TEST(DatasetInvariants, AnOldOversizedBoxDoesNotBlockOtherEdits) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  Json j = Json::parse(text_of(root / kPropertiesFile));
  j["dataLayers"][0]["boundingBox"]["width"] = int64_t{1} << 40;  // the parser's limit is 2^50
  write_file_atomic(root / kPropertiesFile, j.dump());
  auto ds = Dataset::open(root);
  j["defaultViewConfiguration"] = Json{{"zoom", 2}};
  EXPECT_NO_THROW(ds->replace_properties(j.dump()));
}
