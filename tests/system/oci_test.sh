#!/usr/bin/env bash
# System tests for lightvm-oci, the OCI runtime: bundles built here from
# Debian's busybox-static, driven through runc's command line as
# containerd's shim does (tests/system/oci_shim.py stands in for the shim:
# a subreaper that reaps the container's process and reports its status).
#   oci_test.sh LIGHTVM_OCI_BINARY GUEST_PROGRAM_DIR
# Prints "ok - NAME" / "not ok - NAME" and "N passed, N failed"; exits 1 if
# anything failed, 77 (skip) without a usable /dev/kvm.

set -u
. "$(dirname "$0")/harness.sh"
harness_init oci-test "$@"
OCI=$L
SHIM="$(cd "$(dirname "$0")" && pwd)/oci_shim.py"
if [ ! -x "$BUSYBOX" ]; then
    echo "SKIPPED: $BUSYBOX not installed (apt-get install busybox-static); every bundle here needs it"
    rm -rf "$T"
    exit 77
fi
R="$T/state"          # --root
# Each bundle's cgroup is CG_PARENT/NAME (a parallel run has its own parent).
CG_PARENT=/lightvm-oci-test-$$
export OUTFILE="$T/out"  # the container's stdout while shim_run runs (for --then commands)
cleanup() {
    for d in "$R"/*/; do
        [ -d "$d" ] && "$OCI" --root "$R" delete --force "$(basename "$d")" >/dev/null 2>&1
    done
    rmdir /sys/fs/cgroup/*/lightvm-oci-test-$$/* /sys/fs/cgroup/*/lightvm-oci-test-$$ \
        /sys/fs/cgroup/*/lvocitest.slice/lvocitest-$$.slice /sys/fs/cgroup/*/lvocitest.slice 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# One busybox root shared by the bundles (root.path is absolute), and a
# second one the writable-root case may change.
make_rootfs() {
    mkdir -p "$1/bin" "$1/etc" "$1/data" "$1/work"
    cp "$BUSYBOX" "$1/bin/busybox"
    for a in sh echo cat ls touch sleep pwd hostname env true; do ln -s busybox "$1/bin/$a"; done
}
make_rootfs "$T/rootfs"
make_rootfs "$T/rootfs-rw"
mkdir -p "$T/shared"
echo "from the host" >"$T/shared/file"

# bundle NAME ARGS_JSON [EXTRA_JSON [ROOT_JSON]]: $T/NAME/config.json
bundle() {
    local name=$1 args=$2 extra=${3:-} root=${4:-"{\"path\":\"$T/rootfs\",\"readonly\":true}"}
    mkdir -p "$T/b-$name"
    cat >"$T/b-$name/config.json" <<JSON
{"ociVersion":"1.0.2",
 "process":{"terminal":false,"user":{"uid":0,"gid":0},"args":$args,
            "env":["PATH=/bin","TERM=xterm"],"cwd":"/"},
 "root":$root,
 "hostname":"oci-test",
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
           {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]},
           {"destination":"/dev/pts","type":"devpts","source":"devpts"},
           {"destination":"/sys","type":"sysfs","source":"sysfs","options":["ro"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"network"}],
          "cgroupsPath":"$CG_PARENT/$name",
          "resources":{"memory":{"limit":67108864}}}${extra:+,$extra}}
JSON
}

# shim_run NAME ID [--then CMD]: create+start+reap through the stand-in shim.
# The container's stdout is $OUT; the last line of stderr is "exit N".
shim_run() {
    local name=$1 id=$2
    shift 2
    run "$SHIM" "$OCI" "$R" "$T/b-$name" "$id" "$@"
    LAST=$(tail -n 1 "$T/err")
}
expect_exit() {  # NAME STATUS_LINE [STDOUT]
    if [ "$HUNG" -eq 1 ]; then fail "$1" "hung"; return; fi
    if [ "$LAST" != "$2" ]; then fail "$1" "expected '$2'" "$(describe)"; return; fi
    if [ $# -ge 3 ] && [ "$OUT" != "$3" ]; then fail "$1" "expected stdout '$3'" "$(describe)"; return; fi
    pass "$1"
}
nothing_left() {  # NAME ID: no directory for ID under --root
    if [ -e "$R/$2" ]; then fail "$1: nothing left in --root" "$(ls -la "$R/$2")"; else pass "$1: nothing left in --root"; fi
}

# --- Lifecycle, step by step ---------------------------------------------------
bundle life '["sh","-c","echo started; sleep 30"]'
# The container keeps create's stdout (as runc's detached mode does): its
# own file, or its "started" would race into the next command's output.
OUT_TO=$T/life.out run "$OCI" --root "$R" create --bundle "$T/b-life" --pid-file "$T/life.pid" life1
expect "create" 0 ""
PID=$(cat "$T/life.pid" 2>/dev/null)
run "$OCI" --root "$R" state life1
case "$OUT" in
    *'"status":"created"'*"\"pid\":$PID"* | *"\"pid\":$PID"*'"status":"created"'*) pass "state after create: created, pid = --pid-file" ;;
    *) fail "state after create: created, pid = --pid-file ($PID)" "$(describe)" ;;
