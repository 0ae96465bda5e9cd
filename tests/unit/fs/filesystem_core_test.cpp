// The filesystem core (wkfs::mount::Filesystem) driven without a kernel mount, as the FUSE adapter
// drives it: the Layer API as file operations (tests/e2e/layer_api.sh is the spec), exact errnos,
// hidden names, xattrs, and a read-only core. Expectations come from the backing folder itself
// (its files, its properties parsed with nlohmann), never from the core.
#include <sys/xattr.h>

#include <cstring>

#include "unit/fs/core_test_helpers.hpp"

using namespace wkfs::test::core;
using wkfs::errno_of;
using Strings = std::vector<std::string>;

namespace {

// --- Layer API -----------------------------------------------------------------------------------

TEST(CoreLayerApi, MkdirMagIsAddMag) {
  Mount m;
  Ino layer = lookup_path(*m, "ds/color");
  auto e = m->mkdir(layer, "2", 0755);
  EXPECT_TRUE(S_ISDIR(e.attr.st_mode));
  EXPECT_NE(e.ino, 0u);
  auto props = read_json(m.props_path());
  EXPECT_EQ(mags_of(props, "color"), (Strings{"1-1-1", "2-2-2"}));
  EXPECT_EQ(mag_path_of(props, "color", "2-2-2"), "./color/2");
  EXPECT_TRUE(fs::is_regular_file(m.src / "ds/color/2/zarr.json"));
  auto meta = read_json(m.src / "ds/color/2/zarr.json");
  EXPECT_EQ(meta["node_type"], "array");
  EXPECT_EQ(meta["shape"][0], 3);  // the channels

  m->mkdir(layer, "4-4-2", 0755);
  props = read_json(m.props_path());
  EXPECT_EQ(mags_of(props, "color"), (Strings{"1-1-1", "2-2-2", "4-4-2"}));
  EXPECT_TRUE(fs::is_regular_file(m.src / "ds/color/4-4-2/zarr.json"));
  // the new mag is found through the mount as a folder with its metadata
  EXPECT_EQ(read_path(*m, "ds/color/2/zarr.json"), file_text(m.src / "ds/color/2/zarr.json"));
}

TEST(CoreLayerApi, MkdirOfExistingOrBadMagChangesNothing) {
  Mount m;
  Ino layer = lookup_path(*m, "ds/color");
  m->mkdir(layer, "2", 0755);
  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->mkdir(layer, "2", 0755); }), EEXIST);
  EXPECT_EQ(errno_from([&] { m->mkdir(layer, "2-2-2", 0755); }), EEXIST);
  EXPECT_EQ(errno_from([&] { m->mkdir(layer, "3", 0755); }), EINVAL);
  EXPECT_EQ(errno_from([&] { m->mkdir(layer, "1-2-3", 0755); }), EINVAL);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreLayerApi, RmROfMagIsDeleteMag) {
  Mount m;
  Ino layer = lookup_path(*m, "ds/color");
  m->mkdir(layer, "2", 0755);
  m->mkdir(layer, "4-4-2", 0755);
  // rmdir of a non-empty mag: ENOTEMPTY, nothing changes
  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->rmdir(layer, "2"); }), ENOTEMPTY);
  EXPECT_EQ(errno_from([&] { m->rmdir(layer, "1"); }), ENOTEMPTY);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
  rm_r(*m, layer, "2");
  auto props = read_json(m.props_path());
  EXPECT_EQ(mags_of(props, "color"), (Strings{"1-1-1", "4-4-2"}));
  EXPECT_FALSE(fs::exists(m.src / "ds/color/2"));
  EXPECT_EQ(errno_from([&] { m->lookup(layer, "2"); }), ENOENT);
  // the data mag too
  rm_r(*m, layer, "1");
  props = read_json(m.props_path());
  EXPECT_EQ(mags_of(props, "color"), (Strings{"4-4-2"}));
  EXPECT_FALSE(fs::exists(m.src / "ds/color/1"));
}

