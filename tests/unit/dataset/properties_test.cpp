// datasource-properties.json: parsing every key, Python-exact serialisation, validation errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "dataset/properties.hpp"
#include "dataset/python_json.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

ErrorKind kind_of(const std::string& text) {
  try {
    DatasetProperties::parse(text);
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error for: " << text;
  return ErrorKind::Unsupported;
}

std::string error_of(const std::string& text) {
  try {
    DatasetProperties::parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << text;
  return "";
}

// A valid layer to derive bad variants from by text replacement.
const std::string kGood = R"({"id": {"name": "ds", "team": ""}, "scale": {"factor": [1, 2, 3], "unit": "nm"},
  "dataLayers": [{"name": "color", "category": "color",
    "boundingBox": {"topLeft": [0, 0, 0], "width": 8, "height": 8, "depth": 8},
    "dataFormat": "zarr3", "mags": [{"mag": [1, 1, 1], "path": "./color/1"}],
    "numChannels": 1, "elementClass": "uint8"}], "version": 1})";

std::string with(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

}  // namespace

TEST(PythonFloatRepr, MatchesPythonRepr) {
  EXPECT_EQ(python_float_repr(25.0), "25.0");
  EXPECT_EQ(python_float_repr(11.24), "11.24");
  EXPECT_EQ(python_float_repr(22.48), "22.48");
  EXPECT_EQ(python_float_repr(1.0), "1.0");
  EXPECT_EQ(python_float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(0.00001), "1e-05");
  EXPECT_EQ(python_float_repr(1.5e-7), "1.5e-07");
  EXPECT_EQ(python_float_repr(-2.5), "-2.5");
  EXPECT_EQ(python_float_repr(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(python_float_repr(1e300), "1e+300");
  EXPECT_EQ(python_float_repr(0.0), "0.0");
}

TEST(PythonJsonDumps, EscapesAndEmptyContainers) {
  Json j = Json::object();
  j["s"] = "caf\xC3\xA9 \xF0\x9F\x98\x80 \"q\" \\ \n\x01";
  j["a"] = Json::array();
  j["o"] = Json::object();
  j["n"] = nullptr;
  j["b"] = true;
  j["i"] = -7;
  EXPECT_EQ(python_json_dumps(j),
            "{\n    \"s\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\n\\u0001\",\n    \"a\": [],\n"
            "    \"o\": {},\n    \"n\": null,\n    \"b\": true,\n    \"i\": -7\n}");
}

// Example 1.4 of the notes; the expected text is json.dumps(..., indent=4) written out by hand.
TEST(DatasetProperties, DumpReproducesLibraryExampleColor) {
  const std::string input = R"({
    "id": {"name": "ds", "team": ""},
    "scale": {"factor": [11.24, 11.24, 25.0], "unit": "nanometer"},
    "dataLayers": [
        {
            "name": "color",
            "category": "color",
            "boundingBox": {"topLeft": [0, 0, 0], "width": 512, "height": 512, "depth": 64},
            "dataFormat": "zarr3",
            "mags": [
                {"mag": [1, 1, 1], "path": "./color/1",     "axisOrder": {"c": 0, "x": 1, "y": 2, "z": 3}},
                {"mag": [2, 2, 1], "path": "./color/2-2-1", "axisOrder": {"c": 0, "x": 1, "y": 2, "z": 3}},
                {"mag": [4, 4, 2], "path": "./color/4-4-2", "axisOrder": {"c": 0, "x": 1, "y": 2, "z": 3}}
            ],
            "numChannels": 1,
            "elementClass": "uint8"
        }
    ],
    "version": 1
})";
  auto mag = [](int x, int y, int z, const std::string& path) {
    std::string s = "                {\n                    \"mag\": [\n";
    s += "                        " + std::to_string(x) + ",\n";
    s += "                        " + std::to_string(y) + ",\n";
    s += "                        " + std::to_string(z) + "\n";
    s += "                    ],\n";
    s += "                    \"path\": \"" + path + "\",\n";
    s += "                    \"axisOrder\": {\n";
    s += "                        \"c\": 0,\n                        \"x\": 1,\n";
    s += "                        \"y\": 2,\n                        \"z\": 3\n";
    s += "                    }\n                }";
    return s;
  };
  const std::string expected =
      "{\n"
      "    \"id\": {\n"
      "        \"name\": \"ds\",\n"
      "        \"team\": \"\"\n"
      "    },\n"
      "    \"scale\": {\n"
      "        \"factor\": [\n"
      "            11.24,\n"
      "            11.24,\n"
      "            25.0\n"
      "        ],\n"
      "        \"unit\": \"nanometer\"\n"
      "    },\n"
      "    \"dataLayers\": [\n"
      "        {\n"
      "            \"name\": \"color\",\n"
      "            \"category\": \"color\",\n"
      "            \"boundingBox\": {\n"
      "                \"topLeft\": [\n"
      "                    0,\n"
      "                    0,\n"
      "                    0\n"
      "                ],\n"
      "                \"width\": 512,\n"
      "                \"height\": 512,\n"
      "                \"depth\": 64\n"
      "            },\n"
      "            \"dataFormat\": \"zarr3\",\n"
      "            \"mags\": [\n" +
      mag(1, 1, 1, "./color/1") + ",\n" + mag(2, 2, 1, "./color/2-2-1") + ",\n" + mag(4, 4, 2, "./color/4-4-2") +
      "\n"
      "            ],\n"
      "            \"numChannels\": 1,\n"
      "            \"elementClass\": \"uint8\"\n"
      "        }\n"
      "    ],\n"
      "    \"version\": 1\n"
      "}";
  auto p = DatasetProperties::parse(input);
  EXPECT_EQ(p.dump(), expected);
  // Parsing our own output gives the same text again.
  EXPECT_EQ(DatasetProperties::parse(p.dump()).dump(), expected);
}

