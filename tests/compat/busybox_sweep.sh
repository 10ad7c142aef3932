#!/usr/bin/env bash
# The busybox applet sweep (issue 11): every applet of Debian's busybox-static
# with the command line in busybox_applets.tsv, run inside lightvm and
# natively over identical copies of one fixture, compared on stdout, exit
# status and the directory tree afterwards. Prints one line per applet that
# differs and a summary:
#
#   busybox sweep: N/M applets identical to native (L not meaningful in a VM)
#
# usage: busybox_sweep.sh [-v] [--min N] LIGHTVM [BUSYBOX]
#   -v       show each difference
#   --min N  fail (exit 1) when fewer than N applets are identical: the
#            test suite's regression floor (docs/compat.md has the count)
# Exit status: 0 when it ran (and met --min), 1 below --min, 2 on bad usage,
# 77 when KVM or busybox is missing (SKIPPED, as the test suite reports it).
set -u
VERBOSE=0 MIN=0
while [ $# -gt 0 ]; do
    case "$1" in
    -v) VERBOSE=1; shift ;;
    --min) MIN=${2:?--min needs a number}; shift 2 ;;
    -*) echo "busybox_sweep: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
LIGHTVM=${1:?usage: busybox_sweep.sh [-v] [--min N] LIGHTVM [BUSYBOX]}
BUSYBOX=${2:-/usr/bin/busybox}
# Absolute: each run starts in its own copy of the fixture.
case "$LIGHTVM" in /*) ;; *) LIGHTVM=$PWD/$LIGHTVM ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
TABLE=$HERE/busybox_applets.tsv

[ -x "$LIGHTVM" ] || { echo "busybox_sweep: $LIGHTVM is not executable" >&2; exit 2; }
[ -x "$BUSYBOX" ] || { echo "SKIPPED: $BUSYBOX missing (busybox-static)"; exit 77; }
[ -r /dev/kvm ] || { echo "SKIPPED: /dev/kvm not available"; exit 77; }

# Not below /tmp: a share there would replace the guest's tmpfs /tmp.
WORK=$(mktemp -d /var/tmp/lightvm-sweep-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# The fixture: small text files, a binary, a tree, links, archives. Archives
# busybox cannot make itself are embedded (base64) so the sweep needs nothing
# beyond busybox.
make_fixture() {
    local d=$1 bb=$BUSYBOX
    mkdir -p "$d" && cd "$d" || exit 1
    printf 'banana\napple\ncherry\napple\n' > a.txt
    printf 'apple\nbanana\ndate\n' > b.txt
    printf 'apple\napple\nbanana\ncherry\n' > sorted.txt
    printf 'one\r\ntwo\r\n' > dos.txt
    printf 'a\tb\t\tc\n        d   e\n' > tabs.txt
    i=0; while [ $i -lt 256 ]; do printf "\\$(printf %03o $(( (i * 37 + 11) % 256 )))"; i=$((i + 1)); done > data.bin
    cat data.bin data.bin data.bin data.bin > data4.bin && mv data4.bin data.bin
    mkdir -p dir/sub empty
    printf 'x\n' > dir/x
    printf 'y an\n' > dir/sub/y
    ln -s a.txt link
    ln -s dir sym-dir
    printf '2^64\nscale=5\n1/3\n' > calc.bc
    printf '2d\nw\nq\n' > ed.cmds
    printf -- '--- a.txt\n+++ a.txt\n@@ -1,2 +1,2 @@\n-banana\n+BANANA\n apple\n' > fix.patch
    printf 'cd dir/sub\npwd\ncd ../..\nfor f in *.txt; do echo "file $f"; done\nread -r x y <<EOF\n1 2\nEOF\necho "sum $((x + y))"\n[ -d dir ] && echo yes\nexit 3\n' > script.sh
    : > vi.keys
    printf 'secret data\n' > shred.me
    "$bb" gzip -n -c a.txt > a.txt.gz
    "$bb" bzip2 -c a.txt > a.txt.bz2
    echo '/Td6WFoAAATm1rRGAgAhARYAAAB0L+Wj4AAZABddADEYSiv+pMtXBSw9ozpeihGZFMQ4+AAAAACdDnrGfmjQ3wABMxphKY8pH7bzfQEAAAAABFla' | "$bb" base64 -d > a.txt.xz
    echo 'XQAAgAD//////////wAxGEor/qTLVwUsPaM6XooRmRTEOjkTc///ZMAAAA==' | "$bb" base64 -d > a.txt.lzma
    echo 'UEsDBAoAAAAAAIMYIlAfCOpGAgAAAAIAAAADAAAAei94eApQSwECHgMKAAAAAACDGCJQHwjqRgIAAAACAAAAAwAAAAAAAAABAAAApIEAAAAAei94UEsFBgAAAAABAAEAMQAAACMAAAAAAA==' | "$bb" base64 -d > archive.zip
    "$bb" uuencode a.txt a.txt > a.txt.uu
    find dir | sort | "$bb" cpio -o -H newc 2>/dev/null > archive.cpio
    # A one-member ar archive ("!<arch>" + a 60-byte header + the data).
    printf '!<arch>\n%-16s%-12s%-6s%-6s%-8s%-10s`\nx\n' x/ 0 0 0 100644 2 > archive.a
    find . -exec touch -h -d '2020-01-02 03:04:05' {} +
    "$bb" tar -cf archive.tar dir
    touch -h -d '2020-01-02 03:04:05' archive.tar .
}

# What a tree holds: names, types, sizes, modes, link targets, contents.
snapshot() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
        if [ -L "$p" ]; then echo "$p -> $(readlink "$p")"
        elif [ -d "$p" ]; then echo "$p/ $(stat -c %a "$p")"
        elif [ -f "$p" ]; then echo "$p $(stat -c '%s %a' "$p") $(cksum < "$p")"
        else echo "$p $(stat -c '%F %a' "$p")"; fi
    done)
}

make_fixture "$WORK/fixture"
identical=0 compared=0 spawn=0 spawn_ok=0 na=0
declare -a failed=()
while IFS=$'\t' read -r applet kind input args; do
    case "$applet" in ''|'#'*) continue ;; esac
    case "$kind" in
    na:*) na=$((na + 1)); continue ;;
    esac
    rm -rf "$WORK/vm" "$WORK/native"
    cp -a "$WORK/fixture" "$WORK/native" && cp -a "$WORK/fixture" "$WORK/vm"
    cd "$WORK" || exit 1
    eval "set -- $args"
    stdin=/dev/null
    [ "$input" != "-" ] && stdin=$input
    # The VM sees its copy at the native copy's path: paths print the same.
    (cd "$WORK/vm" && "$LIGHTVM" run --timeout 10 --fs "$WORK/vm:$WORK/native" -w "$WORK/native" \
        "$BUSYBOX" "$applet" "$@" < "$stdin" 2> "$WORK/vm.err" | head -c 65536 > "$WORK/vm.out"
        exit "${PIPESTATUS[0]}")
    vm_rc=$?
    (cd "$WORK/native" && env -i timeout 10 "$BUSYBOX" "$applet" "$@" < "$stdin" 2> "$WORK/native.err" \
        | head -c 65536 > "$WORK/native.out"; exit "${PIPESTATUS[0]}")
    native_rc=$?
    [ "$native_rc" -eq 124 ] && native_rc=124
    same=1
    if [ "$kind" = rc ]; then
        [ "$(wc -l < "$WORK/vm.out")" = "$(wc -l < "$WORK/native.out")" ] || same=0
    else
        cmp -s "$WORK/vm.out" "$WORK/native.out" || same=0
        [ "$(snapshot "$WORK/vm")" = "$(snapshot "$WORK/native")" ] || same=0
    fi
    [ "$vm_rc" -eq "$native_rc" ] || same=0
    case "$kind" in
    spawn:*)
        spawn=$((spawn + 1))
        [ $same = 1 ] && spawn_ok=$((spawn_ok + 1))
        continue ;;
    esac
    compared=$((compared + 1))
    if [ $same = 1 ]; then
        identical=$((identical + 1))
    else
        failed+=("$applet")
        echo "differs: $applet $args (status $vm_rc, native $native_rc)"
        if [ $VERBOSE = 1 ]; then
            diff <(cat "$WORK/vm.out" "$WORK/vm.err") <(cat "$WORK/native.out" "$WORK/native.err") | head -10
            diff <(snapshot "$WORK/vm") <(snapshot "$WORK/native") | head -6
        fi
    fi
done < "$TABLE"

spawned=""
[ "$spawn" -gt 0 ] && spawned="$spawn need fork/exec, $spawn_ok of them identical already; "
echo "busybox sweep: $identical/$compared applets identical to native (${spawned}$na not meaningful in a VM)"
if [ "$identical" -lt "$MIN" ]; then
    echo "busybox sweep: FAILED: fewer than the $MIN identical applets recorded in docs/compat.md"
    exit 1
fi
exit 0
