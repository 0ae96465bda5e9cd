// The filesystem core's own files, without a kernel mount: datasource-properties.json written
// through the mount (validated, stored whole or not at all), the control files `.wkfs-ctl` and the
// status file `.wkfs-status`. The spec is tests/e2e/layer_api.sh and the README's control channel.
#include "unit/fs/core_test_helpers.hpp"

using namespace wkfs::test::core;
using wkfs::errno_of;
using Strings = std::vector<std::string>;

namespace {

const char* kProps = "ds/datasource-properties.json";

/// The fixture's properties with the layer's defaultViewConfiguration changed: a valid edit.
std::string edited_properties(const Mount& m, const Json& color) {
  auto d = read_json(m.props_path());
  d["dataLayers"][0]["defaultViewConfiguration"] = Json{{"color", color}};
  return d.dump(4);
}

/// Writes `text` to an open handle in pieces of `piece` bytes; returns the errno of the first refused one.
int write_in_pieces(Filesystem& f, Opened& o, const std::string& text, size_t piece) {
  for (size_t off = 0; off < text.size(); off += piece) {
    int err = errno_from([&] { write_str(f, o, text.substr(off, piece), static_cast<off_t>(off)); });
    if (err) return err;
  }
  return 0;
}

// --- the properties editor -----------------------------------------------------------------------

TEST(CorePropertiesEditor, ValidDocumentWrittenInPiecesIsStoredOnFlush) {
  Mount m;
  const auto text = edited_properties(m, {1, 2, 3});
  const auto original = file_text(m.props_path());
  auto o = m->open(lookup_path(*m, kProps), O_WRONLY | O_TRUNC);
  EXPECT_TRUE(o.direct_io);
  ASSERT_EQ(write_in_pieces(*m, o, text, 37), 0);
  // nothing is stored piecewise: the backing file is the old complete document until flush
  EXPECT_EQ(file_text(m.props_path()), original);
  // the open handle's size is what was written
  EXPECT_EQ(m->getattr(lookup_path(*m, kProps), o.file.get()).st.st_size, static_cast<off_t>(text.size()));
  m->flush(*o.file);
  auto stored = read_json(m.props_path());
  EXPECT_EQ(stored["dataLayers"][0]["defaultViewConfiguration"], (Json{{"color", {1, 2, 3}}}));
  EXPECT_EQ(mags_of(stored, "color"), Strings{"1-1-1"});
  m->release(std::move(o.file));
  // the layer attributes follow
  EXPECT_EQ(m->getxattr(lookup_path(*m, "ds/color"), "user.wk.default_view_configuration"), R"({"color":[1,2,3]})");
  // and a read through the mount gives the stored document
  EXPECT_EQ(Json::parse(read_path(*m, kProps)), stored);
}

TEST(CorePropertiesEditor, InvalidJsonIsEinvalAndNothingChanges) {
  Mount m;
  const auto original = file_text(m.props_path());
  for (const std::string bad : {"{not json", "{\"dataLayers\": 3}", "[1, 2] trailing"}) {
    SCOPED_TRACE(bad);
    auto o = m->open(lookup_path(*m, kProps), O_WRONLY | O_TRUNC);
    int err = errno_from([&] { write_str(*m, o, bad); });
    if (!err) err = errno_from([&] { m->flush(*o.file); });
    EXPECT_EQ(err, EINVAL);
    m->release(std::move(o.file));
    EXPECT_EQ(file_text(m.props_path()), original);
  }
  // the write that breaks a valid document midway is the one refused; later writes are refused too
  const auto text = edited_properties(m, {9, 9, 9});
  auto o = m->open(lookup_path(*m, kProps), O_WRONLY | O_TRUNC);
  EXPECT_EQ(errno_from([&] { write_str(*m, o, text.substr(0, 20)); }), 0);
  EXPECT_EQ(errno_from([&] { write_str(*m, o, "}}}", 20); }), EINVAL);
  EXPECT_EQ(errno_from([&] { write_str(*m, o, text.substr(20), 20); }), EINVAL);
  m->flush(*o.file);
  m->release(std::move(o.file));
  EXPECT_EQ(file_text(m.props_path()), original);
}

TEST(CorePropertiesEditor, DocumentTheLibraryRejectsIsRefused) {
  Mount m;
  const auto original = file_text(m.props_path());
  auto no_category = read_json(m.props_path());
  no_category["dataLayers"][0].erase("category");
  auto no_layer_name = read_json(m.props_path());
  no_layer_name["dataLayers"][0].erase("name");
  for (const auto& doc : {no_category, no_layer_name}) {
    auto o = m->open(lookup_path(*m, kProps), O_WRONLY | O_TRUNC);
    int err = errno_from([&] { write_str(*m, o, doc.dump(2)); });
    if (!err) err = errno_from([&] { m->flush(*o.file); });
    EXPECT_EQ(err, EINVAL) << doc.dump();
    m->release(std::move(o.file));
    EXPECT_EQ(file_text(m.props_path()), original);
  }
}

TEST(CorePropertiesEditor, TruncateWithoutHandleIsValidatedAsAWholeFileWrite) {
  Mount m;
  const auto original = file_text(m.props_path());
  Ino props = lookup_path(*m, kProps);
  SetAttr t;
  t.size = 0;
  EXPECT_EQ(errno_from([&] { m->setattr(props, t, nullptr); }), EINVAL);
  t.size = 10;
  EXPECT_EQ(errno_from([&] { m->setattr(props, t, nullptr); }), EINVAL);
  EXPECT_EQ(file_text(m.props_path()), original);
  // to its own size: still the same valid document
  t.size = static_cast<off_t>(original.size());
  m->setattr(props, t, nullptr);
  // stored through the library (which writes its own current form): the same dataset
  auto stored = read_json(m.props_path());
  EXPECT_EQ(layers_of(stored), Strings{"color"});
  EXPECT_EQ(mags_of(stored, "color"), Strings{"1-1-1"});
  EXPECT_EQ(stored["dataLayers"][0]["elementClass"], "uint24");
}

TEST(CorePropertiesEditor, EditorSaveByRenameIsValidated) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  const auto original = file_text(m.props_path());
  // an invalid temp file renamed over the properties: EINVAL, the properties stay
  {
    auto [e, o] = m->create(ds, ".datasource-properties.json.swp", 0644, O_WRONLY);
    write_str(*m, o, "{broken");
    m->release(std::move(o.file));
  }
  EXPECT_EQ(errno_from([&] { m->rename(ds, ".datasource-properties.json.swp", ds, "datasource-properties.json", 0); }),
            EINVAL);
  EXPECT_EQ(file_text(m.props_path()), original);
  // a valid one is stored, and the temp name is gone
  const auto text = edited_properties(m, {4, 5, 6});
  {
    auto [e, o] = m->create(ds, "props.new", 0644, O_WRONLY | O_TRUNC);
    write_str(*m, o, text);
    m->release(std::move(o.file));
  }
  m->rename(ds, "props.new", ds, "datasource-properties.json", 0);
  auto stored = read_json(m.props_path());
  EXPECT_EQ(stored["dataLayers"][0]["defaultViewConfiguration"], (Json{{"color", {4, 5, 6}}}));
  EXPECT_FALSE(fs::exists(m.src / "ds/props.new"));
  EXPECT_EQ(errno_from([&] { m->lookup(ds, "props.new"); }), ENOENT);
}

