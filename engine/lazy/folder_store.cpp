#include "lazy/folder_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.hpp"

namespace wkfs {

UniqueFd FolderStore::open(const fs::path& rel) const {
  const fs::path file = root_ / rel;
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno != ENOENT) fail_errno("cannot open " + file.string());
  return fd;
}

bool FolderStore::contains(const fs::path& rel) const { return ::access((root_ / rel).c_str(), F_OK) == 0; }

UniqueFd FolderStore::put(const fs::path& rel, ByteSpan bytes) {
  const fs::path file = root_ / rel;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) fail_errno(ec.value(), "cannot create " + file.parent_path().string());
  write_file_atomic(file, bytes);
  // Opened right after the rename: a source change that removes it in between (microseconds)
  // leaves it absent, which the engine takes as "compute again".
  return UniqueFd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
}

bool FolderStore::remove(const fs::path& rel) { return ::unlink((root_ / rel).c_str()) == 0; }

void FolderStore::for_each_under(const fs::path& rel_dir, const std::function<void(const fs::path&)>& fn) const {
  const fs::path dir = root_ / rel_dir;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) fn(it->path().lexically_relative(dir));
}

std::optional<int64_t> FolderStore::modified_at(const fs::path& rel) const {
  struct stat st {};
  if (::stat((root_ / rel).c_str(), &st) != 0) return std::nullopt;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace wkfs
