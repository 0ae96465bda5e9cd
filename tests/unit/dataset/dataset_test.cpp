// Dataset and MagView: fixture data, every Layer operation's JSON effect and errors, atomicity on
// failure, concurrent mutations.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Json props_json(const fs::path& ds) { return Json::parse(slurp(ds / "datasource-properties.json")); }

/// Expects `op` to throw Error(kind) and the properties file to stay byte-for-byte the same.
template <typename F>
void expect_fails_unchanged(const fs::path& ds, ErrorKind kind, F op) {
  std::string before = slurp(ds / "datasource-properties.json");
  try {
    op();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
  }
  EXPECT_EQ(slurp(ds / "datasource-properties.json"), before);
}

Bytes read_box(MagView& v, const BoundingBox& b) {
  Bytes out(v.buffer_size(b));
  v.read(b, out);
  return out;
}

void expect_fixture_pattern(MagView& v, int channels, bool zeros) {
  BoundingBox box{{0, 0, 0}, {32, 28, 26}};  // reaches past the 24^3 data
  Bytes out = read_box(v, box);
  ASSERT_EQ(out.size(), static_cast<size_t>(channels) * 32 * 28 * 26);
  size_t i = 0, mismatches = 0;
  for (int c = 0; c < channels; ++c)
    for (int x = 0; x < 32; ++x)
      for (int y = 0; y < 28; ++y)
        for (int z = 0; z < 26; ++z, ++i) {
          unsigned char want = zeros ? 0 : test::fixture_value(x, y, z);
          if (static_cast<unsigned char>(out[i]) != want) ++mismatches;
        }
  EXPECT_EQ(mismatches, 0u);
}

Bytes pattern(size_t n, int seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((i * 7 + static_cast<size_t>(seed)) % 251 + 1);
  return b;
}

std::shared_ptr<Dataset> new_dataset(const fs::path& p) { return Dataset::create(p, VoxelSize{{11.24, 11.24, 25}, "nanometer"}); }

LayerSpec color_layer(const std::string& name, DataFormat f = DataFormat::Zarr3, int channels = 1) {
  LayerSpec s;
  s.name = name;
  s.data_format = f;
  s.num_channels = channels;
  return s;
}

}  // namespace

// --- Fixtures through MagView -------------------------------------------------------------------

TEST(DatasetFixtures, Zarr3FixtureData) {
  test::TempDir tmp;
  auto ds = Dataset::open(test::copy_fixture("simple_zarr3_dataset", tmp.path()));
  auto v = ds->mag_view("color", Mag(1, 1, 1));
  EXPECT_EQ(v->num_channels(), 3);
  expect_fixture_pattern(*v, 3, false);
  EXPECT_FALSE(ds->is_foreign_mag("color", Mag(1, 1, 1)));
}

TEST(DatasetFixtures, Zarr2FixtureDataViaLegacyLongFolder) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr_dataset", tmp.path());
  auto ds = Dataset::open(root);
  EXPECT_EQ(ds->mag_path("color", Mag(1, 1, 1)), fs::canonical(root / "color" / "1-1-1"));
  expect_fixture_pattern(*ds->mag_view("color", Mag(1, 1, 1)), 3, false);
}

TEST(DatasetFixtures, WkwFixtureIsZeros) {
  test::TempDir tmp;
  auto ds = Dataset::open(test::copy_fixture("simple_wkw_dataset", tmp.path()));
  expect_fixture_pattern(*ds->mag_view("color", Mag(1, 1, 1)), 3, true);
}

TEST(DatasetFixtures, ReadOnlyOpenRefusesMutation) {
  auto ds = Dataset::open(test::fixture("simple_zarr3_dataset"), true);
  EXPECT_TRUE(ds->mag_view("color", Mag(1, 1, 1))->read_only());
  try {
    ds->add_mag("color", Mag(2, 2, 2));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ReadOnly);
  }
}