TEST(CoreLayerApi, SymlinkOfAnotherDatasetsMagIsAddSymlinkMag) {
  Mount m(false, {{"simple_zarr3_dataset", "ds"}, {"simple_zarr3_dataset", "ds_b"}});
  Ino layer_b = lookup_path(*m, "ds_b/color");
  rm_r(*m, layer_b, "1");
  ASSERT_EQ(mags_of(read_json(m.props_path("ds_b")), "color"), Strings{});

  // relative target: make_relative, the link is relative too
  auto e = m->symlink("../../ds/color/1", layer_b, "1");
  EXPECT_TRUE(S_ISLNK(e.attr.st_mode));
  auto props = read_json(m.props_path("ds_b"));
  EXPECT_EQ(mags_of(props, "color"), Strings{"1-1-1"});
  EXPECT_EQ(mag_path_of(props, "color", "1-1-1"), "../ds/color/1");
  const auto link = m.src / "ds_b/color/1";
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(fs::read_symlink(link).is_relative()) << fs::read_symlink(link);
  EXPECT_TRUE(fs::equivalent(link, m.src / "ds/color/1"));
  EXPECT_EQ(read_path(*m, "ds_b/color/1/zarr.json"), file_text(m.src / "ds/color/1/zarr.json"));

  // rm of the symlinked mag: delete_mag, the target stays
  m->unlink(layer_b, "1");
  EXPECT_EQ(mags_of(read_json(m.props_path("ds_b")), "color"), Strings{});
  EXPECT_FALSE(fs::exists(fs::symlink_status(link)));
  EXPECT_TRUE(fs::is_regular_file(m.src / "ds/color/1/zarr.json"));
  EXPECT_EQ(mags_of(read_json(m.props_path("ds")), "color"), Strings{"1-1-1"});

  // absolute target through the mountpoint: stored as the backing path
  m->symlink(std::string(kMountpoint) + "/ds/color/1", layer_b, "1");
  props = read_json(m.props_path("ds_b"));
  EXPECT_EQ(mag_path_of(props, "color", "1-1-1"), (m.src / "ds/color/1").string());

  // a link named differently from its target mag is refused
  m->unlink(layer_b, "1");
  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->symlink("../../ds/color/1", layer_b, "2"); }), EINVAL);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreLayerApi, MvOfLayerRenamesLayer) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  Ino mag_file = lookup_path(*m, "ds/color/1/zarr.json");  // a known node below the layer
  m->rename(ds, "color", ds, "colour", 0);
  auto props = read_json(m.props_path());
  EXPECT_EQ(layers_of(props), Strings{"colour"});
  EXPECT_EQ(mag_path_of(props, "colour", "1-1-1"), "./colour/1");
  EXPECT_TRUE(fs::is_directory(m.src / "ds/colour/1"));
  EXPECT_FALSE(fs::exists(m.src / "ds/color"));
  EXPECT_EQ(read_path(*m, "ds/colour/1/zarr.json"), file_text(m.src / "ds/colour/1/zarr.json"));
  EXPECT_EQ(errno_from([&] { m->lookup(ds, "color"); }), ENOENT);
  // the node known before follows the rename
  auto o = m->open(mag_file, O_RDONLY);
  EXPECT_EQ(read_all(*m, o), file_text(m.src / "ds/colour/1/zarr.json"));
  m->release(std::move(o.file));

  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->rename(ds, "colour", ds, "bad name!", 0); }), EINVAL);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreLayerApi, RenameExchangeOfLayerIsEinval) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  m->mkdir(ds, "aside", 0755);
  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->rename(ds, "color", ds, "aside", RENAME_EXCHANGE); }), EINVAL);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreLayerApi, RmdirOfEmptiedLayerIsDeleteLayer) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  // a second layer, made by the control channel, with one mag
  auto ctl = m->open(lookup_path(*m, "ds/.wkfs-ctl"), O_WRONLY);
  write_str(*m, ctl, "add-layer seg --category segmentation --dtype uint32 --format zarr3 --bounding-box 0,0,0,16,16,16\n");
  m->release(std::move(ctl.file));
  Ino seg = lookup_path(*m, "ds/seg");
  m->mkdir(seg, "1", 0755);
  ASSERT_EQ(layers_of(read_json(m.props_path())), (Strings{"color", "seg"}));

  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->rmdir(ds, "seg"); }), ENOTEMPTY);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");

  rm_r(*m, ds, "seg");
  auto props = read_json(m.props_path());
  EXPECT_EQ(layers_of(props), Strings{"color"});
  EXPECT_FALSE(fs::exists(m.src / "ds/seg"));
  EXPECT_EQ(errno_from([&] { m->lookup(ds, "seg"); }), ENOENT);
  // the other layer is untouched
  EXPECT_EQ(mags_of(props, "color"), Strings{"1-1-1"});
}

