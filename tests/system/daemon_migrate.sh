# Issue 16, live migration, as a user drives it: `lightvm migrate` between
# this test's daemon and target daemons it starts (--migrate-listen), the
# REST resource behind it, and faults injected at each phase through a
# proxy (tests/system/migrate_proxy.py): every failed migration leaves the
# VM running here, exactly once. Sourced by daemon_test.sh after
# daemon_snapshots.sh (its $C, $FULL, log_of); not run on its own.
PROXY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/migrate_proxy.py
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MIG_PIDS=()
migrate_cleanup() {
    for p in "${MIG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${MIG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    MIG_PIDS=()
}
# start_target NAME PORT [ARGS...]: a lightvmd listening for migrations; sets TPID.
start_target() {
    local name=$1 port=$2
    shift 2
    "$D" --socket "$T/$name.sock" --state-dir "$T/$name" --pool 1 --pool-mem 64M \
        --migrate-listen "127.0.0.1:$port" "$@" 2>"$T/$name.log" &
    TPID=$!
    MIG_PIDS+=("$TPID")
    wait_until 10 test -S "$T/$name.sock" || fail "target daemon $name starts" "$(cat "$T/$name.log")"
}
on() { local sock=$1; shift; LIGHTVM_SOCKET="$T/$sock.sock" "$@"; }  # a command against another daemon
start_proxy() {  # PORT TARGET_PORT MODE: sets XPID
    : >"$T/proxy.out"
    python3 "$PROXY" "$1" "$2" "$3" >"$T/proxy.out" 2>&1 &
    XPID=$!
    MIG_PIDS+=("$XPID")
    wait_until 5 grep -q listening "$T/proxy.out"
}
stop_proxy() { kill "$XPID" 2>/dev/null; wait "$XPID" 2>/dev/null; }
state_of() { "$L" inspect "$1" | sed -n 's/.*"state": "\([a-z]*\)".*/\1/p' | head -1; }
running_here() { [ "$(state_of "$1")" = running ]; }

TP=$(free_port)
start_target tgt "$TP"

# --- a counting VM moves mid-count; the two halves are exactly the whole -----------
run "$L" run -d --name mig-a -m 64M "$C" 16 60
sleep 0.3
run "$L" migrate mig-a --to "127.0.0.1:$TP"
case "$OUT" in "migrated mig-a to 127.0.0.1:$TP as "*"downtime "*" ms"*) pass "lightvm migrate prints where the VM went and its downtime" ;;
    *) fail "lightvm migrate" "$(describe)" "$(cat "$T/tgt.log")" ;; esac
run env LIGHTVM_SOCKET="$T/tgt.sock" "$L" wait mig-a
expect "the migrated VM finishes on the target with status 0" 0 "0"
if [ "$(log_of mig-a; on tgt "$L" logs mig-a)" = "$FULL" ] && [ -n "$(on tgt "$L" logs mig-a)" ]; then
    pass "moved mid-count: the source's and the target's output are the whole count, exactly"
else
    fail "migrated count" "here: $(log_of mig-a | tail -1)" "there: $(on tgt "$L" logs mig-a | head -1)"
fi
run "$L" ps -a
case "$OUT" in *"mig-a "*"exited (0)"*"migrated to 127.0.0.1:$TP"*) pass "ps here shows where it went" ;; *) fail "ps of a migrated VM" "$(describe)" ;; esac
run env LIGHTVM_SOCKET="$T/tgt.sock" "$L" ps -a
case "$OUT" in *"mig-a "*"migrated in from "*) pass "ps there shows where it came from" ;; *) fail "ps on the target" "$(describe)" ;; esac
[ -z "$(ls -A "$T/tgt/incoming" 2>/dev/null)" ] && pass "the target keeps no incoming files once the VM runs" ||
    fail "incoming files left" "$(ls -la "$T/tgt/incoming")"

# --- a guest that keeps dirtying memory: every page arrives as last written --------
run "$L" run -d --name mig-d -m 64M "$G/dirtier.musl" 24 200 3
sleep 0.6
run "$L" migrate --json mig-d --to "127.0.0.1:$TP"
case "$OUT" in *'"downtime_ns": '*'"rounds": '*'"target_id": '*) pass "migrate --json reports downtime, rounds and the target's ID" ;;
    *) fail "migrate --json" "$(describe)" ;; esac
