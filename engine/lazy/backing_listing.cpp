#include "lazy/backing_listing.hpp"

#include <algorithm>
#include <tuple>

#include "core/error.hpp"
#include "dataset/new_mag.hpp"

namespace wkfs {

namespace {
/// Finer (smaller largest factor) first; among equals, by x, y, z.
bool pyramid_before(const Mag& a, const Mag& b) {
  if (a.max_dim() != b.max_dim()) return a.max_dim() < b.max_dim();
  return std::make_tuple(a.x(), a.y(), a.z()) < std::make_tuple(b.x(), b.y(), b.z());
}
}  // namespace

BackingListing::BackingListing(Dataset& dataset, LazyRegistry& registry, Diagnostics& diagnostics)
    : dataset_(dataset), registry_(registry), diag_(diagnostics) {}

void BackingListing::set_listed(const std::string& layer, const Mag& mag, bool listed) {
  dataset_.update_properties([&](DatasetProperties& p) {
    LayerProperties* l = p.find_layer(layer);
    if (!l) return;
    auto it = std::find_if(l->mags.begin(), l->mags.end(), [&](const MagEntry& e) { return e.mag == mag; });
    if (!listed) {
      if (it != l->mags.end()) l->mags.erase(it);
      return;
    }
    if (it != l->mags.end()) return;
    std::optional<int64_t> cube_length;
    if (l->data_format == DataFormat::Wkw)
      cube_length = open_array(dataset_.root() / layer / mag.short_name())->meta().shard_shape[1];
    // In pyramid order, as an eager downsample appends them (finest first): computations finish
    // in any order, and the listing must not depend on which one came last.
    auto at = std::find_if(l->mags.begin(), l->mags.end(), [&](const MagEntry& e) { return pyramid_before(mag, e.mag); });
    l->mags.insert(at, new_mag_entry(*l, mag, cube_length));
  });
}

void BackingListing::reconcile(const DatasetProperties& props, const MagStates& states) {
  bool changed = false;
  for (auto& m : registry_.mags()) {
    auto it = states.find(mag_key(m.layer, m.mag));
    if (it == states.end()) continue;
    MagState& st = *it->second;
    const LayerProperties* l = props.find_layer(m.layer);
    const bool listed = l && l->find_mag(m.mag);
    if (listed == m.complete) continue;
    if (dataset_.read_only()) {
      // Nothing can be fixed: the mount shows the mag as the backing properties list it (pending
      // iff unlisted), and the next writable mount reconciles.
      m.complete = st.spec.complete = listed;
      continue;
    }
    st.computed = st.count_stored();
    const bool full = st.computed.load() == st.grid->count();
    try {
      if (full != listed) set_listed(m.layer, m.mag, full);
    } catch (const Error& e) {  // the mount's view is still right
      diag_.report(LogLevel::Warn, "lazy", dataset_.root().string(),
                   "lazy mag " + mag_key(m.layer, m.mag) + ": cannot fix the backing listing: " + e.what());
    }
    m.complete = st.spec.complete = full;
    changed = true;
  }
  if (changed) registry_.save();
}

void BackingListing::complete_if_done(MagState& st) {
  // A read-only dataset's listing never changes: its lazy mags stay pending on the mount.
  if (dataset_.read_only()) return;
  LazyMag* m = registry_.find(st.spec.layer, st.spec.mag);
  if (!m || m->complete) return;
  const uint64_t n = st.count_stored();  // the counter is only a hint
  st.computed = n;
  if (n < st.grid->count()) return;
  set_listed(m->layer, m->mag, true);
  m->complete = true;
  st.spec.complete = true;
  registry_.save();
}

void BackingListing::mark_pending(MagState& st) {
  LazyMag* m = registry_.find(st.spec.layer, st.spec.mag);
  if (!m || !m->complete) return;
  if (dataset_.read_only()) {
    // The backing properties keep listing it (the mount shows them): only the mount's view changes.
    m->complete = st.spec.complete = false;
    return;
  }
  set_listed(m->layer, m->mag, false);
  m->complete = false;
  st.spec.complete = false;
  registry_.save();
}

std::string BackingListing::mounted_properties(DatasetProperties props, const MagStates& states) const {
  for (const auto& m : registry_.mags()) {
    if (m.complete) continue;
    LayerProperties* l = props.find_layer(m.layer);
    if (!l || l->find_mag(m.mag)) continue;
    std::optional<int64_t> cube_length;
    if (auto it = states.find(mag_key(m.layer, m.mag)); it != states.end())
      cube_length = it->second->array->meta().shard_shape[1];
    auto at = std::find_if(l->mags.begin(), l->mags.end(), [&](const MagEntry& e) { return pyramid_before(m.mag, e.mag); });
    l->mags.insert(at, new_mag_entry(*l, m.mag, cube_length));
  }
  return props.dump();
}

std::string BackingListing::strip_pending_mags(DatasetProperties props) const {
  for (auto& l : props.layers)
    l.mags.erase(std::remove_if(l.mags.begin(), l.mags.end(),
                                [&](const MagEntry& e) {
                                  const LazyMag* m = registry_.find(l.name, e.mag);
                                  return m && !m->complete;
                                }),
                 l.mags.end());
  return props.dump();
}

}  // namespace wkfs