// --- errnos --------------------------------------------------------------------------------------

TEST(CoreErrno, MissingNamesAndExistingFolders) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  Ino layer = lookup_path(*m, "ds/color");
  EXPECT_EQ(errno_from([&] { m->lookup(kRootIno, "nope"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->lookup(ds, "nope"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->lookup(layer, "7"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->unlink(ds, "nope"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->rmdir(ds, "nope"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->rename(ds, "nope", ds, "nope2", 0); }), ENOENT);

  // a plain folder: mkdir twice is EEXIST, mkdir of the layer's name too
  auto e = m->mkdir(ds, "aside", 0755);
  EXPECT_TRUE(S_ISDIR(e.attr.st_mode));
  EXPECT_TRUE(fs::is_directory(m.src / "ds/aside"));
  EXPECT_EQ(errno_from([&] { m->mkdir(ds, "aside", 0755); }), EEXIST);
  EXPECT_EQ(errno_from([&] { m->mkdir(ds, "color", 0755); }), EEXIST);
  EXPECT_EQ(errno_from([&] { m->mkdir(kRootIno, "ds", 0755); }), EEXIST);

  // a non-empty plain folder: ENOTEMPTY; emptied, it goes
  Ino aside = e.ino;
  auto [fe, fo] = m->create(aside, "f.txt", 0644, O_WRONLY);
  m->release(std::move(fo.file));
  EXPECT_EQ(errno_from([&] { m->rmdir(ds, "aside"); }), ENOTEMPTY);
  m->unlink(aside, "f.txt");
  m->rmdir(ds, "aside");
  EXPECT_FALSE(fs::exists(m.src / "ds/aside"));
}

TEST(CoreErrno, ControlFilesCannotBeRemovedOrRenamed) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  Ino layer = lookup_path(*m, "ds/color");
  lookup_path(*m, "ds/.wkfs-ctl");
  lookup_path(*m, "ds/color/.wkfs-ctl");
  lookup_path(*m, ".wkfs-status");
  EXPECT_EQ(errno_from([&] { m->unlink(ds, ".wkfs-ctl"); }), EPERM);
  EXPECT_EQ(errno_from([&] { m->unlink(layer, ".wkfs-ctl"); }), EPERM);
  EXPECT_EQ(errno_from([&] { m->unlink(kRootIno, ".wkfs-status"); }), EPERM);
  EXPECT_EQ(errno_from([&] { m->rename(ds, ".wkfs-ctl", ds, "ctl", 0); }), EPERM);
  EXPECT_EQ(errno_from([&] { m->rename(ds, "datasource-properties.json", ds, ".wkfs-ctl", 0); }), EPERM);
  EXPECT_EQ(errno_from([&] { m->create(layer, ".wkfs-ctl", 0644, O_WRONLY); }), EPERM);
  EXPECT_FALSE(fs::exists(m.src / "ds/.wkfs-ctl"));
  EXPECT_FALSE(fs::exists(m.src / "ds/color/.wkfs-ctl"));
  EXPECT_TRUE(fs::exists(m.props_path()));
}

TEST(CoreErrno, ReadOnlyCoreRefusesEveryChange) {
  Mount m(true);
  Ino root = kRootIno;
  Ino ds = lookup_path(*m, "ds");
  Ino layer = lookup_path(*m, "ds/color");
  Ino zarr = lookup_path(*m, "ds/color/1/zarr.json");
  Ino props = lookup_path(*m, "ds/datasource-properties.json");
  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->mkdir(layer, "2", 0755); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->mkdir(ds, "aside", 0755); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->mkdir(root, "new", 0755); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->unlink(lookup_path(*m, "ds/color/1"), "zarr.json"); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->rmdir(layer, "1"); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->rmdir(ds, "color"); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->symlink("../../ds/color/1", layer, "2"); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->rename(ds, "color", ds, "colour", 0); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->create(ds, "new.txt", 0644, O_WRONLY); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->open(props, O_WRONLY | O_TRUNC); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->open(zarr, O_RDWR); }), EROFS);
  SetAttr trunc;
  trunc.size = 0;
  EXPECT_EQ(errno_from([&] { m->setattr(props, trunc, nullptr); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->setattr(zarr, trunc, nullptr); }), EROFS);
  SetAttr chmod;
  chmod.mode = 0600;
  EXPECT_EQ(errno_from([&] { m->setattr(zarr, chmod, nullptr); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->setxattr(layer, "user.wk.bounding_box", "0,0,0,32,24,24", 0); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->setxattr(zarr, "user.note", "x", 0); }), EROFS);
  EXPECT_EQ(errno_from([&] { m->removexattr(zarr, "user.note"); }), EROFS);
  // a control command: the write fails with EROFS, the reply says so
  auto ctl = m->open(lookup_path(*m, "ds/color/.wkfs-ctl"), O_WRONLY);
  EXPECT_EQ(errno_from([&] { write_str(*m, ctl, "add-mag 4"); }), EROFS);
  auto reply = Json::parse(read_all(*m, ctl));
  EXPECT_EQ(reply["ok"], false);
  EXPECT_EQ(reply["errno"], EROFS);
  m->release(std::move(ctl.file));
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
  // reads still work, and say read-only
  EXPECT_EQ(read_path(*m, "ds/datasource-properties.json"), file_text(m.props_path()));
  EXPECT_EQ(m->getattr(zarr, nullptr).st.st_size, static_cast<off_t>(fs::file_size(m.src / "ds/color/1/zarr.json")));
  EXPECT_EQ(m->lookup(layer, ".wkfs-ctl").attr.st_mode & 0222, 0u);
  EXPECT_EQ(m->getxattr(layer, "user.wk.bounding_box"), "0,0,0,24,24,24");
  EXPECT_EQ(m->getxattr(layer, "user.wk.read_only"), "true");
}

