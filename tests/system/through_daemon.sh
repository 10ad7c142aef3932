#!/bin/bash
# A whole CLI system test, unchanged, with a lightvmd running: every plain
# `lightvm run` in it goes through the daemon's warm pool with its stdio
# passed over (src/cli/daemon_run.cpp) — networking too, whose -p ports and
# --net user|host the pool shell's monitor sets up from the host's network
# namespace (docs/design.md, "lightvmd's VMs") — and must behave exactly as
# the in-process path does (output, order, exit status, signals, errors).
# Afterwards the daemon's metrics prove the runs went through it.
# usage: through_daemon.sh TEST_SCRIPT MIN_STARTS LIGHTVM GUEST_PROGRAM_DIR
#   (TEST_SCRIPT: cli_test.sh, net_cli_test.sh; beside this script)
SCRIPT=$1 MIN_STARTS=$2
shift 2
. "$(dirname "$0")/harness.sh"
harness_init "daemon-${SCRIPT%.sh}" "$@"
D=$(dirname "$L")/lightvmd
export LIGHTVM_SOCKET=$T/lightvmd.sock
"$D" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state" --pool 2 2>"$T/daemon.log" &
DPID=$!
trap 'kill -TERM $DPID 2>/dev/null; wait $DPID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do [ -S "$LIGHTVM_SOCKET.run" ] && break; sleep 0.05; done
if [ ! -S "$LIGHTVM_SOCKET.run" ]; then echo "not ok - lightvmd did not start: $(cat "$T/daemon.log")"; exit 1; fi

"$(dirname "$0")/$SCRIPT" "$1" "$2"
rc=$?
[ "$rc" -eq 77 ] && exit 77  # the test itself skipped (no KVM, no curl)

starts=$(curl -s --unix-socket "$LIGHTVM_SOCKET" http://x/metrics | sed -n 's/^lightvm_starts_total //p')
if [ "${starts:-0}" -ge "$MIN_STARTS" ]; then
    pass "the runs went through lightvmd ($starts VMs started there)"
else
    fail "runs through lightvmd" "only '${starts}' started by the daemon (expected $MIN_STARTS or more)"
fi
kill -TERM "$DPID"
wait "$DPID"
dstatus=$?
[ "$dstatus" -eq 0 ] && pass "lightvmd stopped cleanly" || fail "lightvmd exit" "status $dstatus: $(tail -3 "$T/daemon.log")"
harness_finish && [ "$rc" -eq 0 ]