run env LIGHTVM_SOCKET="$T/tgt.sock" "$L" wait mig-d
last=$(on tgt "$L" logs mig-d | tail -1)
[ "$RC" -eq 0 ] && [ "$last" = "done ok pages=6144" ] && pass "a guest dirtying 200 MiB/s migrates with every page intact" ||
    fail "dirtying guest" "$(describe)" "$last"

# --- two busy vCPUs: the other one is held at a safe point for the last phase ------
run "$L" run -d --name mig-smp-full --cpus 2 "$G/smpcount.glibc" 60000
run "$L" wait mig-smp-full
SMP_ALL=$(log_of mig-smp-full)
run "$L" run -d --name mig-smp --cpus 2 "$G/smpcount.glibc" 60000
sleep 0.5
run "$L" migrate mig-smp --to "127.0.0.1:$TP"
expect "a VM computing on two vCPUs migrates" 0
run env LIGHTVM_SOCKET="$T/tgt.sock" "$L" wait mig-smp
if [ "$RC" -eq 0 ] && [ "$(log_of mig-smp)" = "start" ] && [ "$(log_of mig-smp; on tgt "$L" logs mig-smp)" = "$SMP_ALL" ]; then
    pass "... moved mid-computation, both threads finish there exactly as an uninterrupted run"
else
    fail "two-vCPU migration" "here: $(log_of mig-smp)" "there: $(on tgt "$L" logs mig-smp)" "whole: $SMP_ALL"
fi

# --- the REST resource, and requests it refuses -----------------------------------
run "$L" run -d --name mig-c -m 64M "$C" 16 60
curl_api POST /v1/vms/mig-c/migrate "{\"to\":\"127.0.0.1:$TP\"}"
expect_api "POST /v1/vms/{ref}/migrate moves the VM" 200 '"downtime_ns"'
curl_api POST /v1/vms/mig-c/migrate "{\"to\":\"127.0.0.1:$TP\"}"
expect_api "a VM that moved away cannot migrate again" 409 "only a running VM can be migrated"
curl_api POST /v1/vms/no-such-vm/migrate "{\"to\":\"127.0.0.1:$TP\"}"
expect_api "unknown VM: 404" 404 "no-such-vm"
run "$L" run -d --name mig-r -m 64M "$C" 16 400  # slow enough to outlast the refusals on a loaded host
curl_api POST /v1/vms/mig-r/migrate '{"to":"nowhere"}'
expect_api "a malformed address: 400 naming it" 400 "to: "
curl_api POST /v1/vms/mig-r/migrate '{"to":"127.0.0.1:1","extra":1}'
expect_api "unknown fields: 400" 400 "extra"
curl_api POST /v1/vms/mig-r/migrate '{}'
expect_api "no address: 400" 400 "to: missing"
run "$L" migrate mig-r --to "127.0.0.1:$(free_port)"
expect_error "nobody listening: one line" 1 "cannot connect to 127.0.0.1:"
running_here mig-r && pass "... and the VM runs on here" || fail "VM after a refused connection" "$(state_of mig-r)"
run "$L" pause mig-r
run "$L" migrate mig-r --to "127.0.0.1:$TP"
expect_error "a paused VM is refused" 1 "resume it first"
run "$L" resume mig-r
run "$L" wait mig-r
[ "$RC" -eq 0 ] && [ "$(log_of mig-r)" = "$FULL" ] && pass "after the refusals the VM finished its count here" ||
    fail "refused migrations disturbed the VM" "$(describe)"
run env LIGHTVM_SOCKET="$T/tgt.sock" "$L" create --name mig-n -m 64M "$C" 1 1
run "$L" run -d --name mig-n -m 64M "$C" 16 60
run "$L" migrate mig-n --to "127.0.0.1:$TP"
expect_error "a name taken on the target: one line" 1 "the name 'mig-n' is taken here"
run "$L" wait mig-n
[ "$RC" -eq 0 ] && [ "$(log_of mig-n)" = "$FULL" ] && pass "... and the VM finished here" || fail "name clash" "$(describe)"

