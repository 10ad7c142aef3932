#!/usr/bin/env bash
# System tests for files and storage: drive `lightvm run --fs/--rootfs/--disk`
# exactly as a user would, plus big streams through real pipes.
#   fs_cli_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
# Prints "ok - NAME" / "not ok - NAME" per check and "N passed, N failed";
# exits 1 if anything failed, 77 (skip) without a usable /dev/kvm.
# Documented limitations print "KNOWN LIMITATION: ..." and do not fail the run.

set -u
. "$(dirname "$0")/harness.sh"
harness_init fs-cli-test "$@"
if [ ! -x "$BUSYBOX" ]; then
    echo "SKIPPED: $BUSYBOX not installed (apt-get install busybox-static); every case here needs it"
    rm -rf "$T"
    exit 77
fi
# $T holds the test's files; $T/data is what gets shared; $T/outside must
# never be reached from a guest.
BG_PID=""
cleanup() {
    if [ -n "$BG_PID" ]; then kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null; fi
    rm -rf "$T"
}
trap cleanup EXIT
KNOWN=0
# A documented limitation (docs/design.md), reported but not a failure.
known_limitation() { echo "KNOWN LIMITATION: $*"; KNOWN=$((KNOWN + 1)); }

# State of everything in $T except data/ (mtimes, sizes, contents), to
# prove an escape attempt changed nothing outside the share.
outside_state() {
    (cd "$T" && find . -path ./data -prune -o -path ./out -prune -o -path ./err -prune -o -print0 |
        sort -z | xargs -0 stat -c '%n %s %Y %a' 2>/dev/null
     cksum "$T/outside/secret")
}

: >"$T/empty"
mkdir -p "$T/data/sub/deeper" "$T/outside"
printf 'alpha\nbeta\ngamma\n' >"$T/data/a.txt"
printf 'in a subdirectory\n' >"$T/data/sub/s.txt"
printf 'TOP SECRET\n' >"$T/outside/secret"
B="$BUSYBOX"

# --- Relative use, as a user types it ----------------------------------------

IN_DIR="$T/data" run "$L" run --fs . "$B" ls
expect "cd data && lightvm run --fs . busybox ls" 0 "a.txt
sub"

IN_DIR="$T/data" run "$L" run --fs . "$B" cat a.txt sub/s.txt
expect "relative paths through --fs ." 0 "alpha
beta
gamma
in a subdirectory"

IN_DIR="$T/data" run "$L" run --fs . "$B" pwd
expect "the guest's cwd is the host's (--fs .)" 0 "$T/data"

IN_DIR="$T/data/sub/deeper" run "$L" run --fs ../.. "$B" cat ../s.txt ../../a.txt
expect "cwd in a subdirectory of a relative share (--fs ../..)" 0 "in a subdirectory
alpha
beta
gamma"

IN_DIR="$T/data/sub" run "$L" run --fs "$T/data" "$B" pwd
expect "cwd follows the host's below an absolute share" 0 "$T/data/sub"

IN_DIR="$T/data" run "$L" run --fs .:/work "$B" pwd
expect "--fs .:/work: the cwd maps to the guest path" 0 "/work"

IN_DIR="$T" run "$L" run --fs "$T/data:/work" -w /work/sub "$B" cat s.txt
expect "-w picks the guest working directory" 0 "in a subdirectory"

IN_DIR="$T" run "$L" run --fs "$T/data:/work" --workdir=/work "$B" pwd
expect "--workdir=DIR" 0 "/work"

IN_DIR="$T/outside" run "$L" run --fs "$T/data" "$B" pwd
expect "cwd outside every share: the guest starts in /" 0 "/"

IN_DIR="$T/data" run "$L" run --fs . "$B" sh -c 'echo made > new.txt; echo done'
if [ "$RC" -eq 0 ] && [ "$(cat "$T/data/new.txt" 2>/dev/null)" = "made" ] && [ "$OUT" = "done" ]; then
    pass "shell redirection creates files on the host"
