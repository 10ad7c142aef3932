#!/usr/bin/env bash
# --fs DIR:GUEST:mapped (docs/compat.md, "Users and permissions"): the
# owner, group and mode the guest sees live in each file's
# user.lightvm.owner attribute. chown/chmod change the attribute (and a
# safe host mode), never the host's owner; they persist across VMs; --user
# programs are checked against them; the guest cannot see or change the
# attribute; a passthrough share beside it behaves as before; and the
# monitor keeps no capabilities for a --user VM whose shares are all mapped.
#   mapped_owner_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
# Needs python3 (to read attributes on the host) and user.* attributes in
# $TMPDIR: skipped otherwise. The host-owner checks of the passthrough share
# and the kept capabilities need root and are skipped without it.

set -u
. "$(dirname "$0")/harness.sh"
harness_init mapped-owner-test "$@"
trap 'rm -rf "$T"' EXIT
if ! command -v python3 >/dev/null; then
    echo "SKIPPED: needs python3 to read extended attributes on the host"
    exit 77
fi
hostattr() {  # hostattr FILE [NAME]: the attribute's value, or "none"
    python3 -c 'import os, sys
try: print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())
except OSError: print("none")' "$1" "${2:-user.lightvm.owner}"
}
: >"$T/probe"
if ! python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.probe", b"1")' "$T/probe" 2>/dev/null; then
    echo "SKIPPED: $T has no user.* extended attributes"
    exit 77
fi
ME="$(id -u):$(id -g)"
ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1
D="$T/d" P="$T/p"
mkdir -p "$D" "$P" && chmod 755 "$D" "$P"
echo hello >"$D/f" && chmod 644 "$D/f"
echo pass >"$P/g" && chmod 644 "$P/g"

# 1. As the guest's root: chown and chmod, as ls and stat show them, next to
# what native Linux shows for the same commands on a file of its own.
run "$L" run --fs "$D:/d:mapped" "$BUSYBOX" sh -c \
    'cd /d && chown 1234:5678 f && chmod 4750 f && ls -ln f | awk "{print \$1, \$3, \$4}" && stat -c "%u %g %A %a" f'
expect "guest root: chown 1234:5678 and chmod 4750 show in ls -ln and stat" 0 "-rwsr-x--- 1234 5678
1234 5678 -rwsr-x--- 4750"
if [ "$ROOT" -eq 1 ]; then
    : >"$T/native" && chown 1234:5678 "$T/native" && chmod 4750 "$T/native"
    native="$(ls -ln "$T/native" | awk '{print $1, $3, $4}')
$(stat -c '%u %g %A %a' "$T/native")"
    if [ "$native" = "$OUT" ]; then pass "the same as native Linux shows"; else fail "native shows '$native', the guest '$OUT'"; fi
fi

# 2. A second VM sees the same (it is on the file), in a listing too.
run "$L" run --fs "$D:/d:mapped" "$BUSYBOX" sh -c \
    'stat -c "%u %g %A" /d/f && ls -ln /d | awk "\$NF == \"f\" {print \$1, \$3, \$4}" && chmod 600 /d/f && stat -c %a /d/f'
expect "a second VM: the same owner and mode, in stat and in a listing" 0 "1234 5678 -rwsr-x---
-rwsr-x--- 1234 5678
600"

# 3. On the host: the owner never changed, no set-user-ID bit, the attribute holds it.
if [ "$(stat -c %u:%g "$D/f")" = "$ME" ]; then
    pass "host: the file is still the invoking user's ($ME)"
else
    fail "host owner changed: $(stat -c %u:%g "$D/f")"
fi
if [ "$(stat -c %a "$D/f")" = 600 ]; then
    pass "host: mode 600 (the guest's 4750 then 600 never reached the host with a set-id bit)"
else
    fail "host mode $(stat -c %a "$D/f")"
fi
if [ "$(hostattr "$D/f")" = "1234:5678:600" ]; then
    pass "host: user.lightvm.owner is 1234:5678:600"
else
    fail "host attribute: $(hostattr "$D/f")"
fi

