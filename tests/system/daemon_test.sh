#!/bin/bash
# lightvmd as a user drives it: the lifecycle through the CLI, the REST API
# with curl (malformed and hostile requests included), many VMs from several
# clients at once, a monitor killed from outside, pool exhaustion and refill,
# fresh memory for every VM, log limits, metrics.
# usage: daemon_test.sh LIGHTVM GUEST_PROGRAM_DIR   (lightvmd beside LIGHTVM)
. "$(dirname "$0")/harness.sh"
harness_init daemon "$@"
D=$(dirname "$L")/lightvmd
if ! command -v curl >/dev/null; then echo "not ok - curl not installed (scripts/install-deps.sh)"; exit 1; fi
export LIGHTVM_SOCKET=$T/lightvmd.sock
DPID=
cleanup() {
    declare -F migrate_cleanup >/dev/null && migrate_cleanup
    [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# Every answer curl_api gets is checked against docs/openapi.json.
OPENAPI_CHECK=${LIGHTVM_OPENAPI_CHECK:-$(dirname "$L")/../tests/openapi_check}
OPENAPI=${LIGHTVM_OPENAPI:-$(cd "$(dirname "$0")/../.." && pwd)/docs/openapi.json}
if [ ! -x "$OPENAPI_CHECK" ] || [ ! -f "$OPENAPI" ]; then echo "not ok - $OPENAPI_CHECK or $OPENAPI missing"; exit 1; fi
SPEC_CHECKED=0
declare -A SPEC_ROUTES
# curl_api METHOD PATH [BODY]: sets CODE, CTYPE and BODY.
curl_api() {
    local data=() w
    [ $# -ge 3 ] && data=(--data-binary "$3")
    [ $# -lt 3 ] && [ "$1" != GET ] && [ "$1" != DELETE ] && data=(--data-binary "")
    w=$(curl -s -o "$T/body" -w '%{http_code} %{content_type}' --max-time 20 --unix-socket "$LIGHTVM_SOCKET" -X "$1" \
        -H 'Content-Type: application/json' "${data[@]}" "http://lightvmd$2")
    CODE=${w%% *}
    CTYPE=${w#* }
    BODY=$(cat "$T/body")
    local why
    if why=$("$OPENAPI_CHECK" "$OPENAPI" "$1" "$2" "$CODE" "$CTYPE" "$T/body"); then
        SPEC_CHECKED=$((SPEC_CHECKED + 1))
        SPEC_ROUTES["$1 $(echo "${2%%\?*}" | sed -E 's#/v1/vms/[^/]+#/v1/vms/{ref}#')"]=1
    else
        fail "response matches docs/openapi.json: $1 $2 -> $CODE" "$why" "$BODY"
    fi
}
expect_api() {  # NAME CODE TEXT: last curl_api answered CODE with a JSON body containing TEXT
    if [ "$CODE" != "$2" ]; then fail "$1" "expected HTTP $2, got $CODE: $BODY"; return; fi
    case "$BODY" in *"$3"*) pass "$1" ;; *) fail "$1" "body lacks '$3': $BODY" ;; esac
}
json_field() { sed -n "s/.*\"$1\":\\([^,}]*\\).*/\\1/p" | tr -d '"'; }
wait_until() {  # SECONDS CMD...: poll CMD until it succeeds
    local end=$(( $(date +%s) + $1 )); shift
    until "$@"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.05; done
}

# --- start the daemon ---------------------------------------------------------
"$D" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state" --pool 2 --pool-mem 64M --log-max 65536 2>"$T/daemon.log" &
DPID=$!
if wait_until 10 test -S "$LIGHTVM_SOCKET"; then pass "daemon listens"; else fail "daemon listens" "$(cat "$T/daemon.log")"; exit 1; fi
[ "$(stat -c %a "$LIGHTVM_SOCKET")" = 600 ] && pass "socket is owner-only (0600)" || fail "socket mode" "$(stat -c %a "$LIGHTVM_SOCKET")"
run "$D" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state2" --pool 0
expect_error "a second daemon on the same socket is refused" 1 "another daemon is listening there"

# --- lifecycle through the CLI --------------------------------------------------
run "$L" create --name sleeper -m 64M "$G/sleep_ms.musl" 20000
ID=$OUT
[[ "$ID" =~ ^[0-9a-f]{16}$ ]] && pass "create prints an ID" || fail "create prints an ID" "$(describe)"
run "$L" ps -a
case "$OUT" in *"${ID:0:12}  sleeper "*created*) pass "ps -a shows the created VM" ;; *) fail "ps -a" "$(describe)" ;; esac
run "$L" ps
case "$OUT" in *sleeper*) fail "ps hides VMs that are not running" "$(describe)" ;; *) pass "ps hides VMs that are not running" ;; esac
run "$L" start sleeper
expect "start by name" 0 "sleeper"
run "$L" start "${ID:0:6}"
expect_error "a running VM cannot be started again" 1 "only a created VM can be started"
# Its monitor is sandboxed and, made in the pool, in network, IPC and UTS
# namespaces of its own (docs/security.md, "Namespaces").
MPID=$("$L" inspect sleeper | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
got=$(grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/$MPID/status 2>/dev/null | tr -s '\t ' ' ' | tr '\n' ';')
[ "$got" = "CapEff: 0000000000000000;NoNewPrivs: 1;Seccomp: 2;" ] && pass "daemon VM's monitor is sandboxed" ||
    fail "daemon VM's monitor is sandboxed" "pid '$MPID': '$got'"
same=""
for ns in net ipc uts; do
    [ "$(readlink /proc/$MPID/ns/$ns)" = "$(readlink /proc/$DPID/ns/$ns)" ] && same="$same $ns"
done
if [ "$(id -u)" != 0 ]; then
    echo "# SKIPPED: not root: monitors keep the host's namespaces (no CAP_SYS_ADMIN)"
elif [ -n "$MPID" ] && [ -z "$same" ]; then
    pass "daemon VM's monitor has its own net, ipc and uts namespaces"
else
    fail "daemon VM's monitor namespaces" "pid '$MPID' shares:$same"
fi
run "$L" ps --json
case "$OUT" in *"\"state\": \"running\""*) pass "ps --json" ;; *) fail "ps --json" "$(describe)" ;; esac
run "$L" pause "${ID:0:5}"
run "$L" inspect sleeper
case "$OUT" in *'"state": "paused"'*) pass "pause by unique ID prefix" ;; *) fail "pause" "$(describe)" ;; esac
run "$L" resume sleeper
expect "resume" 0 "sleeper"
run "$L" stop -t 5 sleeper
expect "stop: SIGTERM within the grace period" 0 "sleeper"
run "$L" wait sleeper
expect "wait prints and returns 128+SIGTERM" 143 "143"
run "$L" rm sleeper
expect "rm" 0 "sleeper"
run "$L" inspect "$ID"
expect_error "a removed VM is gone" 1 "no such VM: $ID" 

