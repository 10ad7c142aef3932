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

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

echo "| operation | native | lightvm | ratio | VM exits per operation |"
echo "|---|---:|---:|---:|---:|"

# row NAME MODE N: threadbench MODE N (its own timing, us per op).
row() { timed_row "$1" "$3" "$G/threadbench.glibc" "" "$2" "$3"; }

row "pthread_create + join" create 2000
row "futex ping-pong (round trip)" pingpong 20000
row "uncontended mutex lock + unlock" lock 1000000
row "condvar ping-pong (round trip)" condvar 20000
