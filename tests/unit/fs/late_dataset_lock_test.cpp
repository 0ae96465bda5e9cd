// "Datasets created after mount are not locked" (issue 11): a dataset that appears in a writable
// folder mount after it started (copied in, or made through the mount) is locked when the mount
// first opens it; if another mount holds it, it is served read-only and every write is EBUSY
// naming the holder.
#include "core/file_io.hpp"
#include "dataset/dataset_lock.hpp"
#include "unit/fs/core_test_helpers.hpp"

using namespace wkfs;
using namespace wkfs::test::core;

namespace {

// True if another open file description cannot take the dataset's lock now.
bool locked_elsewhere(const fs::path& root) {
  try {
    DatasetLock probe(root, "probe", 0);
    return false;
  } catch (const Error& e) {
    return e.kind() == ErrorKind::Busy;
  }
}

}  // namespace

TEST(LateDatasetLock, ADatasetCopiedInAfterTheMountIsLockedAtFirstUse) {
  Mount m;
  fs::rename(wkfs::test::copy_fixture("simple_zarr3_dataset", m.tmp.path()), m.src / "late");
  EXPECT_FALSE(locked_elsewhere(m.src / "late"));  // not seen yet
  lookup_path(*m, "late/color");
  EXPECT_TRUE(locked_elsewhere(m.src / "late"));
  // and it is written normally
  m->mkdir(lookup_path(*m, "late/color"), "2", 0755);
  EXPECT_TRUE(fs::exists(m.src / "late/color/2/zarr.json"));
  // the datasets present at mount are run_mount's to lock, not the catalog's
  lookup_path(*m, "ds/color");
  EXPECT_FALSE(locked_elsewhere(m.src / "ds"));
}

TEST(LateDatasetLock, ADatasetHeldByAnotherMountIsReadOnlyWithEbusy) {
  Mount m;
  fs::rename(wkfs::test::copy_fixture("simple_zarr3_dataset", m.tmp.path()), m.src / "late");
  DatasetLock other(m.src / "late", "wkfs mount elsewhere on /mnt/other");
  const std::string props_before = file_text(m.src / "late/datasource-properties.json");
  // reads work
  auto o = m->open(lookup_path(*m, "late/datasource-properties.json"), O_RDONLY);
  EXPECT_EQ(read_all(*m, o), props_before);
  m->release(std::move(o.file));
  const Ino color = lookup_path(*m, "late/color");
  const Ino mag = lookup_path(*m, "late/color/1");
  // every write is EBUSY, and says who holds the dataset
  try {
    m->mkdir(color, "2", 0755);
    ADD_FAILURE() << "mkdir of a mag in a dataset held by another mount succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(errno_of(e), EBUSY);
    EXPECT_NE(std::string(e.what()).find("/mnt/other"), std::string::npos) << e.what();
  }
  EXPECT_EQ(errno_from([&] { m->create(mag, "new", 0644, O_WRONLY); }), EBUSY);
  EXPECT_EQ(errno_from([&] { m->open(lookup_path(*m, "late/color/1/zarr.json"), O_WRONLY); }), EBUSY);
  EXPECT_EQ(errno_from([&] { m->open(lookup_path(*m, "late/datasource-properties.json"), O_WRONLY | O_TRUNC); }),
            EBUSY);
  EXPECT_EQ(errno_from([&] { m->unlink(mag, "zarr.json"); }), EBUSY);
  EXPECT_EQ(errno_from([&] { m->setxattr(color, "user.wk.bounding_box", "0,0,0,8,8,8", 0); }), EBUSY);
  EXPECT_EQ(file_text(m.src / "late/datasource-properties.json"), props_before);
  EXPECT_FALSE(fs::exists(m.src / "late/color/2"));
  EXPECT_FALSE(fs::exists(m.src / "late/color/1/new"));
  // the other datasets of the mount stay writable
  m->mkdir(lookup_path(*m, "ds/color"), "2", 0755);
  EXPECT_TRUE(fs::exists(m.src / "ds/color/2/zarr.json"));
}