TEST(DatasetFixtures, FirstSaveRewritesGroupFilesAsTheLibrary) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto ds = Dataset::open(root);
  ds->set_bounding_box("color", BoundingBox{{0, 0, 0}, {24, 24, 24}});
  EXPECT_EQ(slurp(root / "zarr.json"), "{\n    \"zarr_format\": 3,\n    \"node_type\": \"group\"\n}");
  Json layer = Json::parse(slurp(root / "color" / "zarr.json"));
  EXPECT_EQ(layer["attributes"]["ome"]["version"], "0.5");
  EXPECT_EQ(layer["attributes"]["ome"]["multiscales"][0]["datasets"][0]["path"], "1");
  EXPECT_EQ(layer["attributes"]["ome"]["multiscales"][0]["axes"].size(), 4u);
  // unknown formatting of the fixture is replaced by the library's
  std::string text = slurp(root / "datasource-properties.json");
  EXPECT_NE(text.find("\"scale\": {\n        \"factor\": [\n            1.0,"), std::string::npos) << text;

  test::TempDir tmp2;
  auto root2 = test::copy_fixture("simple_zarr_dataset", tmp2.path());
  Dataset::open(root2)->set_bounding_box("color", BoundingBox{{0, 0, 0}, {24, 24, 24}});
  Json zattrs = Json::parse(slurp(root2 / "color" / ".zattrs"));
  EXPECT_EQ(zattrs["multiscales"][0]["version"], "0.4");
  EXPECT_EQ(zattrs["multiscales"][0]["datasets"][0]["path"], "1-1-1");
  EXPECT_EQ(slurp(root2 / ".zgroup"), "{\n    \"zarr_format\": \"2\"\n}");
}

// --- Creating layers and mags -------------------------------------------------------------------

TEST(DatasetOps, CreateAddLayerAddMagJson) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  Json j = props_json(root);
  EXPECT_EQ(j["id"]["name"], "ds");
  EXPECT_EQ(j["scale"]["factor"][0], 11.24);
  EXPECT_EQ(slurp(root / "datasource-properties.json").back(), '}');  // no trailing newline
  ds->add_layer(color_layer("color"));
  j = props_json(root);
  EXPECT_EQ(j["dataLayers"][0]["boundingBox"]["axisOrder"], (Json{{"c", 0}, {"x", 1}, {"y", 2}, {"z", 3}}));
  EXPECT_TRUE(fs::is_directory(root / "color"));
  ds->set_bounding_box("color", BoundingBox{{0, 0, 0}, {100, 50, 20}});
  ds->add_mag("color", Mag(1, 1, 1));
  j = props_json(root);
  auto m = j["dataLayers"][0]["mags"][0];
  EXPECT_EQ(m["path"], "./color/1");
  EXPECT_FALSE(m.contains("cubeLength"));
  EXPECT_EQ(m["axisOrder"]["z"], 3);
  EXPECT_FALSE(j["dataLayers"][0]["boundingBox"].contains("axisOrder"));
  auto meta = ds->mag_view("color", Mag(1, 1, 1))->array().meta();
  EXPECT_EQ(meta.shape, (VecN{1, 1024, 1024, 1024}));  // rounded up to the 1024^3 shard
  EXPECT_EQ(meta.chunk_shape, (VecN{1, 32, 32, 32}));
  EXPECT_EQ(meta.shard_shape, (VecN{1, 1024, 1024, 1024}));
  EXPECT_TRUE(ds->mag_view("color", Mag(1, 1, 1))->array().compressed());
  // the layer already has a mag and depth <= 32: (4096, 4096, 32) shards
  ds->add_mag("color", Mag(2, 2, 1));
  auto meta2 = ds->mag_view("color", Mag(2, 2, 1))->array().meta();
  EXPECT_EQ(meta2.shard_shape, (VecN{1, 4096, 4096, 32}));
  EXPECT_EQ(meta2.shape, (VecN{1, 4096, 4096, 32}));
  EXPECT_EQ(props_json(root)["dataLayers"][0]["mags"][1]["path"], "./color/2-2-1");
  Json group = Json::parse(slurp(root / "color" / "zarr.json"));
  auto scale = group["attributes"]["ome"]["multiscales"][0]["datasets"][1]["coordinateTransformations"][0]["scale"];
  EXPECT_EQ(scale, Json::array({1.0, 22.48, 22.48, 25.0}));
}

