#pragma once
// MagView.compress() on a dataset with a lazy engine (the dataset operation is Dataset::compress_mag).
#include <string>

#include "dataset/dataset.hpp"
#include "lazy/lazy_engine.hpp"

namespace wkfs {

/// Dataset::compress_mag for a dataset with a lazy engine: a pending lazy mag is refused
/// (InvalidArgument), a complete one is reopened by the engine after the swap.
bool compress_mag(LazyEngine& lazy, const std::string& layer, const Mag& mag);

}  // namespace wkfs
