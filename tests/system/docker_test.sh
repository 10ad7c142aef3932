#!/usr/bin/env bash
# lightvm-oci under Docker: a private dockerd (tests/system/docker_env.sh)
# with `--add-runtime lightvm=lightvm-oci`, an image built here from local
# files and `docker load`ed, and `docker run --runtime lightvm`: output, exit
# codes, -e, -w, -u, -v (rw and :ro, directories and single files), --read-only, --memory, --hostname and
# Docker's /etc files, docker logs, docker stop (SIGTERM, then SIGKILL after
# -t), docker pause/unpause, docker kill, docker rm -f, docker stats and docker update (against runc),
# docker exec (against runc: output, exit codes,
# -e, -w, -u, -i, a missing command, -t and its screen, -d), -t, and nothing
# left behind. Where runc's answer is cheap to get, the same command runs
# with --runtime runc and the two must agree.
#   docker_test.sh LIGHTVM_OCI_BINARY GUEST_PROGRAM_DIR
# Skips (77) without /dev/kvm, without dockerd/docker (scripts/install-deps.sh
# installs docker.io), when not root, or when dockerd cannot start here.

set -u
. "$(dirname "$0")/harness.sh"
harness_init docker-test "$@"
OCI=$L
skip() {
    echo "SKIPPED: $1"
    rm -rf "$T"
    exit 77
}
for tool in dockerd docker containerd runc; do
    command -v "$tool" >/dev/null || skip "$tool not installed (apt-get install docker.io)"
done
[ "$(id -u)" -eq 0 ] || skip "dockerd needs root"
. "$(dirname "$0")/docker_env.sh"
KEY_BEFORE=0
[ ! -e /etc/docker/key.json ] || KEY_BEFORE=1
trap 'docker_stop; rm -rf "$T"' EXIT
docker_start "$T" "$OCI"
IMG=$(docker_image "$T") || { fail "docker load of a locally built image" "$IMG"; harness_finish; exit 1; }
pass "docker load of a locally built image"

D=("${DOCKER[@]}")
RUN=("${D[@]}" run --rm --network none)
LV=("${RUN[@]}" --runtime lightvm)
RC_=("${RUN[@]}" --runtime runc)

# --- docker run: output, exit codes, options -----------------------------------
run "${LV[@]}" "$IMG" sh -c 'echo hello from a VM; echo to stderr >&2; exit 3'
expect "docker run: output and exit code 3" 3 "hello from a VM"
case "$ERR" in *"to stderr"*) pass "docker run: the container's stderr" ;; *) fail "docker run: the container's stderr" "$(describe)" ;; esac
run "${LV[@]}" "$IMG" true
expect "docker run true: exit code 0" 0 ""

run "${LV[@]}" "$IMG" no-such-command
LV_RC=$RC LV_ERR=$ERR
run "${RC_[@]}" "$IMG" no-such-command
if [ "$LV_RC" -eq "$RC" ] && [ "$LV_RC" -eq 127 ]; then
    pass "a missing command: exit code 127, as with runc"
else
    fail "a missing command: exit code as with runc" "lightvm $LV_RC, runc $RC" "lightvm's error: $LV_ERR"
fi
case "$LV_ERR" in *"no-such-command"*"executable file not found"*) pass "a missing command: the error names it" ;;
    *) fail "a missing command: the error names it" "$LV_ERR" ;; esac

run "${LV[@]}" -e FOO=bar -w /tmp "$IMG" sh -c 'echo "$FOO $PWD $GREETING"'
expect "-e and -w (and the image's Env)" 0 "bar /tmp hello from the image"

# The image's User is app (1000, also in group extra 1001).
run "${LV[@]}" "$IMG" id
LV_OUT=$OUT
run "${RC_[@]}" "$IMG" id
[ "$LV_OUT" = "$OUT" ] && [ -n "$OUT" ] && pass "the image's user: id as with runc ($OUT)" ||
    fail "the image's user: id as with runc" "lightvm '$LV_OUT'" "runc '$OUT'"
run "${LV[@]}" -u 0 "$IMG" id -u
expect "-u 0" 0 "0"

