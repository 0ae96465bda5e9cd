// The lazy overlay of the filesystem core, without a kernel mount (tests/e2e/lazy_pyramid.sh and
// the README's "Lazy pyramids" are the spec): `downsample` through the control file registers
// mags whose shard files are listed and stat-able before they exist, opening one computes it, and
// its bytes are the 2x2x2 reduction of mag 1, checked against a brute-force reference computed
// here. The backing properties list a lazy mag only once complete; the mount's view lists it at once.
#include "dataset/dataset.hpp"
#include "formats/array.hpp"
#include "unit/fs/core_test_helpers.hpp"

using namespace wkfs::test::core;
using wkfs::errno_of;
using Strings = std::vector<std::string>;

namespace {

Json ctl_ok(Filesystem& f, const std::string& dir, const std::string& command) {
  auto o = f.open(lookup_path(f, dir + "/.wkfs-ctl"), O_RDWR);
  write_str(f, o, command);
  auto reply = Json::parse(read_all(f, o));
  f.release(std::move(o.file));
  return reply;
}

/// Mag 1 of the fixture as (c, x, y, z) bytes, read through the library's Dataset.
std::vector<std::byte> read_mag1(const fs::path& dataset) {
  auto ds = wkfs::Dataset::open(dataset, true);
  auto view = ds->mag_view("color", wkfs::Mag(1, 1, 1));
  wkfs::BoundingBox box{wkfs::Vec3(0, 0, 0), wkfs::Vec3(24, 24, 24)};
  std::vector<std::byte> out(view->buffer_size(box));
  view->read(box, out);
  return out;
}

/// The max over each 2x2x2 block of a (3, 24, 24, 24) volume: (3, 12, 12, 12).
std::vector<uint8_t> max_downsample(const std::vector<std::byte>& v) {
  auto at = [&](int c, int x, int y, int z) { return static_cast<uint8_t>(v[((c * 24 + x) * 24 + y) * 24 + z]); };
  std::vector<uint8_t> out(3 * 12 * 12 * 12);
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 12; ++x)
      for (int y = 0; y < 12; ++y)
        for (int z = 0; z < 12; ++z) {
          uint8_t m = 0;
          for (int dx = 0; dx < 2; ++dx)
            for (int dy = 0; dy < 2; ++dy)
              for (int dz = 0; dz < 2; ++dz) m = std::max(m, at(c, 2 * x + dx, 2 * y + dy, 2 * z + dz));
          out[((c * 12 + x) * 12 + y) * 12 + z] = m;
        }
  return out;
}

struct LazyMount : Mount {
  Json reply;
  LazyMount() {
    reply = ctl_ok(**this, "ds/color", "downsample --interpolation-mode max");
  }
};

