#!/bin/bash
# Guest memory (issue 8) against the same programs run natively, alternating
# in the same run: medians, the ratio, VM exits per operation (from
# `lightvm run --stats`), memory the guest touched and the host's peak RSS
# of the process (GNU time: the monitor for lightvm, the program natively).
#   - mmap / touch every page / munmap, 1,000 x 1 MiB   (tests/guests/memchurn.c)
#   - one 1 GiB mapping touched page by page, --mem 2G (2 MiB entries in the
#     guest), and again after MADV_NOHUGEPAGE (4 KiB entries)
#   - whole process: `python3 -c pass` and `ls -l /usr/bin`, dynamically
#     linked, with --rootfs /:ro (says so when lightvm cannot run them yet)
#
# usage: vm_bench.sh LIGHTVM GUEST_DIR [RUNS]
set -u
L=$(realpath "$1")
G=$(realpath "$2")
RUNS=${3:-5}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time (/usr/bin/time, package 'time') is needed" >&2; exit 1; }
T=$(mktemp -d /tmp/lightvm-vmbench.XXXXXX)
trap 'rm -rf "$T"' EXIT

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
now_us() { echo $(( $(date +%s%N) / 1000 )); }

echo "| workload | native | lightvm | ratio | VM exits per run (per op) | guest memory touched | host peak RSS native / lightvm |"
echo "|---|---:|---:|---:|---:|---:|---:|"

# op_row NAME OPS UNIT MEM -- ARGS: memchurn ARGS natively and in lightvm
# (--mem MEM); times are the program's own "ms" line.
op_row() {
    local name=$1 ops=$2 mem=$3
    shift 3
    local prog=$G/memchurn.glibc tn=() tv=() ex=() rn=() rv=() touched=()
    for _ in $(seq "$RUNS"); do
        tn+=("$("$TIME" -f %M -o "$T/rss" "$prog" "$@" | awk '{print $2}')")
        rn+=("$(cat "$T/rss")")
        tv+=("$("$TIME" -f %M -o "$T/rss" "$L" run --mem "$mem" --stats "$prog" "$@" 2>"$T/stats" | awk '{print $2}')")
        rv+=("$(cat "$T/rss")")
        ex+=("$(awk '/ exits / {print $2; exit}' "$T/stats")")
        touched+=("$(awk '/memory touched/ {print $3 " " $4; exit}' "$T/stats")")
    done
    if [ -z "${tv[0]}" ]; then
        echo "| $name | $(med "${tn[@]}") ms | failed: $(head -c 150 "$T/stats" | tr '\n' ' ') | | | | |"
        return
    fi
    local mn mv me
    mn=$(med "${tn[@]}"); mv=$(med "${tv[@]}"); me=$(med "${ex[@]}")
    echo "| $name | $mn ms | $mv ms | $(ratio "$mv" "$mn") | $me ($(awk -v e="$me" -v n="$ops" 'BEGIN {printf "%.4f", (e - 1) / n}')) | ${touched[0]} | $(( $(med "${rn[@]}") / 1024 )) / $(( $(med "${rv[@]}") / 1024 )) MiB |"
}

op_row "mmap + touch + munmap, 1 MiB, x1000" 1000 256M churn 1000 1
op_row "touch 1 GiB sequentially, 262,144 pages (--mem 2G)" 262144 2G touch 1024
op_row "the same after MADV_NOHUGEPAGE (4 KiB entries in the guest)" 262144 2G touch-small 1024

# proc_row NAME CMD...: the whole process, natively and with --rootfs /:ro.
proc_row() {
    local name=$1
    shift
    local tn=() tv=() ex=() rn=() rv=() t0 t1
    if ! "$L" run --rootfs /:ro "$@" >/dev/null 2>"$T/err"; then
        echo "| $name | | does not run in lightvm yet: $(head -1 "$T/err" | head -c 120) | | | | |"
        return
    fi
    for _ in $(seq "$RUNS"); do
        t0=$(now_us); "$TIME" -f %M -o "$T/rss" "$@" >/dev/null 2>&1; t1=$(now_us)
        tn+=($((t1 - t0))); rn+=("$(cat "$T/rss")")
        t0=$(now_us); "$TIME" -f %M -o "$T/rss" "$L" run --stats --rootfs /:ro "$@" >/dev/null 2>"$T/stats"; t1=$(now_us)
        tv+=($((t1 - t0))); rv+=("$(cat "$T/rss")")
        ex+=("$(awk '/ exits / {print $2; exit}' "$T/stats")")
    done
    local mn mv
    mn=$(med "${tn[@]}"); mv=$(med "${tv[@]}")
    echo "| $name (whole process) | $((mn / 1000)) ms | $((mv / 1000)) ms | $(ratio "$mv" "$mn") | $(med "${ex[@]}") per run | $(awk '/memory touched/ {print $3 " " $4; exit}' "$T/stats") | $(( $(med "${rn[@]}") / 1024 )) / $(( $(med "${rv[@]}") / 1024 )) MiB |"
}

proc_row "python3 -c pass" /usr/bin/python3 -c pass
proc_row "ls -l /usr/bin" /bin/ls -l /usr/bin
echo "($RUNS runs each, medians; the memchurn rows time the operation inside the program; host RSS by GNU time)"