mkdir -p "$T/vol" && echo "host file" >"$T/vol/f"
run "${LV[@]}" -u 0 -v "$T/vol:/data" "$IMG" sh -c 'cat /data/f && echo from the guest >/data/g'
if [ "$RC" -eq 0 ] && [ "$OUT" = "host file" ] && [ "$(cat "$T/vol/g" 2>/dev/null)" = "from the guest" ]; then
    pass "-v HOSTDIR:/data: read and written through"
else
    fail "-v HOSTDIR:/data" "$(describe)"
fi
run "${LV[@]}" -u 0 -v "$T/vol:/data:ro" "$IMG" sh -c 'cat /data/f; echo x >/data/h'
if [ "$RC" -ne 0 ] && [ "$OUT" = "host file" ] && [ ! -e "$T/vol/h" ]; then
    case "$ERR" in *"Read-only file system"*) pass "-v HOSTDIR:/data:ro: readable, writes fail with EROFS" ;;
        *) fail "-v :ro: the error is EROFS" "$(describe)" ;; esac
else
    fail "-v HOSTDIR:/data:ro" "$(describe)"
fi

# A single file: -v FILE:/data/file (rw and :ro), the same script under
# both runtimes; output, exit code and what reached the host file agree.
mkdir -p "$T/one"
FILE_SCRIPT='cat /data/file; echo appended >>/data/file; echo w $?; cat /data/ro; echo x >/data/ro 2>/dev/null; echo ro $?;
    mv /data/file /data/moved 2>/dev/null; echo mv $?; stat -c "%s %F" /data/file; cat /data/file/../secret 2>/dev/null; echo sib $?'
for rt in lightvm runc; do
    printf 'host line\n' >"$T/one/file-$rt"
    printf 'read only\n' >"$T/one/ro-$rt"
    echo SECRET >"$T/one/secret"
    run "${RUN[@]}" --runtime "$rt" -u 0 -v "$T/one/file-$rt:/data/file" -v "$T/one/ro-$rt:/data/ro:ro" "$IMG" sh -c "$FILE_SCRIPT"
    printf -v "FB_$rt" '%s|%s|%s' "$RC" "$OUT" "$(cat "$T/one/file-$rt" "$T/one/ro-$rt")"
done
if [ "$FB_lightvm" = "$FB_runc" ] && [[ "$FB_lightvm" == 0\|*"w 0"*"ro 1"*"mv 1"*"sib 1"*"host line"*appended* ]]; then
    pass "-v FILE:/data/file and :ro: read, appended to the host file, ro refused, rename busy, as with runc"
else
    fail "-v FILE:/data/file as with runc" "lightvm: $FB_lightvm" "runc:    $FB_runc"
fi

run "${LV[@]}" -u 0 --read-only "$IMG" touch /x
if [ "$RC" -eq 1 ]; then
    case "$ERR" in *"Read-only file system"*) pass "--read-only: the root refuses writes (EROFS), as with runc" ;;
        *) fail "--read-only: EROFS" "$(describe)" ;; esac
else
    fail "--read-only" "$(describe)"
fi
run "${LV[@]}" --memory 64m "$IMG" head -1 /proc/meminfo
case "$OUT" in "MemTotal:"*" 65536 kB") pass "--memory 64m: the guest's RAM" ;; *) fail "--memory 64m: the guest's RAM" "$(describe)" ;; esac

# Docker bind-mounts /etc/hostname, /etc/hosts and /etc/resolv.conf: the
# guest kernel serves its own, from the hostname and Docker's name servers.
run "${LV[@]}" --hostname box "$IMG" sh -c 'cat /etc/hostname; grep -c "[[:space:]]box$" /etc/hosts; grep -c localhost /etc/hosts'
expect "--hostname: /etc/hostname and /etc/hosts" 0 "box
1
2"
run "${LV[@]}" --dns 192.0.2.53 "$IMG" cat /etc/resolv.conf
case "$OUT" in *"nameserver 192.0.2.53"*) pass "--dns: /etc/resolv.conf names Docker's servers" ;;
    *) fail "--dns: /etc/resolv.conf" "$(describe)" ;; esac

# A terminal (-t): the shim hands lightvm-oci a --console-socket.
if command -v script >/dev/null; then
    run script -qec "${LV[*]} -t $IMG sh -c 'echo size \$(stty size); exit 4'" /dev/null
    if [ "$RC" -eq 4 ] && grep -Eq "size [0-9]+ [0-9]+" "$T/out"; then
        pass "docker run -t: a terminal in the guest (stty size), exit code 4"
    else
        fail "docker run -t" "$(describe)"
    fi