TEST(DatasetOps, AddMagFormatsAndOptions) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  ds->add_layer(color_layer("w", DataFormat::Wkw, 3));
  ds->add_mag("w", Mag(1, 1, 1));
  Json j = props_json(root);
  EXPECT_EQ(j["dataLayers"][0]["mags"][0]["cubeLength"], 1024);
  EXPECT_EQ(j["dataLayers"][0]["elementClass"], "uint24");
  EXPECT_TRUE(fs::exists(root / "w" / "1" / "header.wkw"));
  ds->add_layer(color_layer("z2", DataFormat::Zarr));
  ds->add_mag("z2", Mag(1, 1, 1), MagOptions{Vec3::full(64), std::nullopt, false});
  auto meta = ds->mag_view("z2", Mag(1, 1, 1))->array().meta();
  EXPECT_EQ(meta.shard_shape, (VecN{1, 64, 64, 64}));
  EXPECT_FALSE(ds->mag_view("z2", Mag(1, 1, 1))->array().compressed());
  EXPECT_EQ(slurp(root / ".zgroup"), "{\n    \"zarr_format\": \"2\"\n}");
  EXPECT_TRUE(fs::exists(root / "z2" / ".zattrs"));
  EXPECT_EQ(slurp(root / "z2" / ".zgroup"), "{\n    \"zarr_format\": \"2\"\n}");
}

TEST(DatasetOps, AddMagErrorsChangeNothing) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  ds->add_layer(color_layer("color"));
  ds->add_mag("color", Mag(1, 1, 1));
  expect_fails_unchanged(root, ErrorKind::AlreadyExists, [&] { ds->add_mag("color", Mag(1, 1, 1)); });
  expect_fails_unchanged(root, ErrorKind::NotFound, [&] { ds->add_mag("nope", Mag(2, 2, 2)); });
  expect_fails_unchanged(root, ErrorKind::InvalidArgument,
                         [&] { ds->add_mag("color", Mag(2, 2, 2), MagOptions{Vec3::full(24), std::nullopt, {}}); });
  expect_fails_unchanged(root, ErrorKind::InvalidArgument,
                         [&] { ds->add_mag("color", Mag(2, 2, 2), MagOptions{Vec3::full(64), Vec3::full(32), {}}); });
  EXPECT_FALSE(fs::exists(root / "color" / "2"));
  ds->add_layer(color_layer("w", DataFormat::Wkw));
  expect_fails_unchanged(root, ErrorKind::InvalidArgument,
                         [&] { ds->add_mag("w", Mag(1, 1, 1), MagOptions{Vec3{32, 32, 16}, std::nullopt, {}}); });
  ds->add_layer(color_layer("z2", DataFormat::Zarr));
  expect_fails_unchanged(root, ErrorKind::InvalidArgument,
                         [&] { ds->add_mag("z2", Mag(1, 1, 1), MagOptions{Vec3::full(32), Vec3::full(64), {}}); });
  // a folder that already holds an array is not overwritten
  fs::create_directories(root / "color" / "4");
  { std::ofstream(root / "color" / "4" / "zarr.json") << "{}"; }
  expect_fails_unchanged(root, ErrorKind::AlreadyExists, [&] { ds->add_mag("color", Mag(4, 4, 4)); });
  EXPECT_EQ(slurp(root / "color" / "4" / "zarr.json"), "{}");
}

TEST(DatasetOps, AddLayerErrors) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  ds->add_layer(color_layer("color"));
  expect_fails_unchanged(root, ErrorKind::AlreadyExists, [&] { ds->add_layer(color_layer("color")); });
  expect_fails_unchanged(root, ErrorKind::InvalidArgument, [&] { ds->add_layer(color_layer("../x")); });
  expect_fails_unchanged(root, ErrorKind::InvalidArgument, [&] { ds->add_layer(color_layer(".hidden")); });
  LayerSpec bad = color_layer("f");
  bad.category = Category::Segmentation;
  bad.dtype = DType::Float32;
  expect_fails_unchanged(root, ErrorKind::InvalidArgument, [&] { ds->add_layer(bad); });
  EXPECT_FALSE(fs::exists(root / "f"));
  // create refuses a non-empty folder
  try {
    new_dataset(root);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotEmpty);
  }
}

// --- Data, bounding box, resize ---------------------------------------------------------------

