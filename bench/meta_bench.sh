#!/bin/bash
# Metadata speed over a big tree (issue 11's benchmark): `find DIR -xdev |
# wc -l` and `du -s DIR` over a share holding a copy of /usr/share, natively
# and in lightvm, alternating in the same run. Prints medians of whole-run
# wall time (lightvm's ~2-4 ms start included), the ratio, and the share
# requests and VM exits per directory entry (`lightvm run --stats`).
#
# Both sides run the commands under busybox sh (its applets, no exec).
#
# usage: meta_bench.sh LIGHTVM [RUNS] [SOURCE_DIR]
# SHARE_OPTS=mapped: share the tree as --fs TREE:mapped (the mapped
# ownership model: one getxattr per file in every stat and listing).
set -eu
L=$(realpath "$1")
RUNS=${2:-5}
SRC=${3:-/usr/share}
BB=/usr/bin/busybox
[ -x "$BB" ] || { echo "busybox-static is needed" >&2; exit 1; }

T=$(mktemp -d /var/tmp/lightvm-metabench.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -a "$SRC" "$T/tree"
# The monitor gives up CAP_DAC_OVERRIDE (docs/security.md); a native root
# walk keeps it. Make every directory readable so both walk the same tree.
chmod -R a+rX "$T/tree" 2>/dev/null || true
ENTRIES=$("$BB" find "$T/tree" -xdev | wc -l)
echo "tree: copy of $SRC, $ENTRIES entries${SHARE_OPTS:+, shared with :$SHARE_OPTS}"
SHARE="$T/tree${SHARE_OPTS:+:$SHARE_OPTS}"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stat_of() { awk -v k="$2" '$1 == k {print $2; exit}' "$1"; }
requests() { sed -n 's/^ *share requests *\([0-9]*\).*/\1/p' "$1"; }

echo "| workload | native ms | lightvm ms | ratio | share requests | per entry | VM exits | guest syscalls |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row() {
    local name=$1
    shift
    local tn=() tv=() rq=() ex=() sc=() t0 t1
    for _ in $(seq "$RUNS"); do
        t0=$(now); $BB sh -c "$*" >/dev/null 2>&1; t1=$(now); tn+=($(( (t1 - t0) / 1000 )))
        t0=$(now); "$L" run --stats --fs "$SHARE" -- $BB sh -c "$*" >/dev/null 2>"$T/stats" || true
        t1=$(now); tv+=($(( (t1 - t0) / 1000 )))
        rq+=("$(requests "$T/stats")"); ex+=("$(stat_of "$T/stats" exits)")
        sc+=("$(awk '/guest syscalls/ {print $3; exit}' "$T/stats")")
    done
    local mn mv mr me ms
    mn=$(printf '%s\n' "${tn[@]}" | median); mv=$(printf '%s\n' "${tv[@]}" | median)
    mr=$(printf '%s\n' "${rq[@]}" | median); me=$(printf '%s\n' "${ex[@]}" | median)
    ms=$(printf '%s\n' "${sc[@]}" | median)
    echo "| $name | $((mn / 1000)) | $((mv / 1000)) | $(awk -v a="$mv" -v b="$mn" 'BEGIN {printf "%.2fx", a / b}') | $mr | $(awk -v r="$mr" -v e="$ENTRIES" 'BEGIN {printf "%.3f", r / e}') | $me | $ms |"
}
row "find -xdev, piped to wc -l" "find $T/tree -xdev | wc -l"
row "du -s" "du -s $T/tree"
