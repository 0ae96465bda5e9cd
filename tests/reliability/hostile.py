#!/usr/bin/python3
"""Hostile input through a real wkfs mount (issue 11, "The harness").

Each case does one hostile thing through the mount and checks:
  - the errno (OSError.errno; 0 = success) is one the case allows (EIO is never an answer to bad input),
  - the daemon is alive afterwards (its process exists and the mount answers a stat and a readdir),
  - an error reply changed nothing: a checksum of the backing tree (and of a sentinel folder beside it)
    before and after,
  - a control command's error is what reading the control file back says (`"ok":false`),
  - a success left a valid dataset (wkcheck: properties, every listed mag decodes, listed files read).

usage: hostile.py WKFS [--only case,case] [--skip case,...] [--json FILE] [--list]
Exit status: 0 iff every case that ran passed.
"""
import argparse
import errno as E
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wkcheck as W  # noqa: E402

FIXTURES = os.environ.get("WKFS_FIXTURES") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "fixtures"))
CTL = ".wkfs-ctl"
ERR = "error"      # any errno but EIO and 0
ANY = "any"        # success (then the dataset must be valid) or an error (then nothing changed)


class Env:
    """A template SOURCE (demo + two Zarr3 fixture copies) built once; every case gets a fresh copy, mounted."""

    def __init__(self, wkfs, tmp):
        self.wkfs = os.path.abspath(wkfs)
        self.work = tempfile.mkdtemp(prefix="wkfs-hostile.", dir=tmp)
        self.tpl = os.path.join(self.work, "template")
        self.src = os.path.join(self.work, "src")
        self.mnt = os.path.join(self.work, "mnt")
        self.outside = os.path.join(self.work, "outside")
        self.log = os.path.join(self.work, "daemon.log")
        os.makedirs(self.tpl)
        subprocess.run([self.wkfs, "make-demo", os.path.join(self.tpl, "demo"), "--size", "96,96,32"],
                       check=True, capture_output=True)
        for n in ("z3", "z3b"):
            shutil.copytree(os.path.join(FIXTURES, "simple_zarr3_dataset"), os.path.join(self.tpl, n))
        for dp, dn, fn in os.walk(self.tpl):  # the fixtures' copies keep their read-only modes
            for n in dn:
                os.chmod(os.path.join(dp, n), 0o755)
            for n in fn:
                os.chmod(os.path.join(dp, n), 0o644)
        os.makedirs(os.path.join(self.outside, "notanarray"))
        with open(os.path.join(self.outside, "notanarray", "data"), "wb") as f:
            f.write(os.urandom(4096))
        # A dataset with a mag 2 (one chunk stored) that symlinked mags point at: outside SOURCE, and
        # the same inside it as another dataset (a mag belongs to its link target: written there).
        for where in (self.outside, self.tpl):
            self.make_foreign(os.path.join(where, "foreign"))
        self.outside_tpl = os.path.join(self.work, "outside_template")
        shutil.copytree(self.outside, self.outside_tpl, symlinks=True)

    def make_foreign(self, root):
        subprocess.run([self.wkfs, "make-demo", root, "--size", "32,32,32"], check=True, capture_output=True)
        subprocess.run([self.wkfs, "add-mag", root, "color", "2"], check=True, capture_output=True)
        subprocess.run([self.wkfs, "write", root, "--layer", "color", "--mag", "2", "--bbox", "0,0,0,32,32,32"],
                       input=os.urandom(16 * 16 * 16), check=True, capture_output=True)

    def fresh(self):
        W.unmount(self.wkfs, self.src, self.mnt)
        shutil.rmtree(self.src, ignore_errors=True)
        shutil.copytree(self.tpl, self.src, symlinks=True)
        shutil.rmtree(self.outside, ignore_errors=True)  # a case that failed may have changed it
        shutil.copytree(self.outside_tpl, self.outside, symlinks=True)
        ok, out = W.mount(self.wkfs, self.src, self.mnt, self.log)
        if not ok:
            W.force_detach(self.mnt)
            ok, out = W.mount(self.wkfs, self.src, self.mnt, self.log)
            if not ok:
                raise SystemExit(f"mount failed: {out}")

    def m(self, *p):
        return os.path.join(self.mnt, *p)

    def digest(self):
        return W.tree_digest(self.src), W.tree_digest(self.outside)

    def alive(self):
        if not W.daemon_pids(self.src):
            return "no daemon process"
        try:
            os.stat(self.mnt)
            os.listdir(self.m("demo", "color"))
        except OSError as e:
            return f"mount does not answer: {e}"
        return ""


