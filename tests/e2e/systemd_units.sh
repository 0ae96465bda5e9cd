#!/usr/bin/env bash
# `cmake --install` puts the binary, the unit and the mount helper in place; the unit verifies.
source "$(dirname "$0")/mount_common.inc" "$@"

BUILD=$(dirname "$WKFS")
PREFIX=$WORK/prefix
cmake --install "$BUILD" --prefix "$PREFIX" > "$WORK/install.log" || fail "cmake --install: $(cat "$WORK/install.log")"
UNIT=$PREFIX/lib/systemd/system/wkfs@.service
[[ -x $PREFIX/bin/wkfs ]] || fail "binary not installed"
[[ -x $PREFIX/sbin/mount.fuse.wkfs ]] || fail "mount helper not installed"
[[ -f $UNIT ]] || fail "unit not installed"
grep -q "^ExecStart=$PREFIX/bin/wkfs mount -f" "$UNIT" || fail "ExecStart does not run the installed binary"
command -v systemd-analyze > /dev/null || fail "systemd-analyze missing (apt-get install systemd)"
# A template is verified through an instance name.
mkdir -p "$WORK/units"
cp "$UNIT" "$WORK/units/wkfs@test.service"
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$WORK/units/wkfs@test.service" > "$WORK/verify.log" 2>&1 ||
  fail "systemd-analyze verify: $(cat "$WORK/verify.log")"
grep -v "ConditionPathExists\|/etc/wkfs" "$WORK/verify.log" | grep -qi "wkfs@" && fail "verify warnings: $(cat "$WORK/verify.log")"

grep -q "^Type=notify" "$UNIT" || fail "unit is not Type=notify"
grep -q "^Documentation=man:wkfs(1)" "$UNIT" || fail "unit has no Documentation=man:wkfs(1)"

# Type=notify as systemd runs it: READY=1 arrives on NOTIFY_SOCKET only once the mount is live
# (checked when it arrives), SIGTERM gives STOPPING=1, the daemon exits 0 and the mount is gone.
mkdir -p "$WORK/src" "$WORK/mnt"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds"
MOUNTS+=("$WORK/mnt")
python3 - "$PREFIX/bin/wkfs" "$WORK/src" "$WORK/mnt" "$WORK/notify.sock" <<'PY' || fail "sd_notify protocol"
import os, signal, socket, subprocess, sys
wkfs, src, mnt, path = sys.argv[1:]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(60)
daemon = subprocess.Popen([wkfs, "mount", "-f", src, mnt, "-o", "ro"], env=dict(os.environ, NOTIFY_SOCKET=path))
msg = sock.recv(4096).decode()
assert "READY=1" in msg.split("\n"), msg
with open("/proc/self/mountinfo") as f:
    assert any(l.split()[4] == mnt for l in f), "READY=1 before the mount exists"
assert os.path.isfile(os.path.join(mnt, "ds", "datasource-properties.json")), "mount does not answer"
daemon.send_signal(signal.SIGTERM)
msg = sock.recv(4096).decode()
assert "STOPPING=1" in msg.split("\n"), msg
assert daemon.wait(timeout=60) == 0, daemon.returncode
with open("/proc/self/mountinfo") as f:
    assert not any(l.split()[4] == mnt for l in f), "still mounted after SIGTERM"
PY

# The mount helper: mount(8)'s calling convention, fstab-only words ignored.
"$PREFIX/sbin/mount.fuse.wkfs" "$WORK/src" "$WORK/mnt" -o ro,nofail,defaults,x-systemd.automount
is_mounted "$WORK/mnt" || fail "mount.fuse.wkfs did not mount"
expect_failure "Read-only file system" mkdir "$WORK/mnt/ds/color/2"
"$PREFIX/bin/wkfs" unmount "$WORK/mnt"

# .wkfs-status names the version (the one `wkfs --version` prints) and the -o words (a token hidden).
"$PREFIX/sbin/mount.fuse.wkfs" "$WORK/src" "$WORK/mnt" -o ro,nofail,lazy_threads=2,auth_token=SECRET7
python3 - "$WORK/mnt/.wkfs-status" "$("$PREFIX/bin/wkfs" --version)" <<'PY' || fail "version and options in .wkfs-status"
import json, sys
s = json.load(open(sys.argv[1]))
want = sys.argv[2].split()[1]
assert s["version"]["wkfs"] == want, (s["version"], want)
assert s["version"]["commit"] in sys.argv[2], (s["version"], sys.argv[2])
assert s["mount_options"] == ["ro", "lazy_threads=2", "auth_token=(hidden)"], s["mount_options"]
assert "SECRET7" not in open(sys.argv[1]).read()
PY
"$PREFIX/bin/wkfs" unmount "$WORK/mnt"
# mount -t fuse.wkfs and an fstab line: mount(8) finds the helper in /sbin. If none is installed
# there (a test machine), ours is put there for this test and removed again.
if [[ ! -e /sbin/mount.fuse.wkfs ]]; then
  cp "$PREFIX/sbin/mount.fuse.wkfs" /sbin/mount.fuse.wkfs
  trap 'rm -f /sbin/mount.fuse.wkfs; cleanup' EXIT
fi
export WKFS_BINARY=$PREFIX/bin/wkfs
mount -t fuse.wkfs "$WORK/src" "$WORK/mnt" -o ro
is_mounted "$WORK/mnt" || fail "mount -t fuse.wkfs"
expect_failure "Read-only file system" mkdir "$WORK/mnt/ds/color/2"
umount "$WORK/mnt"
echo "$WORK/src $WORK/mnt fuse.wkfs ro,nofail,x-systemd.automount 0 0" > "$WORK/fstab"
mount -T "$WORK/fstab" "$WORK/mnt"
is_mounted "$WORK/mnt" || fail "mount of an fstab line"
[[ -f $WORK/mnt/ds/datasource-properties.json ]] || fail "fstab mount shows no dataset"
umount "$WORK/mnt"
# Without our helper in /sbin, mount(8) runs /sbin/mount.fuse (fuse3's mount.fuse3), which runs
# `wkfs SOURCE MOUNTPOINT -o OPTIONS` from PATH, without the `mount` word: the same mount.
PATH=$PREFIX/bin:$PATH mount.fuse3 "$WORK/src" "$WORK/mnt" -t fuse.wkfs -o ro,nofail
is_mounted "$WORK/mnt" || fail "mount.fuse3 -t fuse.wkfs (wkfs SOURCE MOUNTPOINT -o ...) did not mount"
expect_failure "Read-only file system" mkdir "$WORK/mnt/ds/color/2"
"$PREFIX/bin/wkfs" unmount "$WORK/mnt"
expect_failure "unknown command" "$PREFIX/bin/wkfs" nosuchcommand "$WORK/nosuchfolder"
echo "systemd_units: ok"
