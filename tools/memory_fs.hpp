#pragma once
// A minimal in-memory FUSE filesystem with O(1) handlers: the ceiling any FUSE filesystem can reach
// on this machine, measured beside wkfs by `wkfs bench fs`.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace wkfs::mount {

class MemoryFs {
 public:
  /// Root holds `files` files named file_<i> of `file_size` bytes (one shared buffer) and a folder
  /// "many" with `many` empty files e_<i>.
  MemoryFs(size_t files, uint64_t file_size, size_t many);
  ~MemoryFs();
  /// Mounts at `mountpoint` and serves from a thread until unmount() or destruction.
  void mount(const std::filesystem::path& mountpoint);
  void unmount();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wkfs::mount