def ctl_write(path, data, env=None):
    """One write() of DATA to the control file at PATH (a dataset or layer folder)."""
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(os.path.join(path, CTL), os.O_RDWR)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def ctl_reply(path):
    try:
        with open(os.path.join(path, CTL), "rb") as f:
            return json.loads(f.read() or b"{}")
    except (OSError, ValueError) as e:
        return {"unreadable": str(e)}


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def write_props(env, mutate):
    with open(os.path.join(env.src, "z3", "datasource-properties.json")) as f:
        d = json.load(f)
    mutate(d)
    with open(env.m("z3", "datasource-properties.json"), "w") as f:
        f.write(json.dumps(d))


def cases(env):
    L = env.m("demo", "color")
    S = env.m("demo", "segmentation")
    D = env.m("demo")
    big = "9" * 30
    c = []

    def case(name, fn, allowed, ctl_path=None, note="", setup=None):
        c.append(dict(name=name, fn=fn, allowed=allowed, ctl=ctl_path, note=note, setup=setup))

    def xattr(path, name, value):
        return lambda: os.setxattr(path, name, value)

    def ctl(path, data):
        return lambda: ctl_write(path, data)

    # names
    case("mkdir_newline_mag", lambda: os.mkdir(os.path.join(L, "2\n2")), ANY)
    case("mkdir_LAYER_2-2-2", lambda: os.mkdir(os.path.join(L, "2-2-2")), ANY, note="mkdir of an isotropic mag's long name")
    case("mkdir_newline_layer", lambda: os.mkdir(os.path.join(D, "bad\nlayer")), ANY)
    case("mkdir_long_name", lambda: os.mkdir(os.path.join(L, "4" * 300)), {E.ENAMETOOLONG})
    case("mkdir_255_name", lambda: os.mkdir(os.path.join(L, "4-" * 127 + "4")), ANY)
    case("mkdir_LAYER_02", lambda: os.mkdir(os.path.join(L, "02")), ANY, note="issue 11 item 4")
    case("mkdir_mag_0", lambda: os.mkdir(os.path.join(L, "0")), ERR)
    case("mkdir_mag_negative", lambda: os.mkdir(os.path.join(L, "-2")), ANY)
    case("mkdir_mag_huge", lambda: os.mkdir(os.path.join(L, big)), ERR)
    case("ctl_nul_in_name", ctl(L, b"add-mag 2\x002"), ERR)
    # bounding box xattrs
    bb = "user.wk.bounding_box"
    case("bbox_huge", xattr(L, bb, b"0,0,0,1000000000,1000000000,100000"), ERR, note="item 6: 10^17 voxels")
    case("bbox_int64_overflow", xattr(L, bb, f"0,0,0,{big},{big},{big}".encode()), ERR)
    case("bbox_negative_size", xattr(L, bb, b"0,0,0,-5,10,10"), ERR)
    case("bbox_negative_origin", xattr(L, bb, b"-9223372036854775808,0,0,10,10,10"), ERR)
    case("bbox_too_few", xattr(L, bb, b"1,2,3"), ERR)
    case("bbox_garbage_bytes", xattr(L, bb, b"\xff\xfe\x00garbage"), ERR)
    case("bbox_empty", xattr(L, bb, b""), ERR)
    case("bbox_float", xattr(L, bb, b"0,0,0,1e3,1,1"), ERR)
    case("bbox_json_garbage", xattr(L, bb, b'{"topLeft": "x"}'), ERR)
    case("xattr_unknown_wk", xattr(L, "user.wk.no_such_attr", b"1"), ERR)
    case("xattr_largest_segment_id_garbage", xattr(S, "user.wk.largest_segment_id", b"-1x"), ERR)
    case("xattr_largest_segment_id_huge", xattr(S, "user.wk.largest_segment_id", big.encode()), ERR)
    case("xattr_view_config_garbage", xattr(L, "user.wk.default_view_configuration", b"{not json"), ERR)
    case("xattr_huge_value", xattr(L, bb, b"1," * 30000), ERR)
    # numbers in control options
    case("ctl_add_mag_huge", ctl(L, f"add-mag {big}"), ERR)
    case("ctl_add_mag_negative", ctl(L, "add-mag -2"), ERR)
    case("ctl_add_mag_zero", ctl(L, "add-mag 0"), ERR)
    case("ctl_chunk_shape_huge", ctl(L, f"add-mag 16 --chunk-shape {big}"), ERR)
    case("ctl_chunk_shape_negative", ctl(L, "add-mag 16 --chunk-shape -32"), ERR)
    case("ctl_shard_shape_not_multiple", ctl(L, "add-mag 16 --chunk-shape 32 --shard-shape 48"), ERR)
    case("ctl_downsample_coarsest_huge", ctl(L, f"downsample --coarsest-mag {big}"), ERR)
    case("ctl_downsample_coarsest_negative", ctl(L, "downsample --coarsest-mag -4"), ERR)
    case("ctl_add_layer_channels_huge", ctl(D, f"add-layer x --category color --dtype uint8 --channels {big}"), ERR)
    case("ctl_add_layer_channels_negative", ctl(D, "add-layer x --category color --dtype uint8 --channels -1"), ERR)
    case("ctl_add_layer_bbox_huge", ctl(D, f"add-layer x --category color --dtype uint8 --bounding-box 0,0,0,{big},1,1"), ERR)
    case("ctl_set_bbox_huge", ctl(L, "set bounding-box 0,0,0,1000000000,1000000000,100000"), ERR, ctl_path=L,
         note="item 6")
    case("ctl_add_layer_bbox_10e17", ctl(D, "add-layer x --category color --dtype uint8 "
                                            "--bounding-box 0,0,0,1000000000,1000000000,100000"), ERR, ctl_path=D)
    case("props_bbox_huge", lambda: write_props(env, lambda d: d["dataLayers"][0]["boundingBox"].update(
        width=1000000000, height=1000000000, depth=100000)), ERR, note="item 6")
    # paths
    case("ctl_copy_mag_dotdot", ctl(L, "add-fs-copy-mag ../../../outside/notanarray"), ERR)
    case("ctl_copy_mag_absolute_outside", ctl(L, f"add-copy-mag {env.outside}/notanarray"), ERR)
    case("ctl_symlink_mag_etc", ctl(L, "add-symlink-mag /etc"), ERR)
    case("ctl_symlink_mag_dotdot", ctl(L, "add-symlink-mag ../../../../../../etc --make-relative"), ERR)
    case("ctl_zarrarray_move_outside", ctl(L, f"add-mag-from-zarrarray 16 {env.outside}/notanarray --move"), ERR)
    case("ctl_existing_files_dotdot", ctl(L, "add-mag-for-existing-files ../../../outside"), ERR)
    case("ctl_path_300_chars", ctl(L, "add-copy-mag /" + "a" * 300), {E.ENAMETOOLONG, E.ENOENT, E.EINVAL},
         note="item 14: EIO today")
    case("ctl_rename_layer_dotdot", ctl(D, "rename-layer color ../../outside/x"), ERR)
    case("ctl_rename_layer_slash", ctl(D, "rename-layer color a/b"), ERR)
    case("ctl_delete_layer_dotdot", ctl(D, "delete-layer ../z3"), ERR)
    case("ctl_delete_mag_dotdot", ctl(L, "delete-mag ../../z3/color/1"), ERR)
    # symlinks
    case("symlink_loop_mag", lambda: os.symlink("8-8-8", os.path.join(L, "8-8-8")), ANY)
    case("symlink_loop_pair", lambda: (os.symlink("16-16-16", os.path.join(L, "32-32-32")),
                                       os.symlink("32-32-32", os.path.join(L, "16-16-16"))), ANY)
    case("symlink_to_etc_as_mag", lambda: os.symlink("/etc", os.path.join(L, "64-64-64")), ANY)
    # control channel abuse
    case("ctl_100MB_write", lambda: ctl_write(L, b"a" * (100 << 20)), ERR)
    case("ctl_invalid_utf8", ctl(L, b"add-mag \xff\xfe"), {E.EINVAL}, ctl_path=L, note="item 14")
    case("ctl_two_commands", ctl(L, "add-mag 2-2-2\nadd-mag 4-4-4"), {E.EINVAL}, ctl_path=L, note="item 14")
    case("ctl_empty", ctl(L, b""), ANY)
    case("ctl_only_newlines", ctl(L, b"\n\n\n"), ERR)
    case("ctl_unknown_command", ctl(L, "rm -rf /"), {E.EINVAL, E.ENOENT, E.ENOSYS, E.EOPNOTSUPP}, ctl_path=L)
    case("ctl_nul_bytes", ctl(L, b"\x00" * 1000), ERR)
    case("ctl_dataset_cmd_on_layer", ctl(L, "add-layer x --category color --dtype uint8"), ERR)
    # Layer-API file operations that would break the dataset
    case("rm_mag_zarr_json", lambda: os.remove(os.path.join(L, "1", "zarr.json")), ANY,
         note="item 3: refused, or the mag unlisted first (the step of rm -r where delete_mag happens)")
    case("mv_mag_1_to_2", lambda: os.rename(os.path.join(S, "1"), os.path.join(S, "2")), ANY, note="item 3")
    case("mv_layer_into_other_dataset",
         lambda: os.rename(env.m("z3b", "color"), env.m("z3", "color_from_z3b")), ANY, note="item 3")
    case("props_mag_path_etc", lambda: write_props(env, lambda d: d["dataLayers"][0]["mags"][0].update(path="/etc")),
         ERR, note="item 3")
    case("props_mag_path_dotdot",
         lambda: write_props(env, lambda d: d["dataLayers"][0]["mags"][0].update(path="../../outside/notanarray")), ERR)
    case("props_garbage", lambda: write_bytes(env.m("z3", "datasource-properties.json"), b"\xff{"), ERR)
    case("props_bbox_negative", lambda: write_props(env, lambda d: d["dataLayers"][0]["boundingBox"].update(width=-1)),
         ERR)
    case("truncate_properties", lambda: os.truncate(env.m("z3", "datasource-properties.json"), 0), ERR)
    symlinked_mag_cases(env, case)
    return c


