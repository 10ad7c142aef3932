#!/bin/bash
# Signal delivery cost: a program signals itself N times (kill, its handler
# runs, rt_sigreturn) and does N sigprocmask block/unblock pairs, natively
# and in lightvm, alternating in the same run. Prints medians of ns per
# operation, the ratio to native and VM exits per signal (from
# `lightvm run --stats`, a run with N signals against one with none).
#
# usage: signal_bench.sh LIGHTVM GUEST_DIR [N] [RUNS]
#   GUEST_DIR holds signals.glibc and signals.musl (build/guests)
set -eu
L=$(realpath "$1")
G=$(realpath "$2")
N=${3:-100000}
RUNS=${4:-7}
T=$(mktemp -d /tmp/lightvm-signalbench.XXXXXX)
trap 'rm -rf "$T"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
exits() { awk '/exits/ {print $2; exit}' "$1"; }

echo "| libc | operation | native ns | lightvm ns | ratio | VM exits per op |"
echo "|---|---|---:|---:|---:|---:|"
for libc in glibc musl; do
    prog=$G/signals.$libc
    ns=() nm=() vs=() vm=() ex=()
    for _ in $(seq "$RUNS"); do
        read -r _ a _ b _ < <("$prog" bench "$N")
        ns+=("$a"); nm+=("$b")
        read -r _ a _ b _ < <("$L" run --stats "$prog" bench "$N" 2>"$T/stats")
        vs+=("$a"); vm+=("$b")
        "$L" run --stats "$prog" bench 1 >/dev/null 2>"$T/stats0"
        ex+=("$(( $(exits "$T/stats") - $(exits "$T/stats0") ))")
    done
    mns=$(printf '%s\n' "${ns[@]}" | median); mnm=$(printf '%s\n' "${nm[@]}" | median)
    mvs=$(printf '%s\n' "${vs[@]}" | median); mvm=$(printf '%s\n' "${vm[@]}" | median)
    me=$(printf '%s\n' "${ex[@]}" | median)
    per=$(awk -v e="$me" -v n="$N" 'BEGIN {printf "%.6f", e / n}')
    echo "| $libc | kill(self) + handler + rt_sigreturn | $mns | $mvs | $(ratio "$mvs" "$mns") | $per |"
    echo "| $libc | sigprocmask block + unblock | $mnm | $mvm | $(ratio "$mvm" "$mnm") | $per |"
done
echo "($RUNS runs of $N operations each; exits: a run of $N against a run of 1, per operation)"