// --- hidden names --------------------------------------------------------------------------------

TEST(CoreHidden, StateFolderTempFilesAndControlFilesAreNotListed) {
  Mount m;
  fs::create_directories(m.src / "ds/.wkfs");
  put_file(m.src / "ds/.wkfs/lazy.json", R"({"version": 1, "mags": []})");
  put_file(m.src / "ds/color/zarr.json.wkfs-tmp.1234", "partial");
  put_file(m.src / "ds/color/1/c/0/0/0/0.wkfs-tmp.99", "partial");
  put_file(m.src / "ds/datasource-properties.json.__lock", "");
  auto ds_names = names(*m, "ds");
  EXPECT_EQ(ds_names, (std::set<std::string>{"color", "datasource-properties.json", "zarr.json"}));
  EXPECT_EQ(names(*m, "ds/color"), (std::set<std::string>{"1", "zarr.json"}));
  EXPECT_EQ(names(*m, "ds/color/1/c/0/0/0"), (std::set<std::string>{"0"}));
  EXPECT_EQ(names(*m, ""), (std::set<std::string>{"ds"}));  // no .wkfs-status either

  Ino ds = lookup_path(*m, "ds");
  Ino layer = lookup_path(*m, "ds/color");
  EXPECT_EQ(errno_from([&] { m->lookup(ds, ".wkfs"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->lookup(ds, "datasource-properties.json.__lock"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->lookup(layer, "zarr.json.wkfs-tmp.1234"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { lookup_path(*m, "ds/color/1/c/0/0/0/0.wkfs-tmp.99"); }), ENOENT);
  // a name with the temp marker cannot be made either
  EXPECT_EQ(errno_from([&] { m->mkdir(ds, "x.wkfs-tmp.1", 0755); }), EINVAL);
}

TEST(CoreHidden, ControlFilesAreFoundButNotListed) {
  Mount m;
  auto e = m->lookup(lookup_path(*m, "ds"), ".wkfs-ctl");
  EXPECT_TRUE(S_ISREG(e.attr.st_mode));
  e = m->lookup(lookup_path(*m, "ds/color"), ".wkfs-ctl");
  EXPECT_TRUE(S_ISREG(e.attr.st_mode));
  EXPECT_EQ(errno_from([&] { m->lookup(lookup_path(*m, "ds/color/1"), ".wkfs-ctl"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->lookup(lookup_path(*m, "ds/color/1/c"), ".wkfs-ctl"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->lookup(kRootIno, ".wkfs-ctl"); }), ENOENT);  // a folder of datasets
  Ino aside = m->mkdir(lookup_path(*m, "ds"), "aside", 0755).ino;                 // a plain folder
  EXPECT_EQ(errno_from([&] { m->lookup(aside, ".wkfs-ctl"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->lookup(lookup_path(*m, "ds"), ".wkfs-status"); }), ENOENT);
  EXPECT_EQ(names(*m, "ds").count(".wkfs-ctl"), 0u);
  EXPECT_EQ(names(*m, "ds/color").count(".wkfs-ctl"), 0u);
  EXPECT_EQ(names(*m, "").count(".wkfs-status"), 0u);
}

// --- extended attributes -------------------------------------------------------------------------

TEST(CoreXattr, LayerAttributes) {
  Mount m;
  Ino layer = lookup_path(*m, "ds/color");
  EXPECT_EQ(m->getxattr(layer, "user.wk.bounding_box"), "0,0,0,24,24,24");
  EXPECT_EQ(m->getxattr(layer, "user.wk.num_channels"), "3");
  EXPECT_EQ(m->getxattr(layer, "user.wk.data_format"), "zarr3");
  EXPECT_EQ(m->getxattr(layer, "user.wk.finest_mag"), "1-1-1");
  auto list = m->listxattr(layer);
  for (const char* a : {"user.wk.category", "user.wk.bounding_box", "user.wk.num_channels", "user.wk.mags"})
    EXPECT_NE(list.find(std::string(a) + '\0'), std::string::npos) << a;

  m->setxattr(layer, "user.wk.bounding_box", "0,0,0,32,24,24", 0);
  auto box = (*find_layer(read_json(m.props_path()), "color"))["boundingBox"];
  EXPECT_EQ(box["topLeft"], Json::array({0, 0, 0}));
  EXPECT_EQ(box["width"], 32);
  EXPECT_EQ(box["height"], 24);
  EXPECT_EQ(box["depth"], 24);
  EXPECT_EQ(m->getxattr(layer, "user.wk.bounding_box"), "0,0,0,32,24,24");

  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->setxattr(layer, "user.wk.bounding_box", "1,2,3", 0); }), EINVAL);
  EXPECT_EQ(errno_from([&] { m->setxattr(layer, "user.wk.category", "segmentation", 0); }), EROFS);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreXattr, NonLayersAndUnsetNames) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  Ino mag = lookup_path(*m, "ds/color/1");
  Ino zarr = lookup_path(*m, "ds/color/1/zarr.json");
  Ino ctl = lookup_path(*m, "ds/color/.wkfs-ctl");
  // user.wk.* exists on layer folders only: setting it elsewhere is ENOTSUP, reading it ENODATA
  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->setxattr(ds, "user.wk.bounding_box", "0,0,0,1,1,1", 0); }), ENOTSUP);
  EXPECT_EQ(errno_from([&] { m->setxattr(mag, "user.wk.bounding_box", "0,0,0,1,1,1", 0); }), ENOTSUP);
  EXPECT_EQ(errno_from([&] { m->setxattr(zarr, "user.wk.bounding_box", "0,0,0,1,1,1", 0); }), ENOTSUP);
  EXPECT_EQ(errno_from([&] { m->getxattr(mag, "user.wk.bounding_box"); }), ENODATA);
  EXPECT_EQ(errno_from([&] { m->setxattr(ctl, "user.x", "1", 0); }), ENOTSUP);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
  // an unset attribute of a backing file
  EXPECT_EQ(errno_from([&] { m->getxattr(zarr, "user.not_set"); }), ENODATA);
  EXPECT_EQ(errno_from([&] { m->getxattr(ctl, "user.not_set"); }), ENODATA);
  EXPECT_EQ(errno_from([&] { m->removexattr(zarr, "user.not_set"); }), ENODATA);
  EXPECT_EQ(m->listxattr(ctl), "");
  // plain attributes pass through to the backing file (where the backing filesystem has them)
  if (::setxattr((m.src / "ds/color/1/zarr.json").c_str(), "user.probe", "1", 1, 0) != 0) {
    GTEST_SKIP() << "no user xattrs on " << m.src << ": " << std::strerror(errno);
  }
  ::removexattr((m.src / "ds/color/1/zarr.json").c_str(), "user.probe");
  m->setxattr(zarr, "user.note", "hello", 0);
  char buf[16] = {};
  EXPECT_EQ(::getxattr((m.src / "ds/color/1/zarr.json").c_str(), "user.note", buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "hello");
  EXPECT_EQ(m->getxattr(zarr, "user.note"), "hello");
  m->removexattr(zarr, "user.note");
  EXPECT_EQ(errno_from([&] { m->getxattr(zarr, "user.note"); }), ENODATA);
}

}  // namespace

