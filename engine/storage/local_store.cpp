#include "storage/local_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace wkfs::storage {

namespace fs = std::filesystem;

namespace {

// A file's identity for get_if_changed: a rewrite through write_file_atomic gets a new inode,
// an in-place write a new mtime.
Version version_of(const struct stat& st) {
  Version v;
  v.etag = std::to_string(st.st_ino) + "-" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec);
  return v;
}

}  // namespace

LocalStore::LocalStore(fs::path root) : root_(std::move(root)) {}

fs::path LocalStore::path_of(const std::string& key) const {
  if (key.empty() || key.front() == '/' || key.back() == '/')
    fail(ErrorKind::InvalidArgument, "invalid key '" + key + "' in " + root_.string());
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = std::min(key.find('/', start), key.size());
    std::string_view seg(key.data() + start, end - start);
    if (seg.empty() || seg == "." || seg == "..")
      fail(ErrorKind::InvalidArgument, "invalid key '" + key + "' in " + root_.string());
    start = end + 1;
  }
  return root_ / key;
}

GetResult LocalStore::get(const std::string& key, ByteRange range) {
  fs::path p = path_of(key);
  UniqueFd fd = open_file(p, O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) fail_errno("stat " + p.string());
  if (S_ISDIR(st.st_mode)) fail(ErrorKind::NotFound, p.string() + " is a folder, not an object");
  GetResult r;
  r.size = static_cast<uint64_t>(st.st_size);
  r.version = version_of(st);
  auto [begin, end] = range.resolve(r.size);
  r.data = pread_exact(fd.get(), begin, static_cast<size_t>(end - begin), p);
  return r;
}

std::optional<GetResult> LocalStore::get_if_changed(const std::string& key, const Version& version,
                                                    ByteRange range) {
  fs::path p = path_of(key);
  struct stat st {};
  if (stat(p.c_str(), &st) == 0 && !version.empty() && version_of(st) == version) return std::nullopt;
  GetResult r = get(key, range);
  if (!version.empty() && r.version == version) return std::nullopt;
  return r;
}

HeadResult LocalStore::head(const std::string& key) {
  fs::path p = path_of(key);
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) throw Error(ErrorKind::NotFound, p.string() + ": no such object", ENOENT, LogLevel::Debug);
    fail_errno(err, "stat " + p.string());
  }
  if (S_ISDIR(st.st_mode)) throw Error(ErrorKind::NotFound, p.string() + " is a folder, not an object", ENOENT);
  return {static_cast<uint64_t>(st.st_size), version_of(st)};
}

ListResult LocalStore::list(const std::string& prefix, const std::string& delimiter) {
  ListResult out;
  // Only the folder that holds the prefix's last part can contain matches.
  size_t cut = prefix.rfind('/');
  std::string dir_key = cut == std::string::npos ? "" : prefix.substr(0, cut);
  fs::path dir = dir_key.empty() ? root_ : path_of(dir_key);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;

  std::vector<std::pair<fs::path, std::string>> todo{{dir, dir_key}};
  while (!todo.empty()) {
    auto [folder, folder_key] = todo.back();
    todo.pop_back();
    for (auto it = fs::directory_iterator(folder, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (is_temp_file_name(name)) continue;
      std::string key = folder_key.empty() ? name : folder_key + "/" + name;
      bool is_dir = it->is_directory(ec);
      std::string probe = is_dir ? key + "/" : key;
      if (!probe.starts_with(prefix)) {
        // A folder can still hold matches when the prefix reaches into it.
        if (is_dir && prefix.starts_with(probe)) todo.emplace_back(it->path(), key);
        continue;
      }
      size_t d = delimiter.empty() ? std::string::npos : probe.find(delimiter, prefix.size());
      if (d != std::string::npos && (is_dir || d + delimiter.size() <= key.size())) {
        out.prefixes.push_back(probe.substr(0, d + delimiter.size()));
      } else if (is_dir) {
        todo.emplace_back(it->path(), key);
      } else if (it->is_regular_file(ec)) {
        out.objects.push_back({key, static_cast<uint64_t>(it->file_size(ec))});
      }
    }
    if (ec) fail_errno(ec.value(), "list " + folder.string());
  }
  std::sort(out.objects.begin(), out.objects.end(), [](auto& a, auto& b) { return a.key < b.key; });
  std::sort(out.prefixes.begin(), out.prefixes.end());
  out.prefixes.erase(std::unique(out.prefixes.begin(), out.prefixes.end()), out.prefixes.end());
  return out;
}

void LocalStore::put(const std::string& key, ByteSpan data) {
  fs::path p = path_of(key);
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) fail_errno(ec.value(), "create folder " + p.parent_path().string());
  write_file_atomic(p, data);
}

void LocalStore::remove(const std::string& key) {
  fs::path p = path_of(key);
  if (unlink(p.c_str()) != 0 && errno != ENOENT) fail_errno("remove " + p.string());
}

}  // namespace wkfs::storage