TEST(DatasetProperties, DumpReproducesLibraryExampleSegmentation) {
  const std::string input = R"({"id": {"name": "ds", "team": ""}, "scale": [1, 1, 1], "dataLayers": [{
    "name": "segmentation", "category": "segmentation",
    "boundingBox": {"topLeft": [128, 0, 0], "width": 1000, "height": 800, "depth": 300},
    "dataFormat": "wkw",
    "mags": [{"mag": [1, 1, 1], "path": "./segmentation/1", "cubeLength": 1024,
              "axisOrder": {"c": 0, "x": 1, "y": 2, "z": 3}}],
    "defaultViewConfiguration": {"alpha": 20.0},
    "largestSegmentId": 4321, "mappings": ["agglomerate_view_70"],
    "numChannels": 1, "elementClass": "uint32"}]})";
  const std::string expected = R"({
    "id": {
        "name": "ds",
        "team": ""
    },
    "scale": {
        "factor": [
            1.0,
            1.0,
            1.0
        ],
        "unit": "nanometer"
    },
    "dataLayers": [
        {
            "name": "segmentation",
            "category": "segmentation",
            "boundingBox": {
                "topLeft": [
                    128,
                    0,
                    0
                ],
                "width": 1000,
                "height": 800,
                "depth": 300
            },
            "dataFormat": "wkw",
            "mags": [
                {
                    "mag": [
                        1,
                        1,
                        1
                    ],
                    "path": "./segmentation/1",
                    "cubeLength": 1024,
                    "axisOrder": {
                        "c": 0,
                        "x": 1,
                        "y": 2,
                        "z": 3
                    }
                }
            ],
            "defaultViewConfiguration": {
                "alpha": 20.0
            },
            "largestSegmentId": 4321,
            "mappings": [
                "agglomerate_view_70"
            ],
            "numChannels": 1,
            "elementClass": "uint32"
        }
    ],
    "version": 1
})";
  EXPECT_EQ(DatasetProperties::parse(input).dump(), expected);
}

TEST(DatasetProperties, LayerWithoutMagsKeepsAxisOrderInBoundingBox) {
  auto p = DatasetProperties::parse(with(kGood, R"("mags": [{"mag": [1, 1, 1], "path": "./color/1"}])", R"("mags": [])"));
  std::string text = p.dump();
  EXPECT_NE(text.find("\"depth\": 8,\n                \"axisOrder\": {"), std::string::npos) << text;
  EXPECT_NE(text.find("\"mags\": [],"), std::string::npos) << text;
}