else
    echo "# script (util-linux) not installed: terminal case not run"
fi

# --- Detached containers: logs, stop, kill, rm -f, exec ------------------------
DET=("${D[@]}" run -d --network none)
run "${DET[@]}" --runtime lightvm --name logs1 "$IMG" sh -c 'echo to the log; echo err to the log >&2; exit 6'
expect "docker run -d" 0
run "${D[@]}" wait logs1
expect "docker wait: exit code 6" 0 "6"
run "${D[@]}" logs logs1
if [ "$OUT" = "to the log" ] && [ "$ERR" = "err to the log" ]; then pass "docker logs: stdout and stderr"; else fail "docker logs" "$(describe)"; fi
"${D[@]}" rm logs1 >/dev/null

# stop_case NAME TIMEOUT CMD...: starts CMD under each runtime, waits for it
# to print "up", stops it with `docker stop -t TIMEOUT`; sets EXIT_<rt> and MS_<rt>.
stop_case() {
    local name=$1 timeout=$2 rt
    shift 2
    for rt in lightvm runc; do
        "${DET[@]}" --runtime "$rt" --name "$name-$rt" "$IMG" "$@" >/dev/null
        for _ in $(seq 100); do "${D[@]}" logs "$name-$rt" 2>/dev/null | grep -q up && break; sleep 0.1; done
        run "${D[@]}" stop -t "$timeout" "$name-$rt"
        printf -v "MS_$rt" %s "$MS"
        printf -v "EXIT_$rt" %s "$("${D[@]}" inspect -f '{{.State.ExitCode}}' "$name-$rt")"
        "${D[@]}" rm "$name-$rt" >/dev/null
    done
}
# sleep as the container's first process has no SIGTERM handler: like
# runc's pid 1 it ignores SIGTERM, and SIGKILL ends it after -t seconds.
stop_case stop1 2 sh -c 'echo up; exec sleep 100'
if [ "$EXIT_lightvm" = "$EXIT_runc" ] && [ "$EXIT_lightvm" = 137 ] && [ "$MS_lightvm" -ge 1900 ] && [ "$MS_lightvm" -lt 6000 ]; then
    pass "docker stop -t 2 of sleep 100: SIGTERM ignored, SIGKILL after 2 s, exit 137 as with runc (${MS_lightvm} ms; runc ${MS_runc} ms)"
else
    fail "docker stop -t 2 of sleep 100" "lightvm: exit $EXIT_lightvm in $MS_lightvm ms" "runc: exit $EXIT_runc in $MS_runc ms"
fi
stop_case stop2 10 sh -c 'trap "exit 5" TERM; echo up; while :; do sleep 0.1; done'
if [ "$EXIT_lightvm" = "$EXIT_runc" ] && [ "$EXIT_lightvm" = 5 ] && [ "$MS_lightvm" -lt 5000 ]; then
    pass "docker stop of a container that traps SIGTERM: exit 5 at once, as with runc (${MS_lightvm} ms)"
else
    fail "docker stop of a container that traps SIGTERM" "lightvm: exit $EXIT_lightvm in $MS_lightvm ms" "runc: exit $EXIT_runc in $MS_runc ms"
fi

"${DET[@]}" --runtime lightvm --name kill1 "$IMG" sleep 100 >/dev/null
run "${D[@]}" kill -s USR1 kill1
sleep 0.5
STATUS=$("${D[@]}" inspect -f '{{.State.Status}}' kill1)
[ "$RC" -eq 0 ] && [ "$STATUS" = running ] && pass "docker kill -s USR1 without a handler: still running, as runc's pid 1" ||
    fail "docker kill -s USR1" "$(describe)" "status $STATUS"
# --- docker exec, against runc's answers -------------------------------------
for rt in lightvm runc; do
    "${DET[@]}" --runtime "$rt" --name "exec-$rt" "$IMG" sleep 100 >/dev/null
