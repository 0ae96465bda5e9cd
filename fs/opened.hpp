#pragma once
// What an open of the core returns: the handle and how the kernel should treat its pages. Its own
// header because the core, the node attributes (shared versions) and the remote catalog all open.
#include <memory>

#include "fs/open_file.hpp"

namespace wkfs::mount {

/// An opened file and how the kernel should treat its pages.
struct Opened {
  std::unique_ptr<OpenFile> file;
  bool direct_io = false;   // daemon-made text: no page cache, sizes as read
  bool keep_cache = false;  // the backing data did not change since the kernel cached it
};

}  // namespace wkfs::mount
