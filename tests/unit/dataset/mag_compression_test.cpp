// Dataset::compress_mag (MagView.compress()): the data stays the same byte for byte, the arrays
// become compressed, and the properties do not change.
#include <gtest/gtest.h>

#include <random>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {
void check_format(DataFormat format) {
  test::TempDir tmp;
  auto ds = Dataset::create(tmp / "ds", VoxelSize{{1, 1, 1}, "nanometer"});
  BoundingBox bbox{{5, 0, 3}, {40, 37, 20}};
  LayerSpec spec;
  spec.name = "color";
  spec.dtype = DType::UInt16;
  spec.num_channels = 2;
  spec.data_format = format;
  spec.bounding_box = bbox;
  ds->add_layer(spec);
  MagOptions mo;
  mo.chunk_shape = Vec3{8, 8, 8};
  mo.shard_shape = format == DataFormat::Zarr ? Vec3{8, 8, 8} : Vec3{16, 16, 16};
  mo.compress = false;
  ds->add_mag("color", Mag(1, 1, 1), mo);
  auto view = ds->mag_view("color", Mag(1, 1, 1));
  Bytes data(view->buffer_size(bbox));
  std::mt19937 rng(3);
  for (auto& b : data) b = std::byte(rng() % 7);  // compressible
  view->write(bbox, data);
  ASSERT_FALSE(view->array().compressed());
  auto props_before = read_file(tmp / "ds" / "datasource-properties.json");

  EXPECT_TRUE(ds->compress_mag("color", Mag(1, 1, 1)));
  auto arr = open_array(tmp / "ds" / "color" / "1");
  EXPECT_TRUE(arr->compressed());
  // the same dataset object reads the new files with the new codec (its cached view is dropped)
  auto after = ds->mag_view("color", Mag(1, 1, 1));
  EXPECT_TRUE(after->array().compressed());
  Bytes same(data.size());
  after->read(bbox, same);
  EXPECT_EQ(same, data);
  auto reopened = Dataset::open(tmp / "ds");
  Bytes got(data.size());
  reopened->mag_view("color", Mag(1, 1, 1))->read(bbox, got);
  EXPECT_EQ(got, data);
  EXPECT_EQ(read_file(tmp / "ds" / "datasource-properties.json"), props_before);
  // no temp folder left, and a second call changes nothing
  for (const auto& e : fs::directory_iterator(tmp / "ds" / "color")) EXPECT_FALSE(is_temp_file_name(e.path().filename().string()));
  EXPECT_FALSE(reopened->compress_mag("color", Mag(1, 1, 1)));
}
}  // namespace

TEST(CompressMag, Zarr3KeepsDataAndBecomesCompressed) { check_format(DataFormat::Zarr3); }
TEST(CompressMag, Zarr2KeepsDataAndBecomesCompressed) { check_format(DataFormat::Zarr); }
TEST(CompressMag, WkwKeepsDataAndBecomesCompressed) { check_format(DataFormat::Wkw); }

TEST(CompressMag, MissingMagIsNotFound) {
  test::TempDir tmp;
  auto ds = Dataset::create(tmp / "ds", VoxelSize{{1, 1, 1}, "nanometer"});
  LayerSpec spec;
  spec.name = "color";
  ds->add_layer(spec);
  try {
    ds->compress_mag("color", Mag(2, 2, 2));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
}