TEST(DatasetOps, WriteReadAndBoundingBoxResize) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  ds->add_layer(color_layer("color", DataFormat::Zarr3, 2));
  ds->add_mag("color", Mag(1, 1, 1), MagOptions{Vec3::full(16), Vec3::full(32), {}});
  ds->add_mag("color", Mag(2, 2, 2), MagOptions{Vec3::full(16), Vec3::full(32), {}});
  ds->set_bounding_box("color", BoundingBox{{10, 0, 0}, {60, 40, 33}});
  auto v1 = ds->mag_view("color", Mag(1, 1, 1));
  EXPECT_EQ(v1->array().meta().shape, (VecN{2, 96, 64, 64}));  // ceil(floor(br/1)/32)*32
  auto v2 = ds->mag_view("color", Mag(2, 2, 2));
  EXPECT_EQ(v2->array().meta().shape, (VecN{2, 64, 32, 32}));  // floor(33/2)=16 -> 32
  Json zj = Json::parse(slurp(root / "color" / "1" / "zarr.json"));
  EXPECT_EQ(zj["shape"], Json::array({2, 96, 64, 64}));
  BoundingBox box{{12, 3, 5}, {40, 30, 20}};
  Bytes data = pattern(v1->buffer_size(box), 3);
  v1->write(box, data);
  EXPECT_EQ(read_box(*v1, box), data);
  // a fresh Dataset object reads the same bytes from disk
  auto again = Dataset::open(root);
  EXPECT_EQ(read_box(*again->mag_view("color", Mag(1, 1, 1)), box), data);
  // writing outside the shape is refused, not silently dropped
  EXPECT_THROW(v1->write(BoundingBox{{90, 0, 0}, {16, 1, 1}}, Bytes(2 * 16)), Error);
  expect_fails_unchanged(root, ErrorKind::InvalidArgument,
                         [&] { ds->set_bounding_box("color", BoundingBox{{-1, 0, 0}, {1, 1, 1}}); });
  expect_fails_unchanged(root, ErrorKind::NotFound, [&] { ds->set_bounding_box("x", BoundingBox{{0, 0, 0}, {1, 1, 1}}); });
}

TEST(DatasetOps, LargestSegmentId) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  LayerSpec s = color_layer("seg");
  s.category = Category::Segmentation;
  s.dtype = DType::UInt32;
  s.bounding_box = BoundingBox{{0, 0, 0}, {40, 40, 40}};
  ds->add_layer(s);
  EXPECT_EQ(ds->refresh_largest_segment_id("seg"), std::nullopt);  // no mags
  ds->add_mag("seg", Mag(2, 2, 2), MagOptions{Vec3::full(16), Vec3::full(32), {}});
  ds->add_mag("seg", Mag(1, 1, 1), MagOptions{Vec3::full(16), Vec3::full(32), {}});
  EXPECT_EQ(ds->refresh_largest_segment_id("seg"), 0);  // all zeros
  EXPECT_EQ(props_json(root)["dataLayers"][0]["largestSegmentId"], 0);
  Bytes one(4);
  store_le<uint32_t>(one.data(), 3000000000u);
  ds->mag_view("seg", Mag(1, 1, 1))->write(BoundingBox{{39, 39, 39}, {1, 1, 1}}, one);
  store_le<uint32_t>(one.data(), 4000000000u);
  ds->mag_view("seg", Mag(2, 2, 2))->write(BoundingBox{{0, 0, 0}, {2, 2, 2}}, one);  // not the finest mag
  EXPECT_EQ(ds->refresh_largest_segment_id("seg"), 3000000000);
  ds->set_largest_segment_id("seg", 7);
  EXPECT_EQ(props_json(root)["dataLayers"][0]["largestSegmentId"], 7);
  ds->set_largest_segment_id("seg", std::nullopt);
  EXPECT_FALSE(props_json(root)["dataLayers"][0].contains("largestSegmentId"));
  ds->add_layer(color_layer("color"));
  expect_fails_unchanged(root, ErrorKind::InvalidArgument, [&] { ds->set_largest_segment_id("color", 1); });
  ds->set_default_view_configuration("color", Json{{"alpha", 20.0}});
  EXPECT_NE(slurp(root / "datasource-properties.json").find("\"alpha\": 20.0"), std::string::npos);
}

// --- Deleting and renaming ----------------------------------------------------------------------

