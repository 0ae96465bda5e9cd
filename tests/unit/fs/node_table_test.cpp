// The FUSE inode table, without a mount.
#include <gtest/gtest.h>

#include "fs/node_table.hpp"

using namespace wkfs::mount;

TEST(NodeTable, PathsRenamesAndForget) {
  NodeTable t;
  auto ds = t.lookup(kRootIno, "ds");
  auto layer = t.lookup(ds, "color");
  auto mag = t.lookup(layer, "1");
  EXPECT_EQ(t.path(mag)->string(), "ds/color/1");
  EXPECT_EQ(t.lookup(layer, "1"), mag);  // same name, same node
  t.rename(ds, "color", ds, "colour");
  EXPECT_EQ(t.path(mag)->string(), "ds/colour/1");
  EXPECT_EQ(t.find("ds/colour/1"), mag);
  EXPECT_FALSE(t.find("ds/color/1"));
  // The layer node stays while its child is known, even after its own lookups are forgotten.
  t.forget(layer, 1);
  EXPECT_EQ(t.path(mag)->string(), "ds/colour/1");
  t.forget(mag, 2);
  EXPECT_FALSE(t.path(mag));
  EXPECT_FALSE(t.path(layer));
  t.remove(kRootIno, "ds");
  EXPECT_FALSE(t.path(ds));
  EXPECT_EQ(t.size(), 2u);  // root, and ds kept alive by its lookup until forgotten
  t.forget(ds, 1);
  EXPECT_EQ(t.size(), 1u);
}
