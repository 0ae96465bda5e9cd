#!/usr/bin/env bash
# Remote datasets on S3 through a real mount: OpenStack Swift's s3api (real SigV4) behind an nginx
# TLS front, the fixtures uploaded by boto3 (an independent client). `wkfs mount s3://HOST:PORT/
# BUCKET/PREFIX` of a prefix holding several datasets and of one dataset lists from the store
# (ListObjectsV2): every object with its exact size and bytes, read-only; python3-zarr reads the same
# array as from the original folder; credentials as webknossos-libs looks them up
# (AWS_ACCESS_KEY_ID__<HOST>__<BUCKET>); a wrong secret is refused at mount naming the endpoint.
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

export AWS_SECRET_ACCESS_KEY__127_0_0_1_${TLS}__WK_DATA=wrong
expect_failure "127.0.0.1:$TLS" "$WKFS" mount "$URL" "$M" -o ca_file="$CA"
is_mounted "$M" && fail "mounted with a wrong secret"
echo "remote_s3: ok"