TEST(DatasetOps, DeleteMagAndLayer) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  ds->add_layer(color_layer("color"));
  ds->add_mag("color", Mag(1, 1, 1));
  ds->add_mag("color", Mag(2, 2, 2));
  ds->delete_mag("color", Mag(2, 2, 2));
  EXPECT_FALSE(fs::exists(root / "color" / "2"));
  EXPECT_EQ(props_json(root)["dataLayers"][0]["mags"].size(), 1u);
  expect_fails_unchanged(root, ErrorKind::NotFound, [&] { ds->delete_mag("color", Mag(2, 2, 2)); });
  expect_fails_unchanged(root, ErrorKind::NotFound, [&] { ds->delete_layer("nope"); });
  // the same mag can be added again after deletion and starts empty
  ds->add_mag("color", Mag(2, 2, 2));
  ds->delete_layer("color");
  EXPECT_FALSE(fs::exists(root / "color"));
  EXPECT_EQ(props_json(root)["dataLayers"].size(), 0u);
  EXPECT_TRUE(fs::exists(root / "zarr.json"));  // group files are never deleted
}

TEST(DatasetOps, RenameLayer) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr_dataset", tmp.path());
  auto ds = Dataset::open(root);
  ds->rename_layer("color", "color2");
  EXPECT_TRUE(fs::is_directory(root / "color2" / "1-1-1"));
  EXPECT_FALSE(fs::exists(root / "color"));
  Json j = props_json(root);
  EXPECT_EQ(j["dataLayers"][0]["name"], "color2");
  EXPECT_EQ(j["dataLayers"][0]["mags"][0]["path"], "./color2/1-1-1");  // legacy entry gets a path
  expect_fixture_pattern(*ds->mag_view("color2", Mag(1, 1, 1)), 3, false);
  expect_fails_unchanged(root, ErrorKind::InvalidArgument, [&] { ds->rename_layer("color2", "bad/name"); });
  expect_fails_unchanged(root, ErrorKind::NotFound, [&] { ds->rename_layer("color", "x"); });
  ds->add_layer(color_layer("other", DataFormat::Zarr));
  expect_fails_unchanged(root, ErrorKind::AlreadyExists, [&] { ds->rename_layer("color2", "other"); });
}

// --- Mags from other datasets -------------------------------------------------------------------