namespace {

TEST(CoreLayerApi, MvOfLayerOntoAnExistingLayerChangesNothing) {
  Mount m;
  Ino ds = lookup_path(*m, "ds");
  auto ctl = m->open(lookup_path(*m, "ds/.wkfs-ctl"), O_WRONLY);
  write_str(*m, ctl, "add-layer seg --category segmentation --dtype uint8 --format zarr3");
  m->release(std::move(ctl.file));
  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->rename(ds, "color", ds, "seg", 0); }), EEXIST);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

// A layer folder moved into another dataset (not the name setter, which is within one dataset):
// the core renames the backing folder as a plain file, so the source dataset's properties list a
// layer whose folder is gone. Expected: refused (EXDEV, "a move that would leave its dataset" in
// engine/core/error.hpp, so mv(1) falls back to copy + rm -r through the Layer API), nothing changed.
TEST(CoreLayerApi, MvOfLayerIntoAnotherDatasetIsRefused) {
  Mount m(false, {{"simple_zarr3_dataset", "ds"}, {"simple_zarr3_dataset", "ds_b"}});
  Ino ds = lookup_path(*m, "ds");
  Ino ds_b = lookup_path(*m, "ds_b");
  const auto before = tree_digest(m.src);
  int err = errno_from([&] { m->rename(ds, "color", ds_b, "color2", 0); });
  EXPECT_EQ(err, EXDEV);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
  // whatever happened, the source dataset must not list a layer without its folder
  auto props = read_json(m.props_path("ds"));
  for (const auto& l : layers_of(props)) EXPECT_TRUE(fs::is_directory(m.src / "ds" / l)) << l;
}

}  // namespace