done
# exec_both NAME [IN_FILE] -- EXEC ARGS...: the same `docker exec` in both
# containers; stdout, stderr and exit codes must agree.
exec_both() {
    local name=$1 in=$2 rt
    shift 3
    for rt in lightvm runc; do
        IN=$in run "${D[@]}" exec "$@"
        sed -i "s/exec-$rt/exec-RT/g" "$T/out" "$T/err"
        printf -v "RC_$rt" %s "$RC"
        printf -v "OUT_$rt" %s "$(cat "$T/out")"
        printf -v "ERR_$rt" %s "$(cat "$T/err")"
        set -- "${@/exec-lightvm/exec-runc}"
    done
    if [ "$RC_lightvm" = "$RC_runc" ] && [ "$OUT_lightvm" = "$OUT_runc" ] && [ "$ERR_lightvm" = "$ERR_runc" ]; then
        pass "docker exec $name: as with runc (exit $RC_lightvm)"
    else
        fail "docker exec $name: as with runc" "lightvm: exit $RC_lightvm, stdout '$OUT_lightvm', stderr '$ERR_lightvm'" \
            "runc: exit $RC_runc, stdout '$OUT_runc', stderr '$ERR_runc'"
    fi
}
exec_both "output, stderr and exit code 3" "" -- exec-lightvm sh -c 'echo out; echo err >&2; exit 3'
exec_both "true" "" -- exec-lightvm true
exec_both "-e, -w and the image's Env" "" -- -e FOO=bar -w /tmp exec-lightvm sh -c 'echo "$FOO $PWD $GREETING"'
exec_both "-u app (the image's /etc/passwd and groups)" "" -- -u app exec-lightvm id
exec_both "-u 1234:5678" "" -- -u 1234:5678 exec-lightvm id
printf 'one\ntwo\n' >"$T/exec.in"
exec_both "-i: stdin, then end of file" "$T/exec.in" -- -i exec-lightvm sh -c 'wc -l; echo done'
exec_both "a process killed by a signal" "" -- exec-lightvm sh -c 'kill -9 $$'
run "${D[@]}" exec exec-lightvm no-such-command
LV_RC=$RC LV_OUT=$OUT
run "${D[@]}" exec exec-runc no-such-command
if [ "$LV_RC" = "$RC" ] && [ "$RC" -ge 126 ]; then
    pass "docker exec of a missing command: exit code $RC, as with runc"
else
    fail "docker exec of a missing command: exit code as with runc" "lightvm $LV_RC ($LV_OUT), runc $RC ($OUT)"
fi
case "$LV_OUT" in *"executable file not found"*) pass "docker exec of a missing command: the error names it" ;;
    *) fail "docker exec of a missing command: the error names it" "$LV_OUT" ;; esac
run "${D[@]}" exec -w /no/such/dir exec-lightvm true
LV_RC=$RC
run "${D[@]}" exec -w /no/such/dir exec-runc true
[ "$LV_RC" = "$RC" ] && pass "docker exec -w of a missing directory: exit code $RC, as with runc" ||
    fail "docker exec -w of a missing directory: exit code as with runc" "lightvm $LV_RC, runc $RC ($OUT)"
if command -v script >/dev/null; then
    run script -qec "${D[*]} exec -t exec-lightvm sh -c 'echo on a terminal; exit 4'" /dev/null
    if [ "$RC" -eq 4 ] && grep -q "on a terminal" "$T/out"; then pass "docker exec -t: output and exit code 4";
    else fail "docker exec -t" "$(describe)"; fi
fi
# exec -t: a terminal inside the guest, as runc's container has one: the
# same bytes on the client's terminal (tty's name, ONLCR's \r\n) with
# both runtimes. (The size is tested in oci_test.sh: under script(1) the
# docker client passes none, with runc as with lightvm.)
# exec_tty_both FLAGS CASE WANT: WANT is in the screen (cat -v: ^M is \r;
# script's own terminal adds one more to each line end).
exec_tty_both() {
    local rt flags=$1
    shift
    for rt in lightvm runc; do
        run script -qec "${D[*]} exec $flags exec-$rt $1" /dev/null
        printf -v "SCREEN_$rt" %s "$(cat -v "$T/out")"
        printf -v "RC_$rt" %s "$RC"
    done
    if [ "$SCREEN_lightvm" = "$SCREEN_runc" ] && [ "$RC_lightvm" = "$RC_runc" ] && [[ $SCREEN_lightvm == *"$2"* ]]; then
        pass "docker exec $flags $1: the same screen as with runc (${SCREEN_lightvm//$'\n'/ })"
    else
        fail "docker exec $flags $1: the same screen as with runc" "lightvm ($RC_lightvm): $SCREEN_lightvm" \
            "runc ($RC_runc): $SCREEN_runc" "want: $2"
    fi
}
if command -v script >/dev/null; then
    exec_tty_both -t "sh -c tty" "/dev/pts/0^M"
    exec_tty_both -t "sh -c 'printf \"a\\nb\\n\"'" "a^M^M