def symlinked_mag_cases(env, case):
    """Item 9: writes inside a symlinked mag (ln -s through the mount = add_symlink_mag) are refused, to a
    mag outside SOURCE or in another dataset; the link's target (outside: env.outside) stays unchanged.
    Reads through the link work."""
    L = env.m("demo", "color")
    targets = {"outside": os.path.join(env.outside, "foreign", "color", "2"),
               "other_dataset": os.path.join(env.src, "foreign", "color", "2")}
    chunk = ("c", "0", "0", "0", "0")

    def write_at(p, flags):
        fd = os.open(p, flags, 0o644)
        try:
            os.write(fd, b"\0" * 16)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_all(p):
        with open(p, "rb") as f:
            if not f.read():
                raise OSError(E.ENODATA, "empty read")

    for where, target in targets.items():
        def link(t=target):
            os.symlink(t, os.path.join(L, "2"))
        m = lambda *p: os.path.join(L, "2", *p)
        ops = {
            "write": (lambda: write_at(m(*chunk), os.O_WRONLY), ERR),
            "rdwr": (lambda: write_at(m(*chunk), os.O_RDWR), ERR),
            "trunc_open": (lambda: write_at(m(*chunk), os.O_WRONLY | os.O_TRUNC), ERR),
            "create": (lambda: write_at(m("c", "0", "0", "0", "1"), os.O_WRONLY | os.O_CREAT | os.O_EXCL), ERR),
            "truncate": (lambda: os.truncate(m(*chunk), 0), ERR),
            "chmod": (lambda: os.chmod(m(*chunk), 0o600), ERR),
            "setxattr": (lambda: os.setxattr(m(*chunk), "user.hostile", b"1"), ERR),
            "unlink": (lambda: os.remove(m(*chunk)), ERR),
            "unlink_zarr_json": (lambda: os.remove(m("zarr.json")), ERR),
            "mkdir": (lambda: os.mkdir(m("c", "1")), ERR),
            "rename": (lambda: os.rename(m(*chunk), m("c", "0", "0", "0", "9")), ERR),
            "symlink": (lambda: os.symlink("/etc", m("c", "etc")), ERR),
            "read": (lambda: read_all(m(*chunk)), {0}),
        }
        for op, (fn, allowed) in ops.items():
            case(f"symlinked_mag_{where}_{op}", fn, allowed, setup=link, note="item 9")


