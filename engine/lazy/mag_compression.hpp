#pragma once
// MagView.compress(): rewrite an uncompressed mag with the library's compression, atomically.
#include <string>

#include "dataset/dataset.hpp"
#include "lazy/lazy_engine.hpp"

namespace wkfs {

/// Compresses (layer, mag) in place: a compressed copy is built in a hidden temp folder beside it and
/// swapped in with one atomic rename (RENAME_EXCHANGE), so a crash leaves either the old or the new
/// mag, never neither (the library deletes first, then renames). No-op if already compressed; returns
/// whether it changed anything.
bool compress_mag(Dataset& dataset, const std::string& layer, const Mag& mag);
/// The same for a dataset with a lazy engine: a pending lazy mag is refused (InvalidArgument), a
/// complete one is reopened by the engine after the swap.
bool compress_mag(LazyEngine& lazy, const std::string& layer, const Mag& mag);

}  // namespace wkfs