# --- faults at each phase: the VM runs on here, exactly once -----------------------
PP=$(free_port)
for mode in cut-pages:1 cut-end; do
    start_proxy "$PP" "$TP" "$mode"
    name=mig-${mode%%:*}
    run "$L" run -d --name "$name" -m 64M "$C" 16 60
    sleep 0.3
    run "$L" migrate "$name" --to "127.0.0.1:$PP"
    expect_error "connection cut ($mode): one line, the VM runs here" 1 "failed (the VM runs here)"
    run "$L" wait "$name"
    if [ "$RC" -eq 0 ] && [ "$(log_of "$name")" = "$FULL" ]; then pass "... it finished its count here, exactly once"; else
        fail "after $mode" "$(describe)" "$(log_of "$name" | tail -2)"; fi
    run env LIGHTVM_SOCKET="$T/tgt.sock" "$L" ps -a
    case "$OUT" in *"$name "*) fail "the target keeps nothing after $mode" "$(describe)" ;; *) pass "the target keeps nothing after $mode" ;; esac
    stop_proxy
done
[ -z "$(ls -A "$T/tgt/incoming" 2>/dev/null)" ] && pass "no incoming files left by the failed migrations" ||
    fail "incoming files after failures" "$(ls -la "$T/tgt/incoming")"

# Go lost on the way: the target never runs it; the source cannot know that,
# so it keeps the VM paused (never two copies running) and says so.
start_proxy "$PP" "$TP" cut-go
run "$L" run -d --name mig-go -m 64M "$C" 16 60
sleep 0.3
run "$L" migrate mig-go --to "127.0.0.1:$PP"
expect_error "Go cut: one line saying the VM is paused here" 1 "the VM is paused here and may be running there"
[ "$(state_of mig-go)" = paused ] && pass "... the VM is paused here" || fail "state after a lost Go" "$(state_of mig-go)"
"$L" inspect mig-go | grep -q '"error": "migration to 127.0.0.1:'"$PP"': the target did not confirm' &&
    pass "... and inspect says why" || fail "inspect of a VM paused by a lost Go" "$("$L" inspect mig-go | grep error)"
no_go_vm() { ! on tgt "$L" ps -a | grep -q "mig-go "; }
wait_until 10 no_go_vm && pass "... the target dropped the VM it held" || fail "target after a lost Go" "$(on tgt "$L" ps -a)"
run "$L" resume mig-go
run "$L" wait mig-go
[ "$RC" -eq 0 ] && [ "$(log_of mig-go)" = "$FULL" ] && pass "resumed here, it finished its count exactly once" ||
    fail "resume after a lost Go" "$(describe)" "$(log_of mig-go | tail -2)"
stop_proxy

# The target daemon dies mid-transfer (a slow link gives it time to).
KP=$(free_port)
start_target kt "$KP"
start_proxy "$PP" "$KP" slow
run "$L" run -d --name mig-k -m 64M "$G/dirtier.musl" 8 10 4
sleep 0.3
( sleep 1; kill -KILL "$TPID" ) &
run "$L" migrate mig-k --to "127.0.0.1:$PP"
expect_error "the target killed mid-transfer: one line" 1 "failed (the VM runs here)"
run "$L" wait mig-k
[ "$RC" -eq 0 ] && [ "$(log_of mig-k | tail -1)" = "done ok pages=2048" ] && pass "... and the VM finished here intact" ||
    fail "after the target died" "$(describe)" "$(log_of mig-k | tail -1)"
stop_proxy

# The source daemon dies right after the hand-over: the VM runs on there.
SRCP=$(free_port)
start_target src2 "$SRCP"
SRCPID=$TPID
run env LIGHTVM_SOCKET="$T/src2.sock" "$L" run -d --name mig-sd -m 64M "$C" 16 60
sleep 0.3
run env LIGHTVM_SOCKET="$T/src2.sock" "$L" migrate mig-sd --to "127.0.0.1:$TP"
expect "a second daemon migrates a VM to the target" 0
part1=$(on src2 "$L" logs mig-sd)
kill -KILL "$SRCPID"
run env LIGHTVM_SOCKET="$T/tgt.sock" "$L" wait mig-sd
[ "$RC" -eq 0 ] && [ "$part1"$'\n'"$(on tgt "$L" logs mig-sd)" = "$FULL" ] &&
    pass "the source daemon killed after the hand-over: the VM finished its count there" ||
    fail "source killed after the hand-over" "$(describe)" "$(on tgt "$L" logs mig-sd | tail -1)"

