#!/usr/bin/python3
"""Load soak through a real wkfs mount (issue 11, "The harness").

8 readers and 2 writers for --seconds on a demo dataset with a lazy pyramid on both layers:
  readers 0-1  `wkfs read` regions of color mags 1, 2-2-1, 4-4-2 (stored and lazy): exact bytes checked
  reader  2    whole lazy color files through the mount, decoded independently: exact voxels checked
  reader  3    pread of random ranges of color mag-1 shard files, compared with the backing file
  reader  4    `wkfs read` regions of segmentation lazy mags (the source is being written: errors only)
  reader  5    readdir/stat storm over the whole mount
  reader  6    whole segmentation lazy files (errors only)
  reader  7    datasource-properties.json (parsed), xattrs, .wkfs-status
  writer  0    region writes of random ids to segmentation mag 1 (changes: lazy dependents go stale)
  writer  1    region rewrites of color mag 1 with the data it already has (so every color read has one
               right answer while its lazy dependents are made stale and recomputed all the time)
Figures: reads, errors, wrong bytes, writes; the daemon's RSS and open fds at start, after warm-up
(the first third of the run) and at end, its peak RSS, and a sample per second (--json).
The daemon is mounted with small caps (--caps, default chunk_cache_mb=64,lazy_memory_mb=128) so that
"under the caps" means something.
usage: soak.py WKFS [--seconds 60] [--writers 0|1|2] [--caps OPTS] [--json FILE] [--seed S] [--tmp DIR]
Exit status: 0 iff no error, no wrong byte, and the daemon's memory is bounded:
  - RSS flat after warm-up: the median RSS of the last third <= the highest of the first third (the
    warm-up) * 1.10 + 8 MiB;
  - RSS under the caps: peak <= chunk cache cap + lazy memory cap + 96 MiB (code, stacks, FUSE
    buffers, glibc's free lists);
  - the chunk cache never holds more than one version of each chunk: its size <= the decoded size of
    every mag's chunks over the layer (a chunk of a replaced shard can never be read again);
  - open fds flat: end <= start + 8.
Measured (2 cores, 2 writers, 120 s, default caps 256 + 1024 MiB): before the chunk cache released
replaced shards' chunks, RSS 6 -> 440 MiB at 10 s -> 481 MiB, the cache full (256 MiB) of stale chunks;
after, 147 MiB at 10 s -> 150 MiB at 120 s, the cache at 25 MiB (all of the demo's chunks). With the
soak's caps (64 + 128 MiB), 300 s: 154 MiB at 25 s, 157 MiB at 100-200 s, 158 MiB at 300 s; fds 6 -> 6,
known inodes 48-53. Of ~140 MiB in the heaps, ~80 MiB were free chunks glibc keeps (malloc_info).
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wkcheck as W  # noqa: E402

SIZE = (256, 256, 64)
RSS_GROWTH = (1.10, 8 * 1024)  # after warm-up: at most 10 % + 8 MiB above the warm-up's highest RSS
RSS_OVER_CAPS_KB = 96 * 1024  # what the daemon may hold beyond its caps


class Soak:
    def __init__(self, a):
        self.a = a
        self.wkfs = os.path.abspath(a.wkfs)
        self.work = tempfile.mkdtemp(prefix="wkfs-soak.", dir=a.tmp)
        self.src = os.path.join(self.work, "src")
        self.mnt = os.path.join(self.work, "mnt")
        self.log = os.path.join(self.work, "daemon.log")
        self.lock = threading.Lock()
        self.f = {"reads": 0, "read_errors": 0, "wrong_reads": 0, "wrong_bytes": 0, "writes": 0,
                  "write_errors": 0}
        self.examples = []
        self.stop = threading.Event()

    def count(self, k, n=1, ex=None):
        with self.lock:
            self.f[k] += n
            if ex and len(self.examples) < 30:
                self.examples.append(ex)

    def setup(self):
        os.makedirs(self.src)
        subprocess.run([self.wkfs, "make-demo", os.path.join(self.src, "demo"), "--size", ",".join(map(str, SIZE))],
                       check=True, capture_output=True)
        ok, out = W.mount(self.wkfs, self.src, self.mnt, self.log, opts=[o for o in self.a.caps.split(",") if o])
        if not ok:
            raise SystemExit(f"mount: {out}")
        self.ds = os.path.join(self.mnt, "demo")
        for l in ("color", "segmentation"):
            subprocess.run([self.wkfs, "ctl", os.path.join(self.ds, l), "downsample"], check=True, capture_output=True)
        self.lazy = json.load(open(os.path.join(self.src, "demo", ".wkfs", "lazy.json")))["mags"]
        p = W.load_properties(os.path.join(self.src, "demo"))
        self.layers = {l["name"]: l for l in p["dataLayers"]}
        c = self.layers["color"]
        self.ref = {"1-1-1": W.read_mag(os.path.join(self.src, "demo"), c, [1, 1, 1], "./color/1")}
        chain = sorted((e for e in self.lazy if e["layer"] == "color"), key=lambda e: e["mag"])
        for e in chain:
            v = W.step(self.ref[W.mag_name(e["sourceMag"])], [m // s for m, s in zip(e["mag"], e["sourceMag"])],
                       e["interpolation"])
            ext = W.layer_extent(c, e["mag"])
            self.ref[W.mag_name(e["mag"])] = v[(slice(None),) + tuple(slice(0, x) for x in ext)]
        self.color_mags = [[1, 1, 1]] + [e["mag"] for e in chain]
        self.seg_mags = [e["mag"] for e in self.lazy if e["layer"] == "segmentation"]
        self.chunk_bytes_bound = self.decoded_chunk_bytes()

    def decoded_chunk_bytes(self):
        """Bytes of one decoded version of every chunk over the layers' extents, all mags."""
        total = 0
        for name, layer in self.layers.items():
            for e in [{"mag": [1, 1, 1]}] + [e for e in self.lazy if e["layer"] == name]:
                d = W.mag_dir(os.path.join(self.src, "demo"), layer, e["mag"], None)
                with open(os.path.join(d, "zarr.json")) as fh:
                    z = json.load(fh)
                inner = next((c["configuration"]["chunk_shape"] for c in z["codecs"] if c["name"] == "sharding_indexed"),
                             z["chunk_grid"]["configuration"]["chunk_shape"])
                n = 1
                for x, c in zip(list(z["shape"][:-3]) + W.layer_extent(layer, e["mag"]), inner):
                    n *= -(-x // c) * c
                total += n * np.dtype(z["data_type"]).itemsize
        return total

    def daemon_status(self):
        """(chunk cache bytes, chunk cache cap, lazy memory cap, known inodes) from .wkfs-status; None if unreadable."""
        try:
            with open(os.path.join(self.mnt, ".wkfs-status"), "rb") as fh:
                st = json.loads(fh.read())
        except (OSError, ValueError):
            return None
        caps = []

        def walk(x):
            if isinstance(x, dict):
                for k, v in x.items():
                    if k == "memory_cap_bytes":
                        caps.append(v)
                    else:
                        walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
        walk(st.get("lazy"))
        cc = st.get("chunk_cache", {})
        return cc.get("size_bytes", 0), cc.get("capacity_bytes", 0), sum(caps), st.get("known_inodes", 0)

    def files(self, d):
        return [os.path.join(dp, n) for dp, _, fn in os.walk(d) for n in fn if n not in W.META_NAMES]

    # ---------------------------------------------------------------- readers
    def region(self, rng, mag, maxw=96):
        w = [rng.randint(1, min(maxw, s) // m) * m for m, s in zip(mag, SIZE)]
        o = [rng.randrange(0, (s - ww) // m + 1) * m for s, ww, m in zip(SIZE, w, mag)]
        return o, w

    def wkfs_read(self, layer, mag, o, w):
        bbox = ",".join(map(str, o + w))
        p = subprocess.run([self.wkfs, "read", self.ds, "--layer", layer, "--mag", W.mag_name(mag), "--bbox", bbox],
                           capture_output=True, timeout=120)
        if p.returncode:
            raise OSError(f"wkfs read {layer} {W.mag_name(mag)} {bbox}: {p.stderr.decode(errors='replace').strip()[-160:]}")
        return p.stdout

    def r_color_regions(self, rng):
        mag = rng.choice(self.color_mags)
        o, w = self.region(rng, mag)
        data = self.wkfs_read("color", mag, o, w)
        ref = self.ref[W.mag_name(mag)]
        sl = (slice(None),) + tuple(slice(oo // m, (oo + ww) // m) for oo, ww, m in zip(o, w, mag))
        want = ref[sl]
        got = np.frombuffer(data, ref.dtype)
        if got.size != want.size:
            self.count("wrong_reads", ex=f"color {W.mag_name(mag)} {o}+{w}: {got.size} voxels, expected {want.size}")
            return
        bad = int((got.reshape(want.shape) != want).sum())
        if bad:
            self.count("wrong_reads", ex=f"color {W.mag_name(mag)} {o}+{w}: {bad} wrong voxels")
            self.count("wrong_bytes", bad)

    def r_color_files(self, rng):
        mag = rng.choice(self.color_mags[1:])
        d = os.path.join(self.ds, "color", W.mag_name(mag))
        f = rng.choice(self.files(d))
        with open(f, "rb") as fh:
            data = fh.read()
        bd = os.path.join(self.src, "demo", "color", W.mag_name(mag))
        try:
            arr = W.limit_to_layer(W.open_array(bd, "zarr3"), self.layers["color"], mag)
            origin, a = arr.decode_file(os.path.join(bd, os.path.relpath(f, d)), data)
        except W.Invalid as e:
            self.count("wrong_reads", ex=f"{os.path.relpath(f, self.mnt)}: does not decode: {e}")
            return
        ref = self.ref[W.mag_name(mag)]
        o = origin[-3:]
        sl = tuple(slice(oo, min(oo + g, r)) for oo, g, r in zip(o, a.shape[-3:], ref.shape[-3:]))
        have = a[(slice(None),) + tuple(slice(0, s.stop - s.start) for s in sl)]
        bad = int((have != ref[(slice(None),) + sl]).sum())
        if bad:
            self.count("wrong_reads", ex=f"{os.path.relpath(f, self.mnt)}: {bad} wrong voxels")
            self.count("wrong_bytes", bad)

    def r_pread(self, rng):
        d = os.path.join(self.ds, "color", "1")
        f = rng.choice(self.files(d))
        b = os.path.join(self.src, os.path.relpath(f, self.mnt))
        fd = os.open(f, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            for _ in range(8):
                off = rng.randrange(0, max(1, size))
                n = rng.randint(1, 65536)
                got = os.pread(fd, n, off)
                for _attempt in range(3):
                    with open(b, "rb") as bf:
                        bf.seek(off)
                        want = bf.read(n)
                    if got == want:
                        break
                    got2 = os.pread(fd, n, off)
                    if got2 == want:
                        got = got2
                        break
                    time.sleep(0.05)
                if got != want:
                    self.count("wrong_reads", ex=f"pread {os.path.relpath(f, self.mnt)} @{off}+{n}: differs from the backing file")
                    self.count("wrong_bytes", sum(x != y for x, y in zip(got, want)) + abs(len(got) - len(want)))
                    return
        finally:
            os.close(fd)

    def r_seg_regions(self, rng):
        mag = rng.choice(self.seg_mags)
        o, w = self.region(rng, mag)
        data = self.wkfs_read("segmentation", mag, o, w)
        n = int(np.prod([ww // m for ww, m in zip(w, mag)])) * 4
        if len(data) != n:
            self.count("wrong_reads", ex=f"segmentation {W.mag_name(mag)}: {len(data)} bytes, expected {n}")

    def r_storm(self, rng):
        for dp, dn, fn in os.walk(self.mnt):
            for n in dn + fn:
                os.lstat(os.path.join(dp, n))

    def r_seg_files(self, rng):
        mag = rng.choice(self.seg_mags)
        f = rng.choice(self.files(os.path.join(self.ds, "segmentation", W.mag_name(mag))))
        with open(f, "rb") as fh:
            fh.read()

    def r_meta(self, rng):
        with open(os.path.join(self.ds, "datasource-properties.json"), "rb") as fh:
            text = fh.read()
        try:
            d = json.loads(text)
        except ValueError as e:
            self.count("wrong_reads", ex=f"properties through the mount ({len(text)} bytes) do not parse: {e}")
            return
        if not isinstance(d.get("dataLayers"), list):
            self.count("wrong_reads", ex="properties through the mount: no dataLayers")
        for l in ("color", "segmentation"):
            os.getxattr(os.path.join(self.ds, l), "user.wk.bounding_box")
        with open(os.path.join(self.mnt, ".wkfs-status"), "rb") as fh:
            json.loads(fh.read())

    # ---------------------------------------------------------------- writers
    def w_seg(self, rng):
        o, w = self.region(rng, [1, 1, 1], 64)
        data = np.array(rng.choices([0, 3, 5, 77, 4000000000], k=int(np.prod(w))), np.uint32)
        self.write("segmentation", o, w, data.tobytes())
        time.sleep(0.25)

    def w_color(self, rng):
        o, w = self.region(rng, [1, 1, 1], 64)
        sl = (slice(None),) + tuple(slice(oo, oo + ww) for oo, ww in zip(o, w))
        self.write("color", o, w, np.ascontiguousarray(self.ref["1-1-1"][sl]).tobytes())
        time.sleep(0.25)

    def write(self, layer, o, w, data):
        p = subprocess.run([self.wkfs, "write", self.ds, "--layer", layer, "--mag", "1",
                            "--bbox", ",".join(map(str, o + w))], input=data, capture_output=True, timeout=120)
        if p.returncode:
            self.count("write_errors", ex=f"write {layer}: {p.stderr.decode(errors='replace').strip()[-160:]}")
        else:
            self.count("writes")

    def loop(self, fn, seed, is_reader):
        rng = random.Random(seed)
        while not self.stop.is_set():
            try:
                fn(rng)
                if is_reader:
                    self.count("reads")
            except Exception as e:  # noqa: BLE001 (a thread that dies would silently stop checking)
                self.count("read_errors" if is_reader else "write_errors",
                           ex=f"{fn.__name__}: {type(e).__name__}: {e}"[:240])
                time.sleep(0.05)

    def run(self):
        self.setup()
        time.sleep(0.5)
        rss0, fd0 = W.daemon_figures(self.src)
        readers = [self.r_color_regions, self.r_color_regions, self.r_color_files, self.r_pread,
                   self.r_seg_regions, self.r_storm, self.r_seg_files, self.r_meta]
        writers = [self.w_seg, self.w_color][:self.a.writers]
        ths = [threading.Thread(target=self.loop, args=(fn, self.a.seed * 100 + i, True), daemon=True)
               for i, fn in enumerate(readers)]
        ths += [threading.Thread(target=self.loop, args=(fn, self.a.seed * 100 + 50 + i, False), daemon=True)
                for i, fn in enumerate(writers)]
        t0 = time.time()
        for t in ths:
            t.start()
        samples = []  # (s since start, rss kB, open fds, chunk cache bytes, known inodes)
        caps = None
        while time.time() - t0 < self.a.seconds:
            time.sleep(1)
            r, n = W.daemon_figures(self.src)
            st = self.daemon_status()
            if st:
                caps = st[1] + st[2]
            samples.append((round(time.time() - t0, 1), r, n, st[0] if st else None, st[3] if st else None))
            if not W.daemon_pids(self.src):
                self.count("read_errors", ex="the daemon died")
                break
        self.stop.set()
        for t in ths:
            t.join(180)
        rss1, fd1 = W.daemon_figures(self.src)
        warm_at = self.a.seconds / 3
        during = [x[1] for x in samples if x[0] <= warm_at] or [rss0]
        # the level of the last third, not its highest sample: one computation more at once is a
        # spike the glibc heap gives back (300 s run: one sample of 172 MiB among 156-158 MiB)
        last = sorted(x[1] for x in samples if x[0] > 2 * warm_at) or [rss1]
        self.f.update(seconds=round(time.time() - t0, 1), rss_kb_start=rss0, rss_kb_warm=max(during),
                      rss_kb_last_third=last[len(last) // 2], rss_kb_end=rss1, rss_kb_peak=max([rss0, rss1] + [x[1] for x in samples]),
                      caps_kb=(caps or 0) // 1024, chunk_cache_kb_peak=max([x[3] or 0 for x in samples] + [0]) // 1024,
                      chunk_bytes_bound_kb=self.chunk_bytes_bound // 1024, fds_start=fd0,
                      fds_warm=max([x[2] for x in samples if x[0] <= warm_at] or [fd0]), fds_end=fd1,
                      known_inodes_end=next((x[4] for x in reversed(samples) if x[4] is not None), None),
                      samples=samples, examples=self.examples)
        W.unmount(self.wkfs, self.src, self.mnt)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wkfs")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--writers", type=int, default=2, choices=(0, 1, 2), help="how many of the 2 writers run")
    ap.add_argument("--caps", default="chunk_cache_mb=64,lazy_memory_mb=128",
                    help="mount options setting the daemon's memory caps (the RSS bound is checked against them)")
    ap.add_argument("--json", default="")
    ap.add_argument("--tmp", default=None)
    a = ap.parse_args()
    s = Soak(a)
    try:
        s.run()
    finally:
        W.unmount(s.wkfs, s.src, s.mnt)
    f = s.f
    mib = lambda kb: f"{kb / 1024:.0f} MiB"  # noqa: E731
    print(f"soak: {f['seconds']} s, 8 readers, {a.writers} writers, caps {a.caps or 'default'}")
    for k in ("reads", "read_errors", "wrong_reads", "wrong_bytes", "writes", "write_errors"):
        print(f"  {k:<14}{f[k]}")
    warm, after = f["rss_kb_warm"], f["rss_kb_last_third"]
    growth_max = warm * RSS_GROWTH[0] + RSS_GROWTH[1]
    caps_max = f["caps_kb"] + RSS_OVER_CAPS_KB
    rss_growth = after > growth_max
    # under ASan (tests/sanitized.sh sets WKFS_SANITIZED) the shadow memory and the quarantine of freed
    # blocks are the sanitizer's, not the daemon's: the cap is not checked, growth still is
    sanitized = bool(os.environ.get("WKFS_SANITIZED"))
    over_caps = not sanitized and (f["caps_kb"] == 0 or f["rss_kb_peak"] > caps_max)
    stale_cache = f["chunk_cache_kb_peak"] > f["chunk_bytes_bound_kb"]
    fd_growth = f["fds_end"] > f["fds_start"] + 8
    f.update(rss_growth=rss_growth, over_caps=over_caps, stale_cache=stale_cache, fd_growth=fd_growth)
    print(f"  rss           start {mib(f['rss_kb_start'])}, warm-up (first third, highest) {mib(warm)}, "
          f"last third (median) {mib(after)} "
          f"(bound {mib(growth_max)}), end {mib(f['rss_kb_end'])}: {'GROWS (violation)' if rss_growth else 'flat'}")
    print(f"  rss peak      {mib(f['rss_kb_peak'])} (bound: caps {mib(f['caps_kb'])} + {mib(RSS_OVER_CAPS_KB)}): "
          f"{'OVER (violation)' if over_caps else ('not checked under ASan' if sanitized else 'ok')}")
    print(f"  chunk cache   peak {mib(f['chunk_cache_kb_peak'])} (one version of every chunk: "
          f"{mib(f['chunk_bytes_bound_kb'])}): {'STALE CHUNKS HELD (violation)' if stale_cache else 'ok'}")
    print(f"  open fds      start {f['fds_start']}, warm-up {f['fds_warm']}, end {f['fds_end']}: "
          f"{'GROW (violation)' if fd_growth else 'flat'}; known inodes at end {f['known_inodes_end']}")
    print("  rss MiB over time " + " ".join(f"{t:.0f}s:{r / 1024:.0f}" for t, r, *_ in f["samples"][::max(1, len(f["samples"]) // 12)]))
    for e in s.examples[:10]:
        print(f"  e.g. {e}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(f, fh, indent=1)
    bad = f["read_errors"] + f["write_errors"] + f["wrong_reads"] + rss_growth + over_caps + stale_cache + fd_growth
    if not bad:
        shutil.rmtree(s.work, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
