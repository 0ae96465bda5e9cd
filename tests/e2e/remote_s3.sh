#!/usr/bin/env bash
# Remote datasets on S3 through a real mount: OpenStack Swift's s3api (real SigV4) behind an nginx
# TLS front, the fixtures uploaded by boto3 (an independent client). `wkfs mount s3://HOST:PORT/
# BUCKET/PREFIX` of a prefix holding several datasets and of one dataset lists from the store
# (ListObjectsV2): every object with its exact size and bytes, read-only; python3-zarr reads the same
# array as from the original folder; credentials as webknossos-libs looks them up
# (AWS_ACCESS_KEY_ID__<HOST>__<BUCKET>); a wrong secret is refused at mount naming the endpoint.
# -o s3_write writes every change to S3 before answering: a chunk written by python3-zarr, mkdir of a mag,
# setfattr, ctl add-mag/delete-mag, rm -r of a mag, each checked in the bucket by boto3 and read back
# by python3-zarr from the objects; refused for https:// and with overlay=; a put that fails (the
# server stopped) is an error reply that leaves the mount as the store is, and the daemon serves on.
source "$(dirname "$0")/mount_common.inc" "$@"
source "$(dirname "$0")/remote_common.inc"

copy_fixtures "$WORK/up" simple_zarr3_dataset simple_zarr_dataset simple_wkw_dataset
start_swift
"$PY" - "https://127.0.0.1:$TLS" "$CA" "$WORK/up" <<'PYEOF'
import os, sys, boto3
from botocore.config import Config
endpoint, ca, src = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, aws_access_key_id="test:tester",
                  aws_secret_access_key="testing", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="wk-data")
for root, _, files in os.walk(src):
    for f in files:
        p = os.path.join(root, f)
        s3.upload_file(p, "wk-data", "datasets/" + os.path.relpath(p, src))
PYEOF
# the library's per-location variables: host and port, bucket; '.', ':' and '-' become '_'
export AWS_ACCESS_KEY_ID__127_0_0_1_${TLS}__WK_DATA=test:tester
export AWS_SECRET_ACCESS_KEY__127_0_0_1_${TLS}__WK_DATA=testing
URL="s3://127.0.0.1:$TLS/wk-data/datasets"
RO="Read-only file system"

M=$WORK/mnt
mount_wkfs "$URL" "$M" -o ca_file="$CA"
same_tree "$WORK/up" "$M"
"$PY" - "$M/simple_zarr_dataset/color/1-1-1" "$WORK/up/simple_zarr_dataset/color/1-1-1" <<'PYEOF' || fail "python3-zarr through the S3 mount"
import sys
import zarr
a, b = (zarr.open(p, mode="r")[:] for p in sys.argv[1:3])
assert a.shape == b.shape and (a == b).all(), "arrays differ"
print("python3-zarr: same array", a.shape)
PYEOF
expect_failure "$RO" touch "$M/simple_wkw_dataset/new"
expect_failure "$RO" mkdir "$M/simple_wkw_dataset/color/2"
expect_failure "$RO" sh -c "echo x >> '$M/simple_wkw_dataset/color/1/header.wkw'"
grep -q "$URL" "$WORK/daemon.log" || fail "no log line names the URL"
"$WKFS" unmount "$M"

mount_wkfs "$URL/simple_wkw_dataset" "$M" -o ca_file="$CA"
same_tree "$WORK/up/simple_wkw_dataset" "$M"
"$WKFS" unmount "$M"

