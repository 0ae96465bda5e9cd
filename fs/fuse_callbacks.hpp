#pragma once
// The libfuse low-level operation table of a wkfs mount: thin callbacks that translate each
// request into one call on the Filesystem core and its value (or error) into the reply.
#include "fs/fuse_api.hpp"

namespace wkfs::mount {

/// The operations to hand to fuse_session_new; its userdata must be the mount's Filesystem.
const fuse_lowlevel_ops& fuse_operations();

}  // namespace wkfs::mount