TEST(CorePropertiesEditor, OpenWithoutTruncEditsTheCurrentText) {
  Mount m;
  const auto original = file_text(m.props_path());
  auto o = m->open(lookup_path(*m, kProps), O_RDWR);
  EXPECT_EQ(read_all(*m, o), original);
  // overwrite the scale's first digit in place: "1.0" -> "2.0"
  const auto pos = original.find("\"scale\": [1.0");
  ASSERT_NE(pos, std::string::npos);
  write_str(*m, o, "2", static_cast<off_t>(pos + 10));
  m->flush(*o.file);
  m->release(std::move(o.file));
  auto scale = read_json(m.props_path())["scale"];
  if (scale.is_object()) scale = scale["factor"];  // the library's current form
  EXPECT_EQ(scale, Json::array({2.0, 1.0, 1.0}));
}

// --- the control files ---------------------------------------------------------------------------

struct CtlResult {
  int err;
  Json reply;
};

/// Writes one command to DIR/.wkfs-ctl and reads the reply back from the same handle.
CtlResult ctl(Filesystem& f, const std::string& dir, const std::string& command) {
  auto o = f.open(lookup_path(f, dir + "/.wkfs-ctl"), O_RDWR);
  int err = errno_from([&] { write_str(f, o, command); });
  auto text = read_all(f, o);
  f.release(std::move(o.file));
  return {err, Json::parse(text)};
}

