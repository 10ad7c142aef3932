#!/usr/bin/env bash
# Images through lightvmd: `lightvm run -d --image` and `create --image`
# with the image's config and the command line's overrides, a writable
# layer per VM (private to it, never in the cache, removed with the VM,
# also after the daemon was SIGKILLed and restarted), --read-only, the
# image held against `image rm` while a VM uses it, and the API's errors
# (checked against docs/openapi.json). Its own lightvmd and image cache.
#   daemon_image_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
set -u
. "$(dirname "$0")/harness.sh"
harness_init daemon-image "$@"
HERE=$(cd "$(dirname "$0")" && pwd)
D=$(dirname "$L")/lightvmd
if ! command -v curl >/dev/null; then echo "not ok - curl not installed (scripts/install-deps.sh)"; exit 1; fi
export LIGHTVM_SOCKET=$T/lightvmd.sock
export LIGHTVM_IMAGE_DIR=$T/cache
DPID=
cleanup() {
    [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
OPENAPI_CHECK=${LIGHTVM_OPENAPI_CHECK:-$(dirname "$L")/../tests/openapi_check}
OPENAPI=$(cd "$HERE/../.." && pwd)/docs/openapi.json
if [ ! -x "$OPENAPI_CHECK" ]; then echo "not ok - $OPENAPI_CHECK missing"; exit 1; fi
# curl_api METHOD PATH [BODY]: sets CODE and BODY; the answer must match docs/openapi.json.
curl_api() {
    local data=() w
    [ $# -ge 3 ] && data=(--data-binary "$3")
    w=$(curl -s -o "$T/body" -w '%{http_code} %{content_type}' --max-time 20 --unix-socket "$LIGHTVM_SOCKET" -X "$1" \
        -H 'Content-Type: application/json' "${data[@]}" "http://lightvmd$2")
    CODE=${w%% *}
    BODY=$(cat "$T/body")
    local why
    why=$("$OPENAPI_CHECK" "$OPENAPI" "$1" "$2" "$CODE" "${w#* }" "$T/body") ||
        fail "response matches docs/openapi.json: $1 $2 -> $CODE" "$why" "$BODY"
}
expect_api() {  # NAME CODE TEXT: the last answer was CODE, one line of JSON holding TEXT
    if [ "$CODE" != "$2" ]; then fail "$1" "expected HTTP $2, got $CODE: $BODY"; return; fi
    if [ "$(printf '%s' "$BODY" | wc -l)" -ne 0 ]; then fail "$1" "not one line: $BODY"; return; fi
    case "$BODY" in *"$3"*) pass "$1" ;; *) fail "$1" "body lacks '$3': $BODY" ;; esac
}
wait_until() {  # SECONDS CMD...: poll CMD until it succeeds
    local end=$(( $(date +%s) + $1 )); shift
    until "$@"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 0.05; done
}
start_daemon() {
    "$D" --socket "$LIGHTVM_SOCKET" --state-dir "$T/state" --pool 1 --pool-mem 64M 2>>"$T/daemon.log" &
    DPID=$!
    wait_until 10 test -S "$LIGHTVM_SOCKET.run"
}
# run_vm NAME CMD...: `lightvm CMD` printed a VM ID; VM is set to it.
run_vm() {
    local name=$1; shift
    run "$L" "$@"
    VM=$OUT
    if [ "$RC" -ne 0 ] || [ "${#VM}" -ne 16 ]; then fail "$name" "$(describe)"; return 1; fi
}
# vm_output NAME STATUS TEXT: VM ended with STATUS and its log is TEXT.
vm_output() {
    run "$L" wait "$VM"
    local status=$RC
    run "$L" logs "$VM"
    if [ "$status" -eq "$2" ] && [ "$RC" -eq 0 ] && [ "$OUT" = "$3" ]; then pass "$1"; else fail "$1" "wait: $status" "$(describe)"; fi
}
layer() { echo "$T/state/vms/$1/layer"; }

. "$HERE/image_env.sh"
build_test_image
if start_daemon; then pass "daemon listens"; else fail "daemon listens" "$(cat "$T/daemon.log")"; exit 1; fi

# --- run -d and create: the image's config, the command line's overrides ----
run_vm "run -d --image PATH prints an ID" run -d --image "$T/img/oci" &&
    vm_output "run -d --image PATH: imported, the image's Cmd, WorkingDir and User; logs show it" 0 "default cmd in /home/app as 1000"
run "$L" image import "$T/img/oci" --name busy
run_vm "run -d with overrides" run -d -e SHADOWED=cli -w /tmp -u 0 --image busy sh -c 'echo "$GREETING/$SHADOWED/$PWD/$(id -u)/$HOME"' &&
    vm_output "-e over the image's Env, -w, -u 0 (HOME from its passwd)" 0 "hello from the image/cli//tmp/0//root"
run_vm "run -d --entrypoint" run -d --image busy --entrypoint /bin/echo from entrypoint &&
    vm_output "--entrypoint replaces the image's" 0 "from entrypoint"
run_vm "create --image" create --name writer -u 0 --image busy sh -c 'echo secret > /written && echo more >> /etc/added && cat /written' &&
    WRITER=$VM
run "$L" inspect writer
case "$OUT" in *'"read_only": false'*'"ref": "busy"'*'"state": "created"'*) pass "create --image: created, the image in inspect" ;;
    *) fail "create --image: inspect" "$(describe)" ;; esac
run "$L" start writer
vm_output "create + start: the VM writes to its root" 0 "secret"