TEST(CoreLazy, DownsampleRegistersListedMagsWithoutComputing) {
  LazyMount m;
  ASSERT_EQ(m.reply["ok"], true) << m.reply.dump();
  const auto& mags = m.reply["result"]["mags"];
  ASSERT_FALSE(mags.empty()) << m.reply.dump();
  EXPECT_EQ(mags[0], "2");
  // metadata only in the backing folder
  EXPECT_TRUE(fs::is_regular_file(m.src / "ds/color/2/zarr.json"));
  EXPECT_FALSE(fs::exists(m.src / "ds/color/2/c"));
  // the mag folder lists its shard files (no control file, no temp files)
  EXPECT_EQ(names(*m, "ds/color/2"), (std::set<std::string>{"c", "zarr.json"}));
  auto files = listed_files(*m, "ds/color/2");
  EXPECT_EQ(files, (Strings{"ds/color/2/c/0/0/0/0", "ds/color/2/zarr.json"}));
  for (const auto& f : files)
    if (f != "ds/color/2/zarr.json") {
      EXPECT_FALSE(fs::exists(m.src / f)) << f << " computed by a listing";
    }
  // names that are not listed are not there
  EXPECT_EQ(errno_from([&] { m->lookup(lookup_path(*m, "ds/color/2/c/0/0/0"), "1"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { m->lookup(lookup_path(*m, "ds/color/2"), "d"); }), ENOENT);
  EXPECT_TRUE(S_ISDIR(m->lookup(lookup_path(*m, "ds/color/2"), "c").attr.st_mode));
  // every registered mag lists at least one data file
  for (const auto& mag : mags) {
    auto all = listed_files(*m, "ds/color/" + mag.get<std::string>());
    EXPECT_GE(all.size(), 2u) << mag;
  }
  // a listing computes nothing anywhere
  for (auto it = fs::recursive_directory_iterator(m.src / "ds/color"); it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file() && it->path().filename() != "zarr.json") {
      EXPECT_TRUE(it->path().string().find("/color/1/") != std::string::npos) << it->path();
    }
}

TEST(CoreLazy, BackingPropertiesListOnlyCompleteMagsTheMountShowsAll) {
  LazyMount m;
  const auto& mags = m.reply["result"]["mags"];
  EXPECT_EQ(mags_of(read_json(m.props_path()), "color"), Strings{"1-1-1"});
  auto view = Json::parse(read_path(*m, "ds/datasource-properties.json"));
  auto listed = mags_of(view, "color");
  EXPECT_EQ(listed.size(), 1 + mags.size()) << view.dump();
  EXPECT_NE(std::find(listed.begin(), listed.end(), "2-2-2"), listed.end());
  EXPECT_EQ(mag_path_of(view, "color", "2-2-2"), "./color/2");
  // the attributes of the properties file say the size of the view, not of the backing file
  auto a = m->getattr(lookup_path(*m, "ds/datasource-properties.json"), nullptr);
  EXPECT_EQ(a.st.st_size, static_cast<off_t>(read_path(*m, "ds/datasource-properties.json").size()));
  EXPECT_EQ(a.timeout, 0.0);
  // a lazy mag is a mag folder of the mount
  EXPECT_TRUE(S_ISDIR(m->lookup(lookup_path(*m, "ds/color"), "2").attr.st_mode));
}

TEST(CoreLazy, OpeningALazyFileComputesTheDownsampledData) {
  LazyMount m;
  const std::string rel = "ds/color/2/c/0/0/0/0";
  const auto backing = m.src / rel;
  ASSERT_FALSE(fs::exists(backing));
  // lookup and getattr before it is computed: a regular file with an upper bound of its size
  auto e = m->lookup(lookup_path(*m, "ds/color/2/c/0/0/0"), "0");
  ASSERT_TRUE(S_ISREG(e.attr.st_mode));
  const off_t estimate = e.attr.st_size;
  EXPECT_GT(estimate, 0);
  EXPECT_EQ(m->getattr(e.ino, nullptr).st.st_size, estimate);
  EXPECT_TRUE(S_ISREG(m->getattr(e.ino, nullptr).st.st_mode));
  EXPECT_FALSE(fs::exists(backing)) << "stat computed the file";
  // an unset xattr of a lazy file: ENODATA, not ENOENT
  EXPECT_EQ(errno_from([&] { m->getxattr(e.ino, "user.x"); }), ENODATA);

  // open computes it
  auto o = m->open(e.ino, O_RDONLY);
  ASSERT_TRUE(fs::is_regular_file(backing));
  const auto size = static_cast<off_t>(fs::file_size(backing));
  EXPECT_LE(size, estimate);
  EXPECT_EQ(m->getattr(e.ino, o.file.get()).st.st_size, size);
  const auto bytes = read_all(*m, o);
  m->release(std::move(o.file));
  EXPECT_EQ(bytes, file_text(backing));
  EXPECT_EQ(m->getattr(e.ino, nullptr).st.st_size, size);

  // decode the stored mag with the array reader and compare with the brute-force reduction of mag 1
  const auto mag1 = read_mag1(m.src / "ds");
  for (int x = 0; x < 24; x += 5)  // mag 1 is the fixture pattern (the reference's own input)
    for (int y = 0; y < 24; y += 3)
      for (int z = 0; z < 24; ++z)
        ASSERT_EQ(static_cast<uint8_t>(mag1[((1 * 24 + x) * 24 + y) * 24 + z]), wkfs::test::fixture_value(x, y, z));
  const auto want = max_downsample(mag1);
  auto array = wkfs::open_array(m.src / "ds/color/2");
  ASSERT_EQ(array->meta().shape.size(), 4u);
  EXPECT_EQ(array->meta().shape[0], 3);
  EXPECT_GE(array->meta().shape[1], 12);  // the library rounds up to whole shards
  std::vector<std::byte> got(want.size());
  wkfs::NdBox box;
  box.begin = {0, 0, 0, 0};
  box.shape = {3, 12, 12, 12};
  array->read(box, got);
  size_t diffs = 0;
  for (size_t i = 0; i < want.size(); ++i) diffs += static_cast<uint8_t>(got[i]) != want[i];
  EXPECT_EQ(diffs, 0u) << "first voxel (0,0,0,0): got " << int(got[0]) << " want " << int(want[0]);
  // not all zero (the fixture is not)
  EXPECT_NE(std::count(want.begin(), want.end(), 0), static_cast<long>(want.size()));

  // the one file of mag 2 is computed: the mag is complete, the backing properties may list it
  // (checked only for consistency: a listed mag has all its files)
  auto stored = mags_of(read_json(m.props_path()), "color");
  if (std::find(stored.begin(), stored.end(), "2-2-2") != stored.end()) {
    EXPECT_TRUE(fs::exists(backing));
  }
  // a second open reads the stored file
  EXPECT_EQ(read_path(*m, rel), bytes);
}

TEST(CoreLazy, RmdirOfPendingLazyMagUnregistersIt) {
  LazyMount m;
  const auto& mags = m.reply["result"]["mags"];
  Ino layer = lookup_path(*m, "ds/color");
  // coarsest first: a finer pending mag is the source of the coarser ones
  for (auto it = mags.rbegin(); it != mags.rend(); ++it) rm_r(*m, layer, it->get<std::string>());
  EXPECT_EQ(mags_of(Json::parse(read_path(*m, "ds/datasource-properties.json")), "color"), Strings{"1-1-1"});
  EXPECT_EQ(mags_of(read_json(m.props_path()), "color"), Strings{"1-1-1"});
  EXPECT_FALSE(fs::exists(m.src / "ds/color/2"));
  EXPECT_EQ(errno_from([&] { m->lookup(layer, "2"); }), ENOENT);
  EXPECT_EQ(names(*m, "ds/color"), (std::set<std::string>{"1", "zarr.json"}));
}

TEST(CoreLazy, WriteToSourceMakesComputedFileStale) {
  LazyMount m;
  const std::string rel = "ds/color/2/c/0/0/0/0";
  read_path(*m, rel);
  ASSERT_TRUE(fs::exists(m.src / rel));
  // rewrite the mag-1 shard through the mount with its own bytes: a change all the same
  Ino shard = lookup_path(*m, "ds/color/1/c/0/0/0/0");
  const auto original = file_text(m.src / "ds/color/1/c/0/0/0/0");
  auto o = m->open(shard, O_WRONLY);
  write_str(*m, o, original);
  m->flush(*o.file);
  EXPECT_FALSE(fs::exists(m.src / rel)) << "the dependent lazy file is still stored after close()";
  m->release(std::move(o.file));
  // still listed and stat-able, and computed again on open
  EXPECT_EQ(listed_files(*m, "ds/color/2"), (Strings{rel, "ds/color/2/zarr.json"}));
  read_path(*m, rel);
  EXPECT_TRUE(fs::exists(m.src / rel));
}

}  // namespace

namespace {

TEST(CoreLazy, PropertiesWrittenThroughTheMountKeepPendingMagsOutOfTheBacking) {
  LazyMount m;
  // an editor reads the mount's view (with the pending mags), edits it and writes it back
  auto view = Json::parse(read_path(*m, "ds/datasource-properties.json"));
  ASSERT_EQ(mags_of(view, "color").size(), 1 + m.reply["result"]["mags"].size());
  view["dataLayers"][0]["defaultViewConfiguration"] = Json{{"color", {7, 8, 9}}};
  auto o = m->open(lookup_path(*m, "ds/datasource-properties.json"), O_WRONLY | O_TRUNC);
  write_str(*m, o, view.dump(2));
  m->flush(*o.file);
  m->release(std::move(o.file));
  auto stored = read_json(m.props_path());
  EXPECT_EQ(stored["dataLayers"][0]["defaultViewConfiguration"], (Json{{"color", {7, 8, 9}}}));
  EXPECT_EQ(mags_of(stored, "color"), Strings{"1-1-1"});  // still pending: not in the backing
  auto after = Json::parse(read_path(*m, "ds/datasource-properties.json"));
  EXPECT_EQ(mags_of(after, "color"), mags_of(view, "color"));  // the mount still shows them
  EXPECT_EQ(after["dataLayers"][0]["defaultViewConfiguration"], (Json{{"color", {7, 8, 9}}}));
}

TEST(CoreLazy, MkdirOfAPendingLazyMagIsEexist) {
  LazyMount m;
  Ino layer = lookup_path(*m, "ds/color");
  const auto before = tree_digest(m.src);
  EXPECT_EQ(errno_from([&] { m->mkdir(layer, "2", 0755); }), EEXIST);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

TEST(CoreLazy, MvOfLayerTakesItsLazyMagsAlong) {
  LazyMount m;
  Ino ds = lookup_path(*m, "ds");
  m->rename(ds, "color", ds, "colour", 0);
  auto view = Json::parse(read_path(*m, "ds/datasource-properties.json"));
  EXPECT_EQ(layers_of(view), Strings{"colour"});
  EXPECT_EQ(mag_path_of(view, "colour", "2-2-2"), "./colour/2");
  EXPECT_EQ(mags_of(read_json(m.props_path()), "colour"), Strings{"1-1-1"});
  EXPECT_EQ(listed_files(*m, "ds/colour/2"), (Strings{"ds/colour/2/c/0/0/0/0", "ds/colour/2/zarr.json"}));
  EXPECT_GT(read_path(*m, "ds/colour/2/c/0/0/0/0").size(), 0u);
  EXPECT_TRUE(fs::exists(m.src / "ds/colour/2/c/0/0/0/0"));
}

// What the mount shows as datasource-properties.json must not depend on the open mode: a reader
// through the mount sees the pending lazy mags (README "The backing dataset stays honest").
TEST(CoreLazy, PropertiesOpenedForReadWriteShowTheMountsView) {
  LazyMount m;
  const auto view = read_path(*m, "ds/datasource-properties.json");
  Ino props = lookup_path(*m, "ds/datasource-properties.json");
  auto o = m->open(props, O_RDWR);
  const auto through_rw = read_all(*m, o);
  EXPECT_EQ(m->getattr(props, o.file.get()).st.st_size, m->getattr(props, nullptr).st.st_size);
  m->release(std::move(o.file));
  EXPECT_EQ(mags_of(Json::parse(through_rw), "color"), mags_of(Json::parse(view), "color"));
}

TEST(CoreLazy, ReadOnlyCoreOverPendingLazyMags) {
  LazyMount m;
  m.core.reset();
  const auto before = tree_digest(m.src);
  FilesystemConfig c;
  c.source = m.src;
  c.mountpoint = kMountpoint;
  c.read_only = true;
  c.log = nullptr;
  c.lazy.threads = 1;
  Filesystem ro(std::move(c));
  // the pending mags are still shown, as read-only files
  auto view = Json::parse(read_path(ro, "ds/datasource-properties.json"));
  EXPECT_EQ(mags_of(view, "color").size(), 1 + m.reply["result"]["mags"].size());
  auto e = ro.lookup(lookup_path(ro, "ds/color/2/c/0/0/0"), "0");
  EXPECT_TRUE(S_ISREG(e.attr.st_mode));
  EXPECT_EQ(e.attr.st_mode & 0222, 0u);
  // a command that would compute or register is refused
  auto o = ro.open(lookup_path(ro, "ds/color/.wkfs-ctl"), O_WRONLY);
  EXPECT_EQ(errno_from([&] { write_str(ro, o, "materialize"); }), EROFS);
  // the commands that only read run (and their reply is the file's content)
  for (const char* cmd : {"lazy-status", "info", "help add-mag"}) {
    EXPECT_EQ(errno_from([&] { write_str(ro, o, cmd); }), 0) << cmd;
    auto reply = Json::parse(read_all(ro, o));
    EXPECT_EQ(reply["ok"], true) << cmd << ": " << reply.dump();
  }
  ro.release(std::move(o.file));
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
}

}  // namespace

namespace {

TEST(CoreLazy, SourceOfAPendingLazyMagCannotGo) {
  LazyMount m;
  const auto& mags = m.reply["result"]["mags"];
  ASSERT_GE(mags.size(), 2u) << m.reply.dump();  // 2 and a coarser one computed from it
  Ino layer = lookup_path(*m, "ds/color");
  const auto before = tree_digest(m.src);
  const auto view_before = read_path(*m, "ds/datasource-properties.json");
  // the folder holds its metadata: a plain rmdir is ENOTEMPTY
  EXPECT_EQ(errno_from([&] { m->rmdir(layer, "2"); }), ENOTEMPTY);
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
  // ctl delete-mag of it is refused (ENOTEMPTY: it has a dependent) and changes nothing
  // (tests/e2e/lazy_layer_ops.sh)
  auto o = m->open(lookup_path(*m, "ds/color/.wkfs-ctl"), O_RDWR);
  EXPECT_EQ(errno_from([&] { write_str(*m, o, "delete-mag 2"); }), ENOTEMPTY);
  EXPECT_NE(Json::parse(read_all(*m, o))["error"].get<std::string>().find("source of lazy mag"), std::string::npos);
  m->release(std::move(o.file));
  EXPECT_EQ(changes(before, tree_digest(m.src)), "");
  EXPECT_EQ(read_path(*m, "ds/datasource-properties.json"), view_before);
}

// rm -r of the source of a pending lazy mag: rm(1) unlinks the files first (the mag's zarr.json is a
// plain unlink) and only the final rmdir is refused, so the pending coarser mag is left without
// its source's metadata. Expected as with ctl delete-mag: refused with nothing changed, the
// coarser mag still computable.
TEST(CoreLazy, RmROfTheSourceOfAPendingLazyMagLeavesItIntact) {
  LazyMount m;
  const auto& mags = m.reply["result"]["mags"];
  ASSERT_GE(mags.size(), 2u) << m.reply.dump();
  const std::string coarser = mags[1].get<std::string>();
  Ino layer = lookup_path(*m, "ds/color");
  int err = errno_from([&] { rm_r(*m, layer, "2"); });
  EXPECT_EQ(err, ENOTEMPTY);  // as ctl delete-mag answers
  EXPECT_TRUE(fs::is_regular_file(m.src / "ds/color/2/zarr.json")) << "the source mag's metadata is gone";
  auto files = listed_files(*m, "ds/color/" + coarser);
  ASSERT_FALSE(files.empty());
  int read_err = errno_from([&] { read_path(*m, files.front()); });
  EXPECT_EQ(read_err, 0) << files.front() << " cannot be computed any more";
}

TEST(CoreLazy, RmROfALazyMagWithAComputedFileRemovesIt) {
  LazyMount m;
  const auto& mags = m.reply["result"]["mags"];
  Ino layer = lookup_path(*m, "ds/color");
  read_path(*m, "ds/color/2/c/0/0/0/0");
  ASSERT_TRUE(fs::exists(m.src / "ds/color/2/c/0/0/0/0"));
  for (auto it = mags.rbegin(); it != mags.rend(); ++it) rm_r(*m, layer, it->get<std::string>());
  EXPECT_FALSE(fs::exists(m.src / "ds/color/2"));
  EXPECT_EQ(mags_of(read_json(m.props_path()), "color"), Strings{"1-1-1"});
  EXPECT_EQ(mags_of(Json::parse(read_path(*m, "ds/datasource-properties.json")), "color"), Strings{"1-1-1"});
  auto lazy = read_json(m.src / "ds/.wkfs/lazy.json");
  EXPECT_TRUE(lazy["mags"].empty()) << lazy.dump();
  // mag 1 is untouched
  EXPECT_EQ(file_text(m.src / "ds/color/1/zarr.json"),
            file_text(wkfs::test::fixture("simple_zarr3_dataset") / "color/1/zarr.json"));
}

}  // namespace
