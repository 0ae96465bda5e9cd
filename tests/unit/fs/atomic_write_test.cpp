// Issue 11 items 2 and 12 against the filesystem core, without a kernel mount: a chunk file opened
// for writing is replaced whole at fsync/close (a crash before leaves the old version), a file
// created through the mount appears only complete, and a file changed behind the mount's back
// drops the kernel's cache at the next open.
#include <gtest/gtest.h>

#include <fcntl.h>

#include "core/file_io.hpp"
#include "dataset/dataset.hpp"
#include "fs/filesystem.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
using namespace wkfs::mount;

namespace {

struct Mounted {
  test::TempDir tmp;
  std::shared_ptr<Dataset> ds;
  std::unique_ptr<Filesystem> fs;
  fs::path chunk_rel;  // a chunk file of mag 1, relative to the dataset
  Bytes other;         // another chunk file's bytes: a valid new version

  Mounted() {
    ds = Dataset::create(tmp / "ds", VoxelSize{{1, 1, 1}, "nanometer"});
    LayerSpec spec;
    spec.name = "color";
    spec.data_format = DataFormat::Zarr;
    spec.bounding_box = BoundingBox{{0, 0, 0}, {64, 32, 32}};
    ds->add_layer(spec);
    MagOptions mo;
    mo.chunk_shape = Vec3{32, 32, 32};
    ds->add_mag("color", Mag(1, 1, 1), mo);
    Bytes data(64 * 32 * 32);
    for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(static_cast<uint8_t>(i * 7 % 253));
    auto view = ds->mag_view("color", Mag(1, 1, 1));
    view->write(*spec.bounding_box, data);
    chunk_rel = fs::relative(view->array().shard_path(VecN{0, 0, 0, 0}), tmp / "ds");
    other = read_file(view->array().shard_path(VecN{0, 1, 0, 0}));
    FilesystemConfig cfg;
    cfg.source = tmp / "ds";
    cfg.mountpoint = tmp / "mnt";
    cfg.log = nullptr;
    fs = std::make_unique<Filesystem>(cfg);
  }
  Ino node(const fs::path& rel) {
    Ino ino = kRootIno;
    for (const auto& part : rel) ino = fs->lookup(ino, part.string()).ino;
    return ino;
  }
  Bytes backing() { return read_file(tmp / "ds" / chunk_rel); }
};

}  // namespace

TEST(AtomicWrite, ATruncatingRewriteIsInvisibleUntilFsync) {
  Mounted m;
  const Bytes old = m.backing();
  auto o = m.fs->open(m.node(m.chunk_rel), O_WRONLY | O_TRUNC);
  EXPECT_EQ(m.backing(), old);  // O_TRUNC did not touch the file
  m.fs->write(*o.file, reinterpret_cast<const char*>(m.other.data()), m.other.size() / 2, 0);
  EXPECT_EQ(m.backing(), old);  // a crash now leaves the old version
  m.fs->write(*o.file, reinterpret_cast<const char*>(m.other.data()) + m.other.size() / 2,
              m.other.size() - m.other.size() / 2, static_cast<off_t>(m.other.size() / 2));
  m.fs->fsync(*o.file, false);
  EXPECT_EQ(m.backing(), m.other);  // durable and complete
  m.fs->release(std::move(o.file));
  EXPECT_EQ(m.backing(), m.other);
  EXPECT_EQ(remove_temp_files(m.tmp / "ds"), 0u);  // no copy left behind
}

TEST(AtomicWrite, AnInPlaceWriteIsInvisibleUntilClose) {
  Mounted m;
  const Bytes old = m.backing();
  auto o = m.fs->open(m.node(m.chunk_rel), O_RDWR);
  m.fs->write(*o.file, "xyz", 3, 10);
  char buf[3];
  EXPECT_EQ(m.fs->read(*o.file, buf, 3, 10), 3u);  // the handle reads its own writes
  EXPECT_EQ(std::string(buf, 3), "xyz");
  EXPECT_EQ(m.backing(), old);
  m.fs->flush(*o.file);
  Bytes want = old;
  std::memcpy(want.data() + 10, "xyz", 3);
  EXPECT_EQ(m.backing(), want);
  m.fs->release(std::move(o.file));
}

TEST(AtomicWrite, ACrashBeforeCloseLeavesTheOldVersionAndAHiddenCopy) {
  Mounted m;
  const Bytes old = m.backing();
  auto o = m.fs->open(m.node(m.chunk_rel), O_WRONLY | O_TRUNC);
  m.fs->write(*o.file, "partial", 7, 0);
  // the daemon dies here: what is on disk is the old file and a hidden copy the next mount removes
  EXPECT_EQ(m.backing(), old);
  size_t copies = 0;
  for (const auto& e : fs::directory_iterator((m.tmp / "ds" / m.chunk_rel).parent_path()))
    copies += is_temp_file_name(e.path().filename().string());
  EXPECT_EQ(copies, 1u);
  o.file.reset();  // (a handle dropped without close removes its copy)
}

TEST(AtomicWrite, ACreatedFileAppearsOnlyComplete) {
  Mounted m;
  const fs::path rel = m.chunk_rel.parent_path() / "7";
  auto [entry, o] = m.fs->create(m.node(rel.parent_path()), "7", 0644, O_WRONLY | O_CREAT | O_EXCL);
  m.fs->write(*o.file, reinterpret_cast<const char*>(m.other.data()), m.other.size(), 0);
  EXPECT_FALSE(fs::exists(m.tmp / "ds" / rel));
  m.fs->flush(*o.file);
  EXPECT_EQ(read_file(m.tmp / "ds" / rel), m.other);
  m.fs->release(std::move(o.file));
}

TEST(AtomicWrite, AChangeBehindTheMountsBackDropsTheCacheAtTheNextOpen) {
  Mounted m;
  const Ino ino = m.node(m.chunk_rel);
  auto first = m.fs->open(ino, O_RDONLY);
  EXPECT_TRUE(first.keep_cache);
  m.fs->release(std::move(first.file));
  write_file_atomic(m.tmp / "ds" / m.chunk_rel, m.other);  // another process writes SOURCE
  auto second = m.fs->open(ino, O_RDONLY);
  EXPECT_FALSE(second.keep_cache);
  m.fs->release(std::move(second.file));
  auto third = m.fs->open(ino, O_RDONLY);
  EXPECT_TRUE(third.keep_cache);  // unchanged since
  m.fs->release(std::move(third.file));
}
