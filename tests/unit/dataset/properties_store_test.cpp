// PropertiesStore: read-compare-write under the lock file, undo on failure, adoption of another
// process's save, byte-exact replace, and refusal when read-only.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "dataset/properties_store.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {
std::string text_of(const fs::path& p) {
  Bytes b = read_file(p);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

DatasetProperties with_layer(const std::string& name) {
  DatasetProperties p;
  LayerProperties l;
  l.name = name;
  p.layers.push_back(l);
  return p;
}
}  // namespace

TEST(PropertiesStore, TransactSavesAndRunsAfterSaveLast) {
  test::TempDir tmp;
  PropertiesStore store(tmp.path(), false);
  store.create(with_layer("a"));
  bool saved_before_after = false;
  store.transact([](DatasetProperties& p, PropertiesStore::UndoList&) { p.layers.front().name = "b"; },
                 [&](const DatasetProperties& p) {
                   saved_before_after = text_of(tmp / kPropertiesFile) == p.dump();
                 });
  EXPECT_TRUE(saved_before_after);
  EXPECT_EQ(store.properties().layers.front().name, "b");
  EXPECT_TRUE(fs::exists(tmp / kLockFile));
}

TEST(PropertiesStore, FailedChangeRunsUndoInReverseAndChangesNothing) {
  test::TempDir tmp;
  PropertiesStore store(tmp.path(), false);
  store.create(with_layer("a"));
  const std::string before = text_of(tmp / kPropertiesFile);
  std::vector<int> order;
  EXPECT_THROW(store.transact([&](DatasetProperties& p, PropertiesStore::UndoList& undo) {
    p.layers.clear();
    undo.push_back([&] { order.push_back(1); });
    undo.push_back([&] { order.push_back(2); });
    fail(ErrorKind::Io, "disk on fire");
  }),
               Error);
  EXPECT_EQ(order, (std::vector<int>{2, 1}));
  EXPECT_EQ(text_of(tmp / kPropertiesFile), before);
  EXPECT_EQ(store.properties().layers.size(), 1u);
}

TEST(PropertiesStore, AdoptsAnotherWritersSaveInsteadOfOverwritingIt) {
  test::TempDir tmp;
  int adopted = 0;
  PropertiesStore store(tmp.path(), false, [&] { ++adopted; });
  store.create(with_layer("a"));
  PropertiesStore other(tmp.path(), false);
  other.reload();
  other.transact([](DatasetProperties& p, PropertiesStore::UndoList&) { p.layers.push_back(with_layer("b").layers[0]); });
  store.transact([](DatasetProperties& p, PropertiesStore::UndoList&) { p.layers.push_back(with_layer("c").layers[0]); });
  EXPECT_EQ(adopted, 1);
  ASSERT_EQ(store.properties().layers.size(), 3u);  // a, b (the other writer's) and c
  EXPECT_EQ(store.properties().layers[1].name, "b");
}

TEST(PropertiesStore, ReplaceKeepsTheTextAndValidates) {
  test::TempDir tmp;
  PropertiesStore store(tmp.path(), false);
  store.create(with_layer("a"));
  std::string text = with_layer("z").dump() + "\n";
  store.replace(text);
  EXPECT_EQ(text_of(tmp / kPropertiesFile), text);
  EXPECT_EQ(store.properties().layers.front().name, "z");
  EXPECT_THROW(store.replace("{not json"), Error);
  EXPECT_EQ(text_of(tmp / kPropertiesFile), text);
}

TEST(PropertiesStore, ReadOnlyRefusesChanges) {
  test::TempDir tmp;
  PropertiesStore(tmp.path(), false).create(with_layer("a"));
  PropertiesStore store(tmp.path(), true);
  store.reload();
  try {
    store.transact([](DatasetProperties&, PropertiesStore::UndoList&) {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ReadOnly);
  }
  EXPECT_THROW(store.replace(with_layer("b").dump()), Error);
  EXPECT_FALSE(fs::exists(tmp / kLockFile));
}
