"""Independent readers and invariant checks for the wkfs reliability harness.

Nothing here uses wkfs's code: datasource-properties.json is read with json, Zarr3 shards are decoded
by hand (numpy + numcodecs for the compressors, crcmod for the index checksum), Zarr v2 arrays through
Debian's python3-zarr (2.x, which has no v3 support), WKW headers and files by hand (python3-lz4).
Also: mounting, killing every process of a daemon, tree checksums.
"""
import hashlib
import json
import os
import signal
import struct
import subprocess
import time

import numpy as np

try:
    import numcodecs
except ImportError:  # pragma: no cover
    numcodecs = None
try:
    import crcmod.predefined
    _crc32c = crcmod.predefined.mkCrcFun("crc-32c")
except ImportError:  # pragma: no cover
    _crc32c = None

TEMP_MARKER = ".wkfs-tmp."
META_NAMES = ("zarr.json", ".zarray", "header.wkw")


class Invalid(Exception):
    """The backing folder breaks an invariant (the message says which)."""


# ---------------------------------------------------------------- mounting
def _runs_wkfs(pid, argv):
    """True when process `pid` runs a wkfs binary, whatever it is called (a copy named wkfs-crash too):
    its argv[0] names wkfs, or its executable is the same file as the wkfs on PATH or in the build."""
    if argv and "wkfs" in os.path.basename(argv[0]):
        return True
    try:
        exe = os.path.realpath(f"/proc/{pid}/exe")
    except OSError:
        return False
    return os.path.basename(exe).startswith("wkfs")


def daemon_pids(src):
    """Every process whose command line is `WKFS mount SRC ...` (SRC absolute) with WKFS a wkfs binary."""
    src = os.path.abspath(src)
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        argv = [a.decode(errors="replace") for a in argv]
        if "mount" in argv and src in argv and _runs_wkfs(int(d), argv):
            pids.append(int(d))
    return pids


def kill9(src):
    pids = daemon_pids(src)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + 5
    while time.time() < deadline and any(os.path.exists(f"/proc/{p}") and _state(p) != "Z" for p in pids):
        time.sleep(0.01)
    return len(pids)


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def is_mounted(mnt):
    mnt = os.path.abspath(mnt)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == mnt for line in f)


def mount(wkfs, src, mnt, log, opts=(), timeout=30):
    """wkfs mount SRC MNT; returns (ok, output)."""
    try:
        os.makedirs(mnt, exist_ok=True)
    except OSError:
        pass  # a dead mount cannot be stat-ed
    cmd = [wkfs, "mount", os.path.abspath(src), os.path.abspath(mnt), "--log", log]
    if opts:
        cmd += ["-o", ",".join(opts)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def force_detach(mnt):
    subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True)
    subprocess.run(["umount", "-l", mnt], capture_output=True)


def unmount(wkfs, src, mnt):
    if is_mounted(mnt):
        subprocess.run([wkfs, "unmount", mnt], capture_output=True, timeout=30)
    if is_mounted(mnt):
        kill9(src)
        force_detach(mnt)


def daemon_figures(src):
    """(rss_kb, open_fds) of the mount's daemon (the first process found)."""
    for p in daemon_pids(src):
        try:
            rss = 0
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
            return rss, len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            continue
    return 0, 0