# --- -o s3_write: every change is in S3 before the reply ------------------------------------------------
expect_failure "only an s3:// store" "$WKFS" mount "https://127.0.0.1:$TLS/wk-data/datasets/simple_zarr_dataset" "$M" -o s3_write
mkdir -p "$WORK/ov"
expect_failure "give one of them" "$WKFS" mount "$URL/simple_zarr_dataset" "$M" -o s3_write,overlay="$WORK/ov"
# s3 CMD ARGS: boto3 against the bucket (keys PREFIX: the keys below datasets/PREFIX; get KEY; dump
# PREFIX DEST: every object below it into DEST), an independent client
s3() {
  "$PY" - "https://127.0.0.1:$TLS" "$CA" "$@" <<'PYEOF'
import os, sys, boto3
from botocore.config import Config
endpoint, ca, cmd, *args = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, aws_access_key_id="test:tester",
                  aws_secret_access_key="testing", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
base = "datasets/" + args[0]
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="wk-data", Prefix=base)
        for o in p.get("Contents", [])]
if cmd == "keys":
    print("\n".join(k[len(base):] for k in sorted(keys)))
elif cmd == "state":  # the mags the properties list, then every key
    import json
    props = json.loads(s3.get_object(Bucket="wk-data", Key=base + "/datasource-properties.json")["Body"].read())
    print("mags", [m["mag"] for m in props["dataLayers"][0].get("mags", [])], props["dataLayers"][0]["boundingBox"]["depth"])
    print("\n".join(k[len(base):] for k in sorted(keys)))
elif cmd == "get":
    sys.stdout.write(s3.get_object(Bucket="wk-data", Key=base)["Body"].read().decode())
elif cmd == "dump":
    for k in keys:
        dest = os.path.join(args[1], k[len(base):].lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        s3.download_file("wk-data", k, dest)
PYEOF
}
mount_wkfs "$URL/simple_zarr_dataset" "$M" -o s3_write,ca_file="$CA"
"$PY" - "$M/color/1-1-1" <<'PYEOF' || fail "python3-zarr writing through the rw mount"
import sys, zarr
a = zarr.open(sys.argv[1], mode="r+")
a[:, 2:9, 3:10, 4:11] = 77
PYEOF
rm -rf "$WORK/s3a"; s3 dump simple_zarr_dataset "$WORK/s3a"
"$PY" - "$WORK/s3a/color/1-1-1" "$WORK/up/simple_zarr_dataset/color/1-1-1" <<'PYEOF' || fail "the written chunk in S3"
import sys, zarr
got, orig = zarr.open(sys.argv[1], mode="r")[:], zarr.open(sys.argv[2], mode="r")[:]
orig[:, 2:9, 3:10, 4:11] = 77
assert (got == orig).all(), "S3 holds other values than written"
print("python3-zarr: the objects in S3 hold the written values")
PYEOF
cmp "$M/color/1-1-1/0.0.0.0" "$WORK/s3a/color/1-1-1/0.0.0.0" || fail "the mount and S3 differ after a write"
mkdir "$M/color/2"
setfattr -n user.wk.bounding_box -v 0,0,0,24,24,16 "$M/color"
"$WKFS" ctl "$M/color" add-mag 4 > /dev/null
state=$(s3 state simple_zarr_dataset)
[[ $(head -1 <<< "$state") == "mags [[1, 1, 1], [2, 2, 2], [4, 4, 4]] 16" ]] ||
  fail "mkdir of a mag, setfattr, ctl add-mag: the properties in S3 say $(head -1 <<< "$state")"
