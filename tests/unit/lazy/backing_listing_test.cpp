// The "a lazy mag is listed in the backing properties iff complete" protocol, driven alone: a
// lazy mag built by hand (registry entry, array folder, state), checked against what the backing
// datasource-properties.json and .wkfs/lazy.json say on disk afterwards.
#include <gtest/gtest.h>

#include "dataset/dataset.hpp"
#include "lazy/backing_listing.hpp"
#include "lazy/folder_store.hpp"
#include "dataset/new_mag.hpp"
#include "support/test_support.hpp"

using namespace wkfs;

namespace {

const Mag kLazy(2, 2, 1);

// A uint8 layer of 64x64x32 voxels with a real mag 1 and a registered lazy mag 2-2-1 (32^3
// voxels) in 16^3 shards (2 x 2 x 2 = 8 files), none computed.
struct Scene {
  test::TempDir tmp;
  fs::path root = tmp / "ds";
  std::shared_ptr<Dataset> ds;
  LazyRegistry registry;
  MagStates states;

  Scene() {
    ds = Dataset::create(root, VoxelSize{{1, 1, 1}, "nanometer"});
    LayerSpec spec;
    spec.name = "color";
    spec.bounding_box = BoundingBox{{0, 0, 0}, {64, 64, 32}};
    ds->add_layer(spec);
    MagOptions mo;
    mo.chunk_shape = Vec3{16, 16, 16};
    mo.shard_shape = Vec3{16, 16, 16};
    ds->add_mag("color", Mag(1, 1, 1), mo);
    const DatasetProperties props = ds->properties();  // by value: the layer below points into it
    const LayerProperties& layer = *props.find_layer("color");
    create_array(root / "color" / kLazy.short_name(), layer.data_format, new_mag_array_spec(layer, kLazy, resolve_mag_options(layer, mo, 16)));
    registry = LazyRegistry::load(root);
    LazyMag m;
    m.layer = "color";
    m.mag = kLazy;
    m.source_mag = Mag(1, 1, 1);
    m.interpolation = "median";
    registry.mags().push_back(m);
    registry.save();
    states[mag_key("color", kLazy)] = make_state(layer, m);
  }

  std::shared_ptr<MagState> make_state(const LayerProperties& layer, const LazyMag& m) {
    auto st = std::make_shared<MagState>();
    st->spec = m;
    st->rel_dir = fs::path("color") / m.mag.short_name();
    st->dir = root / st->rel_dir;
    st->store = std::make_shared<FolderStore>(root, root / ".wkfs");
    st->format = layer.data_format;
    st->array = std::shared_ptr<Array>(open_array(st->dir));
    st->array->set_store_fill_chunks(true);
    st->grid.emplace(st->array->meta(), st->format, mag_region(layer, m.mag, st->array->meta().axis_names));
    return st;
  }

  MagState& st() { return *states.begin()->second; }
  // Writes the given shards of the lazy mag (zeros: stored, since lazy mags store fill chunks).
  void store(const std::vector<VecN>& shards) {
    for (const auto& s : shards) {
      NdBox box = st().grid->shard_box(s).intersect(st().grid->region());
      st().array->write(box, Bytes(static_cast<size_t>(box.volume())));
    }
  }
  void store_all() {
    std::vector<VecN> all;
    st().grid->for_each([&](const VecN& s) { all.push_back(s); });
    store(all);
  }
  bool listed_on_disk() {
    ds->reload();
    return ds->properties().find_layer("color")->find_mag(kLazy) != nullptr;
  }
  bool complete_on_disk() const { return LazyRegistry::load(root).find("color", kLazy)->complete; }
};

}  // namespace

