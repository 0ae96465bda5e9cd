// wkfs write DATASET --layer L --mag M --bbox X,Y,Z,W,H,D: the inverse of read, bytes from stdin.
// A box outside the layer's bounding box grows it (and the arrays), like allow_resize=True.
#include <cstdio>
#include <iostream>

#include "core/error.hpp"
#include "dataset/dataset.hpp"
#include "tools/command.hpp"
#include "tools/dataset_args.hpp"

namespace wkfs::cli {
namespace {

constexpr size_t kMaxBytes = size_t{4} << 30;

Bytes read_stdin(size_t limit) {
  Bytes data;
  std::byte buf[1 << 16];
  while (true) {
    size_t n = std::fread(buf, 1, sizeof buf, stdin);
    data.insert(data.end(), buf, buf + n);
    if (data.size() > limit) break;  // more than needed: enough to report the mismatch
    if (n < sizeof buf) {
      if (std::ferror(stdin)) fail_errno("cannot read stdin");
      break;
    }
  }
  return data;
}

int run(const std::vector<std::string>& args) {
  auto r = parse_region_args(args, "wkfs write DATASET --layer L [--mag M] --bbox X,Y,Z,W,H,D [--axis t=3] < data");
  if (!r) return 0;
  const std::string& layer = r->layer;
  const Mag& mag = r->mag;
  const BoundingBox& box = r->box;
  const auto& extra = r->extra_axes;
  auto ds = Dataset::open(r->dataset);
  auto view = ds->mag_view(layer, mag);
  if (view->read_only()) fail(ErrorKind::ReadOnly, "mag " + mag.long_name() + " of layer '" + layer + "' is read-only");
  size_t need = view->buffer_size(box);
  if (need > kMaxBytes) fail(ErrorKind::InvalidArgument, "the box needs " + std::to_string(need) + " bytes; write at most 4 GiB at once");
  // Everything is checked before anything changes: the data size first, then the bbox grows.
  Bytes data = read_stdin(need);
  if (data.size() != need)
    fail(ErrorKind::InvalidArgument, "stdin has " + std::string(data.size() > need ? "more than " : "") +
                                         std::to_string(data.size()) + " bytes, the box needs " + std::to_string(need));
  auto props = ds->properties();
  const BoundingBox current = props.find_layer(layer)->bounding_box;
  if (!current.contains(box)) ds->set_bounding_box(layer, current.union_with(box));
  ds->mag_view(layer, mag)->write(box, data, extra);
  return 0;
}

const Registrar reg{{"write", "write raw (channels,x,y,z) C-order bytes from stdin into a box of one mag", run}};

}  // namespace
}  // namespace wkfs::cli
