// `wkfs mount SOURCE MOUNTPOINT [-f] [-d] [-o OPTIONS] [--log FILE]`
#include <iostream>

#include "core/error.hpp"
#include "fs/mount.hpp"
#include "tools/command.hpp"

namespace {

constexpr const char* kUsage =
    "usage: wkfs mount SOURCE MOUNTPOINT [-f] [-d] [-o ro,allow_other,...] [--log FILE]\n"
    "  SOURCE       a dataset folder (with datasource-properties.json) or a folder of datasets,\n"
    "               or a remote one: https://host/path/dataset, http://..., s3://host:port/bucket/prefix\n"
    "               (a URL is mounted read-only; -o s3_write writes every change to an s3:// store)\n"
    "  -f           stay in the foreground (systemd); otherwise return once the mount is ready\n"
    "  -d           trace every FUSE request (implies -f)\n"
    "  -o OPTIONS   ro, allow_other, log=FILE and other libfuse mount options\n"
    "  --log FILE   append one line per error to FILE (default: stderr)\n"
    "Remote options (-o):\n"
    "  overlay=DIR         with a URL SOURCE: DIR takes every change (new mags, edited properties,\n"
    "                      new files) while remote files keep being read from the store\n"
    "  s3_write            with an s3:// SOURCE: every change is put into the store before the reply\n"
    "                      (whole objects; no lazy mags there yet: use overlay=DIR for those)\n"
    "  ca_file=PATH        PEM bundle to trust for https:// and s3:// endpoints\n"
    "  auth_token=TOKEN    sent as X-Auth-Token to http(s) stores (WEBKNOSSOS' convention)\n"
    "  remote_timeout_s=N  a remote read that takes longer (all retries together) fails with EIO;\n"
    "                      1..3600, default 30\n"
    "  remote_cache_dir=DIR   keep fetched remote bytes in DIR (outside SOURCE and MOUNTPOINT; made if\n"
    "                      missing, a non-empty folder that is no wkfs cache is refused); it outlives\n"
    "                      the mount and can be shared by mounts. `wkfs ctl MOUNT cache-clear` empties it\n"
    "  remote_cache_mb=N   the cache's cap in MiB (least recently used entries go first); default 1024\n"
    "  remote_revalidate_s=S  a cached range is served without asking the server for S s, then checked\n"
    "                      with a conditional request (304: kept); 0..86400, default 60\n"
    "  S3 credentials: AWS_ACCESS_KEY_ID__<HOST>__<BUCKET>... as webknossos-libs, then AWS_ACCESS_KEY_ID\n"
    "  and AWS_SECRET_ACCESS_KEY, then ~/.aws/credentials.\n"
    "Control: DATASET/.wkfs-ctl and LAYER/.wkfs-ctl (hidden), MOUNTPOINT/.wkfs-status.\n";

int run(const std::vector<std::string>& args) {
  wkfs::mount::MountOptions o;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (a == "-f" || a == "--foreground") {
      o.foreground = true;
    } else if (a == "-d" || a == "--debug") {
      o.debug = true;
      o.foreground = true;
    } else if (a == "-o" && i + 1 < args.size()) {
      wkfs::mount::apply_option_string(o, args[++i]);
    } else if (a.rfind("-o", 0) == 0 && a.size() > 2) {
      wkfs::mount::apply_option_string(o, a.substr(2));
    } else if (a == "--log" && i + 1 < args.size()) {
      o.log_file = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "wkfs mount: unknown option " << a << "\n" << kUsage;
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2) {
    std::cerr << kUsage;
    return 2;
  }
  o.source = positional[0];
  o.mountpoint = positional[1];
  return wkfs::mount::run_mount(o);
}

static wkfs::cli::Registrar reg{{"mount", "mount datasets as a filesystem (FUSE)", run}};

}  // namespace
