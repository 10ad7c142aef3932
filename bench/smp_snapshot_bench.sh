#!/bin/bash
# Snapshots of several vCPUs: the save time (--stats "saved": the VM
# stopped while it is written) of the same two-thread program
# (tests/guests/smpcount: two threads computing) saved mid-run with
# --cpus 1 (one vCPU, both threads on it) and --cpus 2 (both vCPUs busy:
# vCPU 1 must first be stopped at a safe point, Smp::quiesce), and the
# restore's wall time to the end of the program. Medians over RUNS.
# usage: smp_snapshot_bench.sh LIGHTVM GUEST_DIR [RUNS]
set -eu
L=$(realpath "$1")
G=$(realpath "$2")
RUNS=${3:-11}
P=$G/smpcount.glibc
T=$(mktemp -d /tmp/lightvm-smpsnap.XXXXXX)
trap 'rm -rf "$T"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| --cpus | vCPUs saved | save ms (median, min-max) | memory written KiB | state file bytes | restore wall ms |"
echo "|---:|---:|---:|---:|---:|---:|"
for cpus in 1 2; do
    sv=() kb=() rw=()
    for i in $(seq "$RUNS"); do
        "$L" run --cpus "$cpus" --stats --save "$T/s" --save-after 0.3 --save-stop "$P" 30000 >/dev/null 2>"$T/err"
        sv+=("$(awk '/^  saved/ {print $2; exit}' "$T/err")")
        kb+=("$(awk '/^  saved/ {gsub(/\(/, "", $4); print $4; exit}' "$T/err")")
        started=$(awk '/^  vcpus started/ {print $3; exit}' "$T/err")
        t0=$(date +%s%N)
        "$L" run --restore "$T/s" >/dev/null
        rw+=("$(( ($(date +%s%N) - t0) / 1000 ))")
    done
    printf '| %s | %s | %s (%s-%s) | %s | %s | %s |\n' "$cpus" "${started:-1}" \
        "$(printf '%s\n' "${sv[@]}" | median)" "$(printf '%s\n' "${sv[@]}" | sort -g | head -1)" \
        "$(printf '%s\n' "${sv[@]}" | sort -g | tail -1)" "$(printf '%s\n' "${kb[@]}" | median)" \
        "$(stat -c %s "$T/s")" "$(printf '%s\n' "${rw[@]}" | median | awk '{printf "%.1f", $1 / 1000}')"
done