namespace {

// The Layer API and the passthrough on the other formats: Zarr v2 (mag folder "1-1-1", mag entry
// without path) and legacy WKW (wkwResolutions).
struct FormatCase {
  const char* fixture;
  const char* mag1_folder;
  const char* metadata_file;
};

class CoreFormats : public ::testing::TestWithParam<FormatCase> {};

TEST_P(CoreFormats, PassthroughMkdirAndRmROfMags) {
  const auto& p = GetParam();
  Mount m(false, {{p.fixture, "ds"}});
  // every file of mag 1 reads through the mount as stored
  auto files = listed_files(*m, std::string("ds/color/") + p.mag1_folder);
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) EXPECT_EQ(read_path(*m, f), file_text(m.src / f)) << f;
  Entry e = m->lookup(lookup_path(*m, "ds/color"), p.mag1_folder);
  EXPECT_TRUE(S_ISDIR(e.attr.st_mode));

  Ino layer = lookup_path(*m, "ds/color");
  m->mkdir(layer, "2", 0755);
  EXPECT_EQ(mags_of(read_json(m.props_path()), "color"), (Strings{"1-1-1", "2-2-2"}));
  EXPECT_TRUE(fs::is_regular_file(m.src / "ds/color/2" / p.metadata_file));
  EXPECT_EQ(errno_from([&] { m->mkdir(layer, "2", 0755); }), EEXIST);

