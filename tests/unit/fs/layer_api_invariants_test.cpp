// The dataset invariant through the filesystem core (issue 11, items 3, 4, 9, 14): at every moment
// the backing properties list only mags whose folders and array metadata exist and decode; an
// error reply changes nothing; nothing outside SOURCE is written; a control write is one command.
#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include <cstdio>
#include <set>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "fs/filesystem.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
using namespace wkfs::mount;

namespace {

std::unique_ptr<Filesystem> make_fs(const fs::path& source) {
  FilesystemConfig c;
  c.source = source;
  c.mountpoint = "/mnt/x";
  c.log = nullptr;
  return std::make_unique<Filesystem>(std::move(c));
}

Ino ino_of(Filesystem& f, const fs::path& rel) {
  Ino ino = kRootIno;
  for (const auto& c : rel) ino = f.lookup(ino, c.string()).ino;
  return ino;
}

template <typename F>
int errno_from(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return errno_of(e);
  }
  return 0;
}

// The mags the backing properties list (read from disk, as the library would).
std::set<std::string> listed_mags(const fs::path& root, const std::string& layer = "color") {
  auto ds = Dataset::open(root, true);
  std::set<std::string> out;
  const auto props = ds->properties();
  for (const auto& m : props.find_layer(layer)->mags) out.insert(m.mag.long_name());
  return out;
}

// The invariant: every listed mag's folder holds an array that opens.
void expect_valid(const fs::path& root) {
  auto ds = Dataset::open(root, true);
  const auto props = ds->properties();
  for (const auto& l : props.layers)
    for (const auto& m : l.mags) EXPECT_NO_THROW(ds->mag_view(l.name, m.mag)) << l.name << " " << m.mag.long_name();
}

struct Mounted {
  test::TempDir tmp;
  fs::path root = test::copy_fixture("simple_zarr3_dataset", tmp.path());
  std::unique_ptr<Filesystem> f = make_fs(root);
  Ino color = ino_of(*f, "color");
};

}  // namespace

TEST(LayerApiInvariants, MkdirOfANonCanonicalMagNameChangesNothing) {
  Mounted m;
  for (const char* name : {"02", "2-2-2", "002-2-2"}) {
    EXPECT_EQ(errno_from([&] { m.f->mkdir(m.color, name, 0755); }), EINVAL) << name;
    EXPECT_EQ(listed_mags(m.root), std::set<std::string>{"1-1-1"}) << name;
    EXPECT_FALSE(fs::exists(m.root / "color" / "2")) << name;
  }
  m.f->mkdir(m.color, "2", 0755);  // the canonical name works
  EXPECT_EQ(listed_mags(m.root), (std::set<std::string>{"1-1-1", "2-2-2"}));
  EXPECT_EQ(errno_from([&] { m.f->mkdir(m.color, "2-2-1", 0755); }), 0);  // anisotropic: long == short
}

TEST(LayerApiInvariants, RmOfAListedMagsMetadataUnlistsItFirst) {
  Mounted m;
  m.f->mkdir(m.color, "2", 0755);
  Ino mag = ino_of(*m.f, "color/2");
  m.f->unlink(mag, "zarr.json");
  EXPECT_EQ(listed_mags(m.root), std::set<std::string>{"1-1-1"});
  EXPECT_FALSE(fs::exists(m.root / "color/2/zarr.json"));
  expect_valid(m.root);
  m.f->rmdir(m.color, "2");  // the rest of rm -r: an unlisted, empty folder
  EXPECT_FALSE(fs::exists(m.root / "color/2"));
}

TEST(LayerApiInvariants, RmMinusROfAMagKeepsTheDatasetValidAtEveryStep) {
  Mounted m;
  // rm -r: every file (in listing order, chunk files and metadata mixed), then the folders
  std::vector<fs::path> files, dirs;
  for (const auto& e : fs::recursive_directory_iterator(m.root / "color/1")) {
    auto rel = fs::relative(e.path(), m.root);
    (e.is_directory() ? dirs : files).push_back(rel);
  }
  for (const auto& rel : files) {
    m.f->unlink(ino_of(*m.f, rel.parent_path()), rel.filename().string());
    expect_valid(m.root);  // a kill here leaves a valid dataset
  }
  std::sort(dirs.rbegin(), dirs.rend());
  for (const auto& rel : dirs) m.f->rmdir(ino_of(*m.f, rel.parent_path()), rel.filename().string());
  m.f->rmdir(m.color, "1");
  EXPECT_TRUE(listed_mags(m.root).empty());
  EXPECT_FALSE(fs::exists(m.root / "color/1"));
}