TEST(DatasetProperties, ParsesWkwFixtureLegacyKeys) {
  auto p = DatasetProperties::parse(slurp(test::fixture("simple_wkw_dataset") / "datasource-properties.json"));
  ASSERT_EQ(p.layers.size(), 1u);
  const auto& l = p.layers[0];
  EXPECT_EQ(l.name, "color");
  EXPECT_EQ(l.data_format, DataFormat::Wkw);
  EXPECT_EQ(l.num_channels, 3);
  EXPECT_EQ(l.dtype, DType::UInt8);
  ASSERT_EQ(l.mags.size(), 1u);
  EXPECT_EQ(l.mags[0].mag, Mag(1, 1, 1));
  EXPECT_EQ(l.mags[0].cube_length, 32);
  EXPECT_FALSE(l.mags[0].path);
  EXPECT_EQ(p.voxel_size.unit, "nanometer");
  EXPECT_EQ(p.voxel_size.factor, (Vec3d{1, 1, 1}));
  EXPECT_EQ(p.version, 1);
  EXPECT_EQ(p.default_view_configuration["position"], Json::array({12, 12, 12}));
  EXPECT_EQ(l.bounding_box, (BoundingBox{{0, 0, 0}, {24, 24, 24}}));
  EXPECT_EQ(l.array_axes(), (std::vector<std::string>{"c", "x", "y", "z"}));
  // Written back in the library's form: mags (not wkwResolutions), cubeLength, axisOrder.
  std::string out = p.dump();
  EXPECT_EQ(out.find("wkwResolutions"), std::string::npos);
  EXPECT_NE(out.find("\"cubeLength\": 32"), std::string::npos);
  EXPECT_NE(out.find("\"elementClass\": \"uint24\""), std::string::npos);
}

TEST(DatasetProperties, ParsesZarrFixtures) {
  auto z2 = DatasetProperties::parse(slurp(test::fixture("simple_zarr_dataset") / "datasource-properties.json"));
  EXPECT_EQ(z2.layers.at(0).data_format, DataFormat::Zarr);
  EXPECT_FALSE(z2.layers.at(0).mags.at(0).path);
  auto z3 = DatasetProperties::parse(slurp(test::fixture("simple_zarr3_dataset") / "datasource-properties.json"));
  EXPECT_EQ(z3.layers.at(0).data_format, DataFormat::Zarr3);
  EXPECT_EQ(z3.layers.at(0).mags.at(0).path, "./color/1");
  EXPECT_EQ(z3.layers.at(0).default_view_configuration["color"], Json::array({255, 0, 0}));
}

TEST(DatasetProperties, ScaleUnitsAndAbbreviations) {
  for (auto [unit, name] : std::vector<std::pair<std::string, std::string>>{
           {"nm", "nanometer"}, {"\xC2\xB5m", "micrometer"}, {"\xC3\x85", "angstrom"}, {"pc", "parsec"},
           {"yottameter", "yottameter"}, {"in", "inch"}, {"Mm", "megameter"}}) {
    auto p = DatasetProperties::parse(with(kGood, R"("unit": "nm")", "\"unit\": \"" + unit + "\""));
    EXPECT_EQ(p.voxel_size.unit, name);
  }
  auto p = DatasetProperties::parse(with(kGood, R"("unit": "nm")", R"("unit": "um")"));
  EXPECT_DOUBLE_EQ(p.voxel_size.in_nanometers().y, 2000.0);
  EXPECT_NE(error_of(with(kGood, R"("unit": "nm")", R"("unit": "furlong")")).find("furlong"), std::string::npos);
}

