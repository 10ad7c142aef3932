#!/bin/bash
# Threads inside one VM (issue 10) against the same work done natively,
# alternating in the same run: medians, the ratio, and VM exits per
# operation (from `lightvm run --stats`). tests/guests/threadbench.c:
#   - pthread_create + pthread_join
#   - a futex ping-pong between two threads (one round trip)
#   - an uncontended mutex lock + unlock
#   - a condition-variable ping-pong (mutex + condvar, one round trip)
#   - epoll_wait/eventfd wake-ups between two threads (one round trip)
#   - a CPU-bound job split over two threads against the same job on one
#     thread: the speed-up two CPUs give (lightvm: --cpus 2)
# Natively the two threads of a ping-pong run on two CPUs; in the VM they
# stay on one vCPU unless one keeps the CPU 1 ms (docs/design.md, "Several
# vCPUs"): a round trip is two task switches, no exit. Rows run with
# --cpus 1 unless they say --cpus 2 (lightvm run's default is every host CPU).
#
# usage: thread_bench.sh LIGHTVM GUEST_DIR [RUNS]
set -u
L=$(realpath "$1")
G=$(realpath "$2")
RUNS=${3:-5}
T=$(mktemp -d /tmp/lightvm-threadbench.XXXXXX)
trap 'rm -rf "$T"' EXIT

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

echo "| operation | native | lightvm | ratio | VM exits per operation |"
echo "|---|---:|---:|---:|---:|"

# row NAME MODE N: threadbench MODE N (its own timing, us per op).
row() { timed_row "$1" "$3" "$G/threadbench.glibc" "--cpus 1" "$2" "$3"; }

row "pthread_create + join" create 2000
row "futex ping-pong (round trip)" pingpong 20000
row "uncontended mutex lock + unlock" lock 1000000
row "condvar ping-pong (round trip)" condvar 20000
row "epoll + eventfd wake-up between threads (round trip)" epoll 20000
timed_row "pthread_create + join, --cpus 2" 2000 "$G/threadbench.glibc" "--cpus 2" create 2000
timed_row "futex ping-pong (round trip), --cpus 2" 20000 "$G/threadbench.glibc" "--cpus 2" pingpong 20000
timed_row "epoll + eventfd round trip, --cpus 2" 20000 "$G/threadbench.glibc" "--cpus 2" epoll 20000

# The 2-thread speed-up: serial and parallel runs of the same work (us per
# unit), natively and with --cpus 2, and the checksum both must print.
UNITS=${UNITS:-400}
sn=(); pn=(); sv=(); pv=(); sums=()
for _ in $(seq "$RUNS"); do
    out=$("$G/threadbench.glibc" serial "$UNITS"); sn+=("$(echo "$out" | awk '{print $3}')"); sums+=("$(echo "$out" | awk '{print $4}')")
    out=$("$G/threadbench.glibc" parallel "$UNITS"); pn+=("$(echo "$out" | awk '{print $3}')"); sums+=("$(echo "$out" | awk '{print $4}')")
    out=$("$L" run --cpus 2 "$G/threadbench.glibc" serial "$UNITS"); sv+=("$(echo "$out" | awk '{print $3}')"); sums+=("$(echo "$out" | awk '{print $4}')")
    out=$("$L" run --cpus 2 --stats "$G/threadbench.glibc" parallel "$UNITS" 2>"$T/stats"); pv+=("$(echo "$out" | awk '{print $3}')"); sums+=("$(echo "$out" | awk '{print $4}')")
done
if [ "$(printf '%s\n' "${sums[@]}" | sort -u | wc -l)" != 1 ]; then
    echo "| 2-thread CPU-bound job | checksums differ: ${sums[*]} | | | |"
else
    ms_n=$(med "${sn[@]}"); mp_n=$(med "${pn[@]}"); ms_v=$(med "${sv[@]}"); mp_v=$(med "${pv[@]}")
    echo "| 2-thread CPU-bound job, one thread (us/unit) | $ms_n us | $ms_v us | $(ratio "$ms_v" "$ms_n") | |"
    echo "| 2-thread CPU-bound job, two threads (us/unit) | $mp_n us | $mp_v us | $(ratio "$mp_v" "$mp_n") | $(awk -v e="$(exits "$T/stats")" -v n="$UNITS" 'BEGIN {printf "%.3f", (e - 1) / n}') |"
    echo "| speed-up from the second thread (one / two) | $(ratio "$ms_n" "$mp_n") | $(ratio "$ms_v" "$mp_v") | | |"
fi