b^M^M"
fi
run "${D[@]}" exec -d exec-lightvm sleep 50
expect "docker exec -d" 0 ""
# Latency: `docker exec true`, 5 runs each, median (docs/design.md "Exec").
for rt in lightvm runc; do
    times=()
    for _ in 1 2 3 4 5; do
        run "${D[@]}" exec "exec-$rt" true
        times+=("$MS")
    done
    printf -v "EXEC_MS_$rt" %s "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)"
done
echo "# docker exec true, median of 5: lightvm ${EXEC_MS_lightvm} ms, runc ${EXEC_MS_runc} ms"
"${D[@]}" rm -f exec-lightvm exec-runc >/dev/null
run "${D[@]}" pause kill1
expect "docker pause" 0 "kill1"
[ "$("${D[@]}" inspect -f '{{.State.Status}}' kill1)" = paused ] && pass "paused in docker inspect" || fail "paused in docker inspect"
run "${D[@]}" unpause kill1
expect "docker unpause" 0 "kill1"
run "${D[@]}" kill kill1
expect "docker kill" 0 "kill1"
"${D[@]}" wait kill1 >/dev/null 2>&1
EXIT=$("${D[@]}" inspect -f '{{.State.ExitCode}} {{.State.Status}}' kill1)
[ "$EXIT" = "137 exited" ] && pass "docker kill: exit code 137" || fail "docker kill: exit code 137" "$EXIT"
"${D[@]}" rm kill1 >/dev/null

"${DET[@]}" --runtime lightvm --name rmf1 "$IMG" sleep 100 >/dev/null
PID=$("${D[@]}" inspect -f '{{.State.Pid}}' rmf1)
run "${D[@]}" rm -f rmf1
if [ "$RC" -eq 0 ] && [ -z "$("${D[@]}" ps -aq -f name=rmf1)" ] && ! kill -0 "$PID" 2>/dev/null; then
    pass "docker rm -f of a running container: gone, its VM's process too"
else
    fail "docker rm -f" "$(describe)" "pid $PID"
fi

# --- docker stats and docker update, against runc -------------------------------
# A busy guest (a shell loop) under each runtime with --memory 128m.
for rt in lightvm runc; do
    "${DET[@]}" --runtime "$rt" --memory 128m --name "stats-$rt" "$IMG" sh -c 'echo up; while :; do :; done' >/dev/null
    for _ in $(seq 100); do "${D[@]}" logs "stats-$rt" 2>/dev/null | grep -q up && break; sleep 0.1; done
done
# stats_of NAME: "USAGE_MIB LIMIT_MIB CPU_PERCENT" from docker stats --no-stream.
stats_of() {
    "${D[@]}" stats --no-stream --format '{{.MemUsage}} {{.CPUPerc}}' "$1" | python3 -c '
import re, sys
line = sys.stdin.read()
units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}
(u, uu), (l, lu) = re.findall(r"([\d.]+)([KMG]?i?B)", line)[:2]
print(int(float(u) * units[uu]), int(float(l) * units[lu]), int(float(re.search(r"([\d.]+)%", line).group(1))))'
}
read -r LV_USE LV_LIMIT LV_CPU < <(stats_of stats-lightvm)
read -r RC_USE RC_LIMIT RC_CPU < <(stats_of stats-runc)
echo "# docker stats: lightvm ${LV_USE:-?} MiB of ${LV_LIMIT:-?} MiB, ${LV_CPU:-?}% CPU; runc ${RC_USE:-?} MiB of ${RC_LIMIT:-?} MiB, ${RC_CPU:-?}%"
if [ "${LV_USE:-0}" -gt 0 ] && [ "${RC_LIMIT:-0}" -eq 128 ] && [ "${LV_LIMIT:-0}" -gt 128 ] && [ "${LV_LIMIT:-0}" -le 256 ]; then
    pass "docker stats: the VM's memory use and its limit (128 MiB + the monitor's ${LV_LIMIT:-?}-128 MiB; runc 128)"
