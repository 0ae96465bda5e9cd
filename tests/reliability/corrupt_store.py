#!/usr/bin/python3
"""Corrupt store under a live mount (issue 11, "The harness").

For every (target file, corruption) pair: a fresh copy of a primed dataset folder (stored Zarr3 mags, lazy
mags with some files computed, a WKW and a Zarr v2 dataset) is mounted, one file of the BACKING folder is
truncated / bit-flipped / has bytes deleted, and then reads through the mount are judged:
  - the corrupted file read through the mount: the current backing bytes or EIO (the old bytes = stale),
  - the whole mag via `wkfs read` on the mount: an error, or the data before the corruption, or what an
    independent decoder (wkcheck) makes of the corrupted file when the corruption is undetectable,
  - for a corrupted source: every lazy file of its dependent mags read through the mount: EIO, or a file
    whose independent decode equals numpy's eager computation (from the data before or after),
  - every read has a timeout (a hang is a violation) and the daemon must be alive after each case.
usage: corrupt_store.py WKFS [--only target:mode,...] [--cache cold|warm|both] [--json FILE] [--seed S]
  cold: corrupted before the mount read the file; warm: after (a stale kernel cache then shows as "stale")
Exit status: 0 iff no wrong data, no hang and no crash.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wkcheck as W  # noqa: E402

FIXTURES = os.environ.get("WKFS_FIXTURES") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "fixtures"))
TIMEOUT = 30
READER = r"""
import os, sys
try:
    with open(sys.argv[1], "rb") as f:
        sys.stdout.buffer.write(f.read())
except OSError as e:
    sys.stderr.write(str(e.errno)); sys.exit(3)
