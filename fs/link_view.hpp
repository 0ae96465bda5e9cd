#pragma once
// A read-only view of the symlinked mags whose target lies outside their dataset (in another
// dataset, or outside SOURCE). The kernel follows a link itself: a mag link answered with its real
// target would let a write inside it go there without wkfs ever seeing it (issue 11 item 9). So
// readlink answers such a link with a path into this view, `.wkfs-links/DATASET/LAYER/MAG` at the
// mount root, which wkfs serves from the link's target: reads work, every change is refused.
#include <filesystem>
#include <string>

namespace wkfs::mount {

namespace fs = std::filesystem;

/// The view's folder at the mount root (a reserved name: a backing folder of that name is hidden).
inline constexpr const char* kLinkViewDir = ".wkfs-links";

/// True if mount-relative `rel` lies in the view (or is its folder).
bool in_link_view(const fs::path& rel);
/// The mount-relative path a view path shows: `.wkfs-links/A/B` -> `A/B`.
fs::path link_view_inner(const fs::path& rel);
/// What readlink answers for the mag link at mount-relative `link_rel`: a relative path from the
/// link's folder to the link's place in the view.
std::string link_view_target(const fs::path& link_rel);

}  // namespace wkfs::mount