TEST(CoreControlFile, AddMagThroughLayerControlFile) {
  Mount m;
  auto r = ctl(*m, "ds/color", "add-mag 4\n");
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.reply["ok"], true) << r.reply.dump();
  EXPECT_EQ(r.reply["command"], "add-mag");
  auto props = read_json(m.props_path());
  EXPECT_EQ(mags_of(props, "color"), (Strings{"1-1-1", "4-4-4"}));
  EXPECT_TRUE(fs::is_regular_file(m.src / "ds/color/4/zarr.json"));
  // the new mag is a mag folder of the mount
  auto e = m->lookup(lookup_path(*m, "ds/color"), "4");
  EXPECT_TRUE(S_ISDIR(e.attr.st_mode));
  // a second handle reads the last reply of that file
  auto o = m->open(lookup_path(*m, "ds/color/.wkfs-ctl"), O_RDONLY);
  EXPECT_EQ(Json::parse(read_all(*m, o))["ok"], true);
  m->release(std::move(o.file));
  // the same command again: EEXIST, nothing changes
  const auto before = tree_digest(m.src);
  r = ctl(*m, "ds/color", "add-mag 4");
  EXPECT_EQ(r.err, EEXIST);
  EXPECT_EQ(r.reply["ok"], false);
  EXPECT_EQ(r.reply["errno"], EEXIST);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreControlFile, UnknownCommandIsEinvalAndTheReplySaysWhy) {
  Mount m;
  const auto before = tree_digest(m.src);
  auto r = ctl(*m, "ds/color", "frobnicate --now");
  EXPECT_EQ(r.err, EINVAL);
  EXPECT_EQ(r.reply["ok"], false) << r.reply.dump();
  EXPECT_EQ(r.reply["errno"], 22);
  EXPECT_TRUE(r.reply["error"].is_string() && !r.reply["error"].get<std::string>().empty()) << r.reply.dump();
  // a fresh handle (as `cat .wkfs-ctl` after the failed write) reads the same reply
  auto again = Json::parse(read_path(*m, "ds/color/.wkfs-ctl"));
  EXPECT_EQ(again["ok"], false);
  EXPECT_EQ(again["errno"], 22);
  // the dataset's own control file has its own last reply
  EXPECT_EQ(Json::parse(read_path(*m, "ds/.wkfs-ctl"))["ok"], true);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreControlFile, DatasetControlFileAddsLayer) {
  Mount m;
  auto r = ctl(*m, "ds", "add-layer seg --category segmentation --dtype uint16 --format zarr3");
  EXPECT_EQ(r.err, 0) << r.reply.dump();
  auto props = read_json(m.props_path());
  EXPECT_EQ(layers_of(props), (Strings{"color", "seg"}));
  EXPECT_EQ((*find_layer(props, "seg"))["elementClass"], "uint16");
  EXPECT_TRUE(S_ISDIR(m->lookup(lookup_path(*m, "ds"), "seg").attr.st_mode));
  // layer commands are not dataset commands
  const auto before = tree_digest(m.src);
  r = ctl(*m, "ds", "add-mag 2");
  EXPECT_NE(r.err, 0);
  EXPECT_EQ(r.reply["ok"], false);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreControlFile, ReadOnlyCoreRefusesCommands) {
  Mount m(true);
  const auto before = tree_digest(m.src);
  for (const std::string dir : {"ds", "ds/color"}) {
    auto r = ctl(*m, dir, dir == "ds" ? "add-layer seg --category segmentation" : "add-mag 4");
    EXPECT_EQ(r.err, EROFS) << dir;
    EXPECT_EQ(r.reply["ok"], false);
    EXPECT_EQ(r.reply["errno"], EROFS);
  }
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreStatusFile, IsJsonWithDatasets) {
  Mount m(false, {{"simple_zarr3_dataset", "ds"}, {"simple_zarr_dataset", "v2"}});
  auto e = m->lookup(kRootIno, ".wkfs-status");
  EXPECT_TRUE(S_ISREG(e.attr.st_mode));
  auto o = m->open(e.ino, O_RDONLY);
  EXPECT_TRUE(o.direct_io);
  auto status = Json::parse(read_all(*m, o));
  m->release(std::move(o.file));
  ASSERT_TRUE(status["datasets"].is_array()) << status.dump();
  ASSERT_EQ(status["datasets"].size(), 2u);
  std::set<std::string> paths;
  for (const auto& d : status["datasets"]) {
    paths.insert(d["path"].get<std::string>());
    ASSERT_EQ(d["layers"].size(), 1u) << d.dump();
    EXPECT_EQ(d["layers"][0]["name"], "color");
  }
  EXPECT_EQ(paths.size(), 2u);
  EXPECT_EQ(status["read_only"], false);
  EXPECT_EQ(status["mountpoint"], kMountpoint);
  EXPECT_TRUE(status.contains("lazy"));
  EXPECT_TRUE(status["operations"].is_object() || status["operations"].is_array());
}

}  // namespace