esac
[ -d "/proc/$PID" ] && pass "the container's process exists before start" || fail "the container's process exists before start"
run "$OCI" --root "$R" start life1
expect "start" 0 ""
run "$OCI" --root "$R" state life1
case "$OUT" in *'"status":"running"'*) pass "state after start: running" ;; *) fail "state after start: running" "$(describe)" ;; esac
for _ in $(seq 50); do grep -q started "$T/life.out" && break; sleep 0.1; done
grep -qx started "$T/life.out" && pass "the container writes to create's stdout" ||
    fail "the container writes to create's stdout" "$(cat "$T/life.out")"
run "$OCI" --root "$R" ps --format json life1
expect "ps --format json lists the VM's process" 0 "[$PID]"
run "$OCI" --root "$R" start life1
expect_error "start twice" 1 "cannot start a container that is running"
run "$OCI" --root "$R" pause life1
expect "pause" 0 ""
run "$OCI" --root "$R" state life1
case "$OUT" in *'"status":"paused"'*) pass "state after pause: paused" ;; *) fail "state after pause: paused" "$(describe)" ;; esac
run "$OCI" --root "$R" resume life1
expect "resume" 0 ""
run "$OCI" --root "$R" delete life1
expect_error "delete of a running container needs --force" 1 "cannot delete a container that is running"
run "$OCI" --root "$R" kill life1 KILL
expect "kill KILL" 0 ""
for _ in $(seq 50); do [ -d "/proc/$PID" ] || break; sleep 0.1; done
run "$OCI" --root "$R" state life1
case "$OUT" in *'"status":"stopped"'*) pass "state after kill: stopped" ;; *) fail "state after kill: stopped" "$(describe)" ;; esac
run "$OCI" --root "$R" kill life1 TERM
expect_error "kill of a stopped container" 1 "not running"
run "$OCI" --root "$R" delete life1
expect "delete" 0 ""
nothing_left "delete" life1
run "$OCI" --root "$R" state life1
expect_error "state after delete" 1 "container life1: does not exist"

# --- Output and exit status, as the shim sees them -----------------------------
bundle out '["sh","-c","echo hello from $(hostname); echo to stderr >&2; exit 3"]'
shim_run out out1
expect_exit "output, hostname and exit status 3" "exit 3" "hello from oci-test"
grep -q "to stderr" "$T/err" && pass "the container's stderr" || fail "the container's stderr" "$(describe)"
run "$OCI" --root "$R" delete out1
expect "delete a stopped container" 0 ""

bundle envcwd '["sh","-c","pwd; echo $TERM"]' '' "{\"path\":\"$T/rootfs\"}"
sed -i 's|"cwd":"/"|"cwd":"/work"|' "$T/b-envcwd/config.json"
shim_run envcwd env1
expect_exit "process.env and process.cwd" "exit 0" "/work
xterm"
"$OCI" --root "$R" delete env1

bundle path '["echo","found","through","PATH"]'
shim_run path path1
expect_exit "args[0] searched in process.env's PATH inside the root" "exit 0" "found through PATH"
"$OCI" --root "$R" delete path1

# --- Signals ---------------------------------------------------------------------
bundle term '["sh","-c","echo up; while :; do sleep 0.1; done"]'
# The container's first process is its init: as runc's pid 1, it ignores a
# SIGTERM it has no handler for; SIGKILL then ends it.
shim_run term term1 --then 'sleep 1; "$OCI" --root "$ROOT" kill "$ID" TERM; sleep 1; "$OCI" --root "$ROOT" state "$ID" >"$ROOT.term-state"; "$OCI" --root "$ROOT" kill "$ID" KILL'
expect_exit "SIGTERM to a process that does not handle it: ignored, as by runc's pid 1; then SIGKILL" "signal 9" "up"
case "$(cat "$R.term-state" 2>/dev/null)" in *'"status":"running"'*) pass "still running after an unhandled SIGTERM" ;;
    *) fail "still running after an unhandled SIGTERM" "$(cat "$R.term-state" 2>/dev/null)" ;; esac
rm -f "$R.term-state"
"$OCI" --root "$R" delete term1
bundle trap '["sh","-c","trap \"echo caught TERM; exit 7\" TERM; echo up; while :; do sleep 0.1; done"]'
# The signal goes once the trap is set (the shell printed "up"): a loaded
# machine may take seconds to get there.
shim_run trap trap1 --then 'for _ in $(seq 300); do grep -q up "$OUTFILE" && break; sleep 0.1; done; "$OCI" --root "$ROOT" kill "$ID" 15'
expect_exit "SIGTERM caught by the container's shell" "exit 7" "up
caught TERM"
"$OCI" --root "$R" delete trap1
shim_run term kill1 --then 'sleep 1; "$OCI" --root "$ROOT" kill --all "$ID" SIGKILL'
expect_exit "SIGKILL (--all)" "signal 9" "up"
"$OCI" --root "$R" delete kill1

# --- Root and mounts -------------------------------------------------------------
bundle ro '["sh","-c","touch /newfile && echo wrote"]'
shim_run ro ro1
if [ "$LAST" != "exit 0" ] && [ ! -e "$T/rootfs/newfile" ]; then pass "root.readonly: writes fail"; else fail "root.readonly: writes fail" "$(describe)"; fi
"$OCI" --root "$R" delete ro1
bundle rw '["sh","-c","touch /newfile && echo wrote"]' '' "{\"path\":\"$T/rootfs-rw\",\"readonly\":false}"
shim_run rw rw1
if [ "$LAST" = "exit 0" ] && [ -e "$T/rootfs-rw/newfile" ]; then pass "a writable root: the file lands in root.path"; else fail "a writable root" "$(describe)"; fi
"$OCI" --root "$R" delete rw1

