#include "tools/memory_fs.hpp"

#include <sys/stat.h>

#include <cstring>
#include <unordered_map>

#include "core/error.hpp"
#include "fs/fuse_api.hpp"
#include "fs/mount.hpp"

namespace wkfs::mount {

// Inodes: 1 root, 2 "many", 3.. the files, then the entries of "many".
struct MemoryFs::Impl {
  size_t files, many;
  uint64_t file_size;
  std::vector<char> data;
  std::unordered_map<std::string, fuse_ino_t> root_names, many_names;
  std::vector<std::string> names;  // by inode
  struct Listing {
    std::vector<char> bytes;     // prebuilt readdir records
    std::vector<size_t> starts;  // where record i starts; last element = bytes.size()
  };
  Listing root_listing, many_listing;
  fuse_session* se = nullptr;
  std::thread loop;
  std::filesystem::path mountpoint;

  fuse_ino_t first_entry() const { return 3 + files; }
  struct stat attr(fuse_ino_t ino) const {
    struct stat st {};
    st.st_ino = ino;
    st.st_nlink = 1;
    if (ino <= 2) {
      st.st_mode = S_IFDIR | 0755;
    } else {
      st.st_mode = S_IFREG | 0444;
      st.st_size = ino < first_entry() ? static_cast<off_t>(file_size) : 0;
    }
    return st;
  }
  static Impl& of(fuse_req_t req) { return *static_cast<Impl*>(fuse_req_userdata(req)); }

  static void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    auto& m = of(req);
    auto& table = parent == 1 ? m.root_names : m.many_names;
    auto it = table.find(name);
    if (parent > 2 || it == table.end()) return (void)fuse_reply_err(req, ENOENT);
    fuse_entry_param e{};
    e.ino = it->second;
    e.attr = m.attr(e.ino);
    e.attr_timeout = e.entry_timeout = 3600;
    fuse_reply_entry(req, &e);
  }
  static void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    auto st = of(req).attr(ino);
    fuse_reply_attr(req, &st, 3600);
  }
  static void open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
  }
  static void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    auto& m = of(req);
    uint64_t len = ino < m.first_entry() ? m.file_size : 0;
    if (static_cast<uint64_t>(off) >= len) return (void)fuse_reply_buf(req, nullptr, 0);
    size_t n = std::min<uint64_t>(size, len - off);
    fuse_reply_buf(req, m.data.data() + (off % (m.data.size() / 2)), n);
  }
  static void build(fuse_req_t req, Listing& out, const std::vector<std::pair<std::string, fuse_ino_t>>& items,
                    Impl& m) {
    out.bytes.assign(items.size() * 64 + 4096, 0);
    size_t used = 0;
    off_t i = 0;
    for (const auto& [name, ino] : items) {
      auto st = m.attr(ino);
      out.starts.push_back(used);
      used += fuse_add_direntry(req, out.bytes.data() + used, out.bytes.size() - used, name.c_str(), &st, ++i);
    }
    out.bytes.resize(used);
    out.starts.push_back(used);
  }
  static void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    auto& m = of(req);
    auto& listing = ino == 1 ? m.root_listing : m.many_listing;
    if (listing.starts.empty()) {  // built on the first call; the benchmark lists from one thread
      std::vector<std::pair<std::string, fuse_ino_t>> items;
      if (ino == 1) {
        items.emplace_back("many", 2);
        for (size_t i = 0; i < m.files; ++i) items.emplace_back(m.names[3 + i], 3 + i);
      } else {
        for (size_t i = 0; i < m.many; ++i) items.emplace_back(m.names[m.first_entry() + i], m.first_entry() + i);
      }
      build(req, listing, items, m);
    }
    size_t count = listing.starts.size() - 1;
    size_t first = static_cast<size_t>(off);
    if (first >= count) return (void)fuse_reply_buf(req, nullptr, 0);
    size_t last = first;
    while (last < count && listing.starts[last + 1] - listing.starts[first] <= size) ++last;
    fuse_reply_buf(req, listing.bytes.data() + listing.starts[first], listing.starts[last] - listing.starts[first]);
  }
};

MemoryFs::MemoryFs(size_t files, uint64_t file_size, size_t many) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.files = files;
  m.many = many;
  m.file_size = file_size;
  m.data.resize(2 << 20);
  for (size_t i = 0; i < m.data.size(); ++i) m.data[i] = static_cast<char>(i * 131 + 7);
  m.names.resize(3 + files + many);
  m.names[2] = "many";
  m.root_names["many"] = 2;
  for (size_t i = 0; i < files; ++i) {
    m.names[3 + i] = "file_" + std::to_string(i);
    m.root_names[m.names[3 + i]] = 3 + i;
  }
  for (size_t i = 0; i < many; ++i) {
    m.names[m.first_entry() + i] = "e_" + std::to_string(i);
    m.many_names[m.names[m.first_entry() + i]] = m.first_entry() + i;
  }
}

MemoryFs::~MemoryFs() { unmount(); }

void MemoryFs::mount(const std::filesystem::path& mountpoint) {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = [](void* userdata, fuse_conn_info*) {
      set_read_ahead_after_init(static_cast<Impl*>(userdata)->mountpoint, 1024);
    };
    o.lookup = Impl::lookup;
    o.getattr = Impl::getattr;
    o.open = Impl::open;
    o.read = Impl::read;
    o.readdir = Impl::readdir;
    return o;
  }();
  auto& m = *impl_;
  std::vector<std::string> arg_strings = {"wkfs-memfs", "-o", "fsname=wkfs-memfs,subtype=memfs"};
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  m.mountpoint = mountpoint;
  m.se = fuse_session_new(&args, &ops, sizeof ops, &m);
  if (!m.se) fail(ErrorKind::Io, "memory fs: fuse_session_new failed");
  if (fuse_session_mount(m.se, mountpoint.c_str()) != 0) {
    fuse_session_destroy(m.se);
    m.se = nullptr;
    fail(ErrorKind::Io, "memory fs: mounting " + mountpoint.string() + " failed");
  }
  m.loop = std::thread([&m] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    fuse_session_loop_mt(m.se, cfg);
    fuse_loop_cfg_destroy(cfg);
  });
}

void MemoryFs::unmount() {
  auto& m = *impl_;
  if (!m.se) return;
  try {
    wkfs::mount::unmount(m.mountpoint, true);
  } catch (const std::exception&) {
  }
  fuse_session_exit(m.se);
  if (m.loop.joinable()) m.loop.join();
  fuse_session_destroy(m.se);
  m.se = nullptr;
}

}  // namespace wkfs::mount