TEST(BackingListing, PendingMagIsShownByTheMountAndStrippedFromWhatIsWritten) {
  Scene s;
  BackingListing listing(*s.ds, s.registry, test::test_diagnostics());
  ASSERT_FALSE(s.listed_on_disk());
  auto mounted = DatasetProperties::parse(listing.mounted_properties(s.ds->properties(), s.states));
  const MagEntry* e = mounted.find_layer("color")->find_mag(kLazy);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->path, std::optional<std::string>("./color/2-2-1"));
  EXPECT_EQ(e->axis_order, mounted.find_layer("color")->find_mag(Mag(1, 1, 1))->axis_order);
  EXPECT_FALSE(s.listed_on_disk());  // shown, not written

  auto stripped = DatasetProperties::parse(listing.strip_pending_mags(mounted));
  EXPECT_EQ(stripped.find_layer("color")->find_mag(kLazy), nullptr);
  EXPECT_NE(stripped.find_layer("color")->find_mag(Mag(1, 1, 1)), nullptr);  // real mags stay
}

TEST(BackingListing, CompletesOnlyOnceEveryFileExists) {
  Scene s;
  BackingListing listing(*s.ds, s.registry, test::test_diagnostics());
  ASSERT_EQ(s.st().grid->count(), 8u);
  s.store({VecN{0, 0, 0, 0}, VecN{0, 1, 1, 0}});
  s.st().computed = 8;  // a drifted counter: the disk decides
  listing.complete_if_done(s.st());
  EXPECT_EQ(s.st().computed.load(), 2u);
  EXPECT_FALSE(s.listed_on_disk());
  EXPECT_FALSE(s.complete_on_disk());

  s.store_all();
  listing.complete_if_done(s.st());
  EXPECT_EQ(s.st().computed.load(), 8u);
  EXPECT_TRUE(s.listed_on_disk());
  EXPECT_TRUE(s.complete_on_disk());
  EXPECT_TRUE(s.st().spec.complete);
  // complete: the mount shows the backing properties as they are, and nothing is stripped
  auto mounted = DatasetProperties::parse(listing.mounted_properties(s.ds->properties(), s.states));
  EXPECT_EQ(mounted.find_layer("color")->mags.size(), 2u);
  auto kept = DatasetProperties::parse(listing.strip_pending_mags(mounted));
  EXPECT_NE(kept.find_layer("color")->find_mag(kLazy), nullptr);
}

TEST(BackingListing, MarkPendingUnlistsACompleteMag) {
  Scene s;
  BackingListing listing(*s.ds, s.registry, test::test_diagnostics());
  s.store_all();
  listing.complete_if_done(s.st());
  ASSERT_TRUE(s.listed_on_disk());
  listing.mark_pending(s.st());
  EXPECT_FALSE(s.listed_on_disk());
  EXPECT_FALSE(s.complete_on_disk());
  EXPECT_FALSE(s.st().spec.complete);
  listing.mark_pending(s.st());  // pending already: nothing to do
  EXPECT_FALSE(s.listed_on_disk());
}

TEST(BackingListing, ReconcileLetsTheFilesOnDiskDecide) {
  Scene s;
  BackingListing listing(*s.ds, s.registry, test::test_diagnostics());
  // all files there and listed, but lazy.json says pending (a crash between the two writes)
  s.store_all();
  listing.set_listed("color", kLazy, true);
  ASSERT_TRUE(s.listed_on_disk());
  listing.reconcile(s.ds->properties(), s.states);
  EXPECT_TRUE(s.complete_on_disk());
  EXPECT_TRUE(s.listed_on_disk());
  EXPECT_EQ(s.st().computed.load(), 8u);

  // lazy.json says complete, a file is gone and the mag unlisted: pending again
  fs::remove(s.root / s.st().rel_file(VecN{0, 1, 0, 1}));
  listing.set_listed("color", kLazy, false);
  listing.reconcile(s.ds->properties(), s.states);
  EXPECT_FALSE(s.complete_on_disk());
  EXPECT_FALSE(s.listed_on_disk());
  EXPECT_EQ(s.st().computed.load(), 7u);

  // lazy.json says complete, not listed, but every file exists: listed and complete
  s.registry.find("color", kLazy)->complete = true;
  s.store_all();
  listing.reconcile(s.ds->properties(), s.states);
  EXPECT_TRUE(s.listed_on_disk());
  EXPECT_TRUE(s.complete_on_disk());
}
