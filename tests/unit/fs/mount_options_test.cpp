// Mount option strings (mount(8) -o, fstab, the systemd unit's OPTIONS=) parsed into MountOptions.
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.hpp"
#include "fs/mount.hpp"

using namespace wkfs;
using namespace wkfs::mount;

TEST(MountOptions, MemoryCapsThreadsAndPyramid) {
  MountOptions o;
  apply_option_string(o, "ro,lazy_memory_mb=64,lazy_threads=3,chunk_cache_mb=32,pyramid=auto");
  EXPECT_TRUE(o.read_only);
  EXPECT_EQ(o.lazy.memory_cap_bytes, size_t{64} << 20);
  EXPECT_EQ(o.lazy.threads, 3u);
  ASSERT_TRUE(o.chunk_cache_bytes.has_value());
  EXPECT_EQ(*o.chunk_cache_bytes, size_t{32} << 20);
  EXPECT_TRUE(o.auto_pyramid);
  EXPECT_TRUE(o.fuse_options.empty());
}

TEST(MountOptions, FstabWordsDroppedOthersPassedToFuse) {
  MountOptions o;
  apply_option_string(o, "defaults,nofail,_netdev,x-systemd.automount,allow_other,log=/tmp/x.log");
  ASSERT_EQ(o.fuse_options.size(), 1u);
  EXPECT_EQ(o.fuse_options[0], "allow_other");
  EXPECT_EQ(o.log_file, fs::path("/tmp/x.log"));
  EXPECT_FALSE(o.chunk_cache_bytes.has_value());
}

TEST(MountOptions, BadNumbersAreInvalidArgument) {
  for (const char* bad : {"lazy_memory_mb=", "lazy_threads=-1", "chunk_cache_mb=12x", "lazy_memory_mb=9999999999"}) {
    MountOptions o;
    try {
      apply_option_string(o, bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << bad;
    }
  }
}

TEST(MountOptions, NumbersBoundedToSaneMaxima) {
  const uint64_t ram_mb = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE) >> 20;
  for (const std::string& bad : {std::string("lazy_threads=100000"), std::string("lazy_threads=257"),
                                 "lazy_memory_mb=" + std::to_string(ram_mb + 1),
                                 "chunk_cache_mb=" + std::to_string(ram_mb + 1), std::string("lazy_memory_mb=0")}) {
    MountOptions o;
    try {
      apply_option_string(o, bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << bad;
      const std::string msg = e.what();
      EXPECT_TRUE(msg.find("at most") != std::string::npos || msg.find("at least") != std::string::npos) << msg;
    }
  }
  MountOptions o;
  apply_option_string(o, "lazy_threads=256,lazy_threads=0,chunk_cache_mb=0,lazy_memory_mb=1");
  EXPECT_EQ(o.lazy.threads, 0u);
  EXPECT_EQ(o.chunk_cache_bytes, size_t{0});
  EXPECT_EQ(o.lazy.memory_cap_bytes, size_t{1} << 20);
}