bundle bind '["sh","-c","cat /data/file; echo new >/data/new; echo status $?; cat /rw/file; echo out >/rw/out"]' \
    "\"annotations\":{\"io.lightvm.memory\":\"48M\"}"
python3 - "$T/b-bind/config.json" "$T/shared" <<'PY'
import json, sys
p, shared = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["mounts"] += [{"destination": "/data", "type": "bind", "source": shared, "options": ["rbind", "ro"]},
                {"destination": "/rw", "type": "bind", "source": shared, "options": ["rbind", "rw"]}]
json.dump(c, open(p, "w"))
PY
shim_run bind bind1
if [ "$LAST" = "exit 0" ] && [ "$(head -1 "$T/out")" = "from the host" ] && grep -q "^status 1" "$T/out" &&
    [ ! -e "$T/shared/new" ] && [ "$(cat "$T/shared/out" 2>/dev/null)" = "out" ]; then
    pass "bind mounts: ro refuses writes, rw writes reach the host"
else
    fail "bind mounts: ro refuses writes, rw writes reach the host" "$(describe)"
fi
"$OCI" --root "$R" delete bind1

# Single-file binds (-v /host/file:/file): rw writes reach the host file, ro
# refuses them, the file's siblings stay out of reach.
mkdir -p "$T/fb"
echo "bound rw" >"$T/fb/conf"
echo "bound ro" >"$T/fb/ro"
echo "SECRET sibling" >"$T/fb/secret"
: >"$T/fb/termlog"  # Kubernetes' /dev/termination-log, inside the guest's own /dev
bundle filebind '["sh","-c","cat /data/conf /etc/ro.conf; echo written >/data/conf; echo x >/etc/ro.conf; echo ro $?; cat /data/conf/../secret; mv /data/conf /data/moved; echo mv $?; echo terminated >/dev/termination-log"]' \
    '' "{\"path\":\"$T/rootfs\",\"readonly\":true}"
python3 - "$T/b-filebind/config.json" "$T/fb" <<'PY'
import json, sys
p, fb = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["mounts"] += [{"destination": "/data/conf", "type": "bind", "source": fb + "/conf", "options": ["rbind", "rw"]},
                {"destination": "/etc/ro.conf", "type": "bind", "source": fb + "/ro", "options": ["rbind", "ro"]},
                {"destination": "/dev/termination-log", "type": "bind", "source": fb + "/termlog", "options": ["rbind", "rw"]}]