# 4. The guest can neither see nor change it (a host user.* attribute it can).
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.note", b"x")' "$D/f"
run "$L" run --fs "$D:/d:mapped" "$G/xattrs.glibc" owner /d/f
if [ "$RC" -eq 0 ] && echo "$OUT" | grep -qx "list: 10 bytes: user.note" &&
    echo "$OUT" | grep -qx "get /d/f user.lightvm.owner: -1 No data available" &&
    echo "$OUT" | grep -q "^setxattr(path, \"user.lightvm.owner\".* -1 Operation not permitted$" &&
    echo "$OUT" | grep -q "^removexattr(path, \"user.lightvm.owner\").* -1 Operation not permitted$"; then
    pass "guest: the attribute is not listed, not readable (ENODATA), not settable or removable (EPERM)"
else
    fail "guest view of the attribute" "$(describe)"
fi
if [ "$(hostattr "$D/f")" = "1234:5678:600" ]; then pass "host: the attribute is unchanged"; else fail "host attribute now $(hostattr "$D/f")"; fi

# 5. --user: the owner reads its 0600 file, another user is refused.
run "$L" run --user 1234:5678 --fs "$D:/d:mapped" "$BUSYBOX" cat /d/f
expect "--user 1234 reads the file it owns (0600)" 0 "hello"
run "$L" run --user 999 --fs "$D:/d:mapped" "$BUSYBOX" sh -c 'cat /d/f; echo rc=$?'
if [ "$OUT" = "rc=1" ] && echo "$ERR" | grep -q "Permission denied"; then
    pass "--user 999: Permission denied"
else
    fail "--user 999 reading another user's 0600 file" "$(describe)"
fi

# 6. A directory: mkdir and chown by root, then a --user program makes files
# and directories in it: theirs inside, the invoking user's outside.
run "$L" run --fs "$D:/d:mapped" "$BUSYBOX" sh -c 'mkdir -m 750 /d/home && chown 1234:5678 /d/home && stat -c "%u %g %A" /d/home'
expect "mkdir and chown of a directory" 0 "1234 5678 drwxr-x---"
run "$L" run --user 1234:5678 --fs "$D:/d:mapped" "$BUSYBOX" sh -c \
    'cd /d/home && echo mine >mine && mkdir sub && stat -c "%u %g %a %n" mine sub && id -u'
expect "--user 1234 creates a file and a directory: shown as its own" 0 "1234 5678 644 mine
1234 5678 755 sub
1234"
if [ "$(stat -c %u:%g "$D/home/mine")" = "$ME" ] && [ "$(stat -c %u:%g "$D/home/sub")" = "$ME" ] &&
    [ "$(hostattr "$D/home/mine")" = "1234:5678:644" ]; then
    pass "host: the --user files are the invoking user's, with the guest's ids in the attribute"
else
    fail "host view of --user files: $(stat -c %u:%g:%a "$D/home/mine" "$D/home/sub" | tr '\n' ' ') $(hostattr "$D/home/mine")"
fi
run "$L" run --user 999 --fs "$D:/d:mapped" "$BUSYBOX" sh -c 'ls /d/home; echo rc=$?'
if [ "$OUT" = "rc=1" ] && echo "$ERR" | grep -q "Permission denied"; then
    pass "--user 999 cannot list a 0750 directory of user 1234"
else
    fail "--user 999 listing /d/home" "$(describe)"
fi

# 7. Symlinks cannot carry the attribute: they show the host owner; lchown
# to other ids is EOPNOTSUPP, to the shown ones fine.
run "$L" run --fs "$D:/d:mapped" "$BUSYBOX" sh -c \
    'cd /d && ln -s f l && stat -c "%u:%g" l >owner && chown -h 42:42 l; echo rc=$?; chown -h "$(cat owner)" l; echo rc=$?; cat owner'
