// One vocabulary for a new mag: the eager path (Dataset::add_mag) and the functions lazy
// registration is to call (resolve_mag_options with a shard-edge cap, new_mag_array_spec,
// local_mag_entry) produce what webknossos-libs writes, checked against fixtures the library wrote
// and against the formulas lazy_engine.cpp used until now.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "dataset/new_mag.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

LayerProperties layer_of(DataFormat format, BoundingBox bbox, int channels = 1) {
  LayerProperties l;
  l.name = "color";
  l.data_format = format;
  l.bounding_box = bbox;
  l.num_channels = channels;
  return l;
}

// lazy_engine.cpp's lazy_array_spec as it stood before this change (the copy to be replaced).
ArraySpec old_lazy_array_spec(const LayerProperties& layer, const Mag& mag, const MagOptions& options, int64_t shard_edge) {
  Vec3 chunk = options.chunk_shape.value_or(Vec3{32, 32, 32});
  Vec3 shard = options.shard_shape.value_or(default_shard_shape(layer.data_format, layer, chunk));
  if (!options.shard_shape && layer.data_format != DataFormat::Zarr)
    shard = Vec3::max(chunk, Vec3::min(shard, Vec3::full(shard_edge)));
  BoundingBox region = layer.bounding_box.in_mag(mag);
  ArraySpec spec;
  spec.dtype = layer.dtype;
  spec.axis_names = layer.array_axes();
  spec.compress = options.compress.value_or(true);
  for (const auto& a : spec.axis_names) {
    if (a == "c") {
      spec.shape.push_back(layer.num_channels);
      spec.chunk_shape.push_back(layer.num_channels);
      spec.shard_shape.push_back(layer.num_channels);
    } else {
      int i = spatial_index(a);
      int64_t sh = layer.data_format == DataFormat::Zarr ? chunk[i] : shard[i];
      int64_t end = region.bottom_right()[i];
      spec.shape.push_back((end + sh - 1) / sh * sh);
      spec.chunk_shape.push_back(chunk[i]);
      spec.shard_shape.push_back(sh);
    }
  }
  return spec;
}

const std::vector<BoundingBox> kBoxes = {
    {{0, 0, 0}, {24, 24, 24}}, {{5, 7, 3}, {100, 61, 33}}, {{1000, 0, 17}, {3, 4097, 1}}, {{0, 0, 0}, {0, 0, 0}}};
const std::vector<Mag> kMags = {Mag(1, 1, 1), Mag(2, 2, 1), Mag(4, 4, 2), Mag(16, 16, 16)};

}  // namespace

// The review's suspected disagreement: eager used ceil(bbox.bottomright / mag), lazy
// bbox.in_mag(mag).bottom_right(). They are the same number; both round up to shards (notes 4.5).
TEST(NewMag, EagerAndLazyShapeFormulasAgree) {
  for (DataFormat f : {DataFormat::Zarr3, DataFormat::Zarr, DataFormat::Wkw})
    for (const auto& box : kBoxes)
      for (const auto& mag : kMags) {
        LayerProperties l = layer_of(f, box, 3);
        MagOptions o;
        if (f == DataFormat::Wkw) o.chunk_shape = Vec3{32, 32, 32};
        ArraySpec lazy = old_lazy_array_spec(l, mag, o, 128);
        ArraySpec now = new_mag_array_spec(l, mag, resolve_mag_options(l, o, 128));
        SCOPED_TRACE(data_format_name(f) + " " + box.top_left.to_string() + "+" + box.size.to_string() + " " + mag.long_name());
        EXPECT_EQ(now.shape, lazy.shape);
        EXPECT_EQ(now.chunk_shape, lazy.chunk_shape);
        EXPECT_EQ(now.shard_shape, lazy.shard_shape);
        EXPECT_EQ(now.axis_names, lazy.axis_names);
        EXPECT_EQ(now.compress, lazy.compress);
        // and the eager add_mag shape: ceil(ceil(bottomright / mag) / shard) * shard
        NewMagShapes eager = resolve_mag_options(l, o);
        Vec3 br = box.bottom_right().ceil_div(mag.vec());
        ArraySpec e = new_mag_array_spec(l, mag, eager);
        for (int i = 0; i < 3; ++i) EXPECT_EQ(e.shape[static_cast<size_t>(i + 1)], (br[i] + eager.shard[i] - 1) / eager.shard[i] * eager.shard[i]);
      }
}

TEST(NewMag, ShardEdgeCapsOnlyTheDefaultShard) {
  LayerProperties l = layer_of(DataFormat::Zarr3, {{0, 0, 0}, {512, 512, 512}});
  EXPECT_EQ(resolve_mag_options(l, {}).shard, Vec3::full(1024));
  EXPECT_EQ(resolve_mag_options(l, {}, 128).shard, Vec3::full(128));
  MagOptions given;
  given.shard_shape = Vec3{256, 256, 256};
  EXPECT_EQ(resolve_mag_options(l, given, 128).shard, Vec3::full(256));
  MagOptions big_chunk;
  big_chunk.chunk_shape = Vec3{256, 256, 256};
  EXPECT_EQ(resolve_mag_options(l, big_chunk, 128).shard, Vec3::full(256));  // at least one chunk
  LayerProperties z2 = layer_of(DataFormat::Zarr, {{0, 0, 0}, {512, 512, 512}});
  EXPECT_EQ(resolve_mag_options(z2, {}, 128).shard, Vec3::full(32));  // no sharding in zarr v2
}