"""


def read_through(path):
    """(kind, bytes|errno): kind is ok, error or hang."""
    try:
        p = subprocess.run([sys.executable, "-c", READER, path], capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "hang", None
    if p.returncode == 3:
        return "error", int(p.stderr or b"0")
    if p.returncode:
        return "crash", p.returncode
    return "ok", p.stdout


class Corrupt:
    def __init__(self, a):
        self.a = a
        self.wkfs = os.path.abspath(a.wkfs)
        self.rng = random.Random(a.seed)
        self.work = tempfile.mkdtemp(prefix="wkfs-corrupt.", dir=a.tmp)
        self.tpl = os.path.join(self.work, "template")
        self.src = os.path.join(self.work, "src")
        self.mnt = os.path.join(self.work, "mnt")
        self.log = os.path.join(self.work, "daemon.log")
        self.fig = {"cases": 0, "reads": 0, "correct": 0, "eio": 0, "wrong": 0, "stale": 0, "hang": 0, "crash": 0}
        self.bad = []

    def wk(self, *args, **kw):
        return subprocess.run([self.wkfs, *args], capture_output=True, timeout=kw.pop("timeout", 60), **kw)

    def prime(self):
        os.makedirs(self.tpl)
        self.wk("make-demo", os.path.join(self.tpl, "demo"), "--size", "160,160,32").check_returncode()
        shutil.copytree(os.path.join(FIXTURES, "simple_wkw_dataset"), os.path.join(self.tpl, "wkw"))
        shutil.copytree(os.path.join(FIXTURES, "simple_zarr_dataset"), os.path.join(self.tpl, "z2"))
        shutil.copytree(os.path.join(FIXTURES, "simple_zarr3_dataset"), os.path.join(self.tpl, "z3"))
        ok, out = W.mount(self.wkfs, self.tpl, self.mnt, self.log)
        if not ok:
            raise SystemExit(f"mount: {out}")
        try:
            for l in ("color", "segmentation"):
                self.wk("ctl", os.path.join(self.mnt, "demo", l), "downsample").check_returncode()
            # compute the first file of each lazy mag of color; leave segmentation's lazy
            for m in os.listdir(os.path.join(self.mnt, "demo", "color")):
                if m == "1":
                    continue
                fs = sorted(self.files(os.path.join(self.mnt, "demo", "color", m)))
                if fs:
                    open(fs[0], "rb").read()
        finally:
            W.unmount(self.wkfs, self.tpl, self.mnt)
        self.props = {ds: W.load_properties(os.path.join(self.tpl, ds)) for ds in ("demo", "wkw", "z2", "z3")}
        # eager references (independent of wkfs) of every mag
        self.ref = {}
        lj = json.load(open(os.path.join(self.tpl, "demo", ".wkfs", "lazy.json")))["mags"]
        self.lazy = lj
        for ds, p in self.props.items():
            for l in p["dataLayers"]:
                for mag, path in W.layer_mags(l):
                    self.ref[(ds, l["name"], W.mag_name(mag))] = W.read_mag(os.path.join(self.tpl, ds), l, mag, path)
        for e in lj:
            src = self.ref[("demo", e["layer"], W.mag_name(e["sourceMag"]))]
            l = self.layer("demo", e["layer"])
            v = W.step(src, [m // s for m, s in zip(e["mag"], e["sourceMag"])], e["interpolation"])
            ext = W.layer_extent(l, e["mag"])
            self.ref[("demo", e["layer"], W.mag_name(e["mag"]))] = v[(slice(None),) + tuple(slice(0, x) for x in ext)]

    def layer(self, ds, name):
        return next(l for l in self.props[ds]["dataLayers"] if l["name"] == name)

    @staticmethod
    def files(d):
        return [os.path.join(dp, n) for dp, _, fn in os.walk(d) for n in fn if W.TEMP_MARKER not in n]

    def targets(self):
        t = []
        demo = os.path.join(self.tpl, "demo")
        for l in ("color", "segmentation"):
            fs = sorted(f for f in self.files(os.path.join(demo, l, "1")) if os.path.basename(f) != "zarr.json")
            t.append((f"demo_{l}_mag1_shard", os.path.relpath(fs[0], self.tpl), "demo", l, "1"))
        lazy_done = [e for e in self.lazy if e["layer"] == "color"]
        for e in lazy_done[:1]:
            m = W.mag_name(e["mag"])
            fs = sorted(f for f in self.files(os.path.join(demo, "color", m)) if os.path.basename(f) != "zarr.json")
            if fs:
                t.append(("demo_color_lazy_computed", os.path.relpath(fs[0], self.tpl), "demo", "color", m))
        t.append(("demo_color_mag1_zarr_json", "demo/color/1/zarr.json", "demo", "color", "1"))
        t.append(("wkw_file", "wkw/color/1/z0/y0/x0.wkw", "wkw", "color", "1"))
        t.append(("wkw_header", "wkw/color/1/header.wkw", "wkw", "color", "1"))
        t.append(("z2_chunk", "z2/color/1-1-1/0.0.0.0", "z2", "color", "1"))
        t.append(("z2_zarray", "z2/color/1-1-1/.zarray", "z2", "color", "1"))
        t.append(("z3_shard", "z3/color/1/c/0/0/0/0", "z3", "color", "1"))
        return t

    MODES = ["truncate0", "truncate_half", "truncate_minus1", "bitflip", "bitflip_tail", "delete_bytes"]

    def corrupt(self, path, mode):
        with open(path, "rb") as f:
            b = bytearray(f.read())
        n = len(b)
        if mode == "truncate0":
            b = b""
        elif mode == "truncate_half":
            b = b[:n // 2]
        elif mode == "truncate_minus1":
            b = b[:-1]
        elif mode == "bitflip":
            for _ in range(8):
                i = self.rng.randrange(n)
                b[i] ^= 1 << self.rng.randrange(8)
        elif mode == "bitflip_tail":  # the shard index / last block
            i = max(0, n - 1 - self.rng.randrange(min(n, 40)))
            b[i] ^= 0xFF
        elif mode == "delete_bytes":
            i = self.rng.randrange(max(1, n // 2))
            del b[i:i + max(1, min(100, n // 10))]
        # write in place (same inode) as a disk error or another program would
        with open(path, "r+b") as f:
            f.write(b)
            f.truncate(len(b))
        return bytes(b)

    def judge(self, case, what, kind, ok):
        self.fig["reads"] += 1
        self.fig[kind] += 1
        if kind not in ("correct", "eio"):
            self.bad.append(f"{case}: {what}: {kind}{(' (' + ok + ')') if isinstance(ok, str) else ''}")

    def region_read(self, ds, layer, mag):
        l = self.layer(ds, layer)
        m = [int(v) for v in mag.split("-")] if "-" in mag else [int(mag)] * 3
        ref = self.ref[(ds, layer, W.mag_name(m))]
        # the region in mag-1 coordinates covering the whole mag extent
        ext = W.layer_extent(l, m)
        bbox = ",".join(map(str, [0, 0, 0] + [e * mm for e, mm in zip(ext, m)]))
        try:
            p = subprocess.run([self.wkfs, "read", os.path.join(self.mnt, ds), "--layer", layer, "--mag", mag,
                                "--bbox", bbox], capture_output=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return "hang", None, ref
        if p.returncode:
            return "error", p.stderr.decode(errors="replace")[-200:], ref
        return "ok", p.stdout, ref

    def run_case(self, name, rel, ds, layer, mag, mode, warm):
        case = f"{name}:{mode}:{'warm' if warm else 'cold'}"
        self.fig["cases"] += 1
        shutil.rmtree(self.src, ignore_errors=True)
        shutil.copytree(self.tpl, self.src, symlinks=True)
        ok, out = W.mount(self.wkfs, self.src, self.mnt, self.log)
        if not ok:
            self.bad.append(f"{case}: mount failed: {out[-200:]}")
            self.fig["crash"] += 1
            return
        try:
            bpath = os.path.join(self.src, rel)
            mpath = os.path.join(self.mnt, rel)
            old = open(bpath, "rb").read()
            if warm:  # caches hold the file: a change behind the mount's back must still be seen
                read_through(mpath)
                self.region_read(ds, layer, mag)
                time.sleep(0.05)
            new = self.corrupt(bpath, mode)
            # 1. the file itself
            k, v = read_through(mpath)
            if k == "ok":
                if v == new:
                    self.judge(case, "file read", "correct", None)
                elif v == old:
                    self.judge(case, "file read", "stale", "old bytes served after the backing file changed")
                elif name == "demo_color_lazy_computed" and self.lazy_ok(ds, layer, mag, mpath, v):
                    self.judge(case, "file read", "correct", None)  # recomputed
                else:
                    self.judge(case, "file read", "wrong", f"{len(v)} bytes, backing has {len(new)}")
            else:
                self.judge(case, "file read", {"error": "eio", "hang": "hang", "crash": "crash"}[k], f"errno {v}")
            # 2. the whole mag, decoded by wkfs
            k, v, ref = self.region_read(ds, layer, mag)
            if k == "ok":
                got = np.frombuffer(v, ref.dtype)
                if got.size == ref.size and (got.reshape(ref.shape) == ref).all():
                    self.judge(case, "region read", "correct", None)
                elif self.matches_current(ds, layer, mag, got, ref.shape):
                    self.judge(case, "region read", "correct", None)  # undetectable corruption, faithfully decoded
                else:
                    diff = int((got.reshape(ref.shape) != ref).sum()) if got.size == ref.size else -1
                    self.judge(case, "region read", "wrong", f"{diff} voxels differ, corruption not reported")
            else:
                self.judge(case, "region read", {"error": "eio", "hang": "hang"}[k], None)
            # 3. lazy dependents of a corrupted source
            if ds == "demo" and mag == "1":
                for e in self.lazy:
                    if e["layer"] != layer:
                        continue
                    m = W.mag_name(e["mag"])
                    d = os.path.join(self.mnt, ds, layer, m)
                    for f in sorted(self.files(d)):
                        if os.path.basename(f) == "zarr.json":
                            continue
                        k, v = read_through(f)
                        what = f"lazy {m}/{os.path.relpath(f, d)}"
                        if k == "ok":
                            self.judge(case, what, "correct" if self.lazy_ok(ds, layer, m, f, v, allow_current=True)
                                       else "wrong", "lazy file differs from an eager computation")
                        else:
                            self.judge(case, what, {"error": "eio", "hang": "hang", "crash": "crash"}[k], None)
            alive = W.daemon_pids(self.src)
            try:
                os.listdir(self.mnt)
            except OSError:
                alive = []
            if not alive:
                self.fig["crash"] += 1
                self.bad.append(f"{case}: the daemon died")
        finally:
            W.unmount(self.wkfs, self.src, self.mnt)

    def matches_current(self, ds, layer, mag, got, shape):
        """True if GOT equals an independent decode of the (corrupted) backing mag."""
        try:
            l = W.load_properties(os.path.join(self.src, ds))
            l = next(x for x in l["dataLayers"] if x["name"] == layer)
            m = [int(v) for v in mag.split("-")] if "-" in mag else [int(mag)] * 3
            path = {W.mag_name(mm): p for mm, p in W.layer_mags(l)}.get(W.mag_name(m))
            cur = W.read_mag(os.path.join(self.src, ds), l, m, path)
        except (W.Invalid, Exception):
            return False
        return cur.shape == shape and got.size == cur.size and (got.reshape(shape) == cur).all()

    def lazy_ok(self, ds, layer, mag, mpath, data, allow_current=False):
        d = os.path.join(self.tpl, ds, layer, mag)
        try:
            m = [int(v) for v in mag.split("-")] if "-" in mag else [int(mag)] * 3
            arr = W.limit_to_layer(W.open_array(d, self.layer(ds, layer)["dataFormat"]), self.layer(ds, layer), m)
            rel = os.path.relpath(mpath, os.path.join(self.mnt, ds, layer, mag))
            origin, a = arr.decode_file(os.path.join(d, rel), data)
        except W.Invalid:
            return False
        refs = [self.ref[(ds, layer, mag)]]
        if allow_current:
            try:
                l = self.layer(ds, layer)
                cur = W.read_mag(os.path.join(self.src, ds), l, [1, 1, 1], "./" + layer + "/1")
                e = next(x for x in self.lazy if x["layer"] == layer and W.mag_name(x["mag"]) == mag)
                chain = [e]
                while W.mag_name(chain[-1]["sourceMag"]) != "1-1-1":
                    chain.append(next(x for x in self.lazy if x["layer"] == layer and x["mag"] == chain[-1]["sourceMag"]))
                v = cur
                for c in reversed(chain):
                    v = W.step(v, [m // s for m, s in zip(c["mag"], c["sourceMag"])], c["interpolation"])
                refs.append(v)
            except (W.Invalid, StopIteration, Exception):
                pass
        o = origin[-3:]
        if a.ndim == 3:
            a = a[None]
        for ref in refs:
            sl = tuple(slice(oo, min(oo + g, r)) for oo, g, r in zip(o, a.shape[-3:], ref.shape[-3:]))
            if any(s.start >= s.stop for s in sl):
                return True
            if (ref[(slice(None),) + sl] == a[(slice(None),) + tuple(slice(0, s.stop - s.start) for s in sl)]).all():
                return True
        return False

    def run(self):
        t0 = time.time()
        self.prime()
        if self.a.inject:
            self.inject()
        only = set(filter(None, self.a.only.split(",")))
        for name, rel, ds, layer, mag in self.targets():
            for mode in self.MODES:
                for warm in {"cold": [False], "warm": [True], "both": [False, True]}[self.a.cache]:
                    if only and f"{name}:{mode}" not in only and name not in only:
                        continue
                    self.run_case(name, rel, ds, layer, mag, mode, warm)
        self.fig["seconds"] = round(time.time() - t0, 1)

    def inject(self):
        """Self-test: the references are changed by one voxel, so a correct read must count as wrong."""
        for k, v in self.ref.items():
            v = v.copy()
            v.flat[0] ^= 1
            self.ref[k] = v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wkfs")
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", choices=("cold", "warm", "both"), default="both",
                    help="corrupt before any read (cold) or after the mount has read the file (warm)")
    ap.add_argument("--tmp", default=None)
    ap.add_argument("--inject", action="store_true", help="self-test: a reference changed by one voxel (must fail)")
    a = ap.parse_args()
    c = Corrupt(a)
    try:
        c.run()
    finally:
        W.unmount(c.wkfs, c.src, c.mnt)
    f = c.fig
    print(f"corrupt store: {f['cases']} cases, {f['reads']} reads in {f.get('seconds', 0)} s")
    for k in ("correct", "eio", "wrong", "stale", "hang", "crash"):
        print(f"  {k:<10}{f[k]}")
    for b in c.bad[:40]:
        print(f"  VIOLATION {b}")
    f["violations"] = c.bad
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(f, fh, indent=1)
    n = f["wrong"] + f["stale"] + f["hang"] + f["crash"]
    if n == 0:
        shutil.rmtree(c.work, ignore_errors=True)
    sys.exit(1 if n else 0)


if __name__ == "__main__":
    main()
