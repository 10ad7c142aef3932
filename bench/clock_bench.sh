#!/bin/bash
# clock_gettime(CLOCK_MONOTONIC) in a loop: natively and in lightvm, through
# libc (the vDSO on both sides) and through the raw system call (what libc
# did in lightvm before the guest had a vDSO), alternating in the same run.
# Prints medians of ns per call, the ratio to native and VM exits per call
# (from `lightvm run --stats`).
#
# usage: clock_bench.sh LIGHTVM GUEST_DIR [CALLS] [RUNS] [OLD_LIGHTVM]
#   GUEST_DIR holds clockbench.glibc and clockbench.musl (build/guests);
#   OLD_LIGHTVM, optional: a lightvm built before the vDSO, for a "before" row
set -eu
L=$(realpath "$1")
G=$(realpath "$2")
N=${3:-1000000}
RUNS=${4:-7}
OLD=${5:+$(realpath "$5")}
T=$(mktemp -d /tmp/lightvm-clockbench.XXXXXX)
trap 'rm -rf "$T"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }

echo "| libc | path | native ns/call | lightvm ns/call | ratio | VM exits per call |"
echo "|---|---|---:|---:|---:|---:|"
for libc in glibc musl; do
    prog=$G/clockbench.$libc
    nl=() ns=() vl=() vs=() ex=() ol=()
    for _ in $(seq "$RUNS"); do
        read -r _ a _ b < <("$prog" "$N")
        nl+=("$a"); ns+=("$b")
        read -r _ a _ b < <("$L" run --stats "$prog" "$N" 2>"$T/stats")
        vl+=("$a"); vs+=("$b")
        ex+=("$(awk '/exits/ {print $2; exit}' "$T/stats")")
        if [ -n "$OLD" ]; then
            read -r _ a _ b < <("$OLD" run "$prog" "$N" 2>/dev/null)
            ol+=("$a")
        fi
    done
    mnl=$(printf '%s\n' "${nl[@]}" | median); mns=$(printf '%s\n' "${ns[@]}" | median)
    mvl=$(printf '%s\n' "${vl[@]}" | median); mvs=$(printf '%s\n' "${vs[@]}" | median)
    me=$(printf '%s\n' "${ex[@]}" | median)
    per=$(awk -v e="$me" -v n="$N" 'BEGIN {printf "%.6f", e / (2 * n)}')
    echo "| $libc | clock_gettime() (vDSO) | $mnl | $mvl | $(ratio "$mvl" "$mnl") | $per |"
    echo "| $libc | syscall(SYS_clock_gettime) | $mns | $mvs | $(ratio "$mvs" "$mns") | $per |"
    if [ -n "$OLD" ]; then
        mol=$(printf '%s\n' "${ol[@]}" | median)
        echo "| $libc | clock_gettime(), lightvm without vDSO (before) | $mnl | $mol | $(ratio "$mol" "$mnl") | |"
    fi
done
echo "($RUNS runs of $N calls per path; VM exits are for the whole run of 2x$N calls)"
