#!/bin/bash
# The networking system test (net_cli_test.sh), unchanged, with a lightvmd
# running: every `lightvm run --net/-p/--dns` in it goes through the
# daemon's warm pool, whose monitor binds -p ports and starts --net
# user|host from the host's network namespace (docs/design.md, "lightvmd's
# VMs"), and must behave exactly as the in-process path does. Afterwards
# the daemon's metrics prove the runs went through it.
# usage: net_through_daemon.sh LIGHTVM GUEST_PROGRAM_DIR
. "$(dirname "$0")/harness.sh"
harness_init net-daemon "$@"
D=$(dirname "$L")/lightvmd
export LIGHTVM_SOCKET=$T/lightvmd.sock
"$D" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state" --pool 2 2>"$T/daemon.log" &
DPID=$!
trap 'kill -TERM $DPID 2>/dev/null; wait $DPID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do [ -S "$LIGHTVM_SOCKET.run" ] && break; sleep 0.05; done
if [ ! -S "$LIGHTVM_SOCKET.run" ]; then echo "not ok - lightvmd did not start: $(cat "$T/daemon.log")"; exit 1; fi

"$(dirname "$0")/net_cli_test.sh" "$1" "$2"
rc=$?
[ "$rc" -eq 77 ] && exit 77

starts=$(curl -s --unix-socket "$LIGHTVM_SOCKET" http://x/metrics | sed -n 's/^lightvm_starts_total //p')
if [ "${starts:-0}" -ge 15 ]; then
    pass "the runs went through lightvmd ($starts VMs started there)"
else
    fail "runs through lightvmd" "only '${starts}' started by the daemon"
fi
kill -TERM "$DPID"
wait "$DPID"
dstatus=$?
[ "$dstatus" -eq 0 ] && pass "lightvmd stopped cleanly" || fail "lightvmd exit" "status $dstatus: $(tail -3 "$T/daemon.log")"
harness_finish && [ "$rc" -eq 0 ]