// layer_region (lazy_engine.cpp) and the region loop of compress: the layer bbox in the mag's
// array coordinates.
TEST(NewMag, MagRegionIsTheBboxInTheMag) {
  LayerProperties l = layer_of(DataFormat::Zarr3, {{5, 7, 3}, {100, 61, 33}}, 2);
  NdBox r = mag_region(l, Mag(4, 4, 2), l.array_axes());
  EXPECT_EQ(r.begin, (VecN{0, 1, 1, 1}));
  EXPECT_EQ(r.shape, (VecN{2, 27 - 1, 17 - 1, 18 - 1}));  // ceil(br / mag) - floor(tl / mag)
}

TEST(NewMag, EntryAsTheLibraryWritesIt) {
  LayerProperties wkw = layer_of(DataFormat::Wkw, {{0, 0, 0}, {24, 24, 24}}, 3);
  ArrayMeta meta;
  meta.shape = {3, 1024, 1024, 1024};
  meta.chunk_shape = {3, 32, 32, 32};
  meta.shard_shape = {3, 1024, 1024, 1024};
  meta.axis_names = {"c", "x", "y", "z"};
  MagEntry e = local_mag_entry(wkw, Mag(2, 2, 1), meta);
  EXPECT_EQ(e.path, "./color/2-2-1");
  EXPECT_EQ(e.cube_length, 1024);
  EXPECT_EQ(e.axis_order, (Json{{"c", 0}, {"x", 1}, {"y", 2}, {"z", 3}}));
  EXPECT_FALSE(e.channel_index);
  LayerProperties zarr = layer_of(DataFormat::Zarr3, {{0, 0, 0}, {24, 24, 24}});
  EXPECT_FALSE(local_mag_entry(zarr, Mag(1, 1, 1), meta).cube_length);  // WKW only
}

// The lazy copies took mags.front().axis_order, or the 3D order for a layer without mags; the
// library takes the layer's (its bbox's), which for an nD layer with no mag yet is nD.
TEST(NewMag, FirstMagOfAnNdLayerKeepsTheNdAxisOrder) {
  auto props = DatasetProperties::parse(R"({"id":{"name":"d","team":""},"scale":[1,1,1],"dataLayers":[
    {"name":"color","category":"color","dataFormat":"zarr3","elementClass":"uint8","numChannels":1,
     "boundingBox":{"topLeft":[0,0,0],"width":16,"height":16,"depth":4,"axisOrder":{"c":0,"x":4,"y":3,"z":2}},
     "additionalAxes":[{"name":"t","bounds":[0,3],"index":1}],"mags":[]}]})");
  const LayerProperties& l = props.layers.front();
  ASSERT_TRUE(l.mags.empty());
  ArraySpec spec = new_mag_array_spec(l, Mag(1, 1, 1), resolve_mag_options(l, {}));
  EXPECT_EQ(spec.axis_names, (std::vector<std::string>{"c", "t", "z", "y", "x"}));
  ArrayMeta meta;
  meta.shape = spec.shape;
  meta.shard_shape = spec.shard_shape;
  meta.chunk_shape = spec.chunk_shape;
  meta.axis_names = spec.axis_names;
  EXPECT_EQ(local_mag_entry(l, Mag(1, 1, 1), meta).axis_order, (Json{{"c", 0}, {"x", 4}, {"y", 3}, {"z", 2}}));
}

