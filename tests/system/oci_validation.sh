#!/usr/bin/env bash
# lightvm-oci against what Debian ships of the OCI runtime-tools
# (golang-github-opencontainers-runtime-tools-dev): its generate and
# validate libraries and the runtime-spec's JSON schemas, used by
# tests/system/oci_validation/ocicheck.go, built here offline. Debian does
# not ship the runtime-tools validation programs (validation/*,
# cmd/runtimetest): docs/oci.md "runtime-tools validation" says what that
# leaves out. This test takes runtime-tools' default Linux config (all its
# namespaces, mounts, capabilities, rlimits, seccomp profile), checks it
# with runtime-tools' validator, and runs it through the runtime spec's
# lifecycle (runtime.md), every `state` and the hooks' stdin checked
# against the spec's state schema.
#   oci_validation.sh LIGHTVM_OCI_BINARY GUEST_PROGRAM_DIR
# Prints "ok - NAME" / "not ok - NAME"; exits 1 if anything failed, 77
# (skip) without /dev/kvm, root, Go or the runtime-tools package.

set -u
. "$(dirname "$0")/harness.sh"
harness_init oci-validation "$@"
OCI=$L
GOCODE=/usr/share/gocode
skip() { echo "SKIPPED: $1"; rm -rf "$T"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (lightvm-oci makes the container's cgroup)"
command -v go >/dev/null || skip "no Go toolchain (apt-get install golang-go)"
[ -d $GOCODE/src/github.com/opencontainers/runtime-tools/validate ] ||
    skip "runtime-tools not installed (apt-get install golang-github-opencontainers-runtime-tools-dev)"
[ -x "$BUSYBOX" ] || skip "$BUSYBOX not installed (apt-get install busybox-static)"

R="$T/state"
ID=ocival-$$
cleanup() {
    "$OCI" --root "$R" delete --force "$ID" >/dev/null 2>&1
    "$OCI" --root "$R" delete --force "$ID-2" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT

# ocicheck, static, from Debian's Go sources only (GOPATH mode, no network).
SRC="$(cd "$(dirname "$0")" && pwd)/oci_validation/ocicheck.go"
if ! (cd "$T" && HOME=$T GOCACHE=$T/cache GOPATH=$GOCODE GO111MODULE=off CGO_ENABLED=0 \
        GOFLAGS= GOPROXY=off go build -o "$T/ocicheck" "$SRC") >"$T/build.log" 2>&1; then
    fail "build ocicheck with Debian's runtime-tools" "$(head -5 "$T/build.log")"
    harness_finish
    exit 1
fi
pass "build ocicheck with Debian's runtime-tools (GOPATH mode, offline)"
CHECK=$T/ocicheck

# The bundle: runtime-tools' default config, root "rootfs" inside it (the
# validator wants root.path a child of the bundle), busybox applets.
B=$T/bundle
mkdir -p "$B/rootfs/bin"
cp "$BUSYBOX" "$B/rootfs/bin/busybox"
for a in sh echo hostname sleep cat; do ln -s busybox "$B/rootfs/bin/$a"; done
cat >"$T/hook.sh" <<HOOK
#!/bin/sh
cat >"$T/hook-\$1.json"
HOOK
chmod +x "$T/hook.sh"
run "$CHECK" config "$B" rootfs "$T/hook.sh" /bin/sh -c 'hostname >/ran; exec sleep 60'
expect "runtime-tools' default Linux config generated" 0

run "$CHECK" validate "$B"
expect "runtime-tools validate: the bundle is valid (schema, root, process, mounts, linux, hooks)" 0
mkdir -p "$T/bad" && ln -s "$B/rootfs" "$T/bad/rootfs"
sed 's/"ociVersion": *"[^"]*"/"ociVersion": "one"/' "$B/config.json" >"$T/bad/config.json"
run "$CHECK" validate "$T/bad"
if [ "$RC" -ne 0 ] && grep -q "not valid SemVer" "$T/err"; then pass "runtime-tools validate rejects a bad ociVersion"
else fail "runtime-tools validate rejects a bad ociVersion" "$(describe)"; fi

# state_is NAME STATUS: `state ID` succeeds, matches the state schema and
# says STATUS; sets SPID.
state_is() {
    OUT_TO=$T/state.json run "$OCI" --root "$R" state "$ID"
    if [ "$RC" -ne 0 ]; then fail "$1" "state failed" "$(describe)"; return; fi
    run "$CHECK" state "$T/state.json"
    if [ "$RC" -ne 0 ]; then fail "$1" "$(cat "$T/err")"; return; fi
    SPID=${OUT#* }
    if [ "${OUT%% *}" != "$2" ]; then fail "$1" "expected status $2, got '$OUT'"; return; fi
    pass "$1"
}
# hook_state NAME HOOK STATUS: HOOK got a schema-valid state saying STATUS.
hook_state() {
    if [ ! -s "$T/hook-$2.json" ]; then fail "$1" "the $2 hook did not run"; return; fi
    run "$CHECK" state "$T/hook-$2.json"
    if [ "$RC" -ne 0 ] || [ "${OUT%% *}" != "$3" ]; then fail "$1" "$(describe)"; return; fi
    pass "$1"
}
# wait_stopped: the container's process is gone (at most 10 s).
wait_stopped() {
    for _ in $(seq 100); do
        "$OCI" --root "$R" state "$ID" 2>/dev/null | grep -q '"status":"stopped"' && return
        sleep 0.1
    done
}

run "$OCI" --root "$R" state "$ID"
if [ "$RC" -ne 0 ]; then pass "state of an unknown ID is an error"; else fail "state of an unknown ID is an error" "$(describe)"; fi

OUT_TO=$T/create.out run "$OCI" --root "$R" create --bundle "$B" --pid-file "$T/pid" "$ID"
expect "create with runtime-tools' default config" 0
state_is "state after create: valid, created" created
if [ -n "${SPID:-}" ] && [ "$SPID" -gt 0 ] && [ "$(cat "$T/pid" 2>/dev/null)" = "$SPID" ]; then
    pass "the pid file holds state's pid"
else fail "the pid file holds state's pid" "pid file '$(cat "$T/pid" 2>/dev/null)', state pid '${SPID:-}'"; fi
if [ ! -e "$B/rootfs/ran" ]; then pass "create does not run the user's program"
else fail "create does not run the user's program"; fi
hook_state "prestart hook: state on stdin, valid, created" prestart created

OUT_TO=$T/dup.out run "$OCI" --root "$R" create --bundle "$B" "$ID"
if [ "$RC" -ne 0 ]; then pass "create of an existing ID is an error"; else fail "create of an existing ID is an error" "$(describe)"; fi
state_is "the existing container is untouched (created)" created

run "$OCI" --root "$R" start "$ID"
expect "start" 0
for _ in $(seq 100); do [ -s "$B/rootfs/ran" ] && break; sleep 0.1; done
if [ "$(cat "$B/rootfs/ran" 2>/dev/null)" = mrsdalloway ]; then
    pass "the user's program ran after start (config's hostname inside)"
else fail "the user's program ran after start (config's hostname inside)" "got '$(cat "$B/rootfs/ran" 2>/dev/null)'"; fi
state_is "state after start: valid, running" running
hook_state "poststart hook: state on stdin, valid, running" poststart running

run "$OCI" --root "$R" start "$ID"
if [ "$RC" -ne 0 ]; then pass "start of a running container is an error"; else fail "start of a running container is an error" "$(describe)"; fi
run "$OCI" --root "$R" delete "$ID"
if [ "$RC" -ne 0 ]; then pass "delete of a running container is an error"; else fail "delete of a running container is an error" "$(describe)"; fi
state_is "the running container is untouched (running)" running

run "$OCI" --root "$R" kill "$ID" KILL
expect "kill KILL" 0
wait_stopped
state_is "state after kill: valid, stopped" stopped
run "$OCI" --root "$R" kill "$ID" KILL
if [ "$RC" -ne 0 ]; then pass "kill of a stopped container is an error"; else fail "kill of a stopped container is an error" "$(describe)"; fi
run "$OCI" --root "$R" start "$ID"
if [ "$RC" -ne 0 ]; then pass "start of a stopped container is an error"; else fail "start of a stopped container is an error" "$(describe)"; fi

run "$OCI" --root "$R" delete "$ID"
expect "delete of the stopped container" 0
hook_state "poststop hook: state on stdin, valid, stopped" poststop stopped
run "$OCI" --root "$R" state "$ID"
if [ "$RC" -ne 0 ] && [ -z "$(ls -A "$R" 2>/dev/null)" ]; then pass "after delete: state is an error, nothing left under --root"
else fail "after delete: state is an error, nothing left under --root" "$(describe)" "$(ls -A "$R")"; fi
if ! ls -d /sys/fs/cgroup/*/"$ID" /sys/fs/cgroup/"$ID" >/dev/null 2>&1; then pass "after delete: the container's cgroup is gone"
else fail "after delete: the container's cgroup is gone" "$(ls -d /sys/fs/cgroup/*/"$ID" 2>/dev/null | head -3)"; fi

# A container deleted before it starts: its program never runs.
rm -f "$B/rootfs/ran"
OUT_TO=$T/create.out run "$OCI" --root "$R" create --bundle "$B" "$ID"
expect "create again" 0
run "$OCI" --root "$R" delete --force "$ID"
expect "delete --force of a created container" 0
sleep 0.3
if [ ! -e "$B/rootfs/ran" ] && [ -z "$(ls -A "$R" 2>/dev/null)" ]; then
    pass "a container deleted before start never ran; nothing left"
else fail "a container deleted before start never ran; nothing left" "$(ls -A "$R" 2>/dev/null)"; fi

# The cgroup as runtime-tools' cgroups package reads it for the container's
# pid (the VM's monitor), as its linux_cgroups_* programs do: cpu exactly as
# configured; pids and memory with the monitor's allowance ("cgroups").
CG=/lightvm-ocival-$$
python3 - "$B/config.json" "$CG" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["hooks"] = {}
c["linux"]["cgroupsPath"] = sys.argv[2]
c["linux"]["resources"].update({"cpu": {"shares": 512, "quota": 50000, "period": 100000},
                                "pids": {"limit": 50}, "memory": {"limit": 67108864}})
json.dump(c, open(sys.argv[1], "w"))
PY
OUT_TO=$T/create.out run "$OCI" --root "$R" create --bundle "$B" --pid-file "$T/pid2" "$ID-2"
expect "create with cpu, pids and memory limits" 0
run "$CHECK" cgroups "$(cat "$T/pid2" 2>/dev/null)" "$CG"
expect "runtime-tools cgroups: shares, quota, period as configured; pids +32, memory +16 MiB+1/64" 0 \
    "512 50000 100000 82 $((67108864 + 16777216 + 67108864 / 64))"
run "$OCI" --root "$R" delete --force "$ID-2"
expect "delete --force of the limited container" 0
rmdir /sys/fs/cgroup/*/"${CG#/}" 2>/dev/null

harness_finish