json.dump(c, open(p, "w"))
PY
shim_run filebind fb1
if [ "$LAST" = "exit 0" ] && [ "$(head -2 "$T/out")" = "bound rw
bound ro" ] && grep -qx "ro 1" "$T/out" && grep -qx "mv 1" "$T/out" && ! grep -q SECRET "$T/out" &&
    [ "$(cat "$T/fb/conf")" = written ] && [ "$(cat "$T/fb/ro")" = "bound ro" ] && [ "$(cat "$T/fb/termlog")" = terminated ]; then
    pass "single-file binds: rw written through (also /dev/termination-log), ro refused, rename refused, siblings unreachable"
else
    fail "single-file binds" "$(describe)" "conf: $(cat "$T/fb/conf")"
fi
"$OCI" --root "$R" delete fb1

bundle tmpfs '["sh","-c","echo x >/scratch/f && cat /scratch/f"]' \
    '"mounts":[{"destination":"/scratch","type":"tmpfs","source":"tmpfs","options":["size=1m"]}]'
shim_run tmpfs tmpfs1
expect_exit "a tmpfs mount" "exit 0" "x"
"$OCI" --root "$R" delete tmpfs1

# --- Hooks -------------------------------------------------------------------------
cat >"$T/hook.sh" <<HOOK
#!/bin/sh
cat >"$T/hook-\$1.json"
HOOK
chmod +x "$T/hook.sh"
bundle hooks '["true"]' "\"hooks\":{\"prestart\":[{\"path\":\"$T/hook.sh\",\"args\":[\"hook.sh\",\"prestart\"]}],
    \"poststart\":[{\"path\":\"$T/hook.sh\",\"args\":[\"hook.sh\",\"poststart\"]}],
    \"poststop\":[{\"path\":\"$T/hook.sh\",\"args\":[\"hook.sh\",\"poststop\"]}]}"
shim_run hooks hooks1
"$OCI" --root "$R" delete hooks1
if grep -q '"status":"created"' "$T/hook-prestart.json" 2>/dev/null && grep -q '"id":"hooks1"' "$T/hook-prestart.json" &&
    grep -q '"status":"running"' "$T/hook-poststart.json" 2>/dev/null && grep -q '"status":"stopped"' "$T/hook-poststop.json" 2>/dev/null; then
    pass "hooks run on the host with the state on stdin (prestart, poststart, poststop)"
else
    fail "hooks run with the state on stdin" "$(cat "$T"/hook-*.json 2>&1)"
fi
bundle badhook '["true"]' '"hooks":{"prestart":[{"path":"/bin/false"}]}'
run "$OCI" --root "$R" create --bundle "$T/b-badhook" badhook1
expect_error "a failing prestart hook fails create" 1 "prestart hook /bin/false: exited with status 1"
nothing_left "failed hook" badhook1

# --- Created but never started -----------------------------------------------------
bundle never '["true"]'
run "$OCI" --root "$R" create --bundle "$T/b-never" --pid-file "$T/never.pid" never1
PID=$(cat "$T/never.pid")
run "$OCI" --root "$R" delete never1
expect "delete of a created container kills its process" 0 ""
sleep 0.2
if [ -d "/proc/$PID" ] && ! grep -q '^State:.*Z' "/proc/$PID/status"; then fail "the created container's process is gone"; else pass "the created container's process is gone"; fi
nothing_left "delete of a created container" never1
run "$OCI" --root "$R" delete --force never1
expect "delete --force of a container that does not exist" 0 ""

# --- Bad bundles: one line, status 1, nothing left behind --------------------------
mkdir -p "$T/empty-bundle"
run "$OCI" --root "$R" create --bundle "$T/empty-bundle" bad1
expect_error "missing config.json" 1 "no readable config.json"
nothing_left "missing config.json" bad1
mkdir -p "$T/malformed" && echo '{"ociVersion": "1.0.2", "process": ' >"$T/malformed/config.json"
run "$OCI" --root "$R" create --bundle "$T/malformed" bad2
expect_error "malformed JSON" 1 "config.json: not valid JSON"
nothing_left "malformed JSON" bad2
bundle version '["true"]'
sed -i 's/"ociVersion":"1.0.2"/"ociVersion":"0.9"/' "$T/b-version/config.json"
run "$OCI" --root "$R" create --bundle "$T/b-version" bad3
expect_error "unknown ociVersion" 1 "ociVersion: '0.9' is not supported"
nothing_left "unknown ociVersion" bad3
bundle noroot '["true"]' '' "{\"path\":\"$T/no-such-rootfs\"}"
run "$OCI" --root "$R" create --bundle "$T/b-noroot" bad4
expect_error "root path that does not exist" 1 "root.path $T/no-such-rootfs does not exist"
nothing_left "missing root path" bad4
bundle ns '["true"]'
sed -i 's/{"type":"ipc"}/{"type":"frobnicate"}/' "$T/b-ns/config.json"
run "$OCI" --root "$R" create --bundle "$T/b-ns" bad5
expect_error "unsupported namespace" 1 "unsupported namespace type 'frobnicate'"
nothing_left "unsupported namespace" bad5
bundle user '["sh","-c","id -u; id -g; id -G; cat /proc/self/status | grep CapEff"]'
sed -i 's/"uid":0,"gid":0/"uid":1000,"gid":1000,"additionalGids":[27]/' "$T/b-user/config.json"
shim_run user user1
expect_exit "process.user: the container runs as uid 1000 with its groups, no capabilities" "exit 0" "1000
1000
1000 27
CapEff:	0000000000000000"
run "$OCI" --root "$R" delete user1
bundle user2 '["true"]'
sed -i 's/"uid":0,"gid":0/"uid":-5,"gid":1000/' "$T/b-user2/config.json"
run "$OCI" --root "$R" create --bundle "$T/b-user2" bad6
expect_error "negative process.user.uid" 1 "uid and gid must be numbers"
nothing_left "negative uid" bad6
bundle noexe '["/bin/no-such-program"]'
run "$OCI" --root "$R" create --bundle "$T/b-noexe" bad7
expect_error "args[0] not in the root" 1 "'/bin/no-such-program' not found in the container's root"
nothing_left "args[0] not in the root" bad7
bundle dup '["sleep","10"]'
"$OCI" --root "$R" create --bundle "$T/b-dup" dup1 >/dev/null
run "$OCI" --root "$R" create --bundle "$T/b-dup" dup1
expect_error "duplicate container ID" 1 "container dup1: already exists"
run "$OCI" --root "$R" state dup1
case "$OUT" in *'"status":"created"'*) pass "the first container with that ID is untouched" ;; *) fail "the first dup1 is untouched" "$(describe)" ;; esac
"$OCI" --root "$R" delete --force dup1
run "$OCI" --root "$R" create --bundle "$T/b-dup" ../escape
expect_error "container ID with a slash" 1 "is invalid"
bundle term2 '["true"]'
sed -i 's/"terminal":false/"terminal":true/' "$T/b-term2/config.json"
run "$OCI" --root "$R" create --bundle "$T/b-term2" bad8
expect_error "terminal without --console-socket" 1 "no --console-socket"
nothing_left "terminal without a console socket" bad8
run "$OCI" --root "$R" --log "$T/log.json" --log-format json create --bundle "$T/malformed" bad9
if grep -q '"level":"error"' "$T/log.json" && python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/log.json"; then
    pass "--log-format json: the error as a JSON line"
else
    fail "--log-format json" "$(cat "$T/log.json" 2>&1)"
fi
left=$(ls -A "$R")
[ -z "$left" ] && pass "--root is empty at the end" || fail "--root is empty at the end" "$left"

run "$OCI" features
if [ "$RC" -eq 0 ] && python3 -c 'import json,sys; f=json.load(sys.stdin); assert f["ociVersionMin"].startswith("1.")' <"$T/out"; then
    pass "features prints JSON"