run "$L" run -d --name hello "$G/hello.glibc"
wait_until 10 sh -c "\"$L\" inspect hello | grep -q '\"state\": \"exited\"'"
run "$L" logs hello
expect "run -d and logs" 0 "Hello from a lightvm guest!"
run "$L" run -d --name hello "$G/hello.glibc"
expect_error "names are unique" 125 "the name 'hello' is already used"
run "$L" run -d -e CODE=7 "$G/exitcode.musl" 42
EX=$OUT
run "$L" wait "$EX"
expect "wait returns the guest's exit status" 42 "42"
run "$L" run -d "$G/sleep_ms.musl" 20000
SL=$OUT
run "$L" stop -t 0.2 "$SL"
run "$L" wait "$SL"
expect "stop: SIGTERM, then SIGKILL after the grace period (or 143 if it stopped)" "$RC" "$RC"
case "$RC" in 137|143) pass "stopped VM status $RC" ;; *) fail "stop status" "$(describe)" ;; esac
run "$L" rm nosuchvm
expect_error "unknown VM" 1 "no such VM: nosuchvm"
run "$L" run -d "$G/sleep_ms.musl" 20000
RUNNING=$OUT
run "$L" rm "$RUNNING"
expect_error "rm refuses a running VM" 1 "stop it first or use force"
run "$L" rm -f "$RUNNING"
expect "rm -f kills and removes" 0 "$RUNNING"
run "$L" kill -s BOGUS hello
expect_error "kill: unknown signal" 1 "unknown signal 'BOGUS'"

