#!/bin/bash
# File and block I/O through lightvm against the same busybox run natively,
# alternating in the same run. Prints medians, the ratio and VM exits per
# MiB / per operation (from `lightvm run --stats`).
#
# usage: io_bench.sh LIGHTVM [SIZE_MIB] [FILES] [RUNS]
set -eu
L=$(realpath "$1")
SIZE=${2:-256}
FILES=${3:-10000}
RUNS=${4:-5}
BB=/usr/bin/busybox
[ -x "$BB" ] || { echo "busybox-static is needed" >&2; exit 1; }

T=$(mktemp -d /var/tmp/lightvm-iobench.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/data" "$T/tree"
head -c $((SIZE << 20)) /dev/urandom > "$T/data/big"
truncate -s $((SIZE << 20)) "$T/disk.img"
dd if="$T/data/big" of="$T/disk.img" bs=1M conv=notrunc status=none
for d in $(seq 0 99); do
    mkdir "$T/tree/d$d"
    for f in $(seq 0 $((FILES / 100 - 1))); do echo "$d $f" > "$T/tree/d$d/f$f"; done
done

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_pair NAME UNITS UNIT_NAME NATIVE_CMD -- VM_ARGS...
declare -a ROWS
run_pair() {
    local name=$1 units=$2 unit=$3 native=$4
    shift 4
    local tn=() tv=() ts=() exits=() t0 t1
    for _ in $(seq "$RUNS"); do
        sync
        t0=$(now); bash -c "$native" >/dev/null 2>&1; t1=$(now); tn+=($(( (t1 - t0) / 1000 )))
        sync
        t0=$(now); "$L" run --stats "$@" >/dev/null 2>"$T/stats"; t1=$(now); tv+=($(( (t1 - t0) / 1000 )))
        exits+=($(awk '/exits/ {print $2}' "$T/stats"))
        sync  # the same without the monitor's sandbox (docs/security.md)
        t0=$(now); "$L" run --no-sandbox "$@" >/dev/null 2>&1; t1=$(now); ts+=($(( (t1 - t0) / 1000 )))
    done
    local mn mv me ms
    mn=$(printf '%s\n' "${tn[@]}" | median)
    mv=$(printf '%s\n' "${tv[@]}" | median)
    ms=$(printf '%s\n' "${ts[@]}" | median)
    me=$(printf '%s\n' "${exits[@]}" | median)
    ROWS+=("| $name | $((mn / 1000)) | $((mv / 1000)) | $(awk -v a="$mv" -v b="$mn" 'BEGIN {printf "%.2fx", a / b}') | $me | $(awk -v e="$me" -v u="$units" 'BEGIN {printf "%.2f", e / u}') per $unit | $((ms / 1000)) | $(awk -v a="$mv" -v b="$ms" 'BEGIN {printf "%.3fx", a / b}') |")
}

cd "$T"
run_pair "seq read ${SIZE} MiB, --fs (dd bs=1M)" "$SIZE" MiB \
    "$BB dd if=$T/data/big of=/dev/null bs=1M" \
    --fs "$T/data" $BB dd if="$T/data/big" of=/dev/null bs=1M
run_pair "seq read ${SIZE} MiB, --fs (sha256sum, 4 KiB reads)" "$SIZE" MiB \
    "$BB sha256sum $T/data/big" \
    --fs "$T/data" $BB sha256sum "$T/data/big"
run_pair "seq write ${SIZE} MiB, --fs (dd bs=1M, fsync)" "$SIZE" MiB \
    "$BB dd if=/dev/zero of=$T/data/out bs=1M count=$SIZE conv=fsync" \
    --fs "$T/data" $BB dd if=/dev/zero of="$T/data/out" bs=1M count="$SIZE" conv=fsync
run_pair "seq write ${SIZE} MiB, --fs (dd bs=4k, fsync)" "$SIZE" MiB \
    "$BB dd if=/dev/zero of=$T/data/out bs=4k count=$((SIZE * 256)) conv=fsync" \
    --fs "$T/data" $BB dd if=/dev/zero of="$T/data/out" bs=4k count=$((SIZE * 256)) conv=fsync
run_pair "copy ${SIZE} MiB, --fs (cp)" "$SIZE" MiB \
    "$BB cp $T/data/big $T/data/copy" \
    --fs "$T/data" $BB cp "$T/data/big" "$T/data/copy"
run_pair "seq read ${SIZE} MiB, --disk (dd bs=1M)" "$SIZE" MiB \
    "$BB dd if=$T/disk.img of=/dev/null bs=1M" \
    --disk "$T/disk.img" $BB dd if=/dev/vda of=/dev/null bs=1M
run_pair "seq write ${SIZE} MiB, --disk (dd bs=1M, fsync)" "$SIZE" MiB \
    "$BB dd if=/dev/zero of=$T/disk.img bs=1M count=$SIZE conv=fsync,notrunc" \
    --disk "$T/disk.img" $BB dd if=/dev/zero of=/dev/vda bs=1M count="$SIZE" conv=fsync
run_pair "find + stat, $FILES files (du -s)" "$FILES" file \
    "$BB du -s $T/tree" \
    --fs "$T/tree" $BB du -s "$T/tree"
run_pair "find + stat, $FILES files (ls -lR)" "$FILES" file \
    "$BB ls -lR $T/tree" \
    --fs "$T/tree" $BB ls -lR "$T/tree"
CREATE='i=0; while [ $i -lt 2000 ]; do echo x > f$i; i=$((i+1)); done; rm f*'
mkdir -p "$T/small"
run_pair "create+delete 2000 small files (sh builtins, rm)" 2000 file \
    "cd $T/small && $BB sh -c '$CREATE'" \
    --fs "$T/small" -w "$T/small" $BB sh -c "$CREATE"

echo "benchmark: file and block I/O, $RUNS alternating runs each, medians (whole process, wall clock)"
echo "| workload | native ms | lightvm ms | ratio | VM exits | exits | --no-sandbox ms | sandbox cost |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