  rm_r(*m, layer, p.mag1_folder);
  EXPECT_EQ(mags_of(read_json(m.props_path()), "color"), Strings{"2-2-2"});
  EXPECT_FALSE(fs::exists(m.src / "ds/color" / p.mag1_folder));
  rm_r(*m, layer, "2");
  EXPECT_EQ(mags_of(read_json(m.props_path()), "color"), Strings{});
  EXPECT_FALSE(fs::exists(m.src / "ds/color/2"));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CoreFormats,
                         ::testing::Values(FormatCase{"simple_zarr3_dataset", "1", "zarr.json"},
                                           FormatCase{"simple_zarr_dataset", "1-1-1", ".zarray"},
                                           FormatCase{"simple_wkw_dataset", "1", "header.wkw"}),
                         [](const auto& info) { return std::string(info.param.fixture); });

}  // namespace

namespace {

// cp -r of a registered mag into the mount: mkdir of a registered mag whose folder is missing is a
// plain mkdir (layer_api_ops.hpp), the properties stay as they are.
TEST(CoreLayerApi, MkdirOfARegisteredMagWithoutFolderIsAPlainMkdir) {
  Mount m;
  const auto props_before = file_text(m.props_path());
  const auto saved = m.tmp / "saved-mag";
  fs::rename(m.src / "ds/color/1", saved);
  Ino layer = lookup_path(*m, "ds/color");
  auto e = m->mkdir(layer, "1", 0755);
  EXPECT_TRUE(S_ISDIR(e.attr.st_mode));
  EXPECT_TRUE(fs::is_directory(m.src / "ds/color/1"));
  EXPECT_TRUE(fs::is_empty(m.src / "ds/color/1"));  // no array metadata written by wkfs
  EXPECT_EQ(file_text(m.props_path()), props_before);
  // the files copied in arrive as plain files
  auto [fe, fo] = m->create(e.ino, "zarr.json", 0644, O_WRONLY);
  const auto meta = file_text(saved / "zarr.json");
  write_str(*m, fo, meta);
  m->release(std::move(fo.file));
  EXPECT_EQ(file_text(m.src / "ds/color/1/zarr.json"), meta);
  EXPECT_EQ(file_text(m.props_path()), props_before);
}

}  // namespace