# --- guest errors reach the user ----------------------------------------------
curl_api POST '/v1/vms?start=1' "{\"app\":\"$G/nonexistent\"}"
expect_api "start of a missing app: 400 with the reason" 400 "No such file or directory"
curl_api POST '/v1/vms?start=1' "{\"app\":\"$G/../../CMakeCache.txt\"}"
expect_api "start of a non-ELF file: 400" 400 "error"

# --- malformed and hostile requests -----------------------------------------------
curl_api POST /v1/vms '{"app": "/bin/true",'
expect_api "malformed JSON: 400" 400 "body is not valid JSON"
curl_api POST /v1/vms "{\"app\":\"$G/hello.musl\",\"bogus\":1}"
expect_api "unknown field: 400" 400 "unknown field 'bogus'"
curl_api POST /v1/vms '{"app":"relative/app"}'
expect_api "relative app path: 400" 400 "must be an absolute path"
curl_api POST /v1/vms "{\"app\":\"$G/hello.musl\",\"memory\":\"12Q\"}"
expect_api "bad memory size: 400" 400 "memory"
curl_api POST /v1/vms "{\"app\":\"$G/hello.musl\",\"memory\":\"64G\"}"
expect_api "memory above the limit: 400" 400 "too large"
curl_api POST /v1/vms "{\"app\":\"$G/hello.musl\",\"args\":\"notalist\"}"
expect_api "wrong type: 400" 400 "args: must be an array of strings"
curl_api POST /v1/vms "{\"app\":\"$G/hello.musl\",\"name\":\"../evil\"}"
expect_api "bad name: 400" 400 "name"
curl_api POST /v1/vms '[1,2,3]'
expect_api "non-object body: 400" 400 "must be a JSON object"
head -c 100000 /dev/zero | tr '\0' 'a' >"$T/big"
curl_api POST /v1/vms "$(cat "$T/big")"
expect_api "oversized body: 413" 413 "too large"
curl_api GET /v1/nothing
expect_api "unknown endpoint: 404 JSON" 404 "no such endpoint"
curl_api GET /v1/vms/ffffffffffffffff
expect_api "unknown VM: 404" 404 "no such VM"
curl_api POST "/v1/vms/hello/stop?timeout=abc"
expect_api "bad stop timeout: 400" 400 "timeout"
curl_api GET "/v1/vms/hello/logs?tail=-3"
expect_api "bad tail: 400" 400 "tail"
curl_api POST /v1/vms/hello/start
expect_api "start of an exited VM: 409" 409 "only a created VM can be started"
if command -v python3 >/dev/null; then
    start=$(now_ms)
    python3 - "$LIGHTVM_SOCKET" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(30)
s.sendall(b"POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # and never the rest
try:
    s.recv(100)
except Exception:
    pass
PY
    took=$(( $(now_ms) - start ))
    [ "$took" -lt 15000 ] && pass "a slow client is cut off (${took} ms)" || fail "slow client" "held for ${took} ms"
fi
curl_api GET /v1/version
expect_api "the daemon still answers after all that" 200 '"api":"v1"'

# --- a monitor killed from outside --------------------------------------------
for n in 1 2 3; do run "$L" run -d --name victim$n "$G/sleep_ms.musl" 20000; done
VPID=$("$L" inspect victim2 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
kill -KILL "$VPID"
run "$L" wait victim2
expect "SIGKILLed monitor: wait reports 137" 137 "137"
case "$ERR" in *"monitor process killed by SIGKILL"*) pass "the daemon says what happened" ;; *) fail "monitor crash report" "$(describe)" ;; esac
run "$L" ps
if echo "$OUT" | grep -q 'victim1 .*running' && echo "$OUT" | grep -q 'victim3 .*running'; then
    pass "the other VMs keep running"
else
    fail "other VMs unaffected" "$(describe)"
fi
run "$L" rm -f victim1 victim2 victim3
expect "rm -f several" 0 "$(printf 'victim1\nvictim2\nvictim3')"

# --- fresh memory: a VM never sees what an earlier one wrote ------------------
for i in 1 2 3; do
    W=$("$L" run -d -m 64M "$G/secret.glibc" write)
    "$L" wait "$W" >/dev/null
    S=$("$L" run -d -m 64M "$G/secret.glibc" scan)
    "$L" wait "$S" >/dev/null
    run "$L" logs "$S"
    expect "guest $((2 * i)) sees none of guest $((2 * i - 1))'s memory" 0 "nonzero 0"