# From another host boot (a source daemon that claims one): the target
# rebases the guest's clock; setitimer waits (absolute guest
# deadlines on a host timer) go on to the exact count.
OBP=$(free_port)
LIGHTVM_TEST_BOOT_ID=00000000-0000-4000-8000-0000000000b0 start_target ob "$OBP"
on ob "$L" run -d --name mig-ob -m 64M -e COUNTER_ITIMER=1 "$C" 16 60 >/dev/null
sleep 0.3
run env LIGHTVM_SOCKET="$T/ob.sock" "$L" migrate mig-ob --to "127.0.0.1:$TP"
expect "a VM from another host boot migrates in" 0
run env LIGHTVM_SOCKET="$T/tgt.sock" "$L" wait mig-ob
[ "$RC" -eq 0 ] && [ "$(on ob "$L" logs mig-ob; on tgt "$L" logs mig-ob)" = "$FULL" ] &&
    pass "... and its count goes on there exactly, its waits on the rebased clock" ||
    fail "migration from another boot" "$(describe)" "$(on tgt "$L" logs mig-ob | tail -2)"

# A target that asks for a secret refuses a source without it.
SP=$(free_port)
head -c 24 /dev/urandom | base64 >"$T/secret"
start_target sec "$SP" --migrate-secret "$T/secret"
run "$L" run -d --name mig-s -m 64M "$C" 16 60
run "$L" migrate mig-s --to "127.0.0.1:$SP"
expect_error "a target with --migrate-secret refuses a hello without it" 1 "wrong or missing migration secret"
run "$L" wait mig-s
[ "$RC" -eq 0 ] && [ "$(log_of mig-s)" = "$FULL" ] && pass "... and the VM finished here" || fail "secret refusal" "$(describe)"
run "$D" --socket "$T/bad.sock" --migrate-secret "$T/empty"
expect_error "an empty --migrate-secret file: one line" 2 "the secret must be at least 16 characters"
run "$D" --socket "$T/bad.sock" --migrate-listen "nowhere"
expect_error "a malformed --migrate-listen: one line" 1 "expected HOST:PORT"

# --- between two network namespaces ---------------------------------------------
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add lvmig-$$ 2>/dev/null; then
    NS=lvmig-$$
    ip link add lvmig0-$$ type veth peer name lvmig1-$$ && ip link set lvmig1-$$ netns "$NS" &&
        ip addr add 10.231.$(( $$ % 250 )).1/30 dev lvmig0-$$ && ip link set lvmig0-$$ up &&
        ip -n "$NS" addr add 10.231.$(( $$ % 250 )).2/30 dev lvmig1-$$ && ip -n "$NS" link set lvmig1-$$ up &&
        ip -n "$NS" link set lo up
    NP=$(free_port)
    NADDR=10.231.$(( $$ % 250 )).2
    ip netns exec "$NS" "$D" --socket "$T/ns.sock" --state-dir "$T/ns" --pool 1 --pool-mem 64M \
        --migrate-listen "$NADDR:$NP" 2>"$T/ns.log" &
    MIG_PIDS+=("$!")
    wait_until 10 test -S "$T/ns.sock"
    run "$L" run -d --name mig-ns -m 64M "$C" 16 60
    sleep 0.3
    run "$L" migrate mig-ns --to "$NADDR:$NP"
    expect "migrates into another network namespace over a veth pair" 0
    run env LIGHTVM_SOCKET="$T/ns.sock" "$L" wait mig-ns
    [ "$RC" -eq 0 ] && [ "$(log_of mig-ns; on ns "$L" logs mig-ns)" = "$FULL" ] &&
        pass "... and finishes its count there exactly" || fail "netns migration" "$(describe)" "$(cat "$T/ns.log")"
    migrate_cleanup
    ip link del lvmig0-$$ 2>/dev/null
    ip netns del "$NS"
else
    echo "# SKIPPED: migration between network namespaces (needs root and ip netns)"
fi
migrate_cleanup
