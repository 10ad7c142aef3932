#!/bin/bash
# "Snapshot me here" (issue 16, item 4): a python3 that has imported its
# modules and built its state marks its ready point
# (/sys/devices/virtual/lightvm/ready); `lightvm run --save-at-ready` saves
# it there once, and each request is then served by a clone restored from
# that snapshot. In the same run, alternating, medians over RUNS of the
# wall time from spawning the client command to its exit, answering one
# request ("hi" on stdin, a JSON line out):
#   native python3          the same script, started per request
#   cold VM                 lightvm run --rootfs /:ro python3 SCRIPT
#   clone                   lightvm run --restore SNAP        (page-fault tail)
#   clone --prefault        lightvm run --restore SNAP --prefault (every saved page)
#   clone, working set      the same with SNAP2.ws, recorded by one restore of a
#                           copy of the snapshot (--record-working-set): only the
#                           pages a clone touches are backed first
#   native static no-op     posix_spawn of noop.glibc (the issue's yardstick:
#                           target clone <= 5x this)
# The script answers with os._exit(0) after a flush, as a per-request clone
# would: the interpreter's teardown is nobody's request.
#
# usage: ready_clone.sh LIGHTVM NOOP_STATIC [RUNS]
set -eu
L=$(realpath "$1")
NOOP=$(realpath "$2")
RUNS=${3:-21}
T=$(mktemp -d /tmp/lightvm-readyclone.XXXXXX)
trap 'rm -rf "$T"' EXIT
command -v python3 >/dev/null || { echo "SKIPPED: no python3"; exit 0; }

cat >"$T/req.py" <<'PY'
import json, re, decimal, datetime, collections, email.message, urllib.parse
table = {i: i * i for i in range(1000)}
try:
    with open("/sys/devices/virtual/lightvm/ready", "w") as f:
        f.write("1")
except OSError:
    pass  # natively: no mark, nothing to save
req = input()
print(json.dumps({"echo": req, "sum": sum(table.values())}), flush=True)
import os; os._exit(0)
PY
echo hi >"$T/in"
"$L" run --rootfs /:ro --save "$T/snap" --save-at-ready --save-stop /usr/bin/python3 "$T/req.py" </dev/null
expect='{"echo": "hi", "sum": 332833500}'
cp "$T/snap" "$T/snap2"
cp --sparse=always "$T/snap.mem" "$T/snap2.mem"
"$L" run --restore "$T/snap2" --record-working-set <"$T/in" >/dev/null

# Timed with bash's own clock ($EPOCHREALTIME) and the answer kept in a
# file: no fork but the command's, as posix_spawn + wait.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# time_one VAR CMD...: appends the wall µs of CMD (stdin $T/in) to array VAR;
# a wrong answer stops the benchmark.
time_one() {
    local -n acc=$1
    shift
    local t0 t1 out
    t0=${EPOCHREALTIME/./}
    "$@" <"$T/in" >"$T/out"
    t1=${EPOCHREALTIME/./}
    out=$(<"$T/out")
    if [ "$out" != "$expect" ] && [ "$1" != "$NOOP" ]; then
        echo "wrong answer from $*: '$out'" >&2
        exit 1
    fi
    acc+=($((10#$t1 - 10#$t0)))
}
nat=() cold=() clone=() pre=() ws=() noop=()
for _ in $(seq "$RUNS"); do
    time_one nat python3 "$T/req.py"
    time_one cold "$L" run --rootfs /:ro /usr/bin/python3 "$T/req.py"
    time_one clone "$L" run --restore "$T/snap"
    time_one pre "$L" run --restore "$T/snap" --prefault
    time_one ws "$L" run --restore "$T/snap2" --prefault
    time_one noop "$NOOP"
done
m() { printf '%s\n' "$@" | median; }
r() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
mn=$(m "${nat[@]}") mc=$(m "${cold[@]}") ml=$(m "${clone[@]}") mp=$(m "${pre[@]}") mw=$(m "${ws[@]}") mo=$(m "${noop[@]}")
echo "ready_clone: $RUNS runs each, alternating; one request answered per run (median wall us, spawn to exit)"
echo "| how the request is served | median us | vs native python3 | vs native static no-op |"
echo "|---|---:|---:|---:|"
echo "| native python3 (started per request) | $mn | 1.00x | $(r "$mn" "$mo") |"
echo "| cold VM: lightvm run --rootfs /:ro python3 | $mc | $(r "$mc" "$mn") | $(r "$mc" "$mo") |"
echo "| clone of the ready python3: lightvm run --restore | $ml | $(r "$ml" "$mn") | $(r "$ml" "$mo") |"
echo "| clone, --prefault (every saved page) | $mp | $(r "$mp" "$mn") | $(r "$mp" "$mo") |"
echo "| clone, --prefault with a recorded working set | $mw | $(r "$mw" "$mn") | $(r "$mw" "$mo") |"
echo "| native static no-op (posix_spawn yardstick) | $mo | | 1.00x |"
echo "snapshot: state $(stat -c %s "$T/snap") bytes, memory on disk $(du -k "$T/snap.mem" | cut -f1) KiB; working set file $(stat -c %s "$T/snap2.ws") bytes"