else
    fail "features prints JSON" "$(describe)"
fi

# --- exec: new processes in a running container's VM --------------------------
EXEC_SHIM="$(cd "$(dirname "$0")" && pwd)/oci_exec_shim.py"
make_rootfs "$T/rootfs-ex"
for a in ps grep id tty stty; do ln -s busybox "$T/rootfs-ex/bin/$a"; done
printf '\001\002 not a program' >"$T/rootfs-ex/bin/junk"
chmod 755 "$T/rootfs-ex/bin/junk"
bundle ex '["sleep","60"]' '' "{\"path\":\"$T/rootfs-ex\"}"
OUT_TO=$T/ex.out run "$OCI" --root "$R" create --bundle "$T/b-ex" ex1
run "$OCI" --root "$R" exec ex1 true
expect_error "exec in a created (not started) container" 1 "cannot exec in a container that is created"
run "$OCI" --root "$R" start ex1
expect "start the exec container" 0 ""
run "$OCI" --root "$R" exec ex1 echo hello from exec
expect "exec: output and status 0" 0 "hello from exec"
run "$OCI" --root "$R" exec ex1 sh -c 'echo out; echo err >&2; exit 3'
expect "exec: exit status 3 (sh -c: options end at the ID, as runc's)" 3 "out"
[ "$ERR" = err ] && pass "exec: stderr apart from stdout" || fail "exec: stderr apart from stdout" "$(describe)"
run "$OCI" --root "$R" exec ex1 sh -c 'kill -9 $$'
expect "exec: killed by a signal is 128+N" 137 ""
printf 'line one\nline two\n' >"$T/exec.in"
IN=$T/exec.in run "$OCI" --root "$R" exec ex1 sh -c 'cat; echo eof'
expect "exec: stdin to the process, then end of file" 0 "line one
line two
eof"
run "$OCI" --root "$R" exec --cwd /data -e FOO=bar -u 1000:1000 ex1 sh -c 'pwd; echo $FOO; id -u; id -g'
expect "exec --cwd --env --user" 0 "/data
bar
1000
1000"
run "$OCI" --root "$R" exec ex1 sh -c 'echo $$; ps -o pid,ppid,comm | grep -c sleep'
case "$OUT" in 1[0-9]*|[2-9]*) pass "exec: a new pid in the VM, the container's process untouched" ;;
    *) fail "exec: a new pid in the VM" "$(describe)" ;; esac
run "$OCI" --root "$R" exec -e A=1 --cap CAP_CHOWN ex1 sh -c 'echo $A'
expect "exec: one --env value each, the ID right after" 0 "1"
cat >"$T/proc.json" <<JSON
{"terminal":false,"user":{"uid":5,"gid":6,"additionalGids":[7]},"args":["sh","-c","echo \$0 \$X; pwd; id -G; exit 4","zero"],
 "env":["PATH=/bin","X=from-process-json"],"cwd":"/work"}
JSON
run "$OCI" --root "$R" exec --process "$T/proc.json" ex1
expect "exec --process process.json (args, env, cwd, user and groups)" 4 "zero from-process-json
/work
6 7"
# As containerd's shim runs it: --detach --pid-file, then it reaps that pid.
run "$EXEC_SHIM" "$OCI" "$R" ex1 "$T/proc.json"
LAST=$(tail -n 1 "$T/err")
expect_exit "exec --detach --pid-file: the pid's status is the process's" "exit 4" "zero from-process-json
/work
6 7"
cat >"$T/trap.json" <<JSON
{"args":["sh","-c","trap 'echo got TERM; exit 7' TERM; echo ready; sleep 100 & wait"],"env":["PATH=/bin"],"cwd":"/"}
JSON
run "$EXEC_SHIM" "$OCI" "$R" ex1 "$T/trap.json" 15 1
LAST=$(tail -n 1 "$T/err")
expect_exit "exec: SIGTERM to the exec's pid reaches the guest process" "exit 7" "ready
got TERM"
cat >"$T/long.json" <<JSON
{"args":["sleep","97"],"env":["PATH=/bin"],"cwd":"/"}
JSON
run "$EXEC_SHIM" "$OCI" "$R" ex1 "$T/long.json" 9 1
LAST=$(tail -n 1 "$T/err")
expect_exit "exec: SIGKILL of the exec's pid" "signal 9"
for _ in $(seq 20); do
    run "$OCI" --root "$R" exec ex1 sh -c 'ps -o args | grep -c "^sleep 97"'
    [ "$OUT" = 0 ] && break
    sleep 0.1
done
expect "exec: ... and the guest process is gone with it" 1 "0"
for i in $(seq 16); do
    "$OCI" --root "$R" exec ex1 sh -c "sleep 0.5; echo exec \$0" "$i" >"$T/par.$i" 2>&1 &
