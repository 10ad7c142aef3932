#!/bin/bash
# Create rate (issue 12): VMs created, run to completion and removed per
# second, as a user drives them: COUNT `lightvm run --mem 64M noop` through
# lightvmd (the VM is created from a warm shell, runs, reports and is gone),
# PAR at a time, against the same COUNT native runs of the same static
# binary, PAR at a time, in the same run (alternating, ROUNDS each).
# usage: create_rate.sh BUILD_DIR GUEST_PROGRAM [COUNT] [PAR] [POOL] [ROUNDS]
set -u
B=$(cd "$1" && pwd); APP=$2; COUNT=${3:-500}; PAR=${4:-4}; POOL=${5:-8}; ROUNDS=${6:-3}
L=$B/src/lightvm
T=$(mktemp -d /tmp/lightvm-rate.XXXXXX)
export LIGHTVM_SOCKET=$T/sock
"$B/src/lightvmd" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state" --pool "$POOL" --pool-mem 64M \
    --max-vms $((COUNT + 64)) 2>"$T/daemon.log" &
DPID=$!
trap 'kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do [ -S "$LIGHTVM_SOCKET" ] && break; sleep 0.05; done
sleep 1  # pool filled
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# rate CMD...: COUNT runs of CMD, PAR at a time; prints runs per second.
rate() {
    local t0 t1
    t0=$(date +%s%N)
    seq "$COUNT" | xargs -P "$PAR" -I{} "$@" >/dev/null 2>>"$T/errors"
    t1=$(date +%s%N)
    awk -v n="$COUNT" -v ns=$((t1 - t0)) 'BEGIN {printf "%.0f\n", n / (ns / 1e9)}'
}
vm=(); native=()
for _ in $(seq "$ROUNDS"); do
    vm+=("$(rate "$L" run --mem 64M "$APP")")
    native+=("$(rate "$APP")")
done
left=$("$L" ps -a -q | wc -l)
mv=$(printf '%s\n' "${vm[@]}" | median); mn=$(printf '%s\n' "${native[@]}" | median)
echo "create_rate: $COUNT runs of $(basename "$APP"), $PAR at a time, pool $POOL, $ROUNDS rounds alternating"
echo "lightvm run through lightvmd: ${vm[*]} VMs/s (median $mv)"
echo "native:                       ${native[*]} runs/s (median $mn)"
awk -v a="$mv" -v b="$mn" 'BEGIN {printf "ratio lightvm / native: %.2fx\n", a / b}'
echo "VMs left afterwards: $left; errors: $(wc -l <"$T/errors")"
