#!/usr/bin/env bash
# Locks on a share's file are shared with the host: a lock a host process
# holds stops the guest, and the guest's locks stop host processes, for
# record locks (fcntl) and flock alike.
#   host_locks_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR

set -u
. "$(dirname "$0")/harness.sh"
harness_init host-locks-test "$@"
BG=""
trap '[ -n "$BG" ] && kill $BG 2>/dev/null; rm -rf "$T"' EXIT
if ! command -v python3 >/dev/null || ! command -v flock >/dev/null; then
    echo "SKIPPED: needs python3 and flock (util-linux) as the host-side lock holders"
    exit 77
fi
P=$G/hostlocks.glibc
mkdir "$T/d" && head -c 1000 /dev/zero >"$T/d/f"

# Nothing held on the host: the guest gets everything.
run "$L" run --fs "$T/d" "$P" try "$T/d/f"
expect "no host locks: the guest locks freely" 0 "setlk write: ok
setlk read [200,300): ok
flock ex nb: ok
getlk: unlocked [0,+0) pid 0"

# A host process holds a POSIX write lock on [0,50) and an exclusive flock.
python3 - "$T/d/f" "$T/hold.ready" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 50, 0)
fcntl.flock(os.open(sys.argv[1], os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB)
open(sys.argv[2], "w").close()
time.sleep(4)
PY
BG=$!
for _ in $(seq 100); do [ -e "$T/hold.ready" ] && break; sleep 0.05; done
run "$L" run --fs "$T/d" "$P" try "$T/d/f"
expect "a host process's locks stop the guest (record, flock; F_GETLK names the range)" 0 "setlk write: EAGAIN
setlk read [200,300): ok
flock ex nb: EAGAIN
getlk: write [0,+50) pid -1"
# F_SETLKW waits for the host holder (gone after ~4 s).
run "$L" run --fs "$T/d" "$P" wait "$T/d/f"
if [ "$RC" -eq 0 ] && [ "$OUT" = "setlkw write: ok
got it" ] && [ "$MS" -ge 1000 ]; then
    pass "F_SETLKW waits until the host process lets go (${MS} ms)"
else
    fail "F_SETLKW against a host holder" "$(describe)"
fi
wait $BG; BG=""

# The guest holds a write lock on [0,100) and a shared flock for 3 s.
OUT_TO=$T/held "$L" run --fs "$T/d" "$P" hold "$T/d/f" 3000 </dev/null >"$T/held" 2>"$T/held.err" &
BG=$!
for _ in $(seq 100); do grep -q held "$T/held" 2>/dev/null && break; sleep 0.05; done
host_try() {
    python3 - "$T/d/f" "$@" <<'PY'
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
kind, start, length = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
try:
    if kind == "lockf":
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start)
    else:
        fcntl.flock(fd, (fcntl.LOCK_EX if kind == "flock-ex" else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    print("ok")
except OSError:
    print("blocked")
PY
}
[ "$(host_try lockf 50 10)" = blocked ] && pass "the guest's record lock stops a host lockf on [50,60)" ||
    fail "host lockf on [50,60) while the guest holds [0,100)"
[ "$(host_try lockf 500 10)" = ok ] && pass "outside the guest's range the host locks freely" ||
    fail "host lockf on [500,510)"
[ "$(host_try flock-ex 0 0)" = blocked ] && pass "the guest's shared flock stops a host exclusive flock" ||
    fail "host flock -x while the guest holds flock -s"
[ "$(host_try flock-sh 0 0)" = ok ] && pass "... and lets a host shared flock in" || fail "host flock -s"
wait $BG; BG=""
grep -q "setlk write \[0,100): ok" "$T/held" && pass "the guest took its locks" || fail "guest hold: $(cat "$T/held" "$T/held.err")"
[ "$(host_try lockf 0 0)" = ok ] && [ "$(host_try flock-ex 0 0)" = ok ] &&
    pass "the VM's exit released its host locks" || fail "host locks after the VM exited"
harness_finish