done
wait
ok=0
for i in $(seq 16); do [ "$(cat "$T/par.$i")" = "exec $i" ] && ok=$((ok + 1)); done
[ "$ok" -eq 16 ] && pass "exec: 16 at once" || fail "exec: 16 at once" "$ok of 16 answered" "$(cat "$T"/par.* | head -5)"
run "$OCI" --root "$R" exec ex1 no-such-program
expect_error "exec: a missing program: 127, runc's wording" 127 "executable file not found in \$PATH"
run "$OCI" --root "$R" exec ex1 /bin/junk
expect "exec: an executable file that is no program: 126, as a shell says" 126 ""
printf '{"args": [' >"$T/bad.json"
run "$OCI" --root "$R" exec --process "$T/bad.json" ex1
expect_error "exec: malformed process.json" 1 "--process: not a valid JSON object"
run "$OCI" --root "$R" exec no-such-container true
expect_error "exec: unknown container" 1 "does not exist"
sed 's/"terminal":false/"terminal":true/' "$T/proc.json" >"$T/tty.json"
run "$OCI" --root "$R" exec --process "$T/tty.json" ex1
expect_error "exec: a terminal needs --console-socket" 1 "no --console-socket"
# A terminal inside the guest (abi.h kExecTty), driven as the shim drives
# `docker exec -t`: the process's stdio are a guest pty, its controlling
# terminal, with process.consoleSize's size; echo, \r\n and ^C are the guest's.
CONSOLE="$(cd "$(dirname "$0")" && pwd)/oci_console.py"
tty_case() {  # NAME ARGS_JSON ROWS COLS KEYS EXPECTED_EXIT EXPECTED_SCREEN (printf format)
    local name=$1 args=$2 rows=$3 cols=$4 keys=$5 want_exit=$6 want
    printf '{"terminal":true,"consoleSize":{"height":%s,"width":%s},"args":%s,"env":["PATH=/bin"],"cwd":"/"}' \
        "$rows" "$cols" "$args" >"$T/tty-case.json"
    run "$CONSOLE" "$OCI" "$R" ex1 "$T/tty-case.json" "$rows" "$cols" "$keys"
    LAST=$(tail -n 1 "$T/err")
    printf -v want "$7"
    if [ "$RC" -eq 0 ] && [ "$LAST" = "$want_exit" ] && cmp -s "$T/out" <(printf '%s' "$want"); then
        pass "exec with a terminal: $name"
    else
        fail "exec with a terminal: $name" "status $RC, '$LAST' (want '$want_exit')" \
            "screen $(od -c "$T/out" | head -5)" "want $(printf '%s' "$want" | od -c | head -5)"
    fi
}
tty_case "tty names the guest's pty" '["tty"]' 24 80 "" "exit 0" '/dev/pts/0\r\n'
tty_case "stty size is the console's; stdin, stdout, stderr are the terminal" \
    '["sh","-c","stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all three"]' 33 77 "" "exit 0" \
    '33 77\r\nall three\r\n'
tty_case "typed line echoed and read (canonical mode)" '["sh","-c","echo ready; read x; echo got $x"]' \
    24 80 'hi there\r' "exit 0" 'ready\r\nhi there\r\ngot hi there\r\n'
tty_case "a resize of the console is SIGWINCH and the new size in the guest" \
    '["sh","-c","trap \"stty size; exit 0\" WINCH; echo ready; while :; do sleep 0.1; done"]' 24 80 'resize:40:100' \
    "exit 0" 'ready\r\n40 100\r\n'
tty_case "^C is the guest terminal's SIGINT to the foreground group" \
    '["sh","-c","echo ready; sleep 20; echo not interrupted"]' 24 80 '\x03' "exit 130" 'ready\r\n^C'
# Clients that break the protocol: garbage, a request without its fds, one
# that connects and hangs up. Each is refused or dropped; the VM goes on.
python3 - "$R/ex1/exec.sock" <<'PY'
import socket, sys
for payload in (b"garbage", b"\0" * 692, None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    if payload is not None:
        s.send(payload)
        s.settimeout(5)
        s.recv(8)
    s.close()
PY
run "$OCI" --root "$R" exec ex1 sh -c 'exit 0'
expect "exec: the VM is fine after all that (garbage clients included)" 0 ""
"$OCI" --root "$R" kill ex1 KILL
for _ in $(seq 50); do "$OCI" --root "$R" state ex1 | grep -q '"status":"stopped"' && break; sleep 0.1; done
run "$OCI" --root "$R" exec ex1 true
expect_error "exec in a stopped container" 1 "cannot exec in a container that is stopped"
"$OCI" --root "$R" delete --force ex1
nothing_left "exec container" ex1
# --- cgroups: the monitor's cgroup (cgroup v1, as on this machine) ----------------
# cg CONTROLLER FILE NAME: a file of bundle NAME's cgroup.
cg() { cat "/sys/fs/cgroup/$1$CG_PARENT/$3/$2" 2>/dev/null; }
MIB=1048576
if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && [ -d /sys/fs/cgroup/memory ]; then
    bundle cg '["sh","-c","echo up; while :; do sleep 1; done"]' \
        '"annotations":{"io.lightvm.memory":"64M"}'
    python3 - "$T/b-cg/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["linux"]["resources"] = {"memory": {"limit": 64 << 20, "reservation": 32 << 20},
                           "cpu": {"shares": 512, "quota": 50000, "period": 100000},
                           "pids": {"limit": 50}}
