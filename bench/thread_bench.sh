#!/bin/bash
# Threads inside one VM (issue 10) against the same work done natively,
# alternating in the same run: medians, the ratio, and VM exits per
# operation (from `lightvm run --stats`). tests/guests/threadbench.c:
#   - pthread_create + pthread_join
#   - a futex ping-pong between two threads (one round trip)
#   - an uncontended mutex lock + unlock
#   - a condition-variable ping-pong (mutex + condvar, one round trip)
# Natively the two threads of a ping-pong run on two CPUs; in the VM on one
# vCPU (a round trip is two task switches, no exit). The 2-thread speed-up
# needs several vCPUs, which do not exist yet: not measured.
#
# usage: thread_bench.sh LIGHTVM GUEST_DIR [RUNS]
set -u
L=$(realpath "$1")
G=$(realpath "$2")
RUNS=${3:-5}
T=$(mktemp -d /tmp/lightvm-threadbench.XXXXXX)
trap 'rm -rf "$T"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
med() { printf '%s\n' "$@" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
exits() { awk '/ exits / {print $2; exit}' "$1"; }

echo "| operation | native | lightvm | ratio | VM exits per operation |"
echo "|---|---:|---:|---:|---:|"

# row NAME MODE N: threadbench MODE N (its own timing, us per op).
row() {
    local name=$1 mode=$2 n=$3 prog=$G/threadbench.glibc tn=() tv=() ex=()
    for _ in $(seq "$RUNS"); do
        tn+=("$("$prog" "$mode" "$n" | awk '{print $3}')")
        tv+=("$("$L" run --stats "$prog" "$mode" "$n" 2>"$T/stats" | awk '{print $3}')")
        ex+=("$(exits "$T/stats")")
    done
    if [ -z "${tv[0]}" ]; then
        echo "| $name | $(med "${tn[@]}") us | failed: $(head -c 150 "$T/stats" | tr '\n' ' ') | | |"
        return
    fi
    local mn mv me
    mn=$(med "${tn[@]}"); mv=$(med "${tv[@]}"); me=$(med "${ex[@]}")
    echo "| $name | $mn us | $mv us | $(ratio "$mv" "$mn") | $(awk -v e="$me" -v n="$n" 'BEGIN {printf "%.3f", (e - 1) / n}') |"
}

row "pthread_create + join" create 2000
row "futex ping-pong (round trip)" pingpong 20000
row "uncontended mutex lock + unlock" lock 1000000
row "condvar ping-pong (round trip)" condvar 20000
