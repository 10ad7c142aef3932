#!/bin/bash
# The whole CLI system test (cli_test.sh), unchanged, with a lightvmd
# running: every plain `lightvm run` in it goes through the daemon's warm
# pool with its stdio passed over (src/cli/daemon_run.cpp), and must behave
# exactly as the in-process path does (output, order, exit status, signals,
# errors). Afterwards the daemon's metrics prove the runs went through it.
# usage: cli_through_daemon.sh LIGHTVM GUEST_PROGRAM_DIR
. "$(dirname "$0")/harness.sh"
harness_init cli-daemon "$@"
D=$(dirname "$L")/lightvmd
export LIGHTVM_SOCKET=$T/lightvmd.sock
"$D" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state" --pool 2 2>"$T/daemon.log" &
DPID=$!
trap 'kill -TERM $DPID 2>/dev/null; wait $DPID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do [ -S "$LIGHTVM_SOCKET.run" ] && break; sleep 0.05; done
if [ ! -S "$LIGHTVM_SOCKET.run" ]; then echo "not ok - lightvmd did not start: $(cat "$T/daemon.log")"; exit 1; fi

"$(dirname "$0")/cli_test.sh" "$1" "$2"
rc=$?

starts=$(curl -s --unix-socket "$LIGHTVM_SOCKET" http://x/metrics | sed -n 's/^lightvm_starts_total //p')
if [ "${starts:-0}" -ge 30 ]; then
    pass "the runs went through lightvmd ($starts VMs started there)"
else
    fail "runs through lightvmd" "only '${starts}' started by the daemon"
fi
kill -TERM "$DPID"
wait "$DPID"
dstatus=$?
[ "$dstatus" -eq 0 ] && pass "lightvmd stopped cleanly" || fail "lightvmd exit" "status $dstatus: $(tail -3 "$T/daemon.log")"
harness_finish && [ "$rc" -eq 0 ]