json.dump(c, open(p, "w"))
PY
    OUT_TO=$T/cg.out run "$OCI" --root "$R" create --bundle "$T/b-cg" --pid-file "$T/cg.pid" cg1
    expect "create with linux.cgroupsPath and linux.resources" 0 ""
    PID=$(cat "$T/cg.pid" 2>/dev/null)
    joined=yes
    for c in memory cpu cpuacct pids blkio; do
        grep -qx "$PID" "/sys/fs/cgroup/$c$CG_PARENT/cg/cgroup.procs" 2>/dev/null || joined="no ($c)"
    done
    [ "$joined" = yes ] && pass "the VM's monitor is in the cgroup of every controller before start" ||
        fail "the monitor joins its cgroup" "$joined" "$(cat /proc/"$PID"/cgroup 2>&1)"
    limit=$(cg memory memory.limit_in_bytes cg)
    if [ -n "$limit" ] && [ "$limit" -gt $((64 * MIB)) ] && [ "$limit" -le $((160 * MIB)) ]; then
        pass "memory.limit_in_bytes is the guest's 64 MiB plus the monitor's overhead ($((limit / MIB)) MiB)"
    else
        fail "memory.limit_in_bytes above 64 MiB" "got '$limit'"
    fi
    got="$(cg memory memory.soft_limit_in_bytes cg) $(cg cpu cpu.shares cg) $(cg cpu cpu.cfs_quota_us cg) $(cg cpu cpu.cfs_period_us cg) $(cg pids pids.max cg)"
    [ "$got" = "$((32 * MIB)) 512 50000 100000 82" ] &&
        pass "reservation, cpu shares/quota/period, pids (50 + 32 monitor tasks) written" ||
        fail "reservation, cpu and pids limits" "got '$got'"
    run "$OCI" --root "$R" start cg1
    for _ in $(seq 100); do grep -q up "$T/cg.out" && break; sleep 0.1; done
    run "$OCI" --root "$R" events --stats cg1
    if [ "$RC" -eq 0 ] && python3 - "$limit" "$T/out" <<'PY'; then