done

# --- pool exhaustion and refill -----------------------------------------------------
# pool_field NAME: that field of the 64 MiB shape in GET /v1/pool.
pool_field() {
    curl -s --unix-socket "$LIGHTVM_SOCKET" http://x/v1/pool | grep -o '{[^{}]*"memory":67108864[^{}]*}' | json_field "$1"
}
if wait_until 10 test "$(pool_field ready)" = 2; then pass "pool full (2 ready)"; else fail "pool full" "$(curl -s --unix-socket "$LIGHTVM_SOCKET" http://x/v1/pool)"; fi
hits0=$(pool_field hits); misses0=$(pool_field misses)
# 8 starts at once on a pool of 2: some must make their shell on the spot.
PIDS=()
for n in 1 2 3 4 5 6 7 8; do "$L" run -d -m 64M "$G/sleep_ms.musl" 3000 >"$T/burst$n" & PIDS+=($!); done
wait "${PIDS[@]}"
IDS=($(cat "$T"/burst*))
hits1=$(pool_field hits); misses1=$(pool_field misses)
[ ${#IDS[@]} -eq 8 ] && [ $((hits1 - hits0 + misses1 - misses0)) -eq 8 ] && [ $((misses1 - misses0)) -ge 1 ] &&
    pass "8 starts at once on a pool of 2: $((hits1 - hits0)) from the pool, $((misses1 - misses0)) made on the spot" ||
    fail "pool exhaustion" "${#IDS[@]} started; hits $hits0->$hits1 misses $misses0->$misses1"
if wait_until 10 test "$(pool_field ready)" = 2; then pass "pool refilled in the background"; else fail "pool refill" "$(pool_field ready) ready"; fi
"$L" rm -f "${IDS[@]}" >/dev/null
run "$L" run -d -m 32M "$G/hello.musl"
expect "another shape: made on the spot" 0 "$OUT"
run "$L" wait "$OUT"
expect "another shape runs" 0 "0"

# --- many VMs from several clients at once ----------------------------------------
N_CLIENTS=4
PER_CLIENT=${LIGHTVM_DAEMON_TEST_VMS:-25}
start=$(now_ms)
PIDS=()
for c in $(seq 1 $N_CLIENTS); do
    (
        for i in $(seq 1 "$PER_CLIENT"); do
            code=$(( (c * 37 + i) % 100 ))
            id=$("$L" run -d -m 64M --name "c$c-$i" "$G/exitcode.musl" "$code") || { echo "c$c-$i: run -d failed"; continue; }
            got=$("$L" wait "$id")
            [ "$got" = "$code" ] || echo "c$c-$i: status $got, expected $code"
        done
    ) >"$T/client$c.log" 2>&1 &
    PIDS+=($!)
done
wait "${PIDS[@]}"
took=$(( $(now_ms) - start ))
bad=$(cat "$T"/client*.log)
total=$((N_CLIENTS * PER_CLIENT))
[ -z "$bad" ] && pass "$total VMs from $N_CLIENTS clients, all with the right status (${took} ms)" || fail "concurrent VMs" "$bad"
run "$L" ps -a -q
count=$(echo "$OUT" | grep -c .)
[ "$count" -ge "$total" ] && pass "ps -a lists all $total" || fail "ps -a count" "$count"
# Many alive at once: start them all, then stop them all.
IDS=()
for i in $(seq 1 "$PER_CLIENT"); do IDS+=("$("$L" run -d -m 64M "$G/sleep_ms.musl" 30000)"); done
run "$L" ps -q
alive=$(echo "$OUT" | grep -c .)
[ "$alive" -eq "$PER_CLIENT" ] && pass "$PER_CLIENT VMs alive at once" || fail "alive at once" "$alive running"
run "$L" rm -f "${IDS[@]}"
[ "$RC" -eq 0 ] && pass "rm -f of all of them" || fail "rm -f all" "$(describe)"

# --- logs: size limit with one rotation, follow --------------------------------------
if [ -x "$BUSYBOX" ]; then
    LG=$("$L" run -d "$BUSYBOX" seq 1 100000)
    "$L" wait "$LG" >/dev/null
    run "$L" logs "$LG"
    last=$(echo "$OUT" | tail -1)
    size=$(wc -c <"$T/out")
    [ "$last" = 100000 ] && [ "$size" -le 65536 ] && pass "log kept to the limit, newest output kept ($size bytes)" ||
        fail "log limit" "last line '$last', $size bytes"
    [ -f "$T/state/vms/$LG/output.log.1" ] && pass "one rotated log file kept" || fail "log rotation" "$(ls "$T/state/vms/$LG")"
    run "$L" logs --tail 3 "$LG"
    expect "logs --tail" 0 "$(printf '99998\n99999\n100000')"
fi
F=$("$L" run -d "$G/sleep_ms.musl" 300)
run "$L" logs -f "$F"
expect "logs -f follows until the VM exits" 0 "slept"

# --- every endpoint, answers checked against docs/openapi.json ------------------------
curl_api POST /v1/vms "{\"app\":\"$G/sleep_ms.musl\",\"args\":[\"20000\"],\"memory\":\"64M\",\"name\":\"spec\"}"
expect_api "POST /v1/vms: 201 with the ID" 201 '"id"'
curl_api POST /v1/vms/spec/start
expect_api "POST start: 200" 200 '"pooled"'
curl_api GET /v1/vms
expect_api "GET /v1/vms lists the running VM" 200 '"name":"spec"'
curl_api GET '/v1/vms?all=1'
expect_api "GET /v1/vms?all=1" 200 '"state":"exited"'
curl_api GET /v1/vms/spec
expect_api "GET /v1/vms/{ref} of a running VM, with its config" 200 '"config"'
curl_api POST /v1/vms/spec/pause
expect_api "POST pause" 200 '"state":"paused"'
curl_api POST /v1/vms/spec/pause
expect_api "POST pause of a paused VM: 409" 409 "is paused"
curl_api POST /v1/vms/spec/resume
expect_api "POST resume" 200 '"state":"running"'
curl_api POST '/v1/vms/spec/kill?signal=TERM'
expect_api "POST kill" 200 '"signal":15'
curl_api POST /v1/vms/spec/wait
expect_api "POST wait" 200 '"exit_status":143'
curl_api POST '/v1/vms/spec/stop?timeout=1'
expect_api "POST stop of an exited VM: its state" 200 '"state":"exited"'
curl_api GET /v1/vms/spec
expect_api "GET /v1/vms/{ref} of an exited VM" 200 '"exit_status":143'
curl_api GET '/v1/vms/spec/logs?tail=1'
expect_api "GET logs: text/plain" 200 ""
curl_api DELETE /v1/vms/spec
expect_api "DELETE" 200 '"id"'
curl_api DELETE /v1/vms/spec
expect_api "DELETE of a removed VM: 404" 404 "no such VM"
curl_api GET /v1/pool
expect_api "GET /v1/pool" 200 '"shapes"'
curl_api PUT /v1/pool '{"memory":"32M","target":1}'
expect_api "PUT /v1/pool" 200 '"memory":33554432'
curl_api PUT /v1/pool '{"memory":"32M","target":"many"}'
expect_api "PUT /v1/pool with a bad target: 400" 400 "target"
curl_api PUT /v1/pool '{"memory":"32M","target":0}'
expect_api "PUT /v1/pool back to 0" 200 '"target":0'
curl_api GET /v1/stats
expect_api "GET /v1/stats" 200 '"commit_limit"'
curl_api GET /v1/version
expect_api "GET /v1/version" 200 '"api":"v1"'
curl_api GET /metrics
expect_api "GET /metrics" 200 "lightvm_vms"
# The checker itself must be able to fail: a VM answer with a field the spec lacks.
echo '{"id":"0123456789abcdef","unexpected":1}' >"$T/bad_body"
if ! "$OPENAPI_CHECK" "$OPENAPI" DELETE /v1/vms/x 200 application/json "$T/bad_body" >/dev/null; then
    pass "openapi_check rejects an answer the spec does not describe"
else
    fail "openapi_check rejects an answer the spec does not describe"
fi

# --- events ---------------------------------------------------------------------------
curl_api GET '/v1/events?since=0&timeout=0'
expect_api "GET /v1/events: everything kept" 200 '"type":"removed"'
NEXT=$(echo "$BODY" | sed -n 's/.*"next":\([0-9]*\).*/\1/p')
start=$(now_ms)
curl_api GET "/v1/events?since=$NEXT&timeout=0.3"
took=$(( $(now_ms) - start ))
[ "$CODE" = 200 ] && [[ "$BODY" == *'"events":[]'* ]] && [ "$took" -ge 250 ] &&
    pass "events long poll: nothing new, answers empty after its timeout (${took} ms)" ||
    fail "events timeout" "$CODE ${took} ms $BODY"
( sleep 0.5; "$L" create --name evented "$G/hello.musl" >/dev/null ) &
CREATOR=$!
start=$(now_ms)
curl_api GET "/v1/events?since=$NEXT&timeout=20"
took=$(( $(now_ms) - start ))
wait "$CREATOR"
case "$BODY" in
    *'"name":"evented"'*'"type":"created"'*) [ "$took" -lt 10000 ] && pass "events long poll wakes on a new event (${took} ms)" || fail "events wake" "${took} ms" ;;
    *) fail "events long poll wakes on a new event" "$BODY" ;;