namespace {

TEST(CoreControlFile, SingleDatasetMountHasControlAndStatusFilesAtItsRoot) {
  wkfs::test::TempDir tmp;
  auto src = wkfs::test::copy_fixture("simple_zarr3_dataset", tmp.path());
  FilesystemConfig c;
  c.source = src;
  c.mountpoint = kMountpoint;
  c.log = nullptr;
  c.lazy.threads = 1;
  Filesystem f(std::move(c));
  EXPECT_TRUE(S_ISREG(f.lookup(kRootIno, ".wkfs-ctl").attr.st_mode));
  EXPECT_TRUE(S_ISREG(f.lookup(kRootIno, ".wkfs-status").attr.st_mode));
  auto names_at_root = names(f, "");
  EXPECT_EQ(names_at_root, (std::set<std::string>{"color", "datasource-properties.json", "zarr.json"}));
  auto r = ctl(f, "", "add-layer seg --category segmentation --dtype uint8");
  EXPECT_EQ(r.err, 0) << r.reply.dump();
  EXPECT_EQ(layers_of(read_json(src / "datasource-properties.json")), (Strings{"color", "seg"}));
  EXPECT_EQ(Json::parse(read_path(f, ".wkfs-status"))["datasets"].size(), 1u);
  // mkdir of a mag works at depth 1 too
  f.mkdir(lookup_path(f, "seg"), "1", 0755);
  EXPECT_EQ(mags_of(read_json(src / "datasource-properties.json"), "seg"), Strings{"1-1-1"});
}

}  // namespace

namespace {

// README: "datasource-properties.json written through the mount is validated: invalid JSON or an
// invalid dataset is EINVAL and the file stays as it was." A file moved over it from another folder
// of the mount is such a write; the core validates only a rename within the dataset root.
TEST(CorePropertiesEditor, RenameFromAnotherFolderOverPropertiesIsValidated) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  auto aside = m->mkdir(ds, "aside", 0755);
  {
    auto [e, o] = m->create(aside.ino, "p.json", 0644, O_WRONLY);
    write_str(*m, o, "{broken");
    m->release(std::move(o.file));
  }
  const auto original = file_text(m.props_path());
  int err = errno_from([&] { m->rename(aside.ino, "p.json", ds, "datasource-properties.json", 0); });
  EXPECT_EQ(err, EINVAL);
  EXPECT_EQ(file_text(m.props_path()), original);
}

// The same with renameat2(RENAME_EXCHANGE): the properties become the other file's text unchecked.
TEST(CorePropertiesEditor, ExchangeWithPropertiesIsValidatedOrRefused) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  {
    auto [e, o] = m->create(ds, "p.json", 0644, O_WRONLY);
    write_str(*m, o, "{broken");
    m->release(std::move(o.file));
  }
  const auto original = file_text(m.props_path());
  int err = errno_from([&] { m->rename(ds, "p.json", ds, "datasource-properties.json", RENAME_EXCHANGE); });
  EXPECT_NE(err, 0);
  EXPECT_EQ(file_text(m.props_path()), original);
}

}  // namespace

namespace {

TEST(CorePropertiesEditor, FtruncateThenWriteThroughTheHandleIsStored) {
  Mount m;
  Ino props = lookup_path(*m, kProps);
  const auto text = edited_properties(m, {3, 2, 1});
  auto o = m->open(props, O_WRONLY);
  SetAttr t;
  t.size = 0;
  m->setattr(props, t, o.file.get());
  EXPECT_EQ(m->getattr(props, o.file.get()).st.st_size, 0);
  write_str(*m, o, text);
  m->flush(*o.file);
  m->release(std::move(o.file));
  EXPECT_EQ(read_json(m.props_path())["dataLayers"][0]["defaultViewConfiguration"], (Json{{"color", {3, 2, 1}}}));
}

}  // namespace
