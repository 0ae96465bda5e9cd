#!/usr/bin/env bash
# The whole reliability harness (issue 11): crash driver, hostile input, corrupt store, soak; one table.
# usage: tests/reliability/run.sh [--long] [WKFS_BINARY]
#   default: 20 kills, 60 s soak (the CI sizes); --long: 200 kills, 600 s soak.
# Every check runs (nothing is filtered here); exit status 0 iff no violation at all.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
long=0
wkfs=""
for a in "$@"; do
  case $a in
    --long) long=1 ;;
    *) wkfs=$a ;;
  esac
done
wkfs=${wkfs:-$here/../../build/wkfs}
[[ -x $wkfs ]] || { echo "no wkfs binary at $wkfs (build first, or pass its path)" >&2; exit 2; }
wkfs=$(readlink -f "$wkfs")
PY=/usr/bin/python3   # Debian's python: numpy, python3-zarr, numcodecs, lz4, crcmod
kills=20; seconds=60
if ((long)); then kills=200; seconds=600; fi
out=$(mktemp -d /tmp/wkfs-reliability.XXXXXX)
declare -A rc secs
run() {  # run NAME COMMAND...
  local name=$1 t0=$SECONDS
  shift
  echo "== $name: $*" >&2
  "$@" > "$out/$name.txt" 2>&1
  rc[$name]=$?
  secs[$name]=$((SECONDS - t0))
  cat "$out/$name.txt" >&2
}
run crash "$PY" "$here/crash_driver.py" "$wkfs" --kills "$kills" --seed "${SEED:-1}" --json "$out/crash.json"
run hostile "$PY" "$here/hostile.py" "$wkfs" --json "$out/hostile.json"
run corrupt "$PY" "$here/corrupt_store.py" "$wkfs" --json "$out/corrupt.json"
run soak "$PY" "$here/soak.py" "$wkfs" --seconds "$seconds" --json "$out/soak.json"

"$PY" - "$out" "${secs[crash]}" "${secs[hostile]}" "${secs[corrupt]}" "${secs[soak]}" <<'EOF'
import json, os, sys
out = sys.argv[1]
t = dict(zip(("crash", "hostile", "corrupt", "soak"), sys.argv[2:]))
def load(n):
    try:
        return json.load(open(os.path.join(out, n + ".json")))
    except Exception as e:
        return {"missing": str(e)}
c, h, k, s = (load(n) for n in ("crash", "hostile", "corrupt", "soak"))
rows = []
if "missing" in c:
    rows.append(("crash driver", f"did not finish ({c['missing']})"))
else:
    rows += [("kills", c["kills"]), ("invariants checked", c["invariants_checked"]),
             ("violations", c["violations"])]
    rows += [(f"  {kk}", v) for kk, v in c["violations_by_kind"].items()]
    rows += [("acknowledged ops (lost)", f"{c['acknowledged_ops']} ({c['acknowledged_ops_lost']} lost)")]
rows.append(("hostile cases passed / violations",
             "did not finish" if "missing" in h else f"{h['passed']} / {h['violations']} of {h['cases']}"))
rows.append(("corrupt-store reads correct / EIO / wrong / stale / hang / crash",
             "did not finish" if "missing" in k else
             f"{k['correct']} / {k['eio']} / {k['wrong']} / {k['stale']} / {k['hang']} / {k['crash']}"))
if "missing" in s:
    rows.append(("soak", "did not finish"))
else:
    rows.append(("soak reads / errors / wrong bytes",
                 f"{s['reads']} / {s['read_errors'] + s['write_errors']} / {s['wrong_bytes']} ({s['writes']} writes)"))
    rows.append(("daemon RSS MiB start / end (peak)",
                 f"{s['rss_kb_start'] // 1024} / {s['rss_kb_end'] // 1024} ({s['rss_kb_peak'] // 1024})"))
    rows.append(("daemon open fds start / end", f"{s['fds_start']} / {s['fds_end']}"))
rows.append(("seconds crash / hostile / corrupt / soak", " / ".join(t[n] for n in ("crash", "hostile", "corrupt", "soak"))))
w = max(len(r[0]) for r in rows) + 2
print()
print("| what".ljust(w + 2) + "| figure |")
print("|" + "-" * (w + 1) + "|--------|")
for a, b in rows:
    print(f"| {a}".ljust(w + 2) + f"| {b} |")
EOF
echo "(outputs in $out)"
status=0
for n in crash hostile corrupt soak; do ((rc[$n] == 0)) || status=1; done
exit $status
