#pragma once
// What a control file accepts as the text of one command, checked before it is parsed: so a
// malformed write is refused as EINVAL/ENAMETOOLONG with this command's reply, never run in part.
#include <string>

namespace wkfs::control {

/// InvalidArgument unless `text` (one write, its trailing newline removed) is valid UTF-8 without
/// NUL and holds one line: a second line would be silently dropped otherwise.
void check_command_text(const std::string& text);
/// ENAMETOOLONG if a path argument has a component longer than NAME_MAX or is PATH_MAX or longer,
/// the errno the kernel would give for it.
void check_path_argument(const std::string& path);

}  // namespace wkfs::control
