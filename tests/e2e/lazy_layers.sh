#!/usr/bin/env bash
# Lazy pyramids of five different layers through a real mount: color uint8 (zarr3), color uint8 with 3
# channels (zarr v2), segmentation uint32 (wkw), segmentation uint64 with ids beyond 2^53 (zarr3, 64³
# shards) and color float32 (zarr3, 16³ chunks in 32³ shards), all 421x170x37 voxels, so every mag has
# edge shards and zero padding. Checks: registration and listing compute nothing; one read of a coarsest
# file computes exactly the files it depends on; every lazy file read from 6 threads in a seeded random
# order (some files by 3 threads at once; whole reads, shard-index style tail reads, preads) computes each
# file exactly once and serves the same bytes to everybody; every mag equals an eager numpy reference
# (the library's semantics, notes section 5) bit for bit; writes to mag 1 of two layers make the files
# depending on them stale on every level, and the recomputed mags equal the recomputed reference.
# WKFS_LAZY_SEED=N repeats a run (the seed drives the data, the read order and the patches).
source "$(dirname "$0")/mount_common.inc" "$@"

SEED=${WKFS_LAZY_SEED:-$((RANDOM * 32768 + RANDOM))}
echo "lazy_layers: seed $SEED (WKFS_LAZY_SEED=$SEED repeats this run)"
LZ=$WORK/lazy_layers.py
cat > "$LZ" <<'PYEOF'
# python3 lazy_layers.py WKFS WORK COMMAND [ARGS]: the data, the reference and the checks of lazy_layers.sh.
import itertools, json, os, random, subprocess, sys, threading
from concurrent.futures import ThreadPoolExecutor
import numpy as np

WKFS, WORK, CMD, ARGS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
MNT = f"{WORK}/mnt"
DSM = f"{MNT}/ds"          # the dataset through the mount
BK = f"{WORK}/src/ds"      # the backing dataset
SIZE = (421, 170, 37)      # odd, aligned to nothing
VOXEL = "11.24,11.24,25"   # default pyramid for 421 px: coarsest 8, anisotropic (notes section 6)
MAGS = [(1, 1, 1), (2, 2, 1), (4, 4, 2), (8, 8, 4)]
META = {"zarr.json", ".zarray", ".zattrs", ".zgroup", "header.wkw"}
# name, category, dtype, channels, format, add-layer options, downsample options, lazy file edge (voxels)
LAYERS = [
    ("color", "color", "uint8", 1, "zarr3", [], [], 128),
    ("rgb", "color", "uint8", 3, "zarr", [], [], 32),
    ("seg32", "segmentation", "uint32", 1, "wkw", [], [], 128),
    ("seg64", "segmentation", "uint64", 1, "zarr3", ["--shard-shape", "64"], ["--shard-shape", "64"], 64),
    ("float", "color", "float32", 1, "zarr3", ["--chunk-shape", "16", "--shard-shape", "64"],
     ["--chunk-shape", "16", "--shard-shape", "32"], 32),
]
BY_NAME = {l[0]: l for l in LAYERS}
PATCHED = ("rgb", "seg64")


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def mag_name(mi):
    m = MAGS[mi]
    return str(m[0]) if m[0] == m[1] == m[2] else "-".join(map(str, m))


