#!/bin/bash
# A static Go program in a VM against the same binary natively, alternating
# in the same run (issue 10): medians, the ratio, VM exits.
#   - start to exit of a Go program whose main returns at once (the
#     runtime's start: its threads, its heap arenas, signal handlers)
#   - gzip of MIB MiB of generated text with GOMAXPROCS=2, one stream per
#     goroutine, on two vCPUs (--cpus 2): us per MiB
# bench/go/gobench.go, built here with Debian's golang-go (CGO_ENABLED=0).
#
# usage: go_bench.sh LIGHTVM [RUNS] [MIB]
set -u
L=$(realpath "$1")
RUNS=${2:-5}
MIB=${3:-100}
T=$(mktemp -d /tmp/lightvm-gobench.XXXXXX)
trap 'rm -rf "$T"' EXIT

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

cp "$(dirname "$0")/go/gobench.go" "$T/main.go"
if ! (cd "$T" && HOME=$T GOCACHE=$T/cache GO111MODULE=off CGO_ENABLED=0 go build -o "$T/gobench" main.go) >"$T/build.log" 2>&1; then
    echo "go build failed: $(head -3 "$T/build.log")"
    exit 1
fi
now_us() { echo $(($(date +%s%N) / 1000)); }

echo "| operation | native | lightvm | ratio | VM exits |"
echo "|---|---:|---:|---:|---:|"

tn=(); tv=(); ex=()
for _ in $(seq "$((RUNS * 3))"); do
    t0=$(now_us); "$T/gobench" start >/dev/null; t1=$(now_us)
    "$L" run --stats "$T/gobench" start >/dev/null 2>"$T/stats"; t2=$(now_us)
    tn+=($((t1 - t0))); tv+=($((t2 - t1))); ex+=("$(exits "$T/stats")")
done
echo "| Go program start to exit (wall, us) | $(med "${tn[@]}") us | $(med "${tv[@]}") us | $(ratio "$(med "${tv[@]}")" "$(med "${tn[@]}")") | $(med "${ex[@]}") |"

tn=(); tv=(); ex=(); sums=()
for _ in $(seq "$RUNS"); do
    out=$(GOMAXPROCS=2 "$T/gobench" gzip "$MIB"); tn+=("$(echo "$out" | awk '{print $3}')"); sums+=("$(echo "$out" | awk '{print $4}')")
    out=$("$L" run --cpus 2 --stats --env GOMAXPROCS=2 "$T/gobench" gzip "$MIB" 2>"$T/stats")
    tv+=("$(echo "$out" | awk '{print $3}')"); sums+=("$(echo "$out" | awk '{print $4}')"); ex+=("$(exits "$T/stats")")
done
if [ -z "${tv[0]}" ] || [ "$(printf '%s\n' "${sums[@]}" | sort -u | wc -l)" != 1 ]; then
    echo "| gzip $MIB MiB, GOMAXPROCS=2 | checksums differ or the VM failed: ${sums[*]} $(head -c 150 "$T/stats") | | | |"
else
    echo "| gzip $MIB MiB, GOMAXPROCS=2, --cpus 2 (us per MiB) | $(med "${tn[@]}") us | $(med "${tv[@]}") us | $(ratio "$(med "${tv[@]}")" "$(med "${tn[@]}")") | $(med "${ex[@]}") ($(awk -v e="$(med "${ex[@]}")" -v n="$MIB" 'BEGIN {printf "%.1f", e / n}') per MiB) |"
fi