def wrong_option_cases(env):
    """Every control command with an option it does not declare, without its required arguments, and
    each of its valued options with a garbage value (from `help`, so new commands are covered)."""
    env.fresh()
    L = env.m("demo", "color")
    D = env.m("demo")
    p = subprocess.run([env.wkfs, "ctl", L, "help"], capture_output=True, text=True, timeout=30)
    try:
        cmds = json.loads(p.stdout)["result"]
    except (ValueError, KeyError):
        raise SystemExit(f"ctl help is not the JSON list it was: {p.stdout[:200]}")
    out = []

    def add(name, where, line):
        out.append(dict(name=name, fn=(lambda w=where, t=line: ctl_write(w, t)), allowed=ERR, ctl=where, note=""))

    for c in cmds:
        n = c["name"]
        where = D if c["scope"] == "dataset" else L
        args = " ".join({"MAG": "16", "FROM": "1", "TO": "32"}.get(a["name"], "x") for a in c["arguments"] if a["required"])
        req = " ".join(f"{o['name']} 2" for o in c["options"] if o.get("required"))
        add(f"wrong_option:{n}", where, f"{n} {args} {req} --no-such-option 7")
        if any(a["required"] for a in c["arguments"]):
            add(f"missing_argument:{n}", where, f"{n} {req}")
        for o in c["options"]:
            if o.get("value"):
                add(f"garbage_value:{n}{o['name']}", where, f"{n} {args} {req} {o['name']} -99999999999999999999x")
    return out