TEST(DatasetProperties, ElementClassesAndChannels) {
  auto dtype_for = [](const std::string& ec, int channels) {
    auto t = with(with(kGood, R"("elementClass": "uint8")", "\"elementClass\": \"" + ec + "\""), R"("numChannels": 1)",
                  "\"numChannels\": " + std::to_string(channels));
    auto p = DatasetProperties::parse(t);
    EXPECT_EQ(DatasetProperties::parse(p.dump()).dump(), p.dump());
    EXPECT_NE(p.dump().find("\"elementClass\": \"" + ec + "\""), std::string::npos) << ec;
    return p.layers[0].dtype;
  };
  EXPECT_EQ(dtype_for("uint24", 3), DType::UInt8);
  EXPECT_EQ(dtype_for("float", 1), DType::Float32);
  EXPECT_EQ(dtype_for("double", 1), DType::Float64);
  EXPECT_EQ(dtype_for("uint32", 2), DType::UInt16);
  EXPECT_EQ(dtype_for("int64", 1), DType::Int64);
  // numChannels defaults to 1 and is always written
  auto p = DatasetProperties::parse(with(kGood, R"("numChannels": 1, )", ""));
  EXPECT_EQ(p.layers[0].num_channels, 1);
  EXPECT_NE(p.dump().find("\"numChannels\": 1"), std::string::npos);
}

TEST(DatasetProperties, NdLayerAxes) {
  auto t = with(kGood, R"("mags": [{"mag": [1, 1, 1], "path": "./color/1"}])",
                R"("mags": [{"mag": [1, 1, 1], "axisOrder": {"c": 0, "x": 4, "y": 3, "z": 2}}],
                   "additionalAxes": [{"name": "t", "bounds": [0, 7], "index": 1}])");
  auto p = DatasetProperties::parse(t);
  const auto& l = p.layers[0];
  EXPECT_FALSE(l.is_plain_3d());
  EXPECT_EQ(l.array_axes(), (std::vector<std::string>{"c", "t", "z", "y", "x"}));
  std::string out = p.dump();
  auto mags = out.find("\"mags\""), axes = out.find("\"additionalAxes\""), ch = out.find("\"numChannels\"");
  EXPECT_LT(mags, axes);
  EXPECT_LT(axes, ch);
  EXPECT_NE(out.find("\"x\": 4"), std::string::npos);
}

TEST(DatasetProperties, AllOptionalLayerKeysRoundTrip) {
  auto t = with(kGood, R"("category": "color")", R"("category": "segmentation")");
  t = with(t, R"("numChannels": 1,)", R"("coordinateTransformations": [{"type": "affine", "matrix": [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]}],
    "largestSegmentId": 1000000000, "mappings": ["a", "b"],
    "attachments": {"meshes": [{"name": "m", "path": "meshes/m.hdf5", "dataFormat": "hdf5"}], "segmentIndex": null},
    "defaultViewConfiguration": {"color": [255, 0, 0], "alpha": 20.0, "isDisabled": false},
    "numChannels": 1,)");
  t = with(t, R"("version": 1)", R"("version": 1, "defaultViewConfiguration": {"fourBit": false, "zoom": 1.5, "position": [1, 2, 3]})");
  auto p = DatasetProperties::parse(t);
  const auto& l = p.layers[0];
  EXPECT_EQ(l.largest_segment_id, 1000000000);
  EXPECT_EQ(l.mappings, (std::vector<std::string>{"a", "b"}));
  std::string out = p.dump();
  // library key order inside the layer
  std::vector<std::string> order{"\"name\"", "\"category\"", "\"boundingBox\"", "\"dataFormat\"", "\"mags\"",
                                 "\"defaultViewConfiguration\"", "\"coordinateTransformations\"", "\"largestSegmentId\"",
                                 "\"mappings\"", "\"attachments\"", "\"numChannels\"", "\"elementClass\""};
  size_t prev = 0;
  for (const auto& k : order) {
    size_t pos = out.find(k, prev);
    ASSERT_NE(pos, std::string::npos) << k;
    prev = pos;
  }
  EXPECT_NE(out.find("\"zoom\": 1.5"), std::string::npos);
  EXPECT_EQ(DatasetProperties::parse(out).dump(), out);
  // empty optional values are omitted
  auto q = DatasetProperties::parse(with(kGood, R"("numChannels": 1,)", R"("mappings": [], "attachments": {"meshes": []}, "largestSegmentId": null, "numChannels": 1,)"));
  std::string qs = q.dump();
  EXPECT_EQ(qs.find("mappings"), std::string::npos);
  EXPECT_EQ(qs.find("attachments"), std::string::npos);
  EXPECT_EQ(qs.find("largestSegmentId"), std::string::npos);
}

