# lightvmd killed with SIGKILL and started again (issue 12): VMs keep
# running while no daemon runs, the new daemon finds them again (listed,
# logs complete, stop and wait work, exit status from the monitor's report,
# saved through the monitor's link.sock), and VMs that ended before are
# still listed. Sourced by daemon_test.sh (its
# daemon in $DPID, helpers); not run on its own.
start_daemon() {
    "$D" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state" --pool 1 --pool-mem 64M --log-max 65536 2>>"$T/daemon.log" &
    DPID=$!
    wait_until 10 test -S "$LIGHTVM_SOCKET.run"
}
run "$L" run -d --name survivor -m 64M "$BUSYBOX" sh -c \
    'i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo "tick $i"; sleep 0.1; done; exit 7'
run "$L" run -d --name sleeper2 -m 64M "$G/sleep_ms.musl" 20000
run "$L" run -d --name frozen -m 64M "$G/sleep_ms.musl" 20000
run "$L" pause frozen
run "$L" run -d --name keeper -m 64M "$G/counter.glibc" 80 60
run "$L" run -d --name ended-before -m 64M "$G/hello.musl"
run "$L" wait ended-before
sleep 0.5
{ kill -KILL "$DPID"; wait "$DPID"; } 2>/dev/null
sleep 0.7  # the VMs go on; the survivor's monitor keeps writing its log
rm -f "$LIGHTVM_SOCKET.run"  # SIGKILL left the sockets behind
start_daemon
run "$L" ps
case "$OUT" in *survivor*running*) pass "restart: a VM running before the SIGKILL is listed again" ;;
    *) fail "restart: running VM listed" "$(describe)" "$(tail -3 "$T/daemon.log")" ;; esac
run "$L" inspect frozen
case "$OUT" in *'"adopted": true'*'"state": "paused"'*) pass "restart: a paused VM is found paused" ;;
    *) fail "restart: paused VM" "$(describe)" ;; esac
run "$L" snapshot create --stop keeper "$T/keeper"
expect "restart: a running VM found again can be saved (its link.sock)" 0 "$T/keeper"
run "$L" wait keeper
expect "restart: saved with --stop, it ends with status 0" 0 "0"
run "$L" snapshot restore --name kept "$T/keeper"
run "$L" wait kept
KEPT=$("$L" logs keeper; "$L" logs kept)
case "$(echo "$KEPT" | grep -c '^count ')/$KEPT" in
    80/*"done 80 "*) pass "restart: its restored copy finishes the count exactly" ;;
    *) fail "restart: save and restore of a VM found again" "$(describe)" "$(echo "$KEPT" | tail -3)" ;; esac
run "$L" wait survivor
expect "restart: wait returns the exit status of a VM found again" 7 "7"
run "$L" logs survivor
expect "restart: its log is complete, before, during and after the restart" 0 "$(seq -f 'tick %g' 1 30)"
run "$L" stop -t 5 sleeper2
run "$L" wait sleeper2
expect "restart: stop and wait work on a VM found again" 143 "143"
run "$L" resume frozen
run "$L" kill frozen
run "$L" wait frozen
expect "restart: resume and kill work on a paused VM found again" 137 "137"
run "$L" ps -a
case "$OUT" in *ended-before*exited*) pass "restart: VMs that ended before it are still listed" ;;
    *) fail "restart: exited VMs listed" "$(describe)" ;; esac
curl_api POST /v1/vms/survivor/snapshot "{\"path\":\"$T/never\"}"
expect_api "restart: a finished VM found again cannot be saved" 409 "only a running or paused VM"
# A VM that ends while no daemon runs: its report says how.
run "$L" run -d --name brief -m 64M "$G/exitcode.musl" 5
run "$L" run -d --name late -m 64M "$BUSYBOX" sh -c 'sleep 1; exit 9'
sleep 0.3
{ kill -KILL "$DPID"; wait "$DPID"; } 2>/dev/null
sleep 1.5
rm -f "$LIGHTVM_SOCKET.run"
start_daemon
run "$L" wait late
expect "restart: a VM that ended while no daemon ran has its exit status" 9 "9"
run "$L" wait brief
expect "restart: and so has one that ended before the kill" 5 "5"