TEST(DatasetOps, SymlinkRemoteCopyAndFsCopyMags) {
  test::TempDir tmp;
  auto src = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  auto add = [&](const std::string& name) {
    ds->add_layer(color_layer(name, DataFormat::Zarr3, 3));
  };
  fs::path src_mag = src / "color" / "1";

  add("sym_abs");
  ds->add_symlink_mag("sym_abs", src_mag, false);
  Json j = props_json(root);
  EXPECT_EQ(j["dataLayers"][0]["mags"][0]["path"], fs::canonical(src_mag).generic_string());
  EXPECT_EQ(j["dataLayers"][0]["boundingBox"]["width"], 24);  // union with the source bbox
  EXPECT_TRUE(fs::is_symlink(root / "sym_abs" / "1"));
  EXPECT_TRUE(ds->is_foreign_mag("sym_abs", Mag(1, 1, 1)));
  auto v = ds->mag_view("sym_abs", Mag(1, 1, 1));
  EXPECT_TRUE(v->read_only());
  expect_fixture_pattern(*v, 3, false);
  try {
    v->write(BoundingBox{{0, 0, 0}, {1, 1, 1}}, Bytes(3));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ReadOnly);
  }
  expect_fails_unchanged(root, ErrorKind::AlreadyExists, [&] { ds->add_symlink_mag("sym_abs", src_mag, false); });

  add("sym_rel");
  ds->add_symlink_mag("sym_rel", src_mag, true);
  j = props_json(root);
  EXPECT_EQ(j["dataLayers"][1]["mags"][0]["path"], "../simple_zarr3_dataset/color/1");  // no "./"
  EXPECT_EQ(fs::read_symlink(root / "sym_rel" / "1"), fs::path("../../simple_zarr3_dataset/color/1"));
  expect_fixture_pattern(*ds->mag_view("sym_rel", Mag(1, 1, 1)), 3, false);
  // deleting a foreign mag removes only the symlink
  ds->delete_mag("sym_rel", Mag(1, 1, 1));
  EXPECT_FALSE(fs::exists(fs::symlink_status(root / "sym_rel" / "1")));
  EXPECT_TRUE(fs::exists(src_mag / "zarr.json"));

  add("remote");
  ds->add_remote_mag("remote", src_mag, Mag(2, 2, 2));
  j = props_json(root);
  EXPECT_EQ(j["dataLayers"][2]["mags"][0]["mag"], Json::array({2, 2, 2}));
  EXPECT_EQ(j["dataLayers"][2]["mags"][0]["path"], fs::canonical(src_mag).generic_string());
  EXPECT_FALSE(fs::exists(root / "remote" / "2"));
  ds->delete_mag("remote", Mag(2, 2, 2));
  EXPECT_TRUE(fs::exists(src_mag / "zarr.json"));
  ds->add_layer(color_layer("wkwlayer", DataFormat::Wkw, 3));
  expect_fails_unchanged(root, ErrorKind::InvalidArgument, [&] { ds->add_remote_mag("wkwlayer", src_mag); });

  add("copy");
  ds->add_copy_mag("copy", src_mag);
  EXPECT_FALSE(ds->is_foreign_mag("copy", Mag(1, 1, 1)));
  EXPECT_EQ(props_json(root)["dataLayers"][4]["mags"][0]["path"], "./copy/1");
  expect_fixture_pattern(*ds->mag_view("copy", Mag(1, 1, 1)), 3, false);
  auto cmeta = ds->mag_view("copy", Mag(1, 1, 1))->array().meta();
  EXPECT_EQ(cmeta.chunk_shape, (VecN{3, 16, 16, 16}));  // the source's shapes
  EXPECT_EQ(cmeta.shard_shape, (VecN{3, 32, 32, 32}));
  // re-encoding into WKW
  ds->add_copy_mag("wkwlayer", src_mag, MagOptions{Vec3::full(8), Vec3::full(32), true});
  expect_fixture_pattern(*ds->mag_view("wkwlayer", Mag(1, 1, 1)), 3, false);

  add("fscopy");
  ds->add_fs_copy_mag("fscopy", src_mag);
  EXPECT_EQ(slurp(root / "fscopy" / "1" / "c" / "0" / "0" / "0" / "0"), slurp(src_mag / "c" / "0" / "0" / "0" / "0"));
  expect_fixture_pattern(*ds->mag_view("fscopy", Mag(1, 1, 1)), 3, false);
  expect_fails_unchanged(root, ErrorKind::AlreadyExists, [&] { ds->add_fs_copy_mag("fscopy", src_mag); });
  // a path that is not <dataset>/<layer>/<mag>
  expect_fails_unchanged(root, ErrorKind::InvalidArgument, [&] { ds->add_fs_copy_mag("fscopy", tmp.path()); });
}

TEST(DatasetOps, ExistingFilesAndZarrArrays) {
  test::TempDir tmp;
  auto src = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  ds->add_layer(color_layer("color", DataFormat::Zarr3, 3));
  // files placed by hand, then registered
  fs::copy(src / "color" / "1", root / "color" / "1", fs::copy_options::recursive);
  ds->add_mag_for_existing_files("color", Mag(1, 1, 1));
  EXPECT_EQ(props_json(root)["dataLayers"][0]["mags"][0]["path"], "./color/1");
  ds->set_bounding_box("color", BoundingBox{{0, 0, 0}, {24, 24, 24}});
  expect_fixture_pattern(*ds->mag_view("color", Mag(1, 1, 1)), 3, false);
  expect_fails_unchanged(root, ErrorKind::AlreadyExists, [&] { ds->add_mag_for_existing_files("color", Mag(1, 1, 1)); });
  expect_fails_unchanged(root, ErrorKind::NotFound, [&] { ds->add_mag_for_existing_files("color", Mag(4, 4, 4)); });

  ds->add_layer(color_layer("fromarray", DataFormat::Zarr3, 3));
  fs::copy(src / "color" / "1", tmp / "loose", fs::copy_options::recursive);
  ds->add_mag_from_zarrarray("fromarray", Mag(1, 1, 1), tmp / "loose", true);
  EXPECT_FALSE(fs::exists(tmp / "loose"));
  Json j = props_json(root);
  EXPECT_EQ(j["dataLayers"][1]["boundingBox"]["width"], 24);  // size := max(size, array shape)
  expect_fixture_pattern(*ds->mag_view("fromarray", Mag(1, 1, 1)), 3, false);
  ds->add_mag_from_zarrarray("fromarray", Mag(2, 2, 2), src / "color" / "1", false);
  EXPECT_TRUE(fs::exists(src / "color" / "1" / "zarr.json"));
  EXPECT_TRUE(fs::exists(root / "fromarray" / "2" / "zarr.json"));
  expect_fails_unchanged(root, ErrorKind::InvalidArgument,
                         [&] { ds->add_mag_from_zarrarray("fromarray", Mag(4, 4, 4), tmp.path(), false); });
  expect_fails_unchanged(root, ErrorKind::AlreadyExists,
                         [&] { ds->add_mag_from_zarrarray("fromarray", Mag(2, 2, 2), src / "color" / "1", false); });
}