# --- the writable layer -------------------------------------------------------
if [ "$(cat "$(layer "$WRITER")/upper/written" 2>/dev/null)" = secret ] && [ ! -e "$ROOT/written" ] &&
    [ "$(cat "$ROOT/etc/added")" = "added by layer 2" ]; then
    pass "the write is in the VM's layer below its directory, not in the image cache"
else
    fail "writes go to the VM's layer" "$(find "$(layer "$WRITER")" 2>&1 | head)" "$(ls "$ROOT")"
fi
run_vm "a second VM of the image" run -d -u 0 --image busy sh -c 'test -e /written && echo seen || echo unseen; cat /etc/added' &&
    vm_output "a second VM does not see the first one's writes" 0 "$(printf 'unseen\nadded by layer 2')"
SECOND=$VM
"$L" run -d --name one -u 0 --image busy sh -c 'echo one > /same; sleep 1; cat /same' >/dev/null
run_vm "two at once" run -d -u 0 --image busy sh -c 'echo two > /same; cat /same' && vm_output "two VMs at once: each its own /same" 0 two
VM=one vm_output "two VMs at once: the first keeps its own" 0 one
run_vm "run -d --read-only" run -d --read-only -u 0 --image busy sh -c 'echo x > /y || echo refused; echo a > /tmp/a && cat /tmp/a'
run "$L" wait "$VM"
run "$L" logs "$VM"
if [ "$(echo "$OUT" | tail -2)" = "$(printf 'refused\na')" ] && echo "$OUT" | grep -q 'Read-only file system' &&
    [ ! -e "$(layer "$VM")" ]; then
    pass "--read-only: / refuses writes, /tmp is a tmpfs, no layer directory"
else
    fail "--read-only" "$(describe)" "$(ls "$T/state/vms/$VM")"
fi

# --- the image is held; the layer goes with the VM -----------------------------
run "$L" image rm "$SHORT"
expect_error "image rm refused while VMs (exited, not removed) use the image" 1 "is in use by a VM"
run "$L" rm writer
if [ "$RC" -eq 0 ] && [ ! -e "$T/state/vms/$WRITER" ]; then pass "lightvm rm removes the VM's writable layer"; else fail "rm removes the layer" "$(describe)"; fi
run_vm "a VM running across a restart" run -d --name survivor -u 0 --image busy sh -c 'echo kept > /kept; sleep 30'
SURVIVOR=$VM
wait_until 5 test -e "$(layer "$SURVIVOR")/upper/kept" || fail "the survivor wrote its file" "$(cat "$T/daemon.log")"
{ kill -KILL "$DPID"; wait "$DPID"; } 2>/dev/null
rm -f "$LIGHTVM_SOCKET.run"
run "$L" image rm "$SHORT"
expect_error "image rm refused while a VM's monitor runs without a daemon" 1 "is in use by a VM"
start_daemon || fail "daemon restarts" "$(cat "$T/daemon.log")"
run "$L" ps -aq
run "$L" image rm "$SHORT"
expect_error "after a restart, image rm still refused" 1 "is in use by a VM"
run "$L" rm -f survivor
if [ "$RC" -eq 0 ] && [ ! -e "$T/state/vms/$SURVIVOR" ]; then pass "after a SIGKILL and restart, rm removes the layer"; else fail "rm after restart" "$(describe)"; fi
run "$L" ps -aq
for vm in $OUT; do "$L" rm -f "$vm" >/dev/null; done
run "$L" image rm "$SHORT"
expect "image rm allowed once every VM of the image is removed" 0 "deleted sha256:$ID"
if [ -z "$(ls -A "$T/state/vms")" ]; then pass "no VM directory is left"; else fail "no VM directory left" "$(ls "$T/state/vms")"; fi

# --- errors -----------------------------------------------------------------
run "$L" run -d --image no-such-image true
expect_error "run -d with an unknown image: one line" 125 "no image 'no-such-image'"
run "$L" create --image no-such-image true
expect_error "create with an unknown image: one line" 125 "no image 'no-such-image'"
run "$L" image import "$T/img/oci" --name busy
run "$L" run -d --image busy no-such-program
expect_error "a program the image lacks: one line" 125 "'no-such-program' not found (searched PATH) in the image"
curl_api POST /v1/vms '{"image":"no-such-image"}'
expect_api "API: an unknown image is a 404" 404 "no image 'no-such-image'"
curl_api POST /v1/vms "{\"image\":\"$T/img/oci\"}"
expect_api "API: a path is a 400" 400 "import it first"
curl_api POST /v1/vms '{"image":""}'
expect_api "API: an empty image is a 400" 400 "image"
curl_api POST /v1/vms '{"image":7}'
expect_api "API: a number as image is a 400" 400 "image: must be a string"
curl_api POST /v1/vms '{"image":"busy","app":"/bin/true"}'
expect_api "API: image with app is a 400" 400 "app: not with image"
curl_api POST /v1/vms '{"app":"/bin/true","read_only":true}'
expect_api "API: read_only without image is a 400" 400 "read_only: only with image"
curl_api POST /v1/vms '{"image":"busy","shares":[{"host":"/tmp","guest":"/"}]}'
expect_api "API: a share at / with image is a 400" 400 "shares: not at / with image"
curl_api POST /v1/vms '{"image":"busy","args":["no-such-program"]}'
expect_api "API: a program the image lacks is a 400" 400 "not found (searched PATH) in the image"
curl_api POST '/v1/vms?start=1' '{"image":"busy","args":["echo","api"],"read_only":true,"rm":false}'
expect_api "API: create and start an image's VM" 201 '"id"'
APIVM=$(echo "$BODY" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
curl_api GET "/v1/vms/$APIVM"
expect_api "API: inspect shows the image" 200 "\"id\":\"sha256:$ID\""
run "$L" rm -f "$APIVM"

harness_finish