def region(mi):  # the aligned region of a mag, in its voxels (notes 5.1.2)
    return tuple(-(-n // m) for n, m in zip(SIZE, MAGS[mi]))


def factor(mi):
    return tuple(a // b for a, b in zip(MAGS[mi], MAGS[mi - 1]))


def srange(lo, hi, edge):
    return range(lo // edge, -(-hi // edge))


def grid(layer, mi):  # every file of a lazy mag, as shard indices
    edge = BY_NAME[layer][7]
    return set(itertools.product(*(srange(0, r, edge) for r in region(mi))))


def rel_path(layer, mi, s):
    fmt = BY_NAME[layer][4]
    x, y, z = s
    if fmt == "zarr3":
        return f"{layer}/{mag_name(mi)}/c/0/{x}/{y}/{z}"
    if fmt == "zarr":
        return f"{layer}/{mag_name(mi)}/0/{x}/{y}/{z}"
    return f"{layer}/{mag_name(mi)}/z{z}/y{y}/x{x}.wkw"


def needs(layer, mi, shard, acc):
    """acc[mi-1] gets every lazy file of the finer mags that shard `shard` of mag mi reads (recursively)."""
    if mi == 1:
        return
    edge, rt, rs, f = BY_NAME[layer][7], region(mi), region(mi - 1), factor(mi)
    ranges = []
    for a in range(3):
        lo, hi = shard[a] * edge, min((shard[a] + 1) * edge, rt[a])
        ranges.append(srange(lo * f[a], min(hi * f[a], rs[a]), edge))
    for s in itertools.product(*ranges):
        if s not in acc[mi - 1]:
            acc[mi - 1].add(s)
            needs(layer, mi - 1, s, acc)


def affected(layer, lo, hi):
    """The lazy files of every coarser mag that depend on the mag-1 box [lo, hi)."""
    out, edge = {}, BY_NAME[layer][7]
    for mi in range(1, len(MAGS)):
        f = factor(mi)
        lo = [l // k for l, k in zip(lo, f)]
        hi = [min(-(-h // k), r) for h, k, r in zip(hi, f, region(mi))]
        out[mi] = set(itertools.product(*(srange(l, h, edge) for l, h in zip(lo, hi))))
    return out


def backing_files(layer, mi):
    root, out = f"{BK}/{layer}/{mag_name(mi)}", set()
    for d, _, fs in os.walk(root):
        for f in fs:
            if f not in META and "wkfs-tmp" not in f:
                out.add(os.path.relpath(os.path.join(d, f), BK))
    return out


def status():
    out = subprocess.run([WKFS, "ctl", MNT, "status"], capture_output=True, check=True).stdout
    d = json.loads(out)
    return d, {(m["layer"], m["mag"]): m for v in d["lazy"].values() for m in v["mags"]}


def lazy_mags():
    return [(l[0], mi) for l in LAYERS for mi in range(1, len(MAGS))]


def listed_mags(props, layer):
    return [m["path"] for l in props["dataLayers"] if l["name"] == layer for m in l["mags"]]


# --- the data ----------------------------------------------------------------------------------------
def gen(seed):
    rng = np.random.default_rng(seed)
    x, y, z = np.meshgrid(*(np.arange(n) for n in SIZE), indexing="ij")
    out = {}
    # color: a noisy gradient with plateaus (ties for the median) and an all-zero corner
    g = 30 + 0.33 * x + 0.45 * y + 2.2 * z + 18 * np.sin(x / 13.0) + rng.normal(0, 10, SIZE)
    g = np.where((x // 6 + y // 6 + z // 3) % 4 == 0, 100 + 4 * ((x // 6) % 3), g)
    g[(x >= 330) & (y < 64)] = 0
    out["color"] = np.clip(np.rint(g), 0, 255).astype(np.uint8)[None]
    # rgb: three different channels, the third from 4 values only (many even-count medians of ties)
    c0 = 255 - 0.5 * x - 0.3 * y + rng.normal(0, 8, SIZE)
    c1 = 128 + 60 * np.sin(y / 11.0) * np.cos(z / 5.0) + rng.normal(0, 20, SIZE)
    c2 = np.array([10, 11, 200, 201])[(x // 2 + 2 * (y // 3) + 3 * z) % 4].astype(np.float64)
    salt = rng.random(SIZE) < 0.15
    c2[salt] = rng.integers(0, 256, int(salt.sum()))
    out["rgb"] = np.clip(np.rint(np.stack([c0, c1, c2])), 0, 255).astype(np.uint8)
    # seg32: large blocky segments, a region of 3 small ids alternating voxel by voxel (ties everywhere),
    # background 0 and the largest uint32 id
    seg = (1 + x // 23 + 19 * (y // 17) + 209 * (z // 5)).astype(np.uint64) * 2_500_000 + 7
    fine = (x // 3 + y // 5 + z // 2) % 3 == 0
    seg = np.where(fine, (x + 2 * y + 3 * z) % 3 + 1, seg)
    seg[(x - 60) ** 2 + (y - 120) ** 2 < 30 ** 2] = 0
    seg[200:210] = 2**32 - 1
    out["seg32"] = seg.astype(np.uint32)[None]
    # seg64: ids from an alphabet with values beyond 2^32 and pairs that are equal as float64
    # (2^60+1 / 2^60+2, 2^64-2 / 2^64-1); blocky with random noise, plus a region of large labels
    alphabet = np.array([0, 1, 2**32, 2**32 + 1, 2**53 + 1, 2**60 + 1, 2**60 + 2, 2**64 - 2, 2**64 - 1, 5],
                        dtype=np.uint64)
    idx = ((x // 3) * 3 + (y // 2) * 5 + (z // 2) * 7 + x // 17) % 10
    noisy = rng.random(SIZE) < 0.3
    idx[noisy] = rng.integers(0, 10, int(noisy.sum()))
    s64 = alphabet[idx]
    big = x + y < 150
    s64[big] = (2**33 + (x // 20) * 1000 + y // 20)[big].astype(np.uint64)
    out["seg64"] = s64[None]
    # float: negative and positive values, noise, quantised planes (exact ties), no -0.0, and a region
    # near the float32 maximum where the median's float32 sum overflows to inf (float64 would not)
    f = (x - 210) * 0.731 + 40 * np.sin(y / 9.0) - 1.7 * z + rng.normal(0, 3, SIZE)
    f = np.where(z % 5 == 0, np.round(f * 4) / 4, f)
    huge = (x >= 300) & (x < 340) & (y < 40)
    f[huge] = 3.0e38 + rng.uniform(0, 3.0e37, int(huge.sum()))
    f = f.astype(np.float32)
    f[f == 0] = np.float32(0)
    out["float"] = f[None]
    os.makedirs(f"{WORK}/ref", exist_ok=True)
    for name, a in out.items():
        assert a.dtype == np.dtype(BY_NAME[name][2]) and a.shape == (BY_NAME[name][3], *SIZE)
        np.save(f"{WORK}/ref/{name}.npy", a)
        a.tofile(f"{WORK}/{name}.raw")  # (channels, x, y, z) C order, as `wkfs write` wants


# --- the eager reference (notes 5.1, 5.2) -------------------------------------------------------------
def step(a, f, mode):
    """One library step: zero padding to the aligned region, one reduction per block; block element
    order dy fastest, then dx, then dz."""
    C, X, Y, Z = a.shape
    t = [-(-n // k) for n, k in zip((X, Y, Z), f)]
    p = np.zeros((C, t[0] * f[0], t[1] * f[1], t[2] * f[2]), a.dtype)
    p[:, :X, :Y, :Z] = a
    b = p.reshape(C, t[0], f[0], t[1], f[1], t[2], f[2])
    s = np.stack([b[:, :, dx, :, dy, :, dz] for dz in range(f[2]) for dx in range(f[0]) for dy in range(f[1])], -1)
    n = s.shape[-1]
    if mode:  # most frequent; ties -> the value that occurs first in the element order
        counts = (s[..., :, None] == s[..., None, :]).sum(-1)
        return np.take_along_axis(s, counts.argmax(-1)[..., None], -1)[..., 0]
    srt = np.sort(s, -1)
    if n % 2:
        return srt[..., n // 2]
    lo, hi = srt[..., n // 2 - 1], srt[..., n // 2]
    if a.dtype.kind == "f":  # np.median on floats: the type's own arithmetic (may overflow to inf)
        with np.errstate(over="ignore"):
            return ((lo + hi) / a.dtype.type(2)).astype(a.dtype)
    return np.trunc((lo.astype(np.float64) + hi.astype(np.float64)) / 2).astype(a.dtype)


def reference(layer):
    a = np.load(f"{WORK}/ref/{layer}.npy")
    mode = BY_NAME[layer][1] == "segmentation"
    out = [a]
    for mi in range(1, len(MAGS)):
        out.append(step(out[-1], factor(mi), mode))
        check(out[-1].shape[1:] == region(mi), f"reference shape {out[-1].shape} for {layer} {mag_name(mi)}")
    return out


def wkfs_read(layer, mi):
    r = region(mi)
    box = ",".join(map(str, (0, 0, 0, *(n * m for n, m in zip(r, MAGS[mi])))))
    p = subprocess.run([WKFS, "read", DSM, "--layer", layer, "--mag", mag_name(mi), "--bbox", box], capture_output=True)
    check(p.returncode == 0, f"wkfs read {layer} {mag_name(mi)} through the mount failed: {p.stderr.decode()}")
    dt = np.dtype(BY_NAME[layer][2])
    want = BY_NAME[layer][3] * r[0] * r[1] * r[2] * dt.itemsize
    check(len(p.stdout) == want, f"wkfs read {layer} {mag_name(mi)}: {len(p.stdout)} bytes, expected {want}")
    return np.frombuffer(p.stdout, dt).reshape(BY_NAME[layer][3], *r)


def compare(got, ref, what):
    u = np.dtype(f"u{ref.dtype.itemsize}")
    bad = got.view(u) != ref.view(u)  # bit for bit, floats included
    n = int(bad.sum())
    if n:
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        raise Fail(f"{what}: {n} of {ref.size} voxels differ from the eager reference; first at (c,x,y,z)={i}: "
                   f"got {got[i]!r}, expected {ref[i]!r}")


def values():
    for layer in BY_NAME:
        refs = reference(layer)
        for mi in range(len(MAGS)):
            compare(wkfs_read(layer, mi), refs[mi], f"{layer} mag {mag_name(mi)}")
    print("  every mag of every layer equals the eager reference")


# --- counters -----------------------------------------------------------------------------------------
def registered():
    """Item 2: registration and listing compute nothing; the listing is exactly the shard grid."""
    def nothing_computed(when):
        _, st = status()
        for layer, mi in lazy_mags():
            key = (layer, mag_name(mi))
            check(key in st, f"no lazy counters for {key} {when}")
            m = st[key]
            for c in ("files_computed", "files_stale", "queued", "in_progress", "errors"):
                check(m[c] == 0, f"{key} {when}: {c} = {m[c]}, expected 0")
            check(m["files_total"] == len(grid(layer, mi)),
                  f"{key}: files_total {m['files_total']}, expected {len(grid(layer, mi))}")
            want = "mode" if BY_NAME[layer][1] == "segmentation" else "median"
            check(m["interpolation"] == want and m["source_mag"] == mag_name(mi - 1),
                  f"{key}: {m['interpolation']} from {m['source_mag']}, expected {want} from {mag_name(mi - 1)}")
            check(not backing_files(layer, mi), f"{key} {when}: data files in the backing folder")
    nothing_computed("after registration")
    props_bk = json.load(open(f"{BK}/datasource-properties.json"))
    props_mnt = json.load(open(f"{DSM}/datasource-properties.json"))
    for layer in BY_NAME:
        check(listed_mags(props_bk, layer) == [f"./{layer}/1"], f"backing properties list a lazy mag of {layer}")
        want = [f"./{layer}/{mag_name(mi)}" for mi in range(len(MAGS))]
        check(listed_mags(props_mnt, layer) == want, f"mount shows {listed_mags(props_mnt, layer)} for {layer}")
    files = []
    for layer, mi in lazy_mags():
        listed = set()
        for d, _, fs in os.walk(f"{DSM}/{layer}/{mag_name(mi)}"):
            for f in fs:
                p = os.path.join(d, f)
                st = os.stat(p)
                if f in META:
                    continue
                check(st.st_size > 0, f"{p}: stat size 0 before it is computed")
                listed.add(os.path.relpath(p, DSM))
        want = {rel_path(layer, mi, s) for s in grid(layer, mi)}
        check(listed == want, f"{layer} {mag_name(mi)}: listing shows {sorted(listed ^ want)[:5]}... beyond/short "
                              f"of the {len(want)} shard files")
        files += sorted(listed)
    json.dump(files, open(f"{WORK}/files.json", "w"))
    nothing_computed("after listing and stat of every file")
    print(f"  registration and listing of {len(files)} lazy files computed nothing")


def single():
    """Item 3: one read of one file of the coarsest mag computes that file and what it reads, nothing else."""
    layer, mi, shard = "float", len(MAGS) - 1, (1, 0, 0)
    p = f"{DSM}/{rel_path(layer, mi, shard)}"
    with open(p, "rb") as fh:
        data = fh.read()
        check(os.fstat(fh.fileno()).st_size == len(data), f"{p}: fstat size differs from the bytes read")
    check(data == open(f"{BK}/{rel_path(layer, mi, shard)}", "rb").read(), f"{p}: bytes differ from the stored file")
    acc = {k: set() for k in range(len(MAGS))}
    acc[mi].add(shard)
    needs(layer, mi, shard, acc)
    _, st = status()
    for l, k in lazy_mags():
        want = {rel_path(l, k, s) for s in acc[k]} if l == layer else set()
        have = backing_files(l, k)
        check(have == want, f"{l} {mag_name(k)} after reading one file of {layer} {mag_name(mi)}: "
                            f"stored {sorted(have)}, expected {sorted(want)}")
        c = st[(l, mag_name(k))]["files_computed"]
        check(c == len(want), f"{l} {mag_name(k)}: files_computed {c} after one read, expected {len(want)}")
    print(f"  one read of {layer} {mag_name(mi)} {shard} computed {[len(acc[k]) for k in range(1, len(MAGS))]} files")


def complete(check_bytes):
    """Item 5: every file computed exactly once, no error, the backing properties list every mag."""
    d, st = status()
    for layer, mi in lazy_mags():
        key = (layer, mag_name(mi))
        m = st[key]
        check(m["files_computed"] <= m["files_total"],
              f"{key}: files_computed {m['files_computed']} > files_total {m['files_total']}: a file was computed twice")
        check(m["files_computed"] == m["files_total"], f"{key}: files_computed {m['files_computed']} of {m['files_total']}")
        for c in ("errors", "queued", "in_progress"):
            check(m[c] == 0, f"{key}: {c} = {m[c]}")
        check(m["complete"], f"{key}: not complete")
        have = backing_files(layer, mi)
        check(len(have) == m["files_total"], f"{key}: {len(have)} stored files of {m['files_total']}")
        if check_bytes:  # bytes_written counts every computation: a second one would exceed the stored bytes
            stored = sum(os.path.getsize(f"{BK}/{p}") for p in have)
            check(m["bytes_written"] == stored,
                  f"{key}: bytes_written {m['bytes_written']} != {stored} stored: a file was computed twice")
    props = json.load(open(f"{BK}/datasource-properties.json"))
    for layer in BY_NAME:
        want = [f"./{layer}/{mag_name(mi)}" for mi in range(len(MAGS))]
        check(listed_mags(props, layer) == want, f"backing properties list {listed_mags(props, layer)} for {layer}")
    n = d["errors"]["count"] if isinstance(d.get("errors"), dict) else 0
    check(n == 0, f"the mount reports {n} errors: {d['errors']}")
    print(f"  all {sum(st[(l, mag_name(k))]['files_total'] for l, k in lazy_mags())} lazy files computed once, no errors")


# --- concurrent readers -------------------------------------------------------------------------------
_T = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _T.append(_c)


def crc32c(b):
    c = 0xFFFFFFFF
    for v in b:
        c = _T[(c ^ v) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def index_bytes(rel):
    """The size of the shard index at the end of a zarr3 file (16 bytes per inner chunk + crc32c)."""
    layer, mag = rel.split("/")[:2]
    if BY_NAME[layer][4] != "zarr3":
        return None
    meta = json.load(open(f"{DSM}/{layer}/{mag}/zarr.json"))
    shard = meta["chunk_grid"]["configuration"]["chunk_shape"]
    chunk = meta["codecs"][0]["configuration"]["chunk_shape"]
    return 16 * int(np.prod([s // c for s, c in zip(shard, chunk)])) + 4


def read_all(fd, n=1 << 16):
    parts = []
    while True:
        b = os.read(fd, n)
        if not b:
            return b"".join(parts)
        parts.append(b)


def pread_exact(fd, off, n):
    parts = []
    while n > 0:
        b = os.pread(fd, n, off)
        if not b:
            break
        parts.append(b)
        off += len(b)
        n -= len(b)
    return b"".join(parts)


def reader(rel, style, rng, barrier):
    """Returns (size, pieces, stat size before open): pieces are (offset, bytes) the reader saw."""
    p = f"{DSM}/{rel}"
    ix = index_bytes(rel) if style == "tail" else None
    if barrier is not None:
        barrier.wait(timeout=60)
    before = os.stat(p).st_size
    fd = os.open(p, os.O_RDONLY)
    try:
        if style == "whole":
            data = read_all(fd, rng.choice([4096, 65536, 1 << 20]))
            size = os.fstat(fd).st_size
            check(size == len(data), f"{rel}: fstat {size} after reading {len(data)} bytes")
            return size, [(0, data)], before
        if style == "tail":  # a zarr reader: seek to the end, read the shard index, then the chunks
            end = os.lseek(fd, 0, os.SEEK_END)
            n = ix if ix is not None else min(end, rng.randint(1, 4096))
            check(end >= n, f"{rel}: {end} bytes, shorter than its index")
            os.lseek(fd, end - n, os.SEEK_SET)
            tail = read_all(fd)
            check(len(tail) == n, f"{rel}: read {len(tail)} bytes of the last {n}")
            size = os.fstat(fd).st_size
            check(size == end, f"{rel}: fstat {size} != seek end {end}")
            if ix is not None:
                body, crc = tail[:-4], int.from_bytes(tail[-4:], "little")
                check(crc32c(body) == crc, f"{rel}: shard index checksum mismatch")
                for k in range(0, len(body), 16):
                    off, nb = int.from_bytes(body[k:k + 8], "little"), int.from_bytes(body[k + 8:k + 16], "little")
                    check((off, nb) == (2**64 - 1, 2**64 - 1) or off + nb <= end - n,
                          f"{rel}: index entry {k // 16} ({off},{nb}) beyond the data of {end - n} bytes")
            os.lseek(fd, 0, os.SEEK_SET)
            return size, [(end - n, tail), (0, read_all(fd))], before
        size = os.fstat(fd).st_size  # pread: random ranges (one past the end), then the whole file out of order
        pieces = []
        for _ in range(4):
            off = rng.randrange(0, size + 64)
            pieces.append((off, pread_exact(fd, off, rng.randint(1, 8192))))
        step = rng.choice([1000, 4096, 50000])
        offs = list(range(0, size, step))
        rng.shuffle(offs)
        got = {o: os.pread(fd, step, o) for o in offs}
        pieces.append((0, b"".join(got[o] for o in sorted(got))))
        check(len(pieces[-1][1]) == size, f"{rel}: preads gave {len(pieces[-1][1])} bytes, fstat {size}")
        return size, pieces, before
    finally:
        os.close(fd)


def concurrent(seed, layers):
    files = [f for f in json.load(open(f"{WORK}/files.json")) if f.split("/")[0] in layers]
    rng = random.Random(seed)
    rng.shuffle(files)
    coarsest = mag_name(len(MAGS) - 1)
    jobs = []
    for rel in files:  # every file of the coarsest mags (sure to be lazy still) and a third of the rest: 3 readers
        n = 3 if rel.split("/")[1] == coarsest or rng.random() < 0.33 else 1
        jobs.append((rel, [(rng.choice(["whole", "tail", "pread"]), rng.randrange(2**32)) for _ in range(n)]))
    seen, errors, lock = [], [], threading.Lock()

    def one(rel, style, s, barrier):
        try:
            size, pieces, before = reader(rel, style, random.Random(s), barrier)
            with lock:
                seen.append((rel, style, size, pieces, before))
        except BaseException as e:  # noqa: BLE001 -- reported below
            if barrier is not None:
                barrier.abort()  # the other readers of this file stop waiting
            with lock:
                errors.append(f"{rel} ({style}): {type(e).__name__}: {e}")

    def job(j):
        rel, readers = j
        if len(readers) == 1:
            return one(rel, *readers[0], None)
        barrier = threading.Barrier(len(readers))  # the same file opened by 3 threads at once
        ts = [threading.Thread(target=one, args=(rel, st, s, barrier)) for st, s in readers]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(job, jobs))
    check(not errors, f"{len(errors)} concurrent reads failed, e.g. {errors[:3]}")
    final = {}
    for rel in files:  # everybody saw the bytes that are stored, and the mount serves them
        stored = open(f"{BK}/{rel}", "rb").read()
        check(open(f"{DSM}/{rel}", "rb").read() == stored, f"{rel}: the mount serves other bytes than stored")
        final[rel] = stored
    for rel, style, size, pieces, before in seen:
        data = final[rel]
        check(size == len(data), f"{rel} ({style}): size {size}, stored {len(data)}")
        check(before >= len(data), f"{rel} ({style}): stat before open said {before} < {len(data)} bytes")
        for off, b in pieces:
            check(b == data[off:off + len(b)] and len(b) == len(data[off:off + len(b)]),
                  f"{rel} ({style}): bytes at {off} differ from the stored file")
    styles = {s: sum(1 for x in seen if x[1] == s) for s in ("whole", "tail", "pread")}
    print(f"  {len(files)} files, {len(seen)} reads from 6 threads ({sum(len(r) > 1 for _, r in jobs)} files by "
          f"3 threads at once), reads per style {styles}: same bytes everywhere")


# --- item 6: writes to mag 1 -------------------------------------------------------------------------
def patch(seed):
    rng = np.random.default_rng(seed + 7)
    boxes = {"rgb": ((120, 60, 9), (33, 21, 11)),  # inside; crosses file boundaries of every mag
             "seg64": ((400, 150, 30), (21, 20, 7))}  # at the far corner: edge files and their padding
    for layer, (lo, size) in boxes.items():
        a = np.load(f"{WORK}/ref/{layer}.npy")
        sl = (slice(None),) + tuple(slice(l, l + s) for l, s in zip(lo, size))
        if layer == "seg64":
            new = np.array([2**60 + 1, 2**60 + 2, 2**40, 9], np.uint64)[rng.integers(0, 4, a[sl].shape)]
        else:
            new = rng.integers(0, 256, a[sl].shape).astype(a.dtype)
        p = subprocess.run([WKFS, "write", DSM, "--layer", layer, "--mag", "1", "--bbox",
                            ",".join(map(str, (*lo, *size)))], input=np.ascontiguousarray(new).tobytes(),
                           capture_output=True)
        check(p.returncode == 0, f"wkfs write {layer} through the mount failed: {p.stderr.decode()}")
        a[sl] = new
        np.save(f"{WORK}/ref/{layer}.npy", a)
    _, st = status()
    props = json.load(open(f"{BK}/datasource-properties.json"))
    for layer, mi in lazy_mags():
        key = (layer, mag_name(mi))
        m = st[key]
        if layer not in boxes:
            check(m["files_stale"] == 0 and m["files_computed"] == m["files_total"],
                  f"{key}: a write to another layer made files stale: {m}")
            continue
        lo, size = boxes[layer]
        aff = affected(layer, lo, [l + s for l, s in zip(lo, size)])[mi]
        check(m["files_stale"] >= max(1, len(aff)), f"{key}: files_stale {m['files_stale']} after a write to mag 1, "
                                                    f"expected >= {len(aff)}")
        left = [rel_path(layer, mi, s) for s in aff if os.path.exists(f"{BK}/{rel_path(layer, mi, s)}")]
        check(not left, f"{key}: stale files still stored: {left[:3]}")
        check(all(os.path.exists(f"{DSM}/{rel_path(layer, mi, s)}") for s in aff), f"{key}: stale files not listed")
        check(f"./{layer}/{mag_name(mi)}" not in listed_mags(props, layer), f"{key}: stale mag still in the backing properties")
    print("  writes to mag 1 of " + " and ".join(boxes) + " made files stale on every coarser level")


if __name__ == "__main__":
    try:
        if CMD == "table":
            for l in LAYERS:
                print(*l[:5], ":".join(l[5]) or "-", ":".join(l[6]) or "-")
        elif CMD == "geometry":
            print(*SIZE, VOXEL, *(mag_name(mi) for mi in range(1, len(MAGS))))
        elif CMD == "gen":
            gen(int(ARGS[0]))
        elif CMD == "registered":
            registered()
        elif CMD == "single":
            single()
        elif CMD == "concurrent":
            concurrent(int(ARGS[0]), ARGS[1].split(","))
        elif CMD == "complete":
            complete(ARGS[0] == "bytes")
        elif CMD == "values":
            values()
        elif CMD == "patch":
            patch(int(ARGS[0]))
        else:
            raise SystemExit(f"unknown command {CMD}")
    except Fail as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
PYEOF
lz() { "$PY" "$LZ" "$WKFS" "$WORK" "$@"; }

# 1. one dataset, five layers of 421x170x37 voxels written into mag 1 (before mounting)
read -r W H D VOXEL MAGS < <(lz geometry)
lz gen "$SEED" || fail "could not generate the data"
"$WKFS" create "$WORK/src/ds" --voxel-size "$VOXEL"
LAYERS=()
declare -A DS_OPTS
while read -r name category dtype channels format add_opts ds_opts; do
  LAYERS+=("$name")
  opts=()
  [[ $add_opts == - ]] || read -r -a opts <<< "${add_opts//:/ }"
  "$WKFS" add-layer "$WORK/src/ds" "$name" --category "$category" --dtype "$dtype" --channels "$channels" \
    --format "$format" "${opts[@]}" || fail "add-layer $name"
  "$WKFS" write "$WORK/src/ds" --layer "$name" --mag 1 --bbox "0,0,0,$W,$H,$D" < "$WORK/$name.raw" || fail "write $name"
  DS_OPTS[$name]=$ds_opts
done < <(lz table)
mount_wkfs "$WORK/src" "$WORK/mnt"
M=$WORK/mnt

# 2. downsample every layer with the defaults: registration only, then listing computes nothing
start=$(date +%s%N)
for name in "${LAYERS[@]}"; do
  opts=()
  [[ ${DS_OPTS[$name]} == - ]] || read -r -a opts <<< "${DS_OPTS[$name]//:/ }"
  "$WKFS" ctl "$M/ds/$name" downsample "${opts[@]}" > "$WORK/reply.json" || fail "downsample $name: $(cat "$WORK/reply.json")"
  [[ $(json "$WORK/reply.json" "' '.join(d['result']['mags'])") == "$MAGS" ]] ||
    fail "default pyramid of $name is not $MAGS: $(cat "$WORK/reply.json")"
done
echo "  five layers registered in $((($(date +%s%N) - start) / 1000000)) ms"
lz registered || fail "registration or listing computed something"

# 3. one read computes just what it needs; then every file, random order, 6 threads, some 3 at once
lz single || fail "a single read computed more (or less) than it needs"
lz concurrent "$SEED" "$(IFS=,; echo "${LAYERS[*]}")" || fail "concurrent reads of the lazy files"
# 5. each file computed exactly once, no errors
lz complete bytes || fail "counters after reading every file"
# 4. every mag equals the eager reference, bit for bit
lz values || fail "lazy data differs from the eager reference"

# 6. writes into mag 1 of two layers make every coarser level stale; re-read, compare again
lz patch "$SEED" || fail "staleness after writes to mag 1"
lz concurrent $((SEED + 1)) rgb,seg64 || fail "concurrent reads of recomputed files"
lz values || fail "recomputed data differs from the eager reference"
lz complete counts || fail "counters after recomputation"
echo "lazy layers e2e: ok"
