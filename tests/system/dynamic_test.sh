#!/bin/bash
# Real dynamically linked Debian programs (issue 8) with the host's own / as
# the guest's root, read-only: each runs natively and in lightvm on the same
# inputs, and stdout and the exit status must be identical.
#   usage: dynamic_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
set -u
. "$(dirname "$0")/harness.sh"
harness_init dynamic "$@"
trap 'rm -rf "$T"' EXIT

# Inputs: a small tree in a writable share, the same path inside the guest.
D=$T/data
mkdir -p "$D/sub/deeper"
for i in $(seq 1 300); do echo "$(( (i * 7919) % 1000 )) line $i alpha beta" >> "$D/numbers.txt"; done
printf 'pear\napple\nfig\nbanana\napple\n' > "$D/fruit.txt"
printf 'needle in sub\n' > "$D/sub/a.txt"
printf 'no match\nneedle deeper\n' > "$D/sub/deeper/b.txt"
head -c 300000 /dev/urandom > "$D/random.bin"
touch -d '2024-01-02 03:04:05 UTC' "$D"/*.txt "$D/random.bin" "$D/sub" "$D/sub/a.txt" "$D/sub/deeper" "$D/sub/deeper/b.txt"

ENV=(PATH=/usr/bin:/bin LC_ALL=C TZ=UTC HOME=/tmp)
GUEST=("$L" run --rootfs /:ro --fs "$T" -w "$T")
for e in "${ENV[@]}"; do GUEST+=(--env "$e"); done

# Is there dynamic loading at all? Say so in one line rather than 15 failures.
run "${GUEST[@]}" /bin/true
if [ "$RC" -ne 0 ]; then
    fail "dynamically linked programs run (/bin/true)" "$(describe)"
    echo "dynamically linked programs do not run in lightvm yet: $(head -c 200 "$T/err")"
    harness_finish
    exit 1
fi
pass "dynamically linked programs run (/bin/true)"

# same NAME [--sort] CMD...: native and guest stdout (sorted with --sort,
# for directory order) and status must match.
same() {
    local name=$1 sort=cat
    shift
    if [ "$1" = --sort ]; then sort="sort"; shift; fi
    local prog
    prog=$(PATH=/usr/bin:/bin command -v "$1") || { fail "$name" "$1 is not installed (scripts/install-deps.sh)"; return; }
    shift
    set -- "$prog" "$@"  # lightvm takes a path, as execve does
    (cd "$T" && timeout -s KILL 60 env -i "${ENV[@]}" "$@" < /dev/null 2>"$T/native.err" | $sort > "$T/native.out"; exit "${PIPESTATUS[0]}")
    local native_rc=$?
    run "${GUEST[@]}" "$@"
    $sort "$T/out" > "$T/guest.out"
    if [ "$RC" -ne "$native_rc" ]; then
        fail "$name" "status $RC in lightvm, $native_rc natively" "$(describe)"
    elif ! cmp -s "$T/native.out" "$T/guest.out"; then
        fail "$name" "stdout differs from the native run:" "$(diff "$T/native.out" "$T/guest.out" | head -5)"
    else
        pass "$name"
    fi
}

same "ls -l" ls -l "$D"
same "ls -l /usr/bin (large directory, user names)" ls -l /usr/bin
same "sort" sort "$D/fruit.txt"
same "sort -n -k1" sort -n -k1 "$D/numbers.txt"
same "sha256sum" sha256sum "$D/random.bin" "$D/numbers.txt"
same "gzip -c -n" gzip -c -n "$D/random.bin"
tar -cf "$T/ref.tar" -C "$D" --sort=name --mtime='2024-01-02 00:00Z' --owner=0 --group=0 --numeric-owner .
same "tar -tvf" tar -tvf "$T/ref.tar"
same "tar -cf to stdout" tar -cf - -C "$D" --sort=name --mtime='2024-01-02 00:00Z' --owner=0 --group=0 --numeric-owner .
same "find" --sort find "$D" -name '*.txt'
same "grep -r" --sort grep -r needle "$D"
same "mawk" mawk '{ s += $1; n++ } END { print s, n, s / n }' "$D/numbers.txt"
same "sed" sed -e 's/alpha/ALPHA/; /line 1[0-9]$/d' "$D/numbers.txt"
same "perl -e" perl -e 'my %h; $h{$_ % 7}++ for 1..1000; print join(",", map { "$_=$h{$_}" } sort keys %h), "\n"'
same "python3 -c json" python3 -c 'import json; print(json.dumps({"a": [1, 2, {"b": None}]}, sort_keys=True))'
same "python3 -c hashlib" python3 -c 'import hashlib; print(hashlib.sha256(b"lightvm" * 1000).hexdigest(), hashlib.md5(b"x").hexdigest())'
same "python3 -c sqlite3 in memory" python3 -c '
import sqlite3
db = sqlite3.connect(":memory:")
db.execute("create table t (k integer primary key, v text)")
db.executemany("insert into t (v) values (?)", [(str(i * i),) for i in range(1000)])
print(db.execute("select count(*), sum(length(v)), max(k) from t").fetchone())'
same "python3 -c zlib" python3 -c 'import zlib; d = bytes(range(256)) * 400; c = zlib.compress(d, 9); print(len(c), zlib.crc32(d), zlib.decompress(c) == d)'
same "python3 -c decimal" python3 -c 'from decimal import Decimal, getcontext; getcontext().prec = 50; print(Decimal(1) / Decimal(7), Decimal(2).sqrt())'
same "python3 os.cpu_count" python3 -c 'import os; print(os.cpu_count() >= 1)'

harness_finish