TEST(LayerApiInvariants, MvOfAMagIsRefusedWithEbusy) {
  Mounted m;
  EXPECT_EQ(errno_from([&] { m.f->rename(m.color, "1", m.color, "2", 0); }), EBUSY);
  EXPECT_TRUE(fs::exists(m.root / "color/1/zarr.json"));
  EXPECT_EQ(listed_mags(m.root), std::set<std::string>{"1-1-1"});
  Ino mag = ino_of(*m.f, "color/1");
  EXPECT_EQ(errno_from([&] { m.f->rename(mag, "zarr.json", m.color, "moved.json", 0); }), EBUSY);
  EXPECT_TRUE(fs::exists(m.root / "color/1/zarr.json"));
  // a plain folder renamed onto a mag folder
  m.f->mkdir(m.color, "other", 0755);
  EXPECT_EQ(errno_from([&] { m.f->rename(m.color, "other", m.color, "1", 0); }), EBUSY);
  expect_valid(m.root);
}

TEST(LayerApiInvariants, MvOfALayerIntoAnotherDatasetIsExdev) {
  test::TempDir tmp;
  fs::create_directories(tmp / "src");
  auto a = test::copy_fixture("simple_zarr3_dataset", tmp / "src");
  fs::rename(a, tmp / "src" / "a");
  auto b = test::copy_fixture("simple_zarr3_dataset", tmp / "src");
  fs::rename(b, tmp / "src" / "b");
  auto f = make_fs(tmp / "src");
  Ino da = ino_of(*f, "a"), db = ino_of(*f, "b");
  EXPECT_EQ(errno_from([&] { f->rename(da, "color", db, "color2", 0); }), EXDEV);
  EXPECT_TRUE(fs::exists(tmp / "src/a/color/1/zarr.json"));
  EXPECT_FALSE(fs::exists(tmp / "src/b/color2"));
  EXPECT_EQ(listed_mags(tmp / "src/a"), std::set<std::string>{"1-1-1"});
  f->rename(da, "color", da, "colour", 0);  // within its dataset: the name setter
  EXPECT_TRUE(fs::exists(tmp / "src/a/colour/1/zarr.json"));
}

TEST(LayerApiInvariants, APropertiesFileWithAMagPathOutsideAMagIsRefused) {
  Mounted m;
  auto text = wkfs::read_file(m.root / kPropertiesFile);
  std::string s(reinterpret_cast<const char*>(text.data()), text.size());
  auto at = s.find("\"./color/1\"");
  ASSERT_NE(at, std::string::npos);
  s.replace(at, std::string("\"./color/1\"").size(), "\"/etc\"");
  write_file_atomic(m.root / "props.tmp", s);
  EXPECT_EQ(errno_from([&] { m.f->rename(kRootIno, "props.tmp", kRootIno, kPropertiesFile, 0); }), EINVAL);
  expect_valid(m.root);
}

TEST(LayerApiInvariants, APlainLinkRenamedToAMagNameIsNeverWrittenThrough) {
  Mounted m;
  test::TempDir outside;
  m.f->symlink(outside.path().string(), m.color, "x");
  // renamed to a mag name: a plain link (not listed); add_mag must not write through it
  m.f->rename(m.color, "x", m.color, "4", 0);
  EXPECT_NE(errno_from([&] { m.f->mkdir(m.color, "4", 0755); }), 0);
  EXPECT_NE(errno_from([&] { Dataset::open(m.root)->add_mag("color", Mag(4, 4, 4)); }), 0);
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_EQ(listed_mags(m.root), std::set<std::string>{"1-1-1"});
}

TEST(LayerApiInvariants, NothingChangesInsideASymlinkedForeignMag) {
  Mounted m;
  test::TempDir other;
  auto foreign = test::copy_fixture("simple_zarr3_dataset", other.path());
  Dataset::open(foreign)->add_mag("color", Mag(2, 2, 2));
  m.f->symlink((foreign / "color/2").string(), m.color, "2");
  EXPECT_EQ(listed_mags(m.root), (std::set<std::string>{"1-1-1", "2-2-2"}));
  Ino mag = ino_of(*m.f, "color/2");
  EXPECT_EQ(errno_from([&] { m.f->unlink(mag, "zarr.json"); }), EROFS);
  EXPECT_EQ(errno_from([&] { m.f->mkdir(mag, "d", 0755); }), EROFS);
  EXPECT_TRUE(fs::exists(foreign / "color/2/zarr.json"));
  EXPECT_FALSE(fs::exists(foreign / "color/2/d"));
  m.f->unlink(m.color, "2");  // rm of the link is delete_mag: unlisted, the link goes, data stays
  EXPECT_EQ(listed_mags(m.root), std::set<std::string>{"1-1-1"});
  EXPECT_FALSE(fs::exists(fs::symlink_status(m.root / "color/2")));
  EXPECT_TRUE(fs::exists(foreign / "color/2/zarr.json"));
}