// --- Concurrency ----------------------------------------------------------------------------------

TEST(DatasetConcurrency, ThreadsAndObjectsLoseNoUpdate) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  auto other = Dataset::open(root);  // a second object on the same folder, like another process
  std::vector<std::thread> threads;
  constexpr int kThreads = 6, kPerThread = 5;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto& target = t % 2 ? *ds : *other;
      for (int i = 0; i < kPerThread; ++i)
        target.add_layer(color_layer("l" + std::to_string(t) + "_" + std::to_string(i)));
    });
  for (auto& th : threads) th.join();
  Json j = props_json(root);
  EXPECT_EQ(j["dataLayers"].size(), static_cast<size_t>(kThreads * kPerThread));
  ds->reload();
  EXPECT_EQ(ds->properties().layers.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(DatasetOps, ReplacePropertiesValidates) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  expect_fails_unchanged(root, ErrorKind::InvalidArgument, [&] { ds->replace_properties("{\"broken\": "); });
  std::string text = ds->properties().dump();
  auto pos = text.find("\"version\"");
  text.insert(pos, "\"custom\": 1,\n    ");
  ds->replace_properties(text);
  EXPECT_EQ(slurp(root / "datasource-properties.json"), text);
  EXPECT_EQ(ds->properties().extra["custom"], 1);
}

TEST(DatasetOps, DefaultShardShapes) {
  LayerProperties l;
  EXPECT_EQ(default_shard_shape(DataFormat::Zarr3, l, Vec3::full(32)), Vec3::full(1024));
  EXPECT_EQ(default_shard_shape(DataFormat::Zarr, l, Vec3::full(32)), Vec3::full(32));
  EXPECT_EQ(default_shard_shape(DataFormat::Wkw, l, Vec3::full(32)), Vec3::full(1024));
  l.mags.push_back(MagEntry{});
  l.bounding_box.size = {100, 100, 32};
  EXPECT_EQ(default_shard_shape(DataFormat::Zarr3, l, Vec3::full(32)), (Vec3{4096, 4096, 32}));
  l.bounding_box.size = {100, 100, 33};
  EXPECT_EQ(default_shard_shape(DataFormat::Zarr3, l, Vec3::full(32)), Vec3::full(1024));
}

// --- nD layers and channelIndex -------------------------------------------------------------------