if [ "$OUT" = "rc=1
rc=0
$ME" ] && echo "$ERR" | grep -q "not supported"; then
    pass "a symlink shows its host owner; lchown elsewhere is EOPNOTSUPP"
else
    fail "symlink ownership in a mapped share" "$(describe)"
fi

# 8. A passthrough share in the same VM behaves as before: the sandboxed
# monitor of a guest root has no CAP_CHOWN, so chown there is the host's
# EPERM, while the mapped share takes it.
run "$L" run --fs "$D:/d:mapped" --fs "$P:/p" "$BUSYBOX" sh -c \
    'touch /d/x && chown 1234:5678 /d/x && stat -c "%u:%g" /d/x && chown 1234:5678 /p/g; echo rc=$?'
if [ "$OUT" = "1234:5678
rc=1" ] && echo "$ERR" | grep -q "/p/g: Operation not permitted"; then
    pass "one VM: chown in the mapped share works, in the passthrough share it is the host's EPERM"
else
    fail "chown in a mapped and a passthrough share of one VM" "$(describe)"
fi
if [ "$(stat -c %u:%g "$D/x")" = "$ME" ] && [ "$(stat -c %u:%g "$P/g")" = "$ME" ] && [ "$(hostattr "$P/g")" = none ]; then
    pass "host: neither file changed owner; the passthrough one has no attribute"
else
    fail "host: $(stat -c %u:%g "$D/x") $(stat -c %u:%g "$P/g") $(hostattr "$P/g")"
fi
if [ "$ROOT" -eq 1 ]; then
    # As root the passthrough share still hands owners to the host: what a
    # --user program creates there is its own on the host (the monitor keeps
    # CAP_CHOWN for it), and without the sandbox a guest root's chown lands.
    mkdir "$P/home" && chown 1234:5678 "$P/home"
    run "$L" run --user 1234:5678 --fs "$D:/d:mapped" --fs "$P:/p" "$BUSYBOX" sh -c \
        'echo a >/d/home/both && echo b >/p/home/both && stat -c "%u:%g" /d/home/both /p/home/both'
    if [ "$OUT" = "1234:5678
1234:5678" ] && [ "$(stat -c %u:%g "$D/home/both")" = "$ME" ] &&
        [ "$(stat -c %u:%g "$P/home/both")" = "1234:5678" ]; then
        pass "--user in one VM: its file is 1234 on the host in the passthrough share, $ME in the mapped one"
    else
        fail "--user files in a mapped and a passthrough share" "$(describe)" \
            "host: $(stat -c %u:%g "$D/home/both" "$P/home/both" | tr '\n' ' ')"
    fi
    run "$L" run --no-sandbox --fs "$D:/d:mapped" --fs "$P:/p" "$BUSYBOX" chown 1234:5678 /p/g /d/x
    if [ "$RC" -eq 0 ] && [ "$(stat -c %u:%g "$P/g")" = "1234:5678" ] && [ "$(stat -c %u:%g "$D/x")" = "$ME" ]; then
        pass "--no-sandbox as root: chown changes the passthrough share's host owner, not the mapped one's"
    else
        fail "--no-sandbox chown" "$(describe)" "host: $(stat -c %u:%g "$P/g" "$D/x" | tr '\n' ' ')"
    fi
fi

# 9. The monitor keeps no capabilities for a --user VM with only mapped
# shares; with a passthrough share a root monitor keeps the five file ones.
capeff_of_running_monitor() {
    "$L" run "$@" "$G/hostile.glibc" spin >/dev/null 2>&1 &
    local pid=$! i
    for i in $(seq 50); do
        grep -q "^Seccomp:.*2" /proc/$pid/status 2>/dev/null && break
        sleep 0.05
    done
    sleep 0.3
    awk '/^CapEff:/ {print $2}' /proc/$pid/status
    kill -TERM $pid
    wait $pid 2>/dev/null
}
got=$(capeff_of_running_monitor --user 1234 --fs "$D:/d:mapped")
if [ "$got" = 0000000000000000 ]; then
    pass "--user with only mapped shares: the monitor keeps no capabilities"
else
    fail "--user with only mapped shares: CapEff $got"
fi
if [ "$ROOT" -eq 1 ]; then
    got=$(capeff_of_running_monitor --user 1234 --fs "$D:/d:mapped" --fs "$P:/p")
    if [ "$got" = 000000000000001f ]; then
        pass "--user with a passthrough share: a root monitor keeps the five file capabilities"
    else
        fail "--user with a passthrough share: CapEff $got"
    fi
fi

# 10. Bad options: one line naming the problem.
run "$L" run --fs "$D:/d:mappd" "$BUSYBOX" true
expect_error "--fs DIR:/d:mappd" 2 "unknown option 'mappd'"
run "$L" run --fs "$D:/d:mapped,passthrough" "$BUSYBOX" true
expect_error "--fs DIR:/d:mapped,passthrough" 2 "'mapped' and 'passthrough' conflict"
run "$L" run --fs "/proc:/p:mapped" "$BUSYBOX" true
expect_error "--fs /proc:/p:mapped (no user.* attributes there)" 125 \
    "mapped ownership needs user.* extended attributes, which this file system lacks"
harness_finish