std::string text_of(const fs::path& p) {
  auto bytes = read_file(p);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Item 9 through a real mount: the kernel follows a link itself, so a mag link answered with its
// real target let writes inside it go there unseen. readlink leads into the read-only link view.
TEST(LayerApiInvariants, AMagLinkOutsideItsDatasetLeadsIntoTheReadOnlyLinkView) {
  Mounted m;
  test::TempDir other;
  auto foreign = test::copy_fixture("simple_zarr3_dataset", other.path());
  Dataset::open(foreign)->add_mag("color", Mag(2, 2, 2));
  m.f->symlink((foreign / "color/2").string(), m.color, "2");
  Ino link = ino_of(*m.f, "color/2");
  EXPECT_EQ(m.f->readlink(link), "../.wkfs-links/color/2");  // the mount root is the dataset here
  EXPECT_EQ(errno_from([&] { m.f->readlink(ino_of(*m.f, "color/1")); }), EINVAL);  // a folder, no link
  EXPECT_TRUE(S_ISDIR(m.f->getattr(ino_of(*m.f, ".wkfs-links/color/2"), nullptr).st.st_mode));  // no link to follow
  Ino mag = ino_of(*m.f, ".wkfs-links/color/2");
  // reads work
  auto opened = m.f->open(ino_of(*m.f, ".wkfs-links/color/2/zarr.json"), O_RDONLY);
  char buf[64];
  EXPECT_GT(m.f->read(*opened.file, buf, sizeof buf, 0), 0u);
  m.f->release(std::move(opened.file));
  // every change is refused
  const Ino meta = ino_of(*m.f, ".wkfs-links/color/2/zarr.json");
  const std::string before = text_of(foreign / "color/2/zarr.json");
  EXPECT_EQ(errno_from([&] { m.f->open(meta, O_WRONLY); }), EROFS);
  EXPECT_EQ(errno_from([&] { m.f->open(meta, O_RDWR | O_TRUNC); }), EROFS);
  EXPECT_EQ(errno_from([&] { m.f->create(mag, "new", 0644, O_WRONLY); }), EROFS);
  SetAttr truncate;
  truncate.size = 0;
  EXPECT_EQ(errno_from([&] { m.f->setattr(meta, truncate, nullptr); }), EROFS);
  EXPECT_EQ(errno_from([&] { m.f->setxattr(meta, "user.x", "1", 0); }), EROFS);
  EXPECT_EQ(errno_from([&] { m.f->unlink(mag, "zarr.json"); }), EROFS);
  EXPECT_EQ(errno_from([&] { m.f->mkdir(mag, "d", 0755); }), EROFS);
  EXPECT_EQ(errno_from([&] { m.f->rename(mag, "zarr.json", mag, "moved", 0); }), EROFS);
  EXPECT_EQ(text_of(foreign / "color/2/zarr.json"), before);
  EXPECT_FALSE(fs::exists(foreign / "color/2/new"));
  EXPECT_FALSE(fs::exists(foreign / "color/2/d"));
  // the view shows symlinked mags only
  EXPECT_EQ(errno_from([&] { ino_of(*m.f, ".wkfs-links/color/1/zarr.json"); }), ENOENT);
  EXPECT_EQ(errno_from([&] { ino_of(*m.f, ".wkfs-links/datasource-properties.json"); }), ENOENT);
}

// --- control writes -------------------------------------------------------------------------------

namespace {

std::string read_all(Filesystem& f, OpenFile& file) {
  std::string out(4096, '\0');
  out.resize(f.read(file, out.data(), out.size(), 0));
  return out;
}

}  // namespace

TEST(ControlWrites, InvalidUtf8IsEinvalWithThisCommandsReply) {
  Mounted m;
  Ino ctl = ino_of(*m.f, "color/" + std::string(kControlFile));
  auto ok = m.f->open(ctl, O_RDWR);
  std::string info = "info";
  m.f->write(*ok.file, info.data(), info.size(), 0);
  EXPECT_NE(read_all(*m.f, *ok.file).find("\"ok\":true"), std::string::npos);
  std::string bad = "add-mag \xff\xfe";
  EXPECT_EQ(errno_from([&] { m.f->write(*ok.file, bad.data(), bad.size(), 0); }), EINVAL);
  auto reply = read_all(*m.f, *ok.file);
  EXPECT_NE(reply.find("\"ok\":false"), std::string::npos) << reply;
  EXPECT_NE(reply.find("UTF-8"), std::string::npos) << reply;
}

TEST(ControlWrites, TwoLinesAreRefusedAndNothingRuns) {
  Mounted m;
  Ino ctl = ino_of(*m.f, "color/" + std::string(kControlFile));
  auto h = m.f->open(ctl, O_RDWR);
  std::string two = "add-mag 2\nadd-mag 4\n";
  EXPECT_EQ(errno_from([&] { m.f->write(*h.file, two.data(), two.size(), 0); }), EINVAL);
  EXPECT_NE(read_all(*m.f, *h.file).find("one command per write"), std::string::npos);  // says why
  EXPECT_EQ(listed_mags(m.root), std::set<std::string>{"1-1-1"});
  std::string one = "add-mag 2\n";  // one command with its newline is fine
  m.f->write(*h.file, one.data(), one.size(), 0);
  EXPECT_EQ(listed_mags(m.root), (std::set<std::string>{"1-1-1", "2-2-2"}));
}

TEST(ControlWrites, AnOverlongPathArgumentIsEnametoolong) {
  Mounted m;
  Ino ctl = ino_of(*m.f, "color/" + std::string(kControlFile));
  auto h = m.f->open(ctl, O_RDWR);
  std::string cmd = "add-symlink-mag /tmp/" + std::string(300, 'a');
  EXPECT_EQ(errno_from([&] { m.f->write(*h.file, cmd.data(), cmd.size(), 0); }), ENAMETOOLONG);
  EXPECT_NE(read_all(*m.f, *h.file).find("\"ok\":false"), std::string::npos);
}

TEST(LayerApiInvariants, RmMinusROfAPendingLazyMagsSourceKeepsItListedAndReadable) {
  Mounted m;
  Ino ctl = ino_of(*m.f, "color/" + std::string(kControlFile));
  auto h = m.f->open(ctl, O_RDWR);
  std::string cmd = "downsample-mag 1 2";
  m.f->write(*h.file, cmd.data(), cmd.size(), 0);
  Ino mag = ino_of(*m.f, "color/1");
  // the metadata of a mag a pending lazy mag is computed from cannot go: nothing changes
  EXPECT_EQ(errno_from([&] { m.f->unlink(mag, "zarr.json"); }), ENOTEMPTY);
  EXPECT_EQ(listed_mags(m.root), std::set<std::string>{"1-1-1"});
  expect_valid(m.root);
  // every file the mount lists in the lazy mag still reads
  Ino lazy = ino_of(*m.f, "color/2");
  auto dir = m.f->opendir(lazy);
  EXPECT_NO_THROW(m.f->open(ino_of(*m.f, "color/2/zarr.json"), O_RDONLY));
  (void)dir;
}

TEST(LayerApiInvariants, RmROfAPendingLazyMagRemovesItWhateverOrderRmUses) {
  Mounted m;
  Ino ctl = ino_of(*m.f, "color/" + std::string(kControlFile));
  auto h = m.f->open(ctl, O_RDWR);
  std::string cmd = "downsample-mag 1 2";
  m.f->write(*h.file, cmd.data(), cmd.size(), 0);
  auto mounted_properties = [&] {
    auto props = m.f->open(ino_of(*m.f, kPropertiesFile), O_RDONLY);
    std::string text(65536, '\0');
    text.resize(m.f->read(*props.file, text.data(), text.size(), 0));
    return text;
  };
  ASSERT_NE(mounted_properties().find("\"./color/2\""), std::string::npos);  // pending: shown by the mount
  Ino mag = ino_of(*m.f, "color/2");
  // rm -r read the folder first, then removes the metadata before the other names it listed:
  // every one of them must still go without ENOENT, and the folder last
  std::vector<std::string> listed;
  const auto dir = m.f->opendir(mag);
  for (const auto& e : dir->entries)
    if (e.name != "." && e.name != "..") listed.push_back(e.name);
  ASSERT_GT(listed.size(), 1u);
  std::stable_partition(listed.begin(), listed.end(), [](const std::string& n) { return n == "zarr.json"; });
  for (const auto& n : listed) {
    auto e = m.f->lookup(mag, n);
    if (S_ISDIR(e.attr.st_mode)) {
      std::function<void(Ino, const std::string&)> rm_r = [&](Ino parent, const std::string& name) {
        auto entry = m.f->lookup(parent, name);
        if (!S_ISDIR(entry.attr.st_mode)) return m.f->unlink(parent, name);
        std::vector<std::string> kids;
        const auto sub = m.f->opendir(entry.ino);
        for (const auto& k : sub->entries)
          if (k.name != "." && k.name != "..") kids.push_back(k.name);
        for (const auto& k : kids) rm_r(entry.ino, k);
        m.f->rmdir(parent, name);
      };
      rm_r(mag, n);
    } else {
      m.f->unlink(mag, n);
    }
  }
  m.f->rmdir(ino_of(*m.f, "color"), "2");
  EXPECT_EQ(mounted_properties().find("\"./color/2\""), std::string::npos);
  EXPECT_EQ(listed_mags(m.root), std::set<std::string>{"1-1-1"});
  EXPECT_FALSE(fs::exists(m.root / "color/2"));
}