esac
run "$L" start evented
run "$L" wait evented
run "$L" events --since "$NEXT" --timeout 0
case "$OUT" in
    *created*evented*started*evented*exited*evented*"status 0"*) pass "lightvm events: created, started, exited in order" ;;
    *) fail "lightvm events" "$(describe)" ;;
esac
run "$L" rm evented
curl_api GET '/v1/events?since=x'
expect_api "events: bad since: 400" 400 "since"
curl_api GET '/v1/events?timeout=999'
expect_api "events: timeout out of range: 400" 400 "timeout"

# --- stats ------------------------------------------------------------------------------
ST=$("$L" run -d --name statvm -m 64M "$G/sleep_ms.musl" 20000)
run "$L" stats
case "$OUT" in
    *"VM ID"*RSS*CPU*"${ST:0:12}  statvm"*) pass "lightvm stats: a table with the running VM" ;;
    *) fail "lightvm stats" "$(describe)" ;;
esac
run "$L" stats --json
case "$OUT" in *'"commit_limit"'*'"rss_bytes"'*) pass "lightvm stats --json" ;; *) fail "lightvm stats --json" "$(describe)" ;; esac
run "$L" stats --bogus
expect_error "stats: bad flag: one line, status 2" 2 "bogus"
"$L" rm -f statvm >/dev/null

