#!/usr/bin/env bash
# lightvm run --user: a non-root program gets Linux's permission checks in
# shares and in the tmpfs, and owns what it creates. Compared with a native
# run of the same program as the same user (setpriv), over the same fixture.
#   users_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
# Needs root (the fixture has files of two owners): skipped otherwise.

set -u
. "$(dirname "$0")/harness.sh"
harness_init users-test "$@"
trap 'rm -rf "$T"' EXIT
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
    echo "SKIPPED: needs root and setpriv (util-linux) to make a fixture of two owners"
    exit 77
fi
U=4321 GR=4322
PROG="$T/perms"
cp "$G/perms.glibc" "$PROG" && chmod 755 "$PROG"

# fixture DIR: the files perms.c expects, as root.
fixture() {
    local d=$1
    rm -rf "$d" && mkdir -p "$d" && chmod 755 "$d"
    echo secret >"$d/root600" && chmod 600 "$d/root600"
    echo mine >"$d/mine600" && chown $U:$GR "$d/mine600" && chmod 600 "$d/mine600"
    echo public >"$d/root644" && chmod 644 "$d/root644"
    echo group >"$d/group640" && chown 0:$GR "$d/group640" && chmod 640 "$d/group640"
    mkdir "$d/secret" && echo inner >"$d/secret/inner" && chmod 700 "$d/secret"
    mkdir "$d/sticky" && chmod 1777 "$d/sticky" && echo r >"$d/sticky/rootfile" && chmod 644 "$d/sticky/rootfile"
    mkdir "$d/rodir" && chmod 755 "$d/rodir"
    mkdir "$d/mydir" && chown $U:$GR "$d/mydir" && chmod 755 "$d/mydir"
}

fixture "$T/fx"
(cd / && setpriv --reuid $U --regid $GR --groups $GR "$PROG" "$T/fx") >"$T/native" 2>&1
NATIVE_RC=$?
fixture "$T/fx"
run "$L" run --user $U:$GR --fs "$T/fx" "$PROG" "$T/fx"
if [ "$RC" -eq 0 ] && [ "$NATIVE_RC" -eq 0 ] && [ "$OUT" = "$(cat "$T/native")" ]; then
    pass "perms as uid $U: the same as a native run ($(wc -l <"$T/native") checks)"
else
    fail "perms as uid $U differs from native (rc $RC, native $NATIVE_RC)" \
        "$(diff <(cat "$T/native") <(echo "$OUT") | head -30)" "$(head -3 "$T/err")"
fi
for line in "open root600 r .*EACCES" "create mydir/new .*ok" "mydir/new owned by me .*yes" \
    "unlink sticky/rootfile (sticky) .*EPERM" "capabilities effective 0 permitted 0"; do
    if grep -q "$line" "$T/native"; then pass "native run says: $line"; else fail "native run lacks: $line"; fi
done

# What a user types: a shell script writes, appends to and reads back its
# own file in a share it owns a directory of; a root-only file stays closed.
fixture "$T/fx"
run "$L" run --user $U:$GR --fs "$T/fx" "$BUSYBOX" sh -c \
    "cd $T/fx/mydir && echo one >f && echo two >>f && cat f && id -u && cat ../root600; echo rc=\$?"
expect "busybox sh as uid $U: own files work, root's 0600 file does not" 0 "one
two
$U
rc=1"
if [ "$(stat -c %u:%g "$T/fx/mydir/f")" = "$U:$GR" ]; then
    pass "a file the guest user made is theirs on the host too"
else
    fail "owner of the guest user's file on the host: $(stat -c %u:%g "$T/fx/mydir/f")"
fi

# Bad input: one line naming the option.
run "$L" run --user bob "$G/noop.glibc"
expect_error "--user bob (names are not looked up)" 2 "--user: 'bob' is not a numeric id"
run "$L" run --user 1:x "$G/noop.glibc"
expect_error "--user 1:x" 2 "--user: 'x' is not a numeric id"
# Root stays root: no --user, the same program sees every capability.
run "$L" run --fs "$T/fx" "$PROG" "$T/fx"
if echo "$OUT" | grep -q "^uid 0 euid 0" && echo "$OUT" | grep -q "open root600 r .*ok"; then
    pass "without --user the program is root with its overrides"
else
    fail "without --user: $(echo "$OUT" | head -3)"
fi
harness_finish