import json, sys
e = json.load(open(sys.argv[2]))
assert e["type"] == "stats" and e["id"] == "cg1", e
m = e["data"]["memory"]["usage"]
assert m["usage"] > 1 << 20 and m["limit"] == int(sys.argv[1]), m
assert e["data"]["cpu"]["usage"]["total"] > 0 and e["data"]["pids"]["current"] >= 1, e["data"]
PY
        pass "events --stats: runc's JSON with the VM's memory, its limit and CPU time"
    else
        fail "events --stats" "$(describe)"
    fi
    timeout 2.5 "$OCI" --root "$R" events --interval 500ms cg1 >"$T/events.out" 2>&1
    lines=$(grep -c '"type":"stats"' "$T/events.out")
    [ "$lines" -ge 3 ] && [ "$lines" -le 6 ] && pass "events --interval 500ms: a stats line every half second ($lines in 2.5 s)" ||
        fail "events --interval" "$lines lines" "$(head -c 300 "$T/events.out")"
    run "$OCI" --root "$R" events --interval soon cg1
    expect_error "events: a bad --interval" 1 "'soon' is not a duration"
    run "$OCI" --root "$R" update --memory 128m --cpu-quota 150000 --cpu-share 256 --pids-limit 100 cg1
    got="$(cg memory memory.limit_in_bytes cg) $(cg cpu cpu.cfs_quota_us cg) $(cg cpu cpu.shares cg) $(cg pids pids.max cg)"
    if [ "$RC" -eq 0 ] && [ "$got" = "$((limit + 64 * MIB)) 150000 256 132" ]; then
        pass "update --memory --cpu-quota --cpu-share --pids-limit rewrites the cgroup"
    else
        fail "update with flags" "got '$got'" "$(describe)"
    fi
    case "$ERR" in *"guest's RAM stays 64 MiB"*"vCPUs (fixed at create)"*) pass "update: what the VM cannot follow is a warning (RAM, vCPUs)" ;;
        *) fail "update: warnings for guest RAM and vCPUs" "$(describe)" ;; esac
    run "$OCI" --root "$R" update --memory 0 --cpu-period 0 cg1
    got2="$(cg memory memory.limit_in_bytes cg) $(cg cpu cpu.cfs_quota_us cg) $(cg cpu cpu.shares cg) $(cg pids pids.max cg)"
    [ "$RC" -eq 0 ] && [ "$got2" = "$got" ] && pass "update --memory 0 --cpu-period 0: as runc, 0 leaves a limit as it is" ||
        fail "update with zeros" "got '$got2', before '$got'" "$(describe)"
    IN=$T/res.json
    echo '{"memory":{"limit":100663296,"swap":-1},"cpu":{"quota":-1},"pids":{"limit":0}}' >"$IN"
    run "$OCI" --root "$R" update --resources - cg1
    IN=""
    got="$(cg memory memory.limit_in_bytes cg) $(cg cpu cpu.cfs_quota_us cg) $(cg pids pids.max cg)"
    [ "$RC" -eq 0 ] && [ "$got" = "$((limit + 32 * MIB)) -1 132" ] &&
        pass "update --resources - (the shim's form): memory, unlimited quota" || fail "update --resources -" "got '$got'" "$(describe)"
    echo '{"memory":{"limit":"lots"}}' >"$T/bad-res.json"
    run "$OCI" --root "$R" update --resources "$T/bad-res.json" cg1
    expect_error "update: a wrongly typed field" 1 "linux.resources.memory.limit: not an integer"
    echo '{"memory":' >"$T/bad-res.json"
    run "$OCI" --root "$R" update -r "$T/bad-res.json" cg1
    expect_error "update: malformed resources JSON" 1 "not valid JSON"
    run "$OCI" --root "$R" update --memory lots cg1
    expect_error "update: a size that is not one" 1 "'lots' is not a size"
    run "$OCI" --root "$R" update --frobnicate 3 cg1
    [ "$RC" -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && pass "update: an unknown flag is one line, non-zero" ||
        fail "update: unknown flag" "$(describe)"
    run "$OCI" --root "$R" update --memory 1g nosuch
    expect_error "update: unknown container" 1 "container nosuch: does not exist"
    run "$OCI" --root "$R" events --stats nosuch
    expect_error "events: unknown container" 1 "container nosuch: does not exist"
    run "$OCI" --root "$R" delete --force cg1
    expect "delete --force" 0 ""
    gone=yes
    for c in memory cpu cpuacct pids blkio cpuset; do [ -e "/sys/fs/cgroup/$c$CG_PARENT/cg" ] && gone="no ($c)"; done
    [ "$gone" = yes ] && pass "delete removes the cgroup in every controller" || fail "delete removes the cgroup" "$gone"
    run "$OCI" --root "$R" update --memory 1g cg1
    expect_error "update after delete" 1 "does not exist"

    # A guest that fills its RAM is not OOM-killed by its own cgroup: a
    # tmpfs of nearly all of it, written full (dd stops at ENOSPC).
    bundle fill '["sh","-c","dd if=/dev/zero of=/fill/f bs=1M 2>/dev/null; echo filled $(du -m /fill/f)"]' \
        '"annotations":{"io.lightvm.memory":"64M"}'
    python3 - "$T/b-fill/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["mounts"].append({"destination": "/fill", "type": "tmpfs", "source": "tmpfs", "options": ["size=58m"]})
json.dump(c, open(p, "w"))
PY
    shim_run fill fill1 --then 'sleep 0.1'
    peak=$(cg memory memory.max_usage_in_bytes fill)
    case "$LAST $OUT" in
        "exit 0 filled 5"[0-9]*) pass "a guest that fills its 64 MiB of RAM runs to the end in its cgroup (peak $((${peak:-0} / MIB)) MiB)" ;;
        *) fail "a guest that fills its RAM is not OOM-killed" "peak '$peak'" "$(describe)" ;;
    esac
    "$OCI" --root "$R" delete fill1

    # --systemd-cgroup: slice:prefix:name is the scope's path (a '-' in a
    # slice's name is a level of slices); systemd need not run.
    bundle sd '["true"]'
    sed -i "s|\"cgroupsPath\":\"[^\"]*\"|\"cgroupsPath\":\"lvocitest-$$.slice:lvt:sd1\"|" "$T/b-sd/config.json"
    run "$OCI" --root "$R" --systemd-cgroup create --bundle "$T/b-sd" --pid-file "$T/sd.pid" sd1
    PID=$(cat "$T/sd.pid" 2>/dev/null)
    scope=/sys/fs/cgroup/memory/lvocitest.slice/lvocitest-$$.slice/lvt-sd1.scope
    [ "$RC" -eq 0 ] && grep -qx "$PID" "$scope/cgroup.procs" 2>/dev/null &&
        pass "--systemd-cgroup: the monitor is in SLICE/PREFIX-NAME.scope" || fail "--systemd-cgroup" "$(describe)"
    "$OCI" --root "$R" delete --force sd1
    [ ! -e "$scope" ] && pass "--systemd-cgroup: delete removes the scope" || fail "--systemd-cgroup: delete removes the scope"
    run "$OCI" --root "$R" --systemd-cgroup create --bundle "$T/b-cg" sd2
    expect_error "--systemd-cgroup with a cgroupfs path" 1 "is not slice:prefix:name"
    nothing_left "bad systemd cgroupsPath" sd2

    # A cgroup that cannot be made: one line, nothing left behind.
    bundle cgbad '["true"]'
    sed -i 's|"cgroupsPath":"[^"]*"|"cgroupsPath":"/cgroup.procs/x"|' "$T/b-cgbad/config.json"
    run "$OCI" --root "$R" create --bundle "$T/b-cgbad" cgbad1
    expect_error "a cgroupsPath that cannot be created" 1 "cgroups: mkdir"
    nothing_left "a cgroupsPath that cannot be created" cgbad1
    bundle cgbad2 '["true"]'
    sed -i 's|"resources":{"memory":{"limit":67108864}}|"resources":{"cpu":{"cpus":"999"}}|' "$T/b-cgbad2/config.json"
    run "$OCI" --root "$R" create --bundle "$T/b-cgbad2" cgbad2
    [ "$RC" -eq 1 ] && [ "$ERR_LINES" -eq 1 ] && [ ! -e "/sys/fs/cgroup/memory$CG_PARENT/cgbad2" ] &&
        pass "a limit the kernel refuses (cpuset.cpus 999): one line, the cgroup removed" ||
        fail "a refused limit" "$(describe)"
    nothing_left "a refused limit" cgbad2
else
    echo "# not cgroup v1: the v2 layout is covered by unit.OciCgroup*/FakeTree*"
fi

harness_finish