// Ground truth: the WKW fixture (webknossos-libs: RAW blocks of 8^3, 4 blocks per file edge,
// cubeLength 32). A mag added with the same shapes, eagerly or through the lazy vocabulary, gets
// the same header bytes and the same cubeLength; the entry has the keys and order of notes 1.4.
TEST(NewMag, WkwEagerAndLazyMatchTheLibrarysFixture) {
  test::TempDir tmp;
  fs::path ds_dir = test::copy_fixture("simple_wkw_dataset", tmp.path());
  const Bytes library_header = read_file(ds_dir / "color" / "1" / "header.wkw");
  auto ds = Dataset::open(ds_dir);
  MagOptions o;
  o.chunk_shape = Vec3{8, 8, 8};
  o.shard_shape = Vec3{32, 32, 32};
  o.compress = false;
  ds->add_mag("color", Mag(2, 2, 2), o);
  EXPECT_EQ(read_file(ds_dir / "color" / "2" / "header.wkw"), library_header);
  const LayerProperties layer = *ds->properties().find_layer("color");
  const MagEntry& eager = *layer.find_mag(Mag(2, 2, 2));
  EXPECT_EQ(eager.cube_length, 32);  // the fixture's wkwResolutions cubeLength
  auto dumped = Json::parse(ds->properties().dump());
  EXPECT_EQ(dumped["dataLayers"][0]["mags"][1].dump(),
            R"({"mag":[2,2,2],"path":"./color/2","cubeLength":32,"axisOrder":{"c":0,"x":1,"y":2,"z":3}})");

  // the lazy path: spec from the options (no cap applies, the shard is given), array, entry
  LayerProperties before = layer;
  std::erase_if(before.mags, [](const MagEntry& m) { return m.mag == Mag(2, 2, 2); });
  fs::path lazy_dir = tmp / "lazy";
  fs::create_directories(lazy_dir);
  auto array = create_array(lazy_dir, DataFormat::Wkw, new_mag_array_spec(before, Mag(2, 2, 2), resolve_mag_options(before, o, 128)));
  EXPECT_EQ(read_file(lazy_dir / "header.wkw"), library_header);
  MagEntry lazy = local_mag_entry(before, Mag(2, 2, 2), array->meta());
  EXPECT_EQ(lazy.path, eager.path);
  EXPECT_EQ(lazy.cube_length, eager.cube_length);
  EXPECT_EQ(lazy.axis_order, eager.axis_order);
  EXPECT_EQ(lazy.channel_index, eager.channel_index);
  // and the library's own mag 1 read back: its file edge is the cubeLength it stored
  EXPECT_EQ(local_mag_entry(before, Mag(1, 1, 1), open_array(ds_dir / "color" / "1")->meta()).cube_length, 32);
}

// Ground truth for Zarr3: the fixture's grid (shard 32^3, inner chunk 16^3, c,x,y,z, uint8 x3).
// The fixture predates the shape rounding of notes 4.5, so the shape is compared with that rule.
TEST(NewMag, Zarr3EagerAndLazyMatchTheLibrarysGrid) {
  test::TempDir tmp;
  fs::path ds_dir = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  auto library = open_array(ds_dir / "color" / "1")->meta();
  auto ds = Dataset::open(ds_dir);
  MagOptions o;
  o.chunk_shape = Vec3{16, 16, 16};
  o.shard_shape = Vec3{32, 32, 32};
  o.compress = false;
  ds->add_mag("color", Mag(2, 2, 2), o);
  auto eager = open_array(ds_dir / "color" / "2")->meta();
  EXPECT_EQ(eager.chunk_shape, library.chunk_shape);
  EXPECT_EQ(eager.shard_shape, library.shard_shape);
  EXPECT_EQ(eager.axis_names, library.axis_names);
  EXPECT_EQ(eager.dtype, library.dtype);
  EXPECT_EQ(eager.shape, (VecN{3, 32, 32, 32}));  // ceil(ceil(24 / 2) / 32) * 32
  auto dumped = Json::parse(ds->properties().dump());
  EXPECT_EQ(dumped["dataLayers"][0]["mags"][1].dump(), R"({"mag":[2,2,2],"path":"./color/2","axisOrder":{"c":0,"x":1,"y":2,"z":3}})");

  LayerProperties before = *ds->properties().find_layer("color");
  std::erase_if(before.mags, [](const MagEntry& m) { return m.mag == Mag(2, 2, 2); });
  fs::path lazy_dir = tmp / "lazy";
  fs::create_directories(lazy_dir);
  auto array = create_array(lazy_dir, DataFormat::Zarr3, new_mag_array_spec(before, Mag(2, 2, 2), resolve_mag_options(before, o, 128)));
  EXPECT_EQ(read_file(lazy_dir / "zarr.json"), read_file(ds_dir / "color" / "2" / "zarr.json"));
  MagEntry lazy = local_mag_entry(before, Mag(2, 2, 2), array->meta());
  const MagEntry e = *ds->properties().find_layer("color")->find_mag(Mag(2, 2, 2));
  EXPECT_EQ(lazy.path, e.path);
  EXPECT_EQ(lazy.cube_length, e.cube_length);
  EXPECT_EQ(lazy.axis_order, e.axis_order);
}

TEST(NewMag, FinestMagIsTheSmallestMaxDimension) {
  test::TempDir tmp;
  auto ds = Dataset::create(tmp / "ds", VoxelSize{{1, 1, 1}, "nanometer"});
  LayerSpec spec;
  spec.name = "color";
  spec.bounding_box = BoundingBox{{0, 0, 0}, {64, 64, 64}};
  ds->add_layer(spec);
  EXPECT_FALSE(ds->finest_mag("color"));
  ds->add_mag("color", Mag(4, 4, 4));
  ds->add_mag("color", Mag(2, 2, 1));
  ds->add_mag("color", Mag(2, 2, 2));
  EXPECT_EQ(ds->finest_mag("color"), Mag(2, 2, 1));  // first of the equals, as the library's min()
  EXPECT_THROW(ds->finest_mag("nope"), Error);
}
