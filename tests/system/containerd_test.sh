#!/usr/bin/env bash
# lightvm-oci under containerd: a private containerd (own root, state and
# socket, started and stopped here), an OCI image built here from Debian's
# busybox-static, and `ctr run --runc-binary lightvm-oci` through
# containerd's runc v2 shim: output, exit status, `ctr task kill`, `ctr task
# ps`, pause/resume, `ctr task exec`, a read-only root.
#   containerd_test.sh LIGHTVM_OCI_BINARY GUEST_PROGRAM_DIR
# Skips (77) without /dev/kvm, without containerd/ctr (scripts/install-deps.sh
# installs them), when not root, or when containerd cannot start here.

set -u
. "$(dirname "$0")/harness.sh"
harness_init containerd-test "$@"
OCI=$L
for tool in containerd ctr containerd-shim-runc-v2; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIPPED: $tool not installed (apt-get install containerd)"
        rm -rf "$T"
        exit 77
    fi
done
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: containerd needs root"
    rm -rf "$T"
    exit 77
fi
. "$(dirname "$0")/containerd_env.sh"
trap 'containerd_stop; rm -rf "$T"' EXIT
containerd_start "$T"
IMG=$(busybox_image "$T" "$BUSYBOX") || { fail "ctr images import of a locally built OCI image" "$IMG"; harness_finish; exit 1; }
pass "ctr images import of a locally built OCI image"

RUN=("${CTR[@]}" run --snapshotter native --runc-binary "$OCI" --rm)

run "${RUN[@]}" "$IMG" c1 sh -c 'echo hello from a VM; echo to stderr >&2; exit 3'
expect "ctr run: output and exit status 3" 3 "hello from a VM"
case "$ERR" in *"to stderr"*) pass "ctr run: the container's stderr" ;; *) fail "ctr run: the container's stderr" "$(describe)" ;; esac

run "${RUN[@]}" "$IMG" c2 true
expect "ctr run busybox true" 0 ""

run "${RUN[@]}" --read-only "$IMG" c3 sh -c 'touch /x && echo wrote'
if [ "$RC" -ne 0 ] && [ -z "$OUT" ]; then pass "ctr run --read-only: the root refuses writes"; else fail "ctr run --read-only" "$(describe)"; fi

mkdir -p "$T/shared" && echo "host file" >"$T/shared/f"
run "${RUN[@]}" --mount "type=bind,src=$T/shared,dst=/shared,options=rbind:ro" "$IMG" c4 cat /shared/f
expect "ctr run --mount (a bind mount)" 0 "host file"

# A terminal (ctr run -t): the shim hands lightvm-oci a --console-socket,
# the guest gets the pty's slave. `script` gives ctr a terminal of its own.
if command -v script >/dev/null; then
    run script -qec "${RUN[*]} -t $IMG t1 sh -c 'echo size \$(stty size); exit 4'" /dev/null
    if [ "$RC" -eq 4 ] && grep -Eq "size [0-9]+ [0-9]+" "$T/out"; then
        pass "ctr run -t: the guest's stdin is a terminal (stty size works), exit status 4"
    else
        fail "ctr run -t: a terminal through --console-socket" "$(describe)"
    fi
else
    echo "# script (util-linux) not installed: terminal case not run"
fi

# A background task: ps, pause/resume, kill.
"${CTR[@]}" run -d --snapshotter native --runc-binary "$OCI" "$IMG" c5 sh -c 'while :; do sleep 0.1; done' >"$T/c5.out" 2>&1
sleep 1
run "${CTR[@]}" task ps c5
PID=$(awk 'NR==2 {print $1}' "$T/out")
if [ "$RC" -eq 0 ] && [ -n "$PID" ] && [ -d "/proc/$PID" ]; then pass "ctr task ps: the VM's process"; else fail "ctr task ps" "$(describe)"; fi
# ctr task metrics: the shim reads the cgroup the VM's monitor is in (v1:
# from /proc/PID/cgroup), so the numbers are the VM's.
run "${CTR[@]}" task metrics c5
mem=$(awk '$1 == "memory.usage_in_bytes" {print $2}' "$T/out")
cpu=$(awk '$1 == "cpuacct.usage" {print $2}' "$T/out")
if [ "$RC" -eq 0 ] && [ "${mem:-0}" -gt 1048576 ] && [ "${cpu:-0}" -gt 0 ] && grep -q "/$NS/c5$" "/proc/$PID/cgroup"; then
    pass "ctr task metrics: the VM's memory ($((mem >> 20)) MiB) and CPU, from its cgroup /$NS/c5"