grep -qx "/color/2/.zarray" <<< "$state" && grep -qx "/color/4/.zarray" <<< "$state" || fail "the new mags' metadata are not in S3: $state"
rm -r "$M/color/2"
"$WKFS" ctl "$M/color" delete-mag 4 > /dev/null
echo hello > "$M/notes.txt"
state=$(s3 state simple_zarr_dataset)
[[ $(head -1 <<< "$state") == "mags [[1, 1, 1]] 16" ]] || fail "after rm -r and delete-mag the properties in S3 say $(head -1 <<< "$state")"
grep -q "^/color/[24]/" <<< "$state" && fail "rm -r or delete-mag left objects: $state"
grep -qx "/notes.txt" <<< "$state" || fail "a new file is not in S3"
[[ $(s3 get simple_zarr_dataset/notes.txt) == hello ]] || fail "a new file's bytes in S3"
rm "$M/notes.txt"
# lazy files would land in the private staging folder only: refused, naming the way that works, and S3 unchanged
before=$(s3 state simple_zarr_dataset)
expect_failure "overlay=DIR" "$WKFS" ctl "$M/color" downsample
[[ $(s3 state simple_zarr_dataset) == "$before" ]] || fail "a refused downsample changed S3"
"$WKFS" unmount "$M"
expect_failure "pyramid=auto" "$WKFS" mount "$URL/simple_zarr_dataset" "$M" -o s3_write,pyramid=auto,ca_file="$CA"
# plain rw (what mount(8) passes every helper by default) leaves a URL mount read-only
mount_wkfs "$URL/simple_zarr_dataset" "$M" -o rw,ca_file="$CA"
mkdir "$M/color/8" 2> /dev/null && fail "-o rw made an S3 mount writable"
"$WKFS" unmount "$M"
# rm -r of a mag whose files are all remote: each object deleted, the mag unlisted in S3 first
mount_wkfs "$URL/simple_wkw_dataset" "$M" -o s3_write,ca_file="$CA"
rm -r "$M/color/1"
[[ -z $(s3 keys simple_wkw_dataset/color/1) ]] || fail "rm -r of a remote mag left objects: $(s3 keys simple_wkw_dataset/color/1)"
[[ ! -e $M/color/1 ]] || fail "the removed remote mag is still shown"
s3 get simple_wkw_dataset/datasource-properties.json | "$PY" -c 'import json,sys; l = json.load(sys.stdin)["dataLayers"][0]; assert not l.get("mags") and not l.get("wkwResolutions"), l' ||
  fail "rm -r of a remote mag: still listed in S3"
"$WKFS" unmount "$M"
# an independent reader (boto3 + python3-zarr) and a read-only remount see the same new state
rm -rf "$WORK/s3a"; s3 dump simple_zarr_dataset "$WORK/s3a"
[[ -e $WORK/s3a/notes.txt ]] && fail "a removed file is still in S3"
mount_wkfs "$URL/simple_zarr_dataset" "$M" -o ca_file="$CA"
same_tree "$WORK/s3a" "$M"
"$WKFS" unmount "$M"

export AWS_SECRET_ACCESS_KEY__127_0_0_1_${TLS}__WK_DATA=wrong
expect_failure "127.0.0.1:$TLS" "$WKFS" mount "$URL" "$M" -o ca_file="$CA"
is_mounted "$M" && fail "mounted with a wrong secret"
expect_failure "127.0.0.1:$TLS" "$WKFS" mount "$URL/simple_zarr_dataset" "$M" -o s3_write,ca_file="$CA"
is_mounted "$M" && fail "mounted rw with a wrong secret"
# a put that fails: the server is gone; the write is an error reply, the mount shows the store's state
export AWS_SECRET_ACCESS_KEY__127_0_0_1_${TLS}__WK_DATA=testing
mount_wkfs "$URL/simple_zarr_dataset" "$M" -o s3_write,ca_file="$CA",remote_timeout_s=1
ls "$M/color" > /dev/null  # the daemon lists the store at first use
bash "$SERVERS/swift_s3.sh" stop "$WORK/swift"
expect_failure "Input/output error" "$PY" -c 'import sys; f = open(sys.argv[1], "w"); f.write("x"); f.close()' "$M/new.txt"
[[ -e $M/new.txt ]] && fail "a file whose put failed is shown"
expect_failure "Input/output error" mkdir "$M/color/2"
[[ $(json "$M/datasource-properties.json" '[m["mag"] for m in d["dataLayers"][0]["mags"]]') == "[[1, 1, 1]]" ]] ||
  fail "a mag whose put failed is listed"
ls "$M/color" | grep -qx 1-1-1 || fail "the daemon does not serve after failed puts"  # (remote bytes need the server)
grep -q "was not written to $URL/simple_zarr_dataset" "$WORK/daemon.log" || fail "no log line names the failed put"
"$WKFS" unmount "$M"
echo "remote_s3: ok"
