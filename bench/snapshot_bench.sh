#!/bin/bash
# Snapshots (issue 16): save and restore against a cold boot of the same
# program, in the same run, at several memory sizes.
#
# The program is tests/guests/counter: `counter 1 400` prints its count, sleeps
# 400 ms, checks its memory and exits. It is saved (--save-after 0.2
# --save-stop) during that sleep (a save that came before the count was
# printed, on a slow machine, is taken again); by the time it is restored the sleep's
# deadline has passed, so a restored VM wakes at once and finishes — the same
# remaining work as the end of a cold `counter 1 0`. Cold boots run that.
#
# Per --mem: medians over RUNS of
#   - wall time of `lightvm run` (process start to exit) for a cold boot and
#     for a restore, and their ratio;
#   - "VM ready": --stats' "image ready" milestone (run start -> the VM is
#     loaded and its first KVM_RUN is next): the phase a restore replaces;
#   - the restore's own work, without the shell a warm pool would already
#     hold: prepare (run start -> "app checked": the state file decoded and
#     checked, files reopened) + load ("vm created" -> "image ready": the
#     memory file mapped, regions and vCPU state written);
#   - "ready -> done": from there to the guest's exit: for a restore the
#     remaining work plus the page-fault tail (each page the guest writes is
#     copied from the memory file on first touch); --prefault copies the
#     saved pages in before the first instruction instead (its "VM ready"
#     grows, its "ready -> done" shrinks);
#   - save time (--stats "saved": the VM paused while it is written);
#   - VM exits per run (--stats);
#   - snapshot size: state file, and the memory file's disk use (du) against
#     its apparent size (= --mem).
#
# usage: snapshot_bench.sh LIGHTVM GUEST_DIR [RUNS] [MEM...]
set -eu
L=$(realpath "$1")
G=$(realpath "$2")
RUNS=${3:-11}
shift $(( $# >= 3 ? 3 : $# ))
MEMS=("$@")
[ ${#MEMS[@]} -gt 0 ] || MEMS=(64M 256M 1G 4G)
P=$G/counter.glibc
T=$(mktemp -d /tmp/lightvm-snapbench.XXXXXX)
trap 'rm -rf "$T"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stat_ms() { awk -v k="$1" 'index($0, k) {print $(NF-1); exit}' "$2"; }
saved_ms() { awk '/^  saved/ {print $2; exit}' "$1"; }
exits() { awk '/^  exits/ {print $2; exit}' "$1"; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }

echo "| --mem | wall ms: cold / restore / restore --prefault | restore / cold | VM ready ms: cold / restore / --prefault | restore without the shell: prepare + load ms | ready -> done ms: cold / restore / --prefault | save ms | exits cold / restore | state file | memory file on disk (apparent) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for mem in "${MEMS[@]}"; do
    cw=() rw=() pw=() cr=() rr=() pr=() cd=() rd=() pd=() sv=() ce=() re=() rp=() rl=()
    for i in $(seq "$RUNS"); do
        for _ in 1 2 3 4 5; do
            "$L" run --stats --mem "$mem" --save "$T/s$i" --save-after 0.2 --save-stop "$P" 1 400 >"$T/out" 2>"$T/save"
            grep -q '^count 1 ' "$T/out" && break
        done
        grep -q '^count 1 ' "$T/out" || { echo "no save after the count: $(cat "$T/out" "$T/save")" >&2; exit 1; }
        sv+=("$(saved_ms "$T/save")")
    done
    sleep 0.5  # every saved sleep deadline is past now
    for i in $(seq "$RUNS"); do
        t0=$(now_us)
        "$L" run --stats --mem "$mem" "$P" 1 0 >"$T/out" 2>"$T/cold"
        t1=$(now_us)
        grep -q '^done 1 ' "$T/out" || { echo "cold run failed: $(cat "$T/out" "$T/cold")" >&2; exit 1; }
        "$L" run --stats --restore "$T/s$i" >"$T/out" 2>"$T/restore"
        t2=$(now_us)
        grep -q '^done 1 ' "$T/out" || { echo "restore failed: $(cat "$T/out" "$T/restore")" >&2; exit 1; }
        "$L" run --stats --restore "$T/s$i" --prefault >"$T/out" 2>"$T/prefault"
        t3=$(now_us)
        grep -q '^done 1 ' "$T/out" || { echo "restore --prefault failed: $(cat "$T/out" "$T/prefault")" >&2; exit 1; }
        cw+=("$((t1 - t0))"); rw+=("$((t2 - t1))"); pw+=("$((t3 - t2))")
        rp+=("$(awk -v a="$(stat_ms 'app checked' "$T/restore")" -v b="$(stat_ms 'run started' "$T/restore")" 'BEGIN {printf "%.3f", a - b}')")
        rl+=("$(awk -v a="$(stat_ms 'image ready' "$T/restore")" -v b="$(stat_ms 'vm created' "$T/restore")" 'BEGIN {printf "%.3f", a - b}')")
        for f in cold restore prefault; do
            r=$(stat_ms 'image ready' "$T/$f"); d=$(stat_ms 'guest finished' "$T/$f")
            rd_=$(awk -v a="$d" -v b="$r" 'BEGIN {printf "%.3f", a - b}')
            case $f in cold) cr+=("$r"); cd+=("$rd_") ;; restore) rr+=("$r"); rd+=("$rd_") ;; prefault) pr+=("$r"); pd+=("$rd_") ;; esac
        done
        ce+=("$(exits "$T/cold")"); re+=("$(exits "$T/restore")")
    done
    med() { printf '%s\n' "$@" | median; }
    mcw=$(med "${cw[@]}"); mrw=$(med "${rw[@]}"); mpw=$(med "${pw[@]}")
    ratio=$(awk -v a="$mrw" -v b="$mcw" 'BEGIN {printf "%.2fx", a / b}')
    state=$(stat -c %s "$T/s1")
    disk=$(du -k "$T/s1.mem" | cut -f1)
    apparent=$(( $(stat -c %s "$T/s1.mem") >> 20 ))
    echo "| $mem | $(ms "$mcw") / $(ms "$mrw") / $(ms "$mpw") | $ratio | $(med "${cr[@]}") / $(med "${rr[@]}") / $(med "${pr[@]}") | $(med "${rp[@]}") + $(med "${rl[@]}") | $(med "${cd[@]}") / $(med "${rd[@]}") / $(med "${pd[@]}") | $(med "${sv[@]}") | $(med "${ce[@]}") / $(med "${re[@]}") | $state B | ${disk} KiB (${apparent} MiB) |"
    rm -f "$T"/s*
done
echo "($RUNS runs per size, cold and restore alternating; medians; loadavg $(cut -d' ' -f1 /proc/loadavg))"