def run_case(env, cs):
    if cs.get("setup"):
        cs["setup"]()  # not the hostile step: a failure here is the harness's, not a violation
    before = env.digest()
    t = time.time()
    err, what = 0, ""
    try:
        cs["fn"]()
    except OSError as e:
        err, what = e.errno or -1, os.strerror(e.errno or 0)
    except ValueError as e:  # python refuses (e.g. NUL in a path): nothing reached the mount
        err, what = -2, str(e)
    dt = time.time() - t
    problems = []
    alive = env.alive()
    if alive:
        problems.append(f"daemon dead or hung after the case: {alive}")
    allowed = cs["allowed"]
    if err == -2:
        pass
    elif allowed == ERR:
        if err == 0:
            problems.append("accepted (expected an error)")
        elif err == E.EIO:
            problems.append("EIO (expected a specific errno)")
    elif allowed == ANY:
        if err == E.EIO:
            problems.append("EIO (expected success or a specific errno)")
    elif err not in allowed:
        problems.append(f"errno {E.errorcode.get(err, err) if err else 'none (success)'}, expected "
                        f"{'/'.join(E.errorcode.get(a, 'success') for a in sorted(allowed))}")
    after = env.digest()
    if err and after != before:
        changed = "backing tree" if after[0] != before[0] else "folder OUTSIDE the source"
        problems.append(f"error reply ({E.errorcode.get(err, err)}) but the {changed} changed")
    if not err and after[1] != before[1]:
        problems.append("success but a folder OUTSIDE the source changed")
    if err and err > 0 and cs.get("ctl"):
        r = ctl_reply(cs["ctl"])
        if r.get("ok") is not False:
            problems.append(f"control file reads back {json.dumps(r)[:120]} after an error reply")
    if not err or allowed == ANY:
        for ds in sorted(os.listdir(env.src)):
            for kind, msg in W.check_dataset(os.path.join(env.src, ds), check_lazy=False):
                problems.append(f"dataset invalid afterwards: {kind}: {msg}")
        # every mag the mount's properties list has readable array metadata through the mount
        for ds in ("demo", "z3", "z3b"):
            try:
                with open(env.m(ds, "datasource-properties.json"), "rb") as f:
                    view = json.loads(f.read())
                for l in view["dataLayers"]:
                    for mag, path in W.layer_mags(l):
                        md = os.path.normpath(os.path.join(env.m(ds), path)) if path else \
                            os.path.join(env.m(ds), l["name"], W.mag_name(mag))
                        if not any(os.path.exists(os.path.join(md, x)) for x in W.META_NAMES):
                            problems.append(f"{ds}/{l['name']} mag {W.mag_name(mag)} listed by the mount "
                                            f"without array metadata")
            except (OSError, ValueError, KeyError) as e:
                problems.append(f"reading {ds}/datasource-properties.json through the mount: {e}")
    if dt > 20:
        problems.append(f"took {dt:.0f} s")
    res = "passed" if not problems else "violation"
    got = "ok" if err == 0 else (E.errorcode.get(err, str(err)) if err > 0 else "python refused")
    return dict(case=cs["name"], result=res, errno=got, problems=problems, note=cs["note"], seconds=round(dt, 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wkfs")
    ap.add_argument("--only", default="")
    ap.add_argument("--skip", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--tmp", default=None)
    ap.add_argument("--inject", action="store_true",
                    help="add a case that changes the backing tree and then fails: proves the checksum check fails")
    a = ap.parse_args()
    env = Env(a.wkfs, a.tmp)
    results = []
    try:
        cs = cases(env) + wrong_option_cases(env)
        seen = set()
        for x in cs:
            assert x["name"] not in seen, x["name"]
            seen.add(x["name"])
        if a.inject:
            def bad():
                open(os.path.join(env.src, "z3", "injected"), "w").close()
                raise OSError(E.EINVAL, "injected")
            cs.insert(0, dict(name="INJECTED_change_then_error", fn=bad, allowed=ERR, ctl=None, note="self-test"))
        if a.list:
            print("\n".join(x["name"] for x in cs))
            W.unmount(env.wkfs, env.src, env.mnt)
            shutil.rmtree(env.work, ignore_errors=True)
            return
        only = set(filter(None, a.only.split(",")))
        skip = set(filter(None, a.skip.split(",")))
        for x in cs:
            base = x["name"].split(":")[0]
            if only and x["name"] not in only and base not in only:
                continue
            if x["name"] in skip or base in skip:
                continue
            env.fresh()
            r = run_case(env, x)
            results.append(r)
    finally:
        W.unmount(env.wkfs, env.src, env.mnt)
    passed = sum(r["result"] == "passed" for r in results)
    viol = [r for r in results if r["result"] != "passed"]
    print(f"{'case':<44}{'errno':<14}result")
    for r in results:
        print(f"{r['case']:<44}{r['errno']:<14}{r['result']}" +
              (f": {'; '.join(r['problems'])[:240]}" if r["problems"] else ""))
    print(f"hostile cases: {len(results)}, passed {passed}, violations {len(viol)}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cases": len(results), "passed": passed, "violations": len(viol), "results": results}, f, indent=1)
    if not viol:
        shutil.rmtree(env.work, ignore_errors=True)
    sys.exit(1 if viol else 0)


if __name__ == "__main__":
    main()
