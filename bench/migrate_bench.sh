#!/bin/bash
# Live migration between two lightvmd on this host (loopback TCP), beside a
# cold `lightvm run` of the same guest size in the same run: total time,
# downtime (guest stopped here -> the target confirmed it runs), bytes sent
# and pre-copy rounds, medians of RUNS migrations per row. The guest is
# tests/guests/dirtier.c: it fills BUF MiB, then rewrites RATE MiB/s of it.
# usage: migrate_bench.sh BUILD_DIR [RUNS]      (docs/benchmarks.md, "Migration")
set -u
B=$(cd "$1" && pwd)
RUNS=${2:-7}
L=$B/src/lightvm
D=$B/src/lightvmd
G=$B/guests
. "$(dirname "$0")/lib.sh"
[ -c /dev/kvm ] || { echo "SKIPPED: /dev/kvm not available"; exit 0; }
T=$(mktemp -d /tmp/lightvm-migbench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$D" --socket "$T/src.sock" --state-dir "$T/src" --pool 2 --pool-mem 64M 2>"$T/src.log" &
PIDS+=($!)
"$D" --socket "$T/dst.sock" --state-dir "$T/dst" --pool 2 --pool-mem 64M --migrate-listen "127.0.0.1:$PORT" 2>"$T/dst.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$T/src.sock" ] && [ -S "$T/dst.sock" ] && break; sleep 0.05; done
export LIGHTVM_SOCKET=$T/src.sock

# row MEM BUF RATE: RUNS migrations of a fresh VM each, 0.5 s after it filled.
row() {
    local mem=$1 buf=$2 rate=$3 tot=() down=() mib=() rounds=() fin=()
    for i in $(seq "$RUNS"); do
        local name=m$mem-$buf-$rate-$i
        "$L" run -d --rm --name "$name" -m "${mem}M" "$G/dirtier.musl" "$buf" "$rate" 30 >/dev/null
        for _ in $(seq 200); do "$L" logs "$name" 2>/dev/null | grep -q filled && break; sleep 0.02; done
        sleep 0.5
        local j
        j=$("$L" migrate --json "$name" --to "127.0.0.1:$PORT" 2>"$T/err") || { echo "| $mem MiB, $buf MiB touched, $rate MiB/s | failed: $(cat "$T/err") |"; return; }
        tot+=("$(echo "$j" | sed -n 's/.*"total_ns": \([0-9]*\).*/\1/p')")
        down+=("$(echo "$j" | sed -n 's/.*"downtime_ns": \([0-9]*\).*/\1/p')")
        mib+=("$(echo "$j" | sed -n 's/.*"bytes": \([0-9]*\).*/\1/p')")
        fin+=("$(echo "$j" | sed -n 's/.*"final_bytes": \([0-9]*\).*/\1/p')")
        rounds+=("$(echo "$j" | sed -n 's/.*"rounds": \([0-9]*\).*/\1/p')")
        LIGHTVM_SOCKET=$T/dst.sock "$L" kill "$name" >/dev/null 2>&1
        LIGHTVM_SOCKET=$T/dst.sock "$L" rm -f "$name" >/dev/null 2>&1
        "$L" rm -f "$name" >/dev/null 2>&1
    done
    awk -v m="$mem" -v b="$buf" -v r="$rate" -v t="$(med "${tot[@]}")" -v d="$(med "${down[@]}")" \
        -v s="$(med "${mib[@]}")" -v f="$(med "${fin[@]}")" -v n="$(med "${rounds[@]}")" -v c="$COLD" 'BEGIN {
        printf "| %d MiB, %d MiB touched, %d MiB/s | %.1f ms | %.2f ms | %.1f MiB | %.2f MiB | %d | %.1f ms |\n",
            m, b, r, t / 1e6, d / 1e6, s / 1048576, f / 1048576, n, c }'
}

# The cold boot beside it: `lightvm run` (no daemon) of a no-op, 64 MiB.
cold=()
for _ in $(seq "$RUNS"); do
    s=$(date +%s%N)
    LIGHTVM_SOCKET=$T/none.sock "$L" run -m 64M "$G/noop.musl" >/dev/null
    cold+=($(( ($(date +%s%N) - s) / 1000 )))
done
COLD=$(awk -v us="$(med "${cold[@]}")" 'BEGIN {printf "%.1f", us / 1000}')

echo "| guest | total | downtime | sent | sent while stopped | rounds | cold run of a no-op |"
echo "|---|---:|---:|---:|---:|---:|---:|"
row 64 48 0
row 64 48 50
row 64 48 200
row 512 256 50
