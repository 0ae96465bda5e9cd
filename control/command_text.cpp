#include "control/command_text.hpp"

#include <climits>
#include <cstdint>

#include "core/error.hpp"

namespace wkfs::control {

namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not a valid one (overlong
// forms, surrogates and code points above U+10FFFF are invalid, as JSON needs).
size_t utf8_sequence(const std::string& text, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && b(i + 1) < 0xA0) return 0;  // overlong
  if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
  if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
  if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
  return n;
}

}  // namespace

void check_command_text(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\0') fail(ErrorKind::InvalidArgument, "a control command must not contain a NUL byte (at byte " + std::to_string(i) + ")");
    if (c == '\n' || c == '\r')
      fail(ErrorKind::InvalidArgument, "one command per write: text follows the first line at byte " + std::to_string(i) +
                                           "; nothing was run (write each command on its own)");
    size_t n = utf8_sequence(text, i);
    if (n == 0)
      fail(ErrorKind::InvalidArgument, "a control command must be UTF-8 text: invalid byte at " + std::to_string(i) +
                                           "; nothing was run");
    i += n;
  }
}

void check_path_argument(const std::string& path) {
  if (path.size() >= PATH_MAX)
    fail_errno(ENAMETOOLONG, "path argument of " + std::to_string(path.size()) + " bytes is too long (PATH_MAX is " +
                                 std::to_string(PATH_MAX) + ")");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end - start > NAME_MAX)
      fail_errno(ENAMETOOLONG, "a name in the path argument is " + std::to_string(end - start) +
                                   " bytes long, at most " + std::to_string(NAME_MAX) + " are allowed: " +
                                   path.substr(start, 40) + "...");
    start = end + 1;
  }
}

}  // namespace wkfs::control