TEST(DatasetProperties, UnknownKeysAreKeptAtTheEndOfTheirObject) {
  auto t = with(kGood, R"("version": 1})", R"("version": 1, "zTop": {"k": [1, 2.5, "\u00e9"]}})");
  t = with(t, R"("name": "color",)", R"("name": "color", "myLayerKey": true,)");
  t = with(t, R"("path": "./color/1"})", R"("path": "./color/1", "magKey": "v"})");
  t = with(t, R"("depth": 8})", R"("depth": 8, "bboxKey": 1})");
  auto p = DatasetProperties::parse(t);
  std::string out = p.dump();
  EXPECT_NE(out.find("\"version\": 1,\n    \"zTop\": {"), std::string::npos) << out;
  EXPECT_NE(out.find("\"\\u00e9\""), std::string::npos);
  EXPECT_NE(out.find("\"elementClass\": \"uint8\",\n            \"myLayerKey\": true"), std::string::npos) << out;
  EXPECT_NE(out.find("\"magKey\": \"v\""), std::string::npos);
  EXPECT_NE(out.find("\"depth\": 8,\n                \"bboxKey\": 1"), std::string::npos) << out;
  auto again = DatasetProperties::parse(out);
  EXPECT_EQ(again.dump(), out);
  EXPECT_EQ(again.extra["zTop"]["k"][1], 2.5);
}

TEST(DatasetProperties, ValidationErrorsNameTheKey) {
  EXPECT_NE(error_of("{not json").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("object"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("category": "color")", R"("category": "colour")")).find("colour"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("elementClass": "uint8")", R"("elementClass": "uint7")")).find("elementClass"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("mag": [1, 1, 1])", R"("mag": [3, 3, 3])")).find("mag"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("mag": [1, 1, 1])", R"("mag": [1, 1])")).find("mag"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("version": 1)", R"("version": 2)")).find("version"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("topLeft": [0, 0, 0])", R"("topLeft": [0, -1, 0])")).find("topLeft"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("name": "color")", R"("name": ".hidden")")).find("name"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("name": "color")", R"("name": "a/b")")).find("name"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("dataFormat": "zarr3")", R"("dataFormat": "tiff")")).find("dataFormat"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("width": 8)", R"("width": "8")")).find("width"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("scale": {"factor": [1, 2, 3], "unit": "nm"})", R"("scale": [1, 2])")).find("scale"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("dataLayers": [)", R"("dataLayers": [{"name": "color", "category": "color",
    "boundingBox": {"topLeft": [0, 0, 0], "width": 8, "height": 8, "depth": 8},
    "dataFormat": "zarr3", "mags": [], "elementClass": "uint8"},)")).find("twice"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("mags": [{"mag": [1, 1, 1], "path": "./color/1"}])",
                          R"("mags": [{"mag": [1, 1, 1]}, {"mag": [1, 1, 1]}])")).find("twice"), std::string::npos);
  EXPECT_NE(error_of(with(kGood, R"("dataLayers")", R"("dataLayerz")")).find("dataLayers"), std::string::npos);
  EXPECT_EQ(kind_of(with(kGood, R"("width": 8)", R"("width": 1e300)")), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of(with(kGood, R"("width": 8)", R"("width": 18446744073709551615)")), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of("\xff\xfe"), ErrorKind::InvalidArgument);
}

TEST(DatasetProperties, LayerNames) {
  EXPECT_TRUE(is_valid_layer_name("color"));
  EXPECT_TRUE(is_valid_layer_name("seg_v2.1"));
  EXPECT_TRUE(is_valid_layer_name("$a@b-c"));
  EXPECT_FALSE(is_valid_layer_name(""));
  EXPECT_FALSE(is_valid_layer_name(".x"));
  EXPECT_FALSE(is_valid_layer_name(".."));
  EXPECT_FALSE(is_valid_layer_name("a b"));
  EXPECT_FALSE(is_valid_layer_name("a/b"));
}