else
    fail "shell redirection creates files on the host" "$(describe)"
fi
rm -f "$T/data/new.txt"

IN_DIR="$T/data" run "$L" run --fs . "$B" cp a.txt copy.txt
if [ "$RC" -eq 0 ] && cmp -s "$T/data/a.txt" "$T/data/copy.txt"; then
    pass "busybox cp in a share"
else
    fail "busybox cp in a share" "$(describe)"
fi
rm -f "$T/data/copy.txt"

# A symlink with an absolute host path into the share, as tools often make
# them: with the share at its host path, it should resolve as on the host.
ln -s "$T/data/a.txt" "$T/data/abs-link"
IN_DIR="$T/data" run "$L" run --fs . "$B" cat abs-link
if [ "$RC" -eq 0 ] && [ "$OUT" = "$(cat "$T/data/a.txt")" ]; then
    pass "absolute symlink into a share at its host path"
else
    fail "regression: 'cd DIR && lightvm run --fs . busybox cat abs-link' (abs-link -> DIR/a.txt) fails: status $RC, '$ERR'; natively it prints a.txt (absolute symlink targets resolve against the share root, not the guest's /)"
fi
rm -f "$T/data/abs-link"

# Two O_APPEND descriptions of one file (a shell's >> on two fds): the order
# of writes must be kept.
printf 'start\n' >"$T/data/log"
IN_DIR="$T/data" run "$L" run --fs . "$B" sh -c 'exec 3>>log 4>>log; echo one >&3; echo two >&4; echo three >&3'
if [ "$(cat "$T/data/log")" = "start
one
two
three" ]; then
    pass "writes through two O_APPEND descriptions keep their order"
else
    fail "regression: 'lightvm run --fs . busybox sh -c \"exec 3>>log 4>>log; echo one >&3; echo two >&4; echo three >&3\"' leaves log as '$(tr '\n' ' ' <"$T/data/log")', natively 'start one two three' (guest write-behind per open file)"
fi
rm -f "$T/data/log"

# --- stdin and stdout as pipes --------------------------------------------------

printf 'b\na\n' | timeout -s KILL 30 "$L" run "$B" sort >"$T/out" 2>"$T/err"
RC=$?; MS=0; HUNG=0; OUT=$(cat "$T/out")
expect "printf 'b\\na\\n' | lightvm run busybox sort" 0 "a
b"

printf 'x\n' | (cd "$T/data" && timeout -s KILL 30 "$L" run --fs . "$B" sh -c 'read l; echo "$l" > piped.txt') >"$T/out" 2>"$T/err"
RC=$?
if [ "$RC" -eq 0 ] && [ "$(cat "$T/data/piped.txt" 2>/dev/null)" = "x" ]; then
    pass "stdin pipe into a file in a share"
else
    fail "stdin pipe into a file in a share" "status $RC, stderr '$(cat "$T/err")'"
fi
rm -f "$T/data/piped.txt"

# 200 MiB through `busybox cat`: exact, and lightvm's memory does not grow
# with the stream.
SIZE=$((200 * 1024 * 1024))
expected_sum=$(head -c "$SIZE" /dev/zero | tr '\000' 'z' | sha256sum)
start=$(now_ms)
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then
    head -c "$SIZE" /dev/zero | tr '\000' 'z' |
        /usr/bin/time -v -o "$T/time" timeout -s KILL 60 "$L" run "$B" cat 2>"$T/err" | sha256sum >"$T/sum"
    st=("${PIPESTATUS[@]}")
    MS=$(($(now_ms) - start))
    rss_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$T/time")
else
    # Sample VmHWM from /proc while it runs.
    mkfifo "$T/bigfifo"
    (head -c "$SIZE" /dev/zero | tr '\000' 'z' >"$T/bigfifo") &
    feeder=$!
    timeout -s KILL 60 "$L" run "$B" cat <"$T/bigfifo" 2>"$T/err" | sha256sum >"$T/sum" &
    sleep 0.05
    lpid=$(pgrep -n -f "^$L run $B cat" || true)
    rss_kb=""
    while [ -n "$lpid" ] && [ -r "/proc/$lpid/status" ]; do
        h=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$lpid/status" 2>/dev/null)
        [ -n "$h" ] && rss_kb=$h
        sleep 0.02
    done
    wait
    wait "$feeder" 2>/dev/null
    st=(0 0 0 0)
    MS=$(($(now_ms) - start))
fi
if [ "$(cat "$T/sum")" = "$expected_sum" ] && [ "${st[2]}" -eq 0 ]; then
    pass "200 MiB through lightvm run busybox cat, sha256 intact (${MS} ms)"
else
    fail "200 MiB through lightvm run busybox cat" "pipe status ${st[*]}, sum '$(cat "$T/sum")', stderr '$(cat "$T/err")'"
fi
if [ -z "${rss_kb:-}" ]; then
    echo "SKIPPED: cannot measure lightvm's RSS here (no /usr/bin/time -v, no /proc sampling): memory bound not checked"
elif [ "$rss_kb" -lt 65536 ]; then
    pass "lightvm's max RSS while streaming 200 MiB: ${rss_kb} KiB < 64 MiB"
else
    fail "lightvm's max RSS while streaming 200 MiB stays < 64 MiB" "max RSS ${rss_kb} KiB"
fi

# EPIPE: yes | head.
start=$(now_ms)
timeout -s KILL 30 "$L" run "$B" yes 2>"$T/err" | head -n 3 >"$T/out"
st=("${PIPESTATUS[@]}")
MS=$(($(now_ms) - start))
if [ "$(cat "$T/out")" = "y
y
y" ] && [ "$MS" -lt 5000 ] && { [ "${st[0]}" -eq 141 ] || [ "${st[0]}" -eq 0 ]; }; then
    pass "lightvm run busybox yes | head -n 3: 3 lines, ends in ${MS} ms (status ${st[0]})"
else
    fail "lightvm run busybox yes | head -n 3" "status ${st[0]}, ${MS} ms, out '$(head -c 100 "$T/out")', stderr '$(cat "$T/err")'"
fi
if [ -s "$T/err" ]; then
    fail "yes | head: nothing on stderr" "stderr '$(cat "$T/err")'"
else
    pass "yes | head: nothing on stderr"
fi

head -c 3000000 /dev/urandom >"$T/data/big.bin"
start=$(now_ms)
(cd "$T/data" && timeout -s KILL 30 "$L" run --fs . "$B" cat big.bin 2>"$T/err" | head -c 100 >"$T/out")
st=("${PIPESTATUS[@]}")
MS=$(($(now_ms) - start))
if [ "$(wc -c <"$T/out")" -eq 100 ] && [ "$MS" -lt 5000 ] && cmp -s "$T/out" <(head -c 100 "$T/data/big.bin"); then
    pass "cat of a share file into 'head -c 100' ends promptly (${MS} ms)"
else
    fail "cat of a share file into 'head -c 100'" "status ${st[*]}, ${MS} ms, stderr '$(cat "$T/err")'"
fi
(cd "$T/data" && timeout -s KILL 30 "$L" run --fs . "$B" cat big.bin) >"$T/out" 2>"$T/err"
if cmp -s "$T/out" "$T/data/big.bin"; then
    pass "cat of a 3 MB share file to stdout is exact"
else
    fail "cat of a 3 MB share file to stdout is exact" "$(wc -c <"$T/out") bytes, stderr '$(cat "$T/err")'"
fi
rm -f "$T/data/big.bin"

# --- Read-only shares ------------------------------------------------------------

before=$(cd "$T/data" && find . -print0 | sort -z | xargs -0 stat -c '%n %s %Y %a')
IN_DIR="$T/data" run "$L" run --fs .:/data:ro -w /data "$B" touch new
expect_error "touch in a :ro share" 1 "touch: new: Read-only file system" exact
IN_DIR="$T/data" run "$L" run --fs .:/data:ro -w /data "$B" sh -c 'echo x > a.txt'
expect_error "redirection onto a file in a :ro share" 1 "sh: can't create a.txt: Read-only file system" exact
IN_DIR="$T/data" run "$L" run --fs .:/data:ro -w /data "$B" rm a.txt
expect_error "rm in a :ro share" 1 "rm: can't remove 'a.txt': Read-only file system" exact
IN_DIR="$T/data" run "$L" run --fs .:/data:ro -w /data "$B" mkdir d
expect_error "mkdir in a :ro share" 1 "mkdir: can't create directory 'd': Read-only file system" exact
IN_DIR="$T/data" run "$L" run --fs .:/data:ro -w /data "$B" mv a.txt b.txt
expect_error "mv in a :ro share" 1 "mv: can't rename 'a.txt': Read-only file system" exact
IN_DIR="$T/data" run "$L" run --fs .:ro "$B" cat a.txt
expect "--fs .:ro: shared at its host path, readable" 0 "alpha
beta
gamma"
after=$(cd "$T/data" && find . -print0 | sort -z | xargs -0 stat -c '%n %s %Y %a')
if [ "$before" = "$after" ]; then
    pass "the :ro share is unchanged on the host"
else
    fail "the :ro share is unchanged on the host" "before: $before" "after: $after"
fi

# --- --rootfs ------------------------------------------------------------------------

run "$L" run --rootfs "$T/data" "$B" ls /
expect "--rootfs DIR: ls / lists DIR" 0 "a.txt
sub"
run "$L" run --rootfs "$T/data" -w /sub "$B" cat s.txt /a.txt
expect "--rootfs with -w" 0 "in a subdirectory
alpha
beta
gamma"

# --- Escape attempts through the CLI -------------------------------------------------

state=$(outside_state)
run "$L" run --fs "$T/data:/data" "$B" cat /data/../outside/secret /data/../../etc/passwd /data/../../../../etc/shadow
if [ "$RC" -ne 0 ] && ! grep -q "TOP SECRET\|root:" "$T/out"; then
    pass "cat /data/../outside/secret, /data/../../etc/passwd: refused"
else
    fail "cat /data/../.. escapes" "$(describe)"
fi
IN_DIR="$T/data" run "$L" run --fs . "$B" ln -s ../outside/secret rel-link
IN_DIR="$T/data" run "$L" run --fs . "$B" ln -s "$T/outside/secret" abs-link
IN_DIR="$T/data" run "$L" run --fs . "$B" ln -s /etc/passwd pw-link
IN_DIR="$T/data" run "$L" run --fs . "$B" cat rel-link abs-link pw-link
if [ "$RC" -ne 0 ] && ! grep -q "TOP SECRET\|root:" "$T/out"; then
    pass "symlinks made in the guest do not lead out of the share"
else
    fail "symlinks made in the guest do not lead out of the share" "$(describe)"
fi
ln -s "$T/outside" "$T/data/host-made-link"
IN_DIR="$T/data" run "$L" run --fs . "$B" ls host-made-link/
if [ "$RC" -ne 0 ] && ! grep -q "secret" "$T/out"; then
    pass "a host-made symlink to a directory outside does not lead out"
else
    fail "a host-made symlink to a directory outside does not lead out" "$(describe)"
fi
run "$L" run --rootfs "$T/data" "$B" sh -c "echo pwned > /../outside/secret; echo pwned > ../../outside/secret"
IN_DIR="$T/data" run "$L" run --fs . "$B" mv a.txt ../outside/secret
if [ "$(outside_state)" = "$state" ] && [ "$(cat "$T/outside/secret")" = "TOP SECRET" ]; then
    pass "nothing outside the share was created, changed or replaced"
else
    fail "nothing outside the share was created, changed or replaced" "before: $state" "after: $(outside_state)"
fi
rm -f "$T/data/rel-link" "$T/data/abs-link" "$T/data/pw-link" "$T/data/host-made-link" "$T/data/outside/secret"
rmdir "$T/data/outside" 2>/dev/null
[ -f "$T/data/a.txt" ] || printf 'alpha\nbeta\ngamma\n' >"$T/data/a.txt"

# --- Block devices ---------------------------------------------------------------------

head -c 1000000 /dev/urandom >"$T/disk.img"
cp "$T/disk.img" "$T/disk.orig"
run "$L" run --disk "$T/disk.img" "$B" blockdev --getsize64 /dev/vda
expect "blockdev --getsize64 /dev/vda = file size" 0 "1000000"

printf 'lightvm-block-test' >"$T/data/payload"
run "$L" run --fs "$T/data:/in" --disk "$T/disk.img" "$B" dd if=/in/payload of=/dev/vda bs=1 seek=123457 conv=notrunc
cp "$T/disk.orig" "$T/disk.native"
printf 'lightvm-block-test' | dd of="$T/disk.native" bs=1 seek=123457 conv=notrunc 2>/dev/null
if [ "$RC" -eq 0 ] && cmp -s "$T/disk.img" "$T/disk.native"; then
    pass "dd onto /dev/vda at an odd offset changes exactly those bytes"
else
    fail "dd onto /dev/vda at an odd offset" "$(describe)" "$(cmp "$T/disk.img" "$T/disk.native" 2>&1)"
fi
run "$L" run --disk "$T/disk.img" "$B" dd if=/dev/vda bs=1 skip=123457 count=18
expect "dd reads the bytes back from /dev/vda" 0 "lightvm-block-test"
run "$L" run --disk "$T/disk.img" "$B" sha256sum /dev/vda
if [ "${OUT%% *}" = "$(sha256sum <"$T/disk.img" | cut -d' ' -f1)" ]; then
    pass "sha256sum /dev/vda = sha256sum of the file"
else
    fail "sha256sum /dev/vda = sha256sum of the file" "$(describe)"
fi

cp "$T/disk.img" "$T/disk.before"
run "$L" run --disk "$T/disk.img:ro" "$B" dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=notrunc
expect_error "a :ro disk refuses writes" 1 "dd: can't open '/dev/vda': Read-only file system" exact
if cmp -s "$T/disk.img" "$T/disk.before"; then pass "the :ro disk file is unchanged"; else fail "the :ro disk file is unchanged"; fi

printf 'second disk' >"$T/disk2.img"
run "$L" run --disk "$T/disk.img" --disk "$T/disk2.img" "$B" cat /dev/vdb
expect "two --disk: /dev/vdb is the second" 0 "second disk"

# One writer per disk file.
"$L" run --disk "$T/disk.img" "$G/sleep_ms.musl" 60000 </dev/null >/dev/null 2>&1 &
BG_PID=$!
# Until the background VM holds its lock: up to 30 s (a start on a saturated
# 2-core machine took more than the 5 s this loop used to allow). Read from
# /proc/locks: probing with flock(1) took a shared lock for a moment, and a
# VM starting in that moment was refused (seen in CI).
DISK_INODE=$(stat -c %i "$T/disk.img")
for _ in $(seq 1 600); do
    if grep -q "FLOCK .*:$DISK_INODE " /proc/locks; then break; fi
    sleep 0.05
done
run "$L" run --disk "$T/disk.img" "$B" true
expect_error "a disk in use by another VM: one line, 125" 125 "lightvm: --disk $T/disk.img: in use by another VM" exact
run "$L" run --disk "$T/disk.img:ro" "$B" true
expect_error "reading a disk another VM writes: refused" 125 "lightvm: --disk $T/disk.img: in use by another VM" exact
kill "$BG_PID" 2>/dev/null
wait "$BG_PID" 2>/dev/null
BG_PID=""
run "$L" run --disk "$T/disk.img" "$B" true
expect "the disk is free again when that VM is gone" 0

# Data written before the VM is killed is in the file.
run "$L" run --timeout 0.5 --disk "$T/disk.img" "$B" sh -c 'printf SURVIVES 1<>/dev/vda; while :; do :; done'
if [ "$RC" -eq 124 ] && [ "$(head -c 8 "$T/disk.img")" = "SURVIVES" ]; then
    pass "a write to /dev/vda survives the VM being killed by --timeout"
else
    fail "a write to /dev/vda survives the VM being killed" "$(describe)" "head: $(head -c 8 "$T/disk.img" | od -c | head -1)"
fi
IN_DIR="$T/data" run "$L" run --timeout 0.5 --fs . "$B" sh -c 'echo kept > kept.txt; while :; do :; done'
if [ "$RC" -eq 124 ] && [ "$(cat "$T/data/kept.txt" 2>/dev/null)" = "kept" ]; then
    pass "a write to a share file survives the VM being killed by --timeout"
else
    fail "a write to a share file survives the VM being killed" "$(describe)"
fi
rm -f "$T/data/kept.txt"

# --- Errors: one line on stderr, 125 ----------------------------------------------------

run "$L" run --fs "$T/missing" "$B" true
expect_error "--fs on a missing directory" 125 "lightvm: --fs $T/missing: No such file or directory" exact
run "$L" run --fs /dev/null:/x "$B" true
expect_error "--fs on a device node" 125 "lightvm: --fs /dev/null: not a directory or regular file" exact
run "$L" run --rootfs "$T/data/a.txt" "$B" true
expect_error "--rootfs on a file" 125 "not a directory (the guest's / must be one)"

# --- A single file: --fs FILE:GUESTPATH[:ro], as `docker run -v FILE:PATH` ----------------
# The sandboxed monitor (Landlock: file rights on that file only) reads and
# writes it; its siblings stay out of reach; ro refuses writes.
mkdir -p "$T/one"
echo "the bound file" >"$T/one/bound"
echo "a sibling" >"$T/one/sibling"
run "$L" run --fs "$T/one/bound:/etc/app.conf" "$B" sh -c 'cat /etc/app.conf; echo appended >>/etc/app.conf; cat /etc/app.conf/../sibling; ls /etc/app.conf/ 2>&1; true'
if [ "$RC" -eq 0 ] && [ "$(head -1 "$T/out")" = "the bound file" ] && [ "$(cat "$T/one/bound")" = "the bound file
appended" ] && ! grep -q "a sibling" "$T/out" && grep -q "Not a directory" "$T/out"; then
    pass "--fs FILE:PATH: read and appended to through the sandbox; its sibling unreachable"
else
    fail "--fs FILE:PATH" "$(describe)" "host file: $(cat "$T/one/bound")"
fi
run "$L" run --fs "$T/one/bound:/bound:ro" "$B" sh -c 'cat /bound; echo x >/bound'
if [ "$RC" -ne 0 ] && [ "$(head -1 "$T/out")" = "the bound file" ] && grep -q "Read-only file system" "$T/err" &&
    [ "$(head -1 "$T/one/bound")" = "the bound file" ]; then
    pass "--fs FILE:PATH:ro: reads, refuses writes (EROFS)"
else
    fail "--fs FILE:PATH:ro" "$(describe)"
fi
run "$L" run --fs "$T/missing:/data:ro" "$B" true
expect_error "--fs DIR:GUEST:ro on a missing directory" 125 "lightvm: --fs $T/missing: No such file or directory" exact
run "$L" run --rootfs "$T/missing" "$B" true
expect_error "--rootfs on a missing directory" 125 "lightvm: --fs $T/missing: No such file or directory" exact
run "$L" run --disk "$T/missing.img" "$B" true
expect_error "--disk on a missing file" 125 "lightvm: --disk $T/missing.img: No such file or directory" exact
[ ! -e "$T/missing.img" ] && pass "a missing --disk file is not created" || fail "a missing --disk file is not created"
run "$L" run --disk "$T/data" "$B" true
if [ "$RC" -eq 125 ] && [ "$ERR_LINES" -eq 1 ] && [ "${ERR#lightvm: --disk $T/data: }" != "$ERR" ]; then
    pass "--disk on a directory: one line, 125 ($ERR)"
else
    fail "--disk on a directory: one line, 125" "$(describe)"
fi
if [ "$(id -u)" -ne 0 ]; then
    printf 'x' >"$T/locked.img"
    chmod 000 "$T/locked.img"
    run "$L" run --disk "$T/locked.img" "$B" true
    expect_error "--disk without read permission" 125 "lightvm: --disk $T/locked.img: Permission denied"
elif command -v setpriv >/dev/null 2>&1; then
    # As root, drop to nobody for this one run: the disk is opened before
    # /dev/kvm, so nobody needs no KVM access to see the error.
    printf 'x' >"$T/locked.img"
    chmod 600 "$T/locked.img"
    run setpriv --reuid=65534 --regid=65534 --clear-groups "$L" run --disk "$T/locked.img" "$B" true
    if [ "$RC" -eq 126 ] || [ "$RC" -eq 127 ]; then
        echo "SKIPPED: nobody cannot execute $L here ($(head -c 200 "$T/err")): unreadable --disk not tested"
    else
        expect_error "--disk without read permission (as nobody)" 125 "lightvm: --disk $T/locked.img: Permission denied"
    fi
else
    echo "SKIPPED: running as root without setpriv, an unreadable --disk cannot be tested"
fi
run "$L" run --fs "$T/data:relative" "$B" true
if [ "$RC" -eq 2 ] || [ "$RC" -eq 125 ]; then
    if [ "$ERR_LINES" -eq 1 ]; then pass "--fs with a relative guest path: one-line usage error ($RC)"; else fail "--fs with a relative guest path: one line" "$(describe)"; fi
else
    fail "--fs with a relative guest path is refused" "$(describe)"
fi
run "$L" run --fs "$T/data:/x" --fs "$T/outside:/x" "$B" true
if { [ "$RC" -eq 2 ] || [ "$RC" -eq 125 ]; } && [ "$ERR_LINES" -eq 1 ]; then
    pass "two shares at one guest path: one-line error ($RC)"
else
    fail "two shares at one guest path: one-line error" "$(describe)"
fi

# --- Summary ---------------------------------------------------------------------------
# --- /proc/mounts lists the shares; df works on them ------------------------------
run "$L" run --fs "$T/data:/data:ro" "$B" cat /proc/mounts
expect "/proc/mounts lists a :ro share (and the tmpfs mounts)" 0 "lightvm-share0 /data lightvmfs ro 0 0
tmpfs /tmp tmpfs rw 0 0
tmpfs /dev/shm tmpfs rw 0 0"
run "$L" run --fs "$T/data:/data" "$B" df /data
case "$OUT" in
    *" /data") expect "df on a share" 0 ;;
    *) fail "df on a share" "$(describe)" ;;
esac

# --- A full host file system: ENOSPC reaches the guest ----------------------------
# A 64 KiB tmpfs in a private mount namespace (needs root or user namespaces).
mkdir -p "$T/full"
if unshare -m --propagation private true 2>/dev/null; then
    unshare -m --propagation private sh -c '
        mount -t tmpfs -o size=64k tmpfs "$1" || exit 99
        "$2" run --fs "$1" "$3" dd if=/dev/zero of="$1/big" bs=4k count=100 conv=fsync
    ' sh "$T/full" "$L" "$B" >"$T/out" 2>"$T/err"
    RC=$?
    if [ "$RC" -eq 99 ]; then
        echo "SKIPPED: cannot mount a tmpfs here (ENOSPC case)"
    elif [ "$RC" -ne 0 ] && grep -q "No space left on device" "$T/err"; then
        pass "a full host file system gives the guest ENOSPC"
    else
        fail "a full host file system gives the guest ENOSPC" "status $RC, stderr '$(head -c 300 "$T/err")'"
    fi
else
    echo "SKIPPED: no private mount namespace here (ENOSPC case)"
fi

[ "$KNOWN" -eq 0 ] || echo "$KNOWN known limitation(s) reported above (documented; not failures)"
harness_finish