else
    fail "docker stats: memory use and limit" "lightvm '${LV_USE:-} ${LV_LIMIT:-}', runc '${RC_USE:-} ${RC_LIMIT:-}'"
fi
# A loaded test machine gives each loop what it can: "busy" is well above
# an idle VM's 0%, as runc's loop is.
if [ "${LV_CPU:-0}" -ge 10 ] && [ "${RC_CPU:-0}" -ge 10 ]; then
    pass "docker stats: a busy guest shows CPU (${LV_CPU}%; runc ${RC_CPU}%)"
else
    fail "docker stats: CPU of a busy guest" "lightvm ${LV_CPU:-?}%, runc ${RC_CPU:-?}%"
fi
for rt in lightvm runc; do
    run "${D[@]}" update --cpus 0.5 --memory 200m --memory-swap 400m "stats-$rt"
    printf -v "UPD_$rt" %s "$RC"
done
LV_ID=$("${D[@]}" inspect -f '{{.Id}}' stats-lightvm)
got="$(cat /sys/fs/cgroup/cpu/docker/"$LV_ID"/cpu.cfs_quota_us 2>/dev/null) $(($(cat /sys/fs/cgroup/memory/docker/"$LV_ID"/memory.limit_in_bytes 2>/dev/null || echo 0) >> 20))"
sleep 1
read -r LV_USE LV_LIMIT LV_CPU < <(stats_of stats-lightvm)
read -r RC_USE RC_LIMIT RC_CPU < <(stats_of stats-runc)
echo "# after docker update --cpus 0.5 --memory 200m: lightvm ${LV_LIMIT:-?} MiB, ${LV_CPU:-?}% CPU; runc ${RC_LIMIT:-?} MiB, ${RC_CPU:-?}%"
if [ "$UPD_lightvm" = 0 ] && [ "$UPD_runc" = 0 ] && [ "${got%% *}" = 50000 ] && [ "${got#* }" -gt 200 ] &&
    [ "${LV_LIMIT:-0}" -gt 200 ] && [ "${RC_LIMIT:-0}" -eq 200 ]; then
    pass "docker update --cpus 0.5 --memory 200m: the cgroup's quota and limit, as with runc (cgroup: $got MiB)"
else
    fail "docker update --cpus 0.5 --memory 200m" "exit lightvm $UPD_lightvm, runc $UPD_runc; cgroup '$got'; stats lightvm ${LV_LIMIT:-?}, runc ${RC_LIMIT:-?}"
fi
if [ "${LV_CPU:-100}" -le 60 ] && [ "${RC_CPU:-100}" -le 60 ]; then
    pass "after docker update --cpus 0.5 the busy guest gets half a CPU (${LV_CPU}%; runc ${RC_CPU}%)"
else
    fail "docker update --cpus 0.5 bounds the CPU" "lightvm ${LV_CPU:-?}%, runc ${RC_CPU:-?}%"
fi
"${D[@]}" rm -f stats-lightvm stats-runc >/dev/null
[ ! -e "/sys/fs/cgroup/memory/docker/$LV_ID" ] && pass "docker rm -f: the VM's cgroup is gone" ||
    fail "docker rm -f removes the VM's cgroup" "/sys/fs/cgroup/memory/docker/$LV_ID"

# --- Nothing left ---------------------------------------------------------------
# Docker gives every runc-type runtime --root EXEC_ROOT/runtime-runc/moby.
left=$(find "$DEXEC" -name state.json 2>/dev/null; "${D[@]}" ps -aq)
[ -z "$left" ] && pass "nothing left in lightvm-oci's --root (or docker ps -a)" || fail "nothing left in lightvm-oci's --root" "$left"
docker_stop
left=$(pgrep -f "$T" 2>/dev/null | tr '\n' ' ')
[ -z "$left" ] && pass "dockerd, its containerd and the shims are gone" || fail "processes left after dockerd stopped" "$left"
[ -e /etc/docker/key.json ] && [ "$KEY_BEFORE" = 0 ] && fail "dockerd wrote /etc/docker/key.json" ||
    pass "dockerd's key stayed in the test's directory (daemon.json deprecated-key-path)"
harness_finish
