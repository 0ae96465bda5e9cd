#pragma once
// The protocol between the lazy registry (.wkfs/lazy.json) and the backing
// datasource-properties.json: a lazy mag is listed in the backing properties if and only if it is
// complete, so the dataset opened without wkfs only ever shows mags whose files all exist. The
// mount shows the pending mags too (mounted_properties) and keeps them out of what is written
// through it (strip_pending_mags).
//
// On a read-only dataset nothing is written: the calls change the mount's view only.
//
// Every call is made with the lock that guards the registry and the states held (the engine's).
#include <string>

#include "core/diagnostics.hpp"
#include "dataset/dataset.hpp"
#include "lazy/lazy_registry.hpp"
#include "lazy/mag_state.hpp"

namespace wkfs {

class BackingListing {
 public:
  /// Works on the engine's dataset and registry; reports to `diagnostics`.
  BackingListing(Dataset& dataset, LazyRegistry& registry, Diagnostics& diagnostics);

  /// Adds (layer, mag) to the backing properties or removes it from them.
  void set_listed(const std::string& layer, const Mag& mag, bool listed);
  /// The backing properties and lazy.json are two files, so a crash can fall between their
  /// writes: at load, the files on disk decide whether a lazy mag is complete and listed.
  void reconcile(const DatasetProperties& props, const MagStates& states);
  /// Lists the mag and marks it complete once every file exists (the counter is only a hint:
  /// this recounts the disk); sets `st.computed` to what it found.
  void complete_if_done(MagState& st);
  /// Unlists a complete mag and marks it pending, before any of its files goes: a crash in
  /// between must not leave the backing properties listing a mag with missing files.
  void mark_pending(MagState& st);
  /// The properties file as the mount shows it: the backing `props` plus the pending lazy mags.
  std::string mounted_properties(DatasetProperties props, const MagStates& states) const;
  /// Removes pending lazy mags from properties written through the mount.
  std::string strip_pending_mags(DatasetProperties props) const;

 private:
  Dataset& dataset_;
  LazyRegistry& registry_;
  Diagnostics& diag_;
};

}  // namespace wkfs