TEST(MagViewNd, ArrayAxesFromAxisOrderAndExtraIndex) {
  test::TempDir tmp;
  auto root = tmp / "ds";
  auto ds = new_dataset(root);
  std::string text = ds->properties().dump();
  Json j = Json::parse(text);
  j["dataLayers"].push_back(Json::parse(R"({"name": "nd", "category": "color",
    "boundingBox": {"topLeft": [0, 0, 0], "width": 8, "height": 6, "depth": 4, "axisOrder": {"c": 0, "x": 4, "y": 3, "z": 2}},
    "dataFormat": "zarr3", "mags": [], "additionalAxes": [{"name": "t", "bounds": [0, 3], "index": 1}],
    "numChannels": 2, "elementClass": "uint16"})"));
  ds->replace_properties(j.dump());
  ds->add_mag("nd", Mag(1, 1, 1), MagOptions{Vec3::full(4), Vec3::full(8), {}});
  auto v = ds->mag_view("nd", Mag(1, 1, 1));
  Array& a = v->array();
  ASSERT_EQ(a.meta().shape, (VecN{2, 3, 8, 8, 8}));  // c, t, z, y, x
  EXPECT_EQ(props_json(root)["dataLayers"][0]["mags"][0]["axisOrder"]["x"], 4);
  auto f = [](int64_t c, int64_t t, int64_t x, int64_t y, int64_t z) {
    return static_cast<std::byte>((c * 7 + t * 31 + x * 5 + y * 3 + z) % 251);
  };
  Bytes raw(2 * 3 * 8 * 8 * 8);
  size_t i = 0;
  for (int c = 0; c < 2; ++c)
    for (int t = 0; t < 3; ++t)
      for (int z = 0; z < 8; ++z)
        for (int y = 0; y < 8; ++y)
          for (int x = 0; x < 8; ++x) raw[i++] = f(c, t, x, y, z);
  a.write(NdBox{{0, 0, 0, 0, 0}, {2, 3, 8, 8, 8}}, raw);
  BoundingBox box{{1, 2, 3}, {5, 4, 2}};
  Bytes out(v->buffer_size(box));
  v->read(box, out, {{"t", 2}});
  i = 0;
  size_t bad = 0;
  for (int c = 0; c < 2; ++c)
    for (int x = 1; x < 6; ++x)
      for (int y = 2; y < 6; ++y)
        for (int z = 3; z < 5; ++z, ++i)
          if (out[i] != f(c, 2, x, y, z)) ++bad;
  EXPECT_EQ(bad, 0u);
  // write through the view at t=1 and find the bytes at the array positions
  Bytes in(v->buffer_size(box), std::byte{0xEE});
  for (size_t k = 0; k < in.size(); ++k) in[k] = static_cast<std::byte>(200 + k % 50);
  v->write(box, in, {{"t", 1}});
  Bytes back(raw.size());
  a.read(NdBox{{0, 0, 0, 0, 0}, {2, 3, 8, 8, 8}}, back);
  i = 0;
  bad = 0;
  for (int c = 0; c < 2; ++c)
    for (int x = 1; x < 6; ++x)
      for (int y = 2; y < 6; ++y)
        for (int z = 3; z < 5; ++z, ++i) {
          size_t pos = ((((static_cast<size_t>(c) * 3 + 1) * 8 + z) * 8 + y) * 8 + x);
          if (back[pos] != in[i]) ++bad;
        }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(back[((((0 * 3 + 2) * 8 + 3) * 8 + 2) * 8 + 1)], f(0, 2, 1, 2, 3));  // t=2 untouched
  try {
    v->read(box, out);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("\"t\""), std::string::npos);
  }
}

TEST(MagViewChannels, ChannelIndexSelectsTheArraysChannels) {
  test::TempDir tmp;
  auto root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto ds = Dataset::open(root);
  Json j = Json::parse(ds->properties().dump());
  j["dataLayers"][0]["numChannels"] = 1;
  j["dataLayers"][0]["elementClass"] = "uint8";
  j["dataLayers"][0]["mags"][0]["channelIndex"] = 1;
  ds->replace_properties(j.dump());
  auto v = ds->mag_view("color", Mag(1, 1, 1));
  expect_fixture_pattern(*v, 1, false);
  BoundingBox box{{0, 0, 0}, {2, 2, 2}};
  v->write(box, Bytes(8, std::byte{0xAB}));
  Bytes all(3 * 8);
  v->array().read(NdBox{{0, 0, 0, 0}, {3, 2, 2, 2}}, all);
  for (size_t k = 0; k < 8; ++k) {
    EXPECT_EQ(all[k], static_cast<std::byte>(test::fixture_value(static_cast<int64_t>(k / 4), (k / 2) % 2, k % 2)));
    EXPECT_EQ(all[8 + k], std::byte{0xAB});
    EXPECT_EQ(all[16 + k], static_cast<std::byte>(test::fixture_value(static_cast<int64_t>(k / 4), (k / 2) % 2, k % 2)));
  }
  ds->set_bounding_box("color", BoundingBox{{0, 0, 0}, {24, 24, 24}});  // a save in the library's form
  EXPECT_NE(slurp(root / "datasource-properties.json").find("\"channelIndex\": 1"), std::string::npos);
}
