#!/bin/bash
# A restore in another host boot (docs/snapshot-format.md, "Clocks") against
# one in the boot that saved it, in the same run: one snapshot of
# tests/guests/counter saved mid-sleep, restored RUNS times each way,
# alternating. The other-boot copy is the same files saved with
# LIGHTVM_TEST_BOOT_ID (the state file then names another boot), so the
# restore rebases the guest's clock reference and translates its timer.
# Prints medians of the wall time (process start to exit), --stats'
# "image ready" (the loaded VM, where the rebase happens) and the exits,
# and the ratio.
# usage: restore_boot_bench.sh BUILD_DIR [RUNS]      (docs/benchmarks.md §15d)
set -u
B=$(cd "$1" && pwd)
RUNS=${2:-21}
L=$B/src/lightvm
G=$B/guests
. "$(dirname "$0")/lib.sh"
[ -c /dev/kvm ] || { echo "SKIPPED: /dev/kvm not available"; exit 0; }
T=$(mktemp -d /tmp/lightvm-bootbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
now_us() { date +%s%6N; }
ms_of() { awk -v k="$1" '$0 ~ k {print $(NF-1); exit}' "$2"; }

"$L" run --no-daemon -m 64M --save "$T/same" --save-after 0.2 --save-stop "$G/counter.musl" 1 400 >/dev/null ||
    { echo "save failed"; exit 1; }
LIGHTVM_TEST_BOOT_ID=00000000-0000-4000-8000-00000000b007 "$L" run --no-daemon -m 64M --save "$T/other" \
    --save-after 0.2 --save-stop "$G/counter.musl" 1 400 >/dev/null || { echo "save failed"; exit 1; }

declare -A wall ready exits
for _ in $(seq "$RUNS"); do
    for kind in same other; do
        t0=$(now_us)
        "$L" run --no-daemon --stats --restore "$T/$kind" >/dev/null 2>"$T/stats" || { echo "$kind restore failed: $(head -2 "$T/stats")"; exit 1; }
        wall[$kind]+="$(( $(now_us) - t0 )) "
        ready[$kind]+="$(ms_of "image ready" "$T/stats") "
        exits[$kind]+="$(exits "$T/stats") "
    done
done
echo "| restore of a 64 MiB counter | same boot | another boot (clock rebased) | ratio |"
echo "|---|---:|---:|---:|"
ws=$(med ${wall[same]}); wo=$(med ${wall[other]})
echo "| wall, process start to exit | $(awk -v v="$ws" 'BEGIN {printf "%.2f ms", v / 1000}') | $(awk -v v="$wo" 'BEGIN {printf "%.2f ms", v / 1000}') | $(ratio "$wo" "$ws") |"
rs=$(med ${ready[same]}); ro=$(med ${ready[other]})
echo "| image ready (VM loaded) | $rs ms | $ro ms | $(ratio "$ro" "$rs") |"
echo "| VM exits | $(med ${exits[same]}) | $(med ${exits[other]}) | |"