# --- lightvm run through the daemon -------------------------------------------------------
starts() { curl -s --unix-socket "$LIGHTVM_SOCKET" http://x/metrics | sed -n 's/^lightvm_starts_total //p'; }
s0=$(starts)
run "$L" run "$G/hello.glibc"
expect "run through the daemon: output on our stdout" 0 "Hello from a lightvm guest!"
s1=$(starts)
[ "$s1" -eq $((s0 + 1)) ] && pass "that run was started by the daemon" || fail "run went through the daemon" "starts $s0 -> $s1"
run "$L" run --no-daemon "$G/hello.glibc"
expect "--no-daemon: the same output" 0 "Hello from a lightvm guest!"
[ "$(starts)" -eq "$s1" ] && pass "--no-daemon did not use the daemon" || fail "--no-daemon" "starts $s1 -> $(starts)"
run "$L" run -e CODE=9 "$G/exitcode.musl" 42
expect "run through the daemon: the guest's exit status" 42
echo "piped input" >"$T/in"
IN=$T/in run "$L" run "$G/stdin_echo.musl"
expect "run through the daemon: our stdin is the guest's" 0 "piped input"
IN_DIR=$G run "$L" run ./hello.musl
expect "run through the daemon: a relative APP means ours" 0 "Hello from a lightvm guest!"
run "$L" run "$G/nonexistent"
expect_error "run through the daemon: a missing APP, 127" 127 "lightvm: $G/nonexistent: No such file or directory" exact
run "$L" run --timeout 0.3 "$G/sleep_ms.musl" 10000
expect_error "run through the daemon: --timeout, 124" 124 "timed out"
run "$L" run "$G/nullderef.glibc"
expect_error "run through the daemon: a guest fault, 139" 139 "guest page fault"
"$L" run "$G/sleep_ms.musl" 20000 >/dev/null 2>&1 &
CL=$!
wait_until 10 sh -c "\"$L\" ps --json | grep -q '\"attached\": true'" && pass "an attached run is listed by ps" ||
    fail "attached run in ps" "$("$L" ps --json)"
kill -INT "$CL"
wait "$CL"
rc=$?
[ "$rc" -eq 130 ] && pass "Ctrl-C of an attached run reaches the VM: 130" || fail "SIGINT through the daemon" "status $rc"
"$L" run "$G/sleep_ms.musl" 20000 >/dev/null 2>&1 &
CL=$!
wait_until 10 sh -c "\"$L\" ps --json | grep -q '\"attached\": true'"
kill -KILL "$CL"
wait "$CL" 2>/dev/null
if wait_until 10 sh -c "! \"$L\" ps --json | grep -q '\"attached\": true'"; then
    pass "a killed client takes its VM with it"
else
    fail "killed client" "$("$L" ps)"
fi

# --- host-memory admission (a second daemon with a tiny commit limit) -------------------
A_SOCK=$T/admit.sock
"$D" --socket "$A_SOCK" --state-dir "$T/admit" --pool 0 --overcommit-ratio 0.01 2>"$T/admit.log" &
APID=$!
wait_until 10 test -S "$A_SOCK.run"
LIMIT=$(( $(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024 / 100 ))
run "$L" create --socket "$A_SOCK" -m 16M "$G/hello.musl"
expect "admission: a VM within the limit is accepted" 0 "$OUT"
BIG=$(( (LIMIT / 2 + 1) * 2 ))M
run "$L" create --socket "$A_SOCK" -m "$BIG" "$G/hello.musl"
expect_error "admission: a VM beyond --overcommit-ratio is refused in one line" 125 "host memory"
LIGHTVM_SOCKET=$A_SOCK run "$L" run -m "$BIG" "$G/hello.musl"
expect_error "admission: lightvm run through that daemon is refused too" 125 "host memory"
kill -TERM "$APID"; wait "$APID"
"$D" --socket "$A_SOCK" --state-dir "$T/admit" --pool 0 --min-free 100000G 2>"$T/admit.log" &
APID=$!
wait_until 10 test -S "$A_SOCK.run"
run "$L" create --socket "$A_SOCK" -m 16M "$G/hello.musl"
expect_error "admission: refused while MemAvailable is below --min-free" 125 "below --min-free"
kill -TERM "$APID"; wait "$APID"
run "$D" --overcommit-ratio -1
expect_error "lightvmd: a bad --overcommit-ratio is refused" 2 "overcommit-ratio"
run "$D" --min-free lots
expect_error "lightvmd: a bad --min-free is refused" 2 "--min-free"

. "$(dirname "$0")/daemon_snapshots.sh"
. "$(dirname "$0")/daemon_migrate.sh"

# --- metrics --------------------------------------------------------------------------
curl_api GET /metrics
case "$BODY" in *"lightvm_starts_total "*"lightvm_start_to_main_seconds_count"*"lightvm_pool_ready{memory=\"67108864\"}"*) pass "/metrics in Prometheus text" ;; *) fail "/metrics" "$BODY" ;; esac
case "$BODY" in *"lightvm_monitor_crashes_total 1"*) pass "metrics count the killed monitor" ;; *) fail "metrics crash count" "$BODY" ;; esac

. "$(dirname "$0")/daemon_net.sh"

. "$(dirname "$0")/daemon_restart.sh"

# --- shutdown ---------------------------------------------------------------------------
kill -TERM "$DPID"
wait "$DPID"
rc=$?
DPID=
[ "$rc" -eq 0 ] && [ ! -e "$LIGHTVM_SOCKET" ] && pass "SIGTERM: clean exit, socket removed" || fail "shutdown" "status $rc"
run "$L" ps
expect_error "no daemon: one line naming the socket" 1 "cannot reach lightvmd at $LIGHTVM_SOCKET"
run "$L" run "$G/hello.musl"
expect "no daemon: lightvm run runs the VM itself" 0 "Hello from a lightvm guest!"
# Every route of the spec was exercised and every answer matched it.
missing=""
for route in $("$OPENAPI_CHECK" --list-operations "$OPENAPI" 2>/dev/null | tr ' ' '_'); do
    [ -n "${SPEC_ROUTES[${route//_/ }]:-}" ] || missing="$missing ${route//_/ }"
done
[ -z "$missing" ] && pass "$SPEC_CHECKED answers matched docs/openapi.json, every documented operation among them" ||
    fail "operations the test never called" "$missing"
harness_finish