else
    fail "ctr task metrics" "$(describe)" "$(cat "/proc/$PID/cgroup" 2>&1)"
fi
# The shim gives lightvm-oci --root /run/containerd/runc/NAMESPACE.
OCIROOT=/run/containerd/runc/$NS
[ -f "$OCIROOT/c5/state.json" ] && pass "the container's state under the shim's --root" || fail "state under $OCIROOT/c5" "$(ls -la "$OCIROOT" 2>&1)"
# ctr task exec: the shim runs `lightvm-oci exec --process P --detach
# --pid-file F` and takes that pid's status as the exec's.
run "${CTR[@]}" task exec --exec-id e1 c5 echo hello from exec
expect "ctr task exec: output, status 0" 0 "hello from exec"
run "${CTR[@]}" task exec --exec-id e2 c5 sh -c 'echo out; echo err >&2; exit 5'
expect "ctr task exec: status 5" 5 "out"
case "$ERR" in *err*) pass "ctr task exec: stderr" ;; *) fail "ctr task exec: stderr" "$(describe)" ;; esac
printf 'abc\n' >"$T/exec.in"
IN=$T/exec.in run "${CTR[@]}" task exec --exec-id e3 c5 sh -c 'cat; echo done'
expect "ctr task exec: stdin, then end of file" 0 "abc
done"
run "${CTR[@]}" task exec --exec-id e4 --cwd /tmp --user 1000:1000 c5 sh -c 'pwd; id -u'
expect "ctr task exec --cwd --user" 0 "/tmp
1000"
run "${CTR[@]}" task exec --exec-id e5 c5 no-such-command
if [ "$RC" -ne 0 ] && [ -z "$OUT" ] && grep -q "executable file not found" "$T/err"; then
    pass "ctr task exec of a missing command: an error naming it (status $RC)"
else
    fail "ctr task exec of a missing command" "$(describe)"
fi
if command -v script >/dev/null; then
    run script -qec "${CTR[*]} task exec -t --exec-id e6 c5 sh -c 'echo on a terminal; exit 6'" /dev/null
    if [ "$RC" -eq 6 ] && grep -q "on a terminal" "$T/out"; then
        pass "ctr task exec -t: through the console socket, status 6"
    else
        fail "ctr task exec -t" "$(describe)"
    fi
fi
run "${CTR[@]}" task pause c5
expect "ctr task pause" 0
run "${CTR[@]}" task ls
case "$OUT" in *c5*PAUSED*) pass "paused in ctr task ls" ;; *) fail "paused in ctr task ls" "$(describe)" ;; esac
run "${CTR[@]}" task resume c5
expect "ctr task resume" 0
run "${CTR[@]}" task ls
case "$OUT" in *c5*RUNNING*) pass "running again after resume" ;; *) fail "running again after resume" "$(describe)" ;; esac
# The shell is the container's first process and has no SIGTERM handler:
# as runc's pid 1 it ignores SIGTERM; SIGKILL ends it.
run "${CTR[@]}" task kill -s TERM c5
expect "ctr task kill -s TERM" 0
sleep 1
run "${CTR[@]}" task ls
case "$OUT" in *c5*RUNNING*) pass "SIGTERM without a handler ignored, as by runc's pid 1" ;; *) fail "SIGTERM without a handler ignored" "$(describe)" ;; esac
run "${CTR[@]}" task kill -s KILL c5
expect "ctr task kill -s KILL" 0
for _ in $(seq 50); do "${CTR[@]}" task ls 2>/dev/null | grep -q "c5.*STOPPED" && break; sleep 0.1; done
run "${CTR[@]}" task ls
case "$OUT" in *c5*STOPPED*) pass "stopped after SIGKILL" ;; *) fail "stopped after SIGKILL" "$(describe)" ;; esac
run "${CTR[@]}" task delete c5
case "$OUT $ERR" in *137*) pass "exit status 137 (SIGKILL) reported by containerd" ;; *) fail "exit status 137 reported" "$(describe)" ;; esac
"${CTR[@]}" containers delete c5 >/dev/null 2>&1
left=$(ls -A "$OCIROOT" 2>/dev/null)
[ -z "$left" ] && pass "nothing left in lightvm-oci's --root" || fail "nothing left in lightvm-oci's --root" "$left"
harness_finish
