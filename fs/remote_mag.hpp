#pragma once
// The files of one mag on a remote store, as a tree: listed where the store can list (S3), else
// derived from the mag's array metadata, since a plain HTTP server cannot list: the Zarr3 chunk
// grid (shard files when sharded) and chunk key encoding, the Zarr v2 chunk keys with their
// dimension separator, the WKW file grid from header.wkw and the layer's bounding box.
#include <memory>
#include <string>

#include "dataset/properties.hpp"
#include "fs/remote_tree.hpp"
#include "storage/open_store.hpp"

namespace wkfs::mount {

/// The array metadata file a mag of `format` has ("zarr.json", ".zarray", "header.wkw").
std::string mag_metadata_name(DataFormat format);

/// Adds the files of the mag at `prefix` (a key below the tree's root; "" for the root) to
/// `tree`: its metadata (fetched, with its size) and every chunk or shard key the metadata allows
/// (candidates, confirmed at lookup). NotFound without metadata; Unsupported for other formats or
/// more keys than a tree can hold.
void add_mag_keys(RemoteTree& tree, const std::string& prefix, const LayerProperties& layer, const Mag& mag);

/// The tree of the remote mag at `url` (a mag path of the properties) of `layer`.
std::shared_ptr<RemoteTree> open_remote_mag(const storage::StoreContext& context, const std::string& url,
                                            const LayerProperties& layer, const Mag& mag,
                                            std::shared_ptr<RemoteBlocks> blocks = nullptr);

}  // namespace wkfs::mount
