#!/bin/bash
# Density through lightvmd: start COUNT idle VMs (a guest asleep for an hour,
# 64 MiB each, as the issue's per-run baseline used), one after the other,
# all staying alive; every STEP VMs record the host's MemAvailable drop per
# VM, the kernel's slab/page-table/stack growth, the monitors' PSS and the
# start latency of the last STEP starts (`lightvm run -d`, whole CLI process,
# and for the last one the daemon's request -> app loaded). Writes CSV to stdout; then removes
# every VM and stops its daemon. Plot: bench/plot_density.sh CSV > SVG.
# usage: density.sh BUILD_DIR GUEST_PROGRAM_DIR COUNT [STEP]
set -u
B=$(cd "$1" && pwd); G=$(cd "$2" && pwd); COUNT=$3; STEP=${4:-100}
L=$B/src/lightvm
T=$(mktemp -d /tmp/lightvm-density.XXXXXX)
export LIGHTVM_SOCKET=$T/sock
"$B/src/lightvmd" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state" --pool 2 --pool-mem 64M \
    --max-vms $((COUNT + 16)) --overcommit-ratio 1000 2>"$T/daemon.log" &
DPID=$!
cleanup() {
    "$L" ps -q 2>/dev/null | xargs -r -n 200 "$L" rm -f >/dev/null 2>&1
    kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
for _ in $(seq 200); do [ -S "$LIGHTVM_SOCKET" ] && break; sleep 0.05; done
sleep 1  # pool filled
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }  # kB
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
avail0=$(meminfo MemAvailable); slab0=$(meminfo Slab); pt0=$(meminfo PageTables); ks0=$(meminfo KernelStack)
echo "vms,mem_available_kb,per_vm_kib,slab_per_vm_kib,pagetables_per_vm_kib,kstack_per_vm_kib,monitor_pss_per_vm_kib,start_cli_median_us,start_to_loaded_us"
: >"$T/lat"; : >"$T/main"
for i in $(seq 1 "$COUNT"); do
    t0=$(date +%s%N)
    id=$("$L" run -d -m 64M "$G/sleep_ms.musl" 3600000) || { echo "# start $i failed: $(tail -1 "$T/daemon.log")" >&2; break; }
    echo $(( ($(date +%s%N) - t0) / 1000 )) >>"$T/lat"
    echo "$id" >>"$T/ids"
    if [ $((i % STEP)) -eq 0 ] || [ "$i" -eq 1 ]; then
        sleep 0.5  # the pool's refill and the new VMs' boots settle
        # A running VM has no report yet: its start is measured to the app loaded.
        main=$("$L" inspect "$id" | sed -n 's/.*"start_to_loaded_ns": \([0-9]*\).*/\1/p')
        avail=$(meminfo MemAvailable)
        pss=$("$L" ps --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p' | while read -r p; do
                  awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null; done | awk '{ s += $1 } END { print s + 0 }')
        echo "$i,$avail,$(( (avail0 - avail) / i )),$(( ($(meminfo Slab) - slab0) / i )),$(( ($(meminfo PageTables) - pt0) / i )),$(( ($(meminfo KernelStack) - ks0) / i )),$((pss / i)),$(tail -n "$STEP" "$T/lat" | median),$(( ${main:-0} / 1000 ))"
    fi
done
alive=$("$L" ps -q | wc -l)
echo "# $alive VMs alive at the end; daemon threads: $(ls /proc/$DPID/task | wc -l)" >&2
