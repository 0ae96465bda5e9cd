#pragma once
// A remote dataset (or an S3 prefix holding several) as a tree for a mount whose SOURCE is a URL.
// S3: every object below the prefix, listed. Plain HTTP cannot list: the tree is what the
// dataset's datasource-properties.json names (its layers' group metadata, each mag's metadata
// and the chunk or shard keys that metadata allows, see remote_mag.hpp).
#include <filesystem>
#include <memory>
#include <string>

#include "fs/remote_tree.hpp"
#include "storage/open_store.hpp"

namespace wkfs::mount {

/// The tree of the dataset or folder of datasets at `url`; NotFound if nothing is there.
std::shared_ptr<RemoteTree> open_remote_dataset(const storage::StoreContext& context, const std::string& url,
                                                std::shared_ptr<RemoteBlocks> blocks = nullptr);

/// Copies the datasource-properties.json of each remote dataset (the root, or each top folder of a
/// folder of datasets) that `overlay` lacks into it: the overlay is then a dataset from the start,
/// so the Layer API (mkdir LAYER/MAG, validated property edits) works on it while its mags' files
/// still come from the store. Returns how many were copied.
int seed_overlay(RemoteTree& tree, const std::filesystem::path& overlay);

}  // namespace wkfs::mount
