// wkfs read DATASET|URL --layer L --mag M --bbox X,Y,Z,W,H,D: raw (channels,x,y,z) C-order bytes to stdout.
#include <cstdio>
#include <iostream>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "dataset/remote_dataset.hpp"
#include "storage/store_url.hpp"
#include "tools/command.hpp"
#include "tools/dataset_args.hpp"

namespace wkfs::cli {
namespace {

constexpr size_t kMaxBytes = size_t{4} << 30;

int run(const std::vector<std::string>& args) {
  auto r = parse_region_args(args, "wkfs read DATASET|URL --layer L [--mag M] --bbox X,Y,Z,W,H,D [--axis t=3] "
                                   "[--ca-file PEM] [--auth-token T] [--timeout-s N]");
  if (!r) return 0;
  const std::string& layer = r->layer;
  const Mag& mag = r->mag;
  const BoundingBox& box = r->box;
  const auto& extra = r->extra_axes;
  // A URL is a remote dataset; a local one may list remote mags too: both read through r->remote.
  std::shared_ptr<MagView> view;
  if (storage::StoreUrl::is_url(r->dataset))
    view = RemoteDataset::open(r->dataset, r->remote)->mag_view(layer, mag);
  else
    view = Dataset::open(r->dataset, true, nullptr, r->remote)->mag_view(layer, mag);
  size_t n = view->buffer_size(box);
  if (n > kMaxBytes) fail(ErrorKind::InvalidArgument, "the box needs " + std::to_string(n) + " bytes; read at most 4 GiB at once");
  Bytes out(n);
  view->read(box, out, extra);
  if (n && std::fwrite(out.data(), 1, n, stdout) != n) fail_errno("cannot write to stdout");
  if (std::fflush(stdout) != 0) fail_errno("cannot write to stdout");
  return 0;
}

const Registrar reg{{"read", "raw bytes of a box of one mag, (channels,x,y,z) C order, to stdout", run}};

}  // namespace
}  // namespace wkfs::cli
