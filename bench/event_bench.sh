#!/bin/bash
# Event files, natively and in lightvm, alternating in the same run
# (tests/guests/eventbench.c):
#   - an epoll_wait woken through an eventfd inside one process (write 1,
#     epoll_wait, read: three system calls per round);
#   - the same number of bare system calls (getppid), for scale;
#   - a timerfd with a 1 ms interval read in a loop (each read blocks until
#     the next tick: the CPU idles in the monitor in between).
# Prints medians, the ratio to native and VM exits per operation (from
# `lightvm run --stats`).
#
# usage: event_bench.sh LIGHTVM GUEST_DIR [ROUNDS] [TICKS] [RUNS]
#   GUEST_DIR holds eventbench.glibc and eventbench.musl (build/guests)
set -eu
L=$(realpath "$1")
G=$(realpath "$2")
N=${3:-100000}
TICKS=${4:-1000}
RUNS=${5:-5}
T=$(mktemp -d /tmp/lightvm-eventbench.XXXXXX)
trap 'rm -rf "$T"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
exits() { awk '/^  exits/ {print $2; exit}' "$T/stats"; }

echo "| libc | workload | native | lightvm | ratio | VM exits per operation |"
echo "|---|---|---:|---:|---:|---:|"
for libc in glibc musl; do
    prog=$G/eventbench.$libc
    ne=() ve=() ee=() nn=() vn=() nt=() vt=() et=() xt=()
    for _ in $(seq "$RUNS"); do
        read -r _ a < <("$prog" epoll "$N")
        ne+=("$a")
        read -r _ a < <("$L" run --stats "$prog" epoll "$N" 2>"$T/stats")
        ve+=("$a"); ee+=("$(exits)")
        read -r _ a < <("$prog" null "$N")
        nn+=("$a")
        read -r _ a < <("$L" run "$prog" null "$N")
        vn+=("$a")
        read -r _ a _ b < <("$prog" timerfd "$TICKS")
        nt+=("$a")
        read -r _ a _ b < <("$L" run --stats "$prog" timerfd "$TICKS" 2>"$T/stats")
        vt+=("$a"); xt+=("$b"); et+=("$(exits)")
    done
    mne=$(printf '%s\n' "${ne[@]}" | median); mve=$(printf '%s\n' "${ve[@]}" | median)
    mee=$(printf '%s\n' "${ee[@]}" | median)
    mnn=$(printf '%s\n' "${nn[@]}" | median); mvn=$(printf '%s\n' "${vn[@]}" | median)
    mnt=$(printf '%s\n' "${nt[@]}" | median); mvt=$(printf '%s\n' "${vt[@]}" | median)
    met=$(printf '%s\n' "${et[@]}" | median); mxt=$(printf '%s\n' "${xt[@]}" | median)
    echo "| $libc | eventfd write + epoll_wait + read (ns/round) | $mne | $mve | $(ratio "$mve" "$mne") | $(awk -v e="$mee" -v n="$N" 'BEGIN {printf "%.5f", e / n}') |"
    echo "| $libc | getppid() for scale (ns/call) | $mnn | $mvn | $(ratio "$mvn" "$mnn") | |"
    echo "| $libc | timerfd 1 ms interval, blocking read (us/tick) | $mnt | $mvt | $(ratio "$mvt" "$mnt") | $(awk -v e="$met" -v n="$TICKS" 'BEGIN {printf "%.2f", e / n}') (extra ticks: $mxt) |"
done
echo "($RUNS runs; $N epoll rounds and $TICKS timer ticks per run; exits are for the whole run, start and exit included)"
