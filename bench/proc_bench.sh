#!/bin/bash
# Processes inside one VM (issue 9) against the same work done natively,
# alternating in the same run: medians, the ratio, and VM exits per
# operation (from `lightvm run --stats`).
#   - fork + exit + wait; fork + exec + wait; posix_spawn + wait
#     (tests/guests/forkbench.c; exec targets: itself, static busybox true)
#   - busybox sh: 1,000 iterations of `/bin/busybox true` (whole process)
#   - a 3-stage pipeline moving 256 MiB: dd | cat | wc -c (busybox applets)
#
# usage: proc_bench.sh LIGHTVM GUEST_DIR [RUNS]
set -u
L=$(realpath "$1")
G=$(realpath "$2")
RUNS=${3:-5}
T=$(mktemp -d /tmp/lightvm-procbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
BB=/bin/busybox

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
now_us() { echo $(( $(date +%s%N) / 1000 )); }

echo "| workload | native | lightvm | ratio | VM exits per operation |"
echo "|---|---:|---:|---:|---:|"

# op_row NAME N MODE ARGS...: forkbench MODE N ARGS (its own timing, us per op).
op_row() { timed_row "$1" "$2" "$G/forkbench.glibc" "--rootfs /:ro" "$3" "$2" "${@:4}"; }

op_row "fork + exit + wait" 500 fork
op_row "fork + exec (itself, static) + wait" 300 forkexec
op_row "fork + exec(busybox true) + wait" 300 forkexec "$BB" true
op_row "posix_spawn(busybox true) + wait" 300 spawn "$BB" true

# whole_row NAME OPS UNIT CMD...: wall time of the whole command (lightvm:
# boot included, ~1-2 ms), natively and with --rootfs /:ro.
whole_row() {
    local name=$1 ops=$2 unit=$3
    shift 3
    local tn=() tv=() ex=() t0 t1
    for _ in $(seq "$RUNS"); do
        t0=$(now_us); "$@" >/dev/null 2>&1; t1=$(now_us); tn+=($((t1 - t0)))
        t0=$(now_us); "$L" run --stats --rootfs /:ro "$@" >/dev/null 2>"$T/stats"; t1=$(now_us); tv+=($((t1 - t0)))
        ex+=("$(exits "$T/stats")")
    done
    local mn mv me
    mn=$(med "${tn[@]}"); mv=$(med "${tv[@]}"); me=$(med "${ex[@]}")
    echo "| $name | $((mn / 1000)) ms | $((mv / 1000)) ms | $(ratio "$mv" "$mn") | $(awk -v e="$me" -v n="$ops" 'BEGIN {printf "%.2f", e / n}') per $unit |"
}

whole_row "busybox sh: 1,000 x /bin/busybox true" 1000 command "$BB" sh -c 'for i in $(seq 1000); do /bin/busybox true; done'
whole_row "dd | cat | wc -c, 256 MiB (busybox)" 256 MiB "$BB" sh -c '/bin/busybox dd if=/dev/zero bs=65536 count=4096 2>/dev/null | /bin/busybox cat | /bin/busybox wc -c'
echo "($RUNS runs each, medians; the first rows time the operations inside the program)"