# ---------------------------------------------------------------- checksums
def tree_digest(root, skip=()):
    """sha256 over (path, type, size, content / link target) of everything under root."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            dirnames[:] = []
            continue
        h.update(b"D" + rel.encode(errors="surrogateescape") + b"\0")
        for n in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            # the daemon's own lock: its holder line is rewritten by the forked daemon just after
            # the mount returns, which is not a change of the dataset
            if n == "mount.lock" and os.path.basename(dirpath) == ".wkfs":
                continue
            p = os.path.join(dirpath, n)
            h.update(b"F" + os.path.join(rel, n).encode(errors="surrogateescape") + b"\0")
            if os.path.islink(p):
                h.update(b"L" + os.readlink(p).encode(errors="surrogateescape"))
            else:
                try:
                    with open(p, "rb") as f:
                        h.update(hashlib.sha256(f.read()).digest())
                except OSError as e:
                    h.update(b"E" + str(e.errno).encode())
    return h.hexdigest()


# ---------------------------------------------------------------- properties
DTYPES = {"uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
          "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
          "float": np.float32, "float32": np.float32, "double": np.float64, "float64": np.float64}


def element_dtype(layer):
    ec = layer["elementClass"]
    if ec == "uint24":
        return np.uint8, 3
    return DTYPES[ec], int(layer.get("numChannels", 1))


def load_properties(ds):
    """Parses and checks the structure of DS/datasource-properties.json (the library's schema)."""
    p = os.path.join(ds, "datasource-properties.json")
    try:
        with open(p, "rb") as f:
            d = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise Invalid(f"properties unreadable: {e}")
    if not isinstance(d, dict) or not isinstance(d.get("id"), dict) or "name" not in d["id"]:
        raise Invalid("properties: no id.name")
    if "scale" not in d:
        raise Invalid("properties: no scale")
    if not isinstance(d.get("dataLayers"), list):
        raise Invalid("properties: dataLayers is not a list")
    names = set()
    for l in d["dataLayers"]:
        for k in ("name", "category", "elementClass", "dataFormat", "boundingBox"):
            if k not in l:
                raise Invalid(f"properties: layer without {k}")
        if l["name"] in names:
            raise Invalid(f"properties: layer {l['name']} twice")
        names.add(l["name"])
        if l["category"] not in ("color", "segmentation"):
            raise Invalid(f"properties: layer {l['name']} category {l['category']}")
        if l["dataFormat"] not in ("zarr3", "zarr", "wkw"):
            raise Invalid(f"properties: layer {l['name']} dataFormat {l['dataFormat']}")
        if l["elementClass"] not in DTYPES and l["elementClass"] != "uint24":
            raise Invalid(f"properties: layer {l['name']} elementClass {l['elementClass']}")
        bb = l["boundingBox"]
        if not (isinstance(bb.get("topLeft"), list) and len(bb["topLeft"]) == 3 and
                all(isinstance(bb.get(k), int) and bb[k] >= 0 for k in ("width", "height", "depth"))):
            raise Invalid(f"properties: layer {l['name']} boundingBox {bb}")
        if "mags" not in l and "wkwResolutions" not in l:
            raise Invalid(f"properties: layer {l['name']} has no mags")
        for m in layer_mags(l):
            mag = m[0]
            if not (isinstance(mag, list) and len(mag) == 3 and all(isinstance(v, int) and v >= 1 for v in mag)):
                raise Invalid(f"properties: layer {l['name']} mag {mag}")
    return d


def mag_name(mag):
    return "-".join(str(v) for v in mag)


def layer_mags(layer):
    """[(mag [x,y,z], path or None)] of a layer entry."""
    if "mags" in layer:
        out = []
        for m in layer["mags"]:
            mag = m.get("mag")
            if isinstance(mag, int):
                mag = [mag] * 3
            out.append((mag, m.get("path")))
        return out
    out = []
    for r in layer.get("wkwResolutions", []):
        res = r["resolution"]
        out.append(([res] * 3 if isinstance(res, int) else res, None))
    return out


def mag_dir(ds, layer, mag, path):
    """The folder of a listed mag, by the library's rules; Invalid if it escapes or is absent."""
    if path is not None:
        if "://" in path:
            raise Invalid(f"layer {layer['name']} mag {mag}: remote path {path!r} (not checked here)")
        # relative to the dataset; may point elsewhere (symlink and remote mags): then it must still be an array
        cands = [os.path.normpath(os.path.join(ds, path))]
    else:
        base = os.path.join(ds, layer["name"])
        cands = [os.path.join(base, mag_name(mag)), os.path.join(base, str(mag[0]))] if len(set(mag)) == 1 \
            else [os.path.join(base, mag_name(mag))]
    for c in cands:
        if os.path.isdir(c):
            return c
    raise Invalid(f"layer {layer['name']} mag {mag_name(mag)}: folder missing ({cands[0]})")


# ---------------------------------------------------------------- arrays
class Zarr3:
    def __init__(self, d):
        self.dir = d
        try:
            with open(os.path.join(d, "zarr.json"), "rb") as f:
                m = json.loads(f.read())
        except (OSError, ValueError) as e:
            raise Invalid(f"{d}: zarr.json: {e}")
        if m.get("zarr_format") != 3 or m.get("node_type") != "array":
            raise Invalid(f"{d}: zarr.json is not a zarr3 array")
        self.shape = tuple(m["shape"])
        self.dtype = np.dtype(m["data_type"]).newbyteorder("<")
        self.fill = m.get("fill_value", 0) or 0
        self.grid = tuple(m["chunk_grid"]["configuration"]["chunk_shape"])
        sep = m.get("chunk_key_encoding", {}).get("configuration", {}).get("separator", "/")
        self.key_name = m.get("chunk_key_encoding", {}).get("name", "default")
        self.sep = sep
        codecs = m["codecs"]
        if codecs and codecs[0]["name"] == "sharding_indexed":
            c = codecs[0]["configuration"]
            self.inner = tuple(c["chunk_shape"])
            self.inner_codecs = c["codecs"]
            self.index_codecs = c.get("index_codecs", [{"name": "bytes"}])
            self.index_end = c.get("index_location", "end") == "end"
            self.sharded = True
        else:
            self.inner = self.grid
            self.inner_codecs = codecs
            self.sharded = False
        if len(self.shape) != len(self.grid):
            raise Invalid(f"{d}: shape and chunk shape differ in rank")
        self.limit = None

    def key(self, idx):
        if self.key_name == "v2":
            return os.path.join(self.dir, self.sep.join(map(str, idx)))
        return os.path.join(self.dir, "c" + self.sep + self.sep.join(map(str, idx)))

    def files(self):
        out = []
        for dp, _, fn in os.walk(self.dir):
            for n in fn:
                if n != "zarr.json" and TEMP_MARKER not in n:
                    out.append(os.path.join(dp, n))
        return out

    def index_of(self, path):
        rel = os.path.relpath(path, self.dir)
        parts = rel.split(self.sep) if self.key_name == "v2" else rel.split(self.sep)[1:]
        return tuple(int(p) for p in parts)

    def _codecs_with_order(self, codecs):
        order = None
        for c in codecs:
            if c["name"] == "transpose":
                order = c["configuration"]["order"]
        return order

    def decode_file(self, path, data=None):
        """(origin, array) of one shard/chunk file: the voxels it holds (fill where a chunk is absent),
        clipped to self.limit (the layer's extent: a 1024^3 shard of a small layer is not allocated whole)."""
        if data is None:
            with open(path, "rb") as f:
                data = f.read()
        idx = self.index_of(path)
        if len(idx) != len(self.grid):
            raise Invalid(f"{path}: not a chunk key of this array")
        origin = tuple(i * g for i, g in zip(idx, self.grid))
        lim = self.limit or self.shape
        ext = tuple(max(0, min(g, L - o)) for g, L, o in zip(self.grid, lim, origin))
        if not self.sharded:
            a = self._decode(data, self.grid, self.inner_codecs)
            return origin, a[tuple(slice(0, e) for e in ext)]
        n = [g // c for g, c in zip(self.grid, self.inner)]
        count = int(np.prod(n))
        has_crc = any(c["name"] == "crc32c" for c in self.index_codecs)
        isz = count * 16 + (4 if has_crc else 0)
        if len(data) < isz:
            raise Invalid(f"{path}: shard shorter than its index ({len(data)} < {isz})")
        ib = data[-isz:] if self.index_end else data[:isz]
        if has_crc:
            crc = struct.unpack("<I", ib[-4:])[0]
            if _crc32c and _crc32c(ib[:-4]) != crc:
                raise Invalid(f"{path}: shard index crc32c mismatch")
        index = np.frombuffer(ib[:count * 16], "<u8").reshape(count, 2)
        out = np.full(ext, self.fill, self.dtype)
        present = np.nonzero(~((index[:, 0] == 2**64 - 1) & (index[:, 1] == 2**64 - 1)))[0]
        for k in present:
            off, nb = int(index[k, 0]), int(index[k, 1])
            if off + nb > len(data):
                raise Invalid(f"{path}: chunk {k} beyond the end of the shard")
            ci = np.unravel_index(k, n)
            co = [i * c for i, c in zip(ci, self.inner)]
            a = self._decode(data[off:off + nb], self.inner, self.inner_codecs)
            if any(c >= e for c, e in zip(co, ext)):
                continue  # outside the layer: decoded (so it is checked), not placed
            sl = tuple(slice(c, min(c + s, e)) for c, s, e in zip(co, self.inner, ext))
            out[sl] = a[tuple(slice(0, x.stop - x.start) for x in sl)]
        return origin, out

    def read_all(self):
        lim = self.limit or self.shape
        shape = tuple(min(a, b) for a, b in zip(self.shape, lim))
        out = np.full(shape, self.fill, self.dtype)
        for p in self.files():
            origin, a = self.decode_file(p)
            sl = tuple(slice(o, min(o + g, s)) for o, g, s in zip(origin, a.shape, shape))
            if any(s.start >= s.stop for s in sl):
                continue
            out[sl] = a[tuple(slice(0, s.stop - s.start) for s in sl)]
        return out

    def _decode(self, buf, shape, codecs):
        order = self._codecs_with_order(codecs)
        bb = [c for c in codecs if c["name"] != "transpose"]
        # bytes->bytes codecs after "bytes", reversed; then bytes
        i = next(k for k, c in enumerate(bb) if c["name"] == "bytes")
        for c in reversed(bb[i + 1:]):
            buf = self._b2b(buf, c)
        cfg = bb[i].get("configuration", {})
        dt = self.dtype.newbyteorder("<" if cfg.get("endian", "little") == "little" else ">")
        shp = tuple(shape[o] for o in order) if order else tuple(shape)
        if len(buf) != int(np.prod(shp)) * dt.itemsize:
            raise Invalid(f"chunk of {len(buf)} bytes, expected {int(np.prod(shp)) * dt.itemsize}")
        a = np.frombuffer(buf, dt).reshape(shp)
        if order:
            a = np.transpose(a, np.argsort(order))
        return a.astype(self.dtype)

    def _b2b(self, buf, c):
        n = c["name"]
        if n == "crc32c":
            body, crc = buf[:-4], struct.unpack("<I", buf[-4:])[0]
            if _crc32c and _crc32c(body) != crc:
                raise Invalid("chunk crc32c mismatch")
            return body
        try:
            if n == "blosc":
                return bytes(numcodecs.Blosc().decode(buf))
            if n == "zstd":
                return bytes(numcodecs.Zstd().decode(buf))
            if n == "gzip":
                return bytes(numcodecs.GZip().decode(buf))
        except Exception as e:
            raise Invalid(f"{n} decode failed: {e}")
        raise Invalid(f"unknown codec {n}")


class Zarr2:
    def __init__(self, d):
        import zarr  # Debian's python3-zarr (2.x)
        self.dir = d
        try:
            with open(os.path.join(d, ".zarray"), "rb") as f:
                self.meta = json.loads(f.read())
            self.arr = zarr.open_array(zarr.DirectoryStore(d), mode="r")
        except Exception as e:
            raise Invalid(f"{d}: .zarray: {e}")
        self.shape = self.arr.shape
        self.grid = self.arr.chunks
        self.dtype = self.arr.dtype
        self.sep = self.meta.get("dimension_separator", ".")

    def files(self):
        out = []
        for dp, _, fn in os.walk(self.dir):
            for n in fn:
                if not n.startswith(".z") and TEMP_MARKER not in n:
                    out.append(os.path.join(dp, n))
        return out

    def decode_file(self, path, data=None):
        rel = os.path.relpath(path, self.dir).replace("/", ".")
        idx = tuple(int(p) for p in rel.split("."))
        origin = tuple(i * g for i, g in zip(idx, self.grid))
        if data is None:
            with open(path, "rb") as f:
                data = f.read()
        try:
            buf = data
            if self.arr.compressor is not None:
                buf = self.arr.compressor.decode(buf)
            for flt in reversed(self.arr.filters or []):
                buf = flt.decode(buf)
            a = np.frombuffer(bytes(buf), self.dtype).reshape(self.grid, order=self.meta.get("order", "C"))
        except Exception as e:
            raise Invalid(f"{path}: {e}")
        return origin, a

    def read_all(self):
        try:
            for p in self.files():
                self.decode_file(p)
            return self.arr[...]
        except Invalid:
            raise
        except Exception as e:
            raise Invalid(f"{self.dir}: zarr read: {e}")


WKW_VOXEL = {1: np.uint8, 2: np.uint16, 3: np.uint32, 4: np.uint64, 5: np.float32, 6: np.float64,
             7: np.int8, 8: np.int16, 9: np.int32, 10: np.int64}


def _wkw_header(b, where):
    if len(b) < 16 or b[:3] != b"WKW":
        raise Invalid(f"{where}: not a WKW header")
    version, dims, block_type, vtype, vsize = b[3], b[4], b[5], b[6], b[7]
    offset = struct.unpack("<Q", b[8:16])[0]
    if version != 1 or block_type not in (1, 2, 3) or vtype not in WKW_VOXEL:
        raise Invalid(f"{where}: header version {version} block type {block_type} voxel type {vtype}")
    bl, fl = 1 << (dims & 0xF), 1 << (dims >> 4)
    dt = np.dtype(WKW_VOXEL[vtype])
    if vsize % dt.itemsize:
        raise Invalid(f"{where}: voxel size {vsize}")
    return dict(block=bl, per_file=fl, block_type=block_type, dtype=dt, channels=vsize // dt.itemsize, offset=offset)


def _morton(i, bits=10):
    x = y = z = 0
    for b in range(bits):
        x |= ((i >> (3 * b)) & 1) << b
        y |= ((i >> (3 * b + 1)) & 1) << b
        z |= ((i >> (3 * b + 2)) & 1) << b
    return x, y, z


class Wkw:
    def __init__(self, d):
        self.dir = d
        try:
            with open(os.path.join(d, "header.wkw"), "rb") as f:
                self.h = _wkw_header(f.read(), d + "/header.wkw")
        except OSError as e:
            raise Invalid(f"{d}: header.wkw: {e}")
        self.dtype = self.h["dtype"]
        edge = self.h["block"] * self.h["per_file"]
        self.grid = (self.h["channels"], edge, edge, edge)
        self.shape = None

    def files(self):
        out = []
        for dp, _, fn in os.walk(self.dir):
            for n in fn:
                if n.endswith(".wkw") and n != "header.wkw" and TEMP_MARKER not in n:
                    out.append(os.path.join(dp, n))
        return out

    def decode_file(self, path, data=None):
        import lz4.block
        if data is None:
            with open(path, "rb") as f:
                data = f.read()
        h = _wkw_header(data, path)
        for k in ("block", "per_file", "dtype", "channels"):
            if h[k] != self.h[k]:
                raise Invalid(f"{path}: header differs from header.wkw in {k}")
        rel = os.path.relpath(path, self.dir).split("/")
        fz, fy, fx = int(rel[0][1:]), int(rel[1][1:]), int(rel[2][1:-4])
        bl, n = h["block"], h["per_file"]
        C = h["channels"]
        nb = n ** 3
        bsz = bl ** 3 * C * h["dtype"].itemsize
        out = np.zeros((C, bl * n, bl * n, bl * n), h["dtype"])
        if h["block_type"] == 1:
            if len(data) < h["offset"] + nb * bsz:
                raise Invalid(f"{path}: raw file truncated ({len(data)} bytes)")
            starts = [h["offset"] + i * bsz for i in range(nb)]
            ends = [s + bsz for s in starts]
        else:
            jt = np.frombuffer(data[16:16 + 8 * nb], "<u8")
            if len(jt) != nb:
                raise Invalid(f"{path}: jump table truncated")
            starts = [h["offset"]] + [int(v) for v in jt[:-1]]
            ends = [int(v) for v in jt]
        for i in range(nb):
            s, e = starts[i], ends[i]
            if not (0 < s <= e <= len(data)):
                raise Invalid(f"{path}: block {i} at {s}..{e} of {len(data)}")
            blk = data[s:e]
            if h["block_type"] != 1:
                try:
                    blk = lz4.block.decompress(blk, uncompressed_size=bsz)
                except Exception as ex:
                    raise Invalid(f"{path}: block {i}: lz4: {ex}")
            if len(blk) != bsz:
                raise Invalid(f"{path}: block {i} has {len(blk)} bytes")
            # Fortran order: channel fastest, then x, y, z
            a = np.frombuffer(blk, h["dtype"]).reshape(bl, bl, bl, C).transpose(3, 2, 1, 0)
            bx, by, bz = _morton(i)
            out[:, bx * bl:(bx + 1) * bl, by * bl:(by + 1) * bl, bz * bl:(bz + 1) * bl] = a
        edge = bl * n
        return (0, fx * edge, fy * edge, fz * edge), out

    def read_all(self, extent):
        out = np.zeros((self.h["channels"],) + tuple(extent), self.dtype)
        for p in self.files():
            origin, a = self.decode_file(p)
            sl = tuple(slice(o, min(o + g, s)) for o, g, s in zip(origin[1:], a.shape[1:], extent))
            if any(s.start >= s.stop for s in sl):
                continue
            out[(slice(None),) + sl] = a[(slice(None),) + tuple(slice(0, s.stop - s.start) for s in sl)]
        return out


def open_array(d, fmt):
    if fmt == "zarr3":
        return Zarr3(d)
    if fmt == "zarr":
        return Zarr2(d)
    if fmt == "wkw":
        return Wkw(d)
    raise Invalid(f"format {fmt}")


def layer_extent(layer, mag):
    bb = layer["boundingBox"]
    end = [bb["topLeft"][0] + bb["width"], bb["topLeft"][1] + bb["height"], bb["topLeft"][2] + bb["depth"]]
    return [-(-e // m) for e, m in zip(end, mag)]


def limit_to_layer(a, layer, mag):
    if isinstance(a, Zarr3):
        ext = layer_extent(layer, mag)
        a.limit = tuple(a.shape[:-3]) + tuple(ext)
    return a


def read_mag(ds, layer, mag, path=None):
    """The whole mag as (C, X, Y, Z) numpy over the layer's extent in that mag."""
    d = mag_dir(ds, layer, mag, path)
    a = open_array(d, layer["dataFormat"])
    ext = layer_extent(layer, mag)
    limit_to_layer(a, layer, mag)
    if isinstance(a, Wkw):
        return a.read_all(ext)
    full = a.read_all()
    if full.ndim == 3:
        full = full[None]
    out = np.zeros((full.shape[0],) + tuple(ext), full.dtype)
    sl = tuple(slice(0, min(e, s)) for e, s in zip(ext, full.shape[-3:]))
    out[(slice(None),) + sl] = full[(slice(None),) + sl]
    return out


# ---------------------------------------------------------------- the library's downsampling
def step(a, f, mode):
    """One step of the library's block reduction (zero padding to the aligned region)."""
    C, X, Y, Z = a.shape
    tx, ty, tz = -(-X // f[0]), -(-Y // f[1]), -(-Z // f[2])
    p = np.zeros((C, tx * f[0], ty * f[1], tz * f[2]), a.dtype)
    p[:, :X, :Y, :Z] = a
    b = p.reshape(C, tx, f[0], ty, f[1], tz, f[2])
    vals = [b[:, :, dx, :, dy, :, dz] for dz in range(f[2]) for dx in range(f[0]) for dy in range(f[1])]
    s = np.stack(vals, -1)
    if mode == "median":
        return np.trunc(np.median(s.astype(np.float64), -1)).astype(a.dtype)
    if mode == "max":
        return s.max(-1)
    if mode == "min":
        return s.min(-1)
    if mode == "mode":
        counts = (s[..., :, None] == s[..., None, :]).sum(-1)
        return np.take_along_axis(s, counts.argmax(-1)[..., None], -1)[..., 0]
    raise ValueError(mode)


# ---------------------------------------------------------------- invariant checks on a dataset
def check_dataset(ds, check_lazy=True, counters=None):
    """Yields (kind, message) for every broken invariant of one backing dataset folder.
    kinds: properties, mag_missing, lazy_mismatch, temp_leftover (the caller decides when that counts)."""
    cnt = counters if counters is not None else {}

    def tick():
        cnt["checked"] = cnt.get("checked", 0) + 1

    tick()
    try:
        d = load_properties(ds)
    except Invalid as e:
        yield "properties", f"{os.path.basename(ds)}: {e}"
        return
    layers = {l["name"]: l for l in d["dataLayers"]}
    for l in d["dataLayers"]:
        for mag, path in layer_mags(l):
            tick()
            try:
                md = mag_dir(ds, l, mag, path)
                a = limit_to_layer(open_array(md, l["dataFormat"]), l, mag)
                files = a.files()
                for p in files[:64]:
                    a.decode_file(p)
            except Invalid as e:
                yield "mag_missing", f"{os.path.basename(ds)}/{l['name']}/{mag_name(mag)}: {e}"
            except Exception as e:
                yield "mag_missing", f"{os.path.basename(ds)}/{l['name']}/{mag_name(mag)}: {type(e).__name__}: {e}"
    if not check_lazy:
        return
    lj = os.path.join(ds, ".wkfs", "lazy.json")
    if not os.path.exists(lj):
        return
    try:
        with open(lj) as f:
            reg = json.load(f)["mags"]
    except Exception as e:
        yield "properties", f"{os.path.basename(ds)}: lazy.json unreadable: {e}"
        return
    lazy = {(e["layer"], mag_name(e["mag"])): e for e in reg}
    cache = {}

    def eager(layer, mag):
        key = (layer["name"], mag_name(mag))
        if key in cache:
            return cache[key]
        e = lazy.get(key)
        if e is None or e.get("kind") != "downsample":
            paths = {mag_name(m): p for m, p in layer_mags(layer)}
            path = paths.get(mag_name(mag))
            if e is None and mag_name(mag) not in paths:
                raise Invalid(f"source mag {mag_name(mag)} of {layer['name']} neither listed nor lazy")
            v = read_mag(ds, layer, mag, path)
        else:
            src = e["sourceMag"]
            v = step(eager(layer, src), [m // s for m, s in zip(mag, src)], e["interpolation"])
            ext = layer_extent(layer, mag)
            v = v[(slice(None),) + tuple(slice(0, x) for x in ext)]
        cache[key] = v
        return v

    for (lname, mname), e in sorted(lazy.items()):
        if e.get("kind") != "downsample" or e.get("interpolation") not in ("median", "mode", "max", "min"):
            continue
        l = layers.get(lname)
        if l is None:
            continue  # registration of an unlisted layer: the loader ignores it
        md = os.path.join(ds, lname, mname)
        if not os.path.isdir(md):
            continue
        try:
            a = limit_to_layer(open_array(md, l["dataFormat"]), l, e["mag"])
            files = a.files()
            if not files:
                continue
            ref = eager(l, e["mag"])
        except Invalid as ex:
            yield "lazy_mismatch", f"{os.path.basename(ds)}/{lname}/{mname}: cannot compute reference: {ex}"
            continue
        for p in files:
            tick()
            try:
                origin, got = a.decode_file(p)
            except Invalid as ex:
                yield "lazy_mismatch", f"{p}: undecodable computed file: {ex}"
                continue
            if got.ndim == 3:
                got = got[None]
                origin = (0,) + tuple(origin)
            o = origin[-3:]
            sl = tuple(slice(oo, min(oo + g, r)) for oo, g, r in zip(o, got.shape[-3:], ref.shape[-3:]))
            if any(s.start >= s.stop for s in sl):
                continue
            want = ref[(slice(None),) + sl]
            have = got[(slice(None),) + tuple(slice(0, s.stop - s.start) for s in sl)]
            bad = int((want != have).sum())
            if bad:
                yield "lazy_mismatch", f"{os.path.relpath(p, ds)}: {bad} voxels differ from an eager computation of its sources"


def find_temp(root):
    out = []
    for dp, dn, fn in os.walk(root):
        for n in dn + fn:
            if TEMP_MARKER in n:
                out.append(os.path.join(dp, n))
    return out
