#!/bin/bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build dir $1, default
# build-fuzz) and runs each for $2 seconds (default 60), starting from the
# seed corpus in fuzz/corpus/TARGET. New inputs go to a scratch corpus, not
# the repository; a crash leaves its input in BUILD/artifacts/ and fails the
# run (turn it into a unit test). Prints "ok"/"not ok" per target and a
# closing "N passed, N failed" line.
set -u
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGETS="elf hypercall fs_path cli oci_spec image_json"
cd "$ROOT" || exit 1
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIGHTVM_FUZZ=ON \
    -DCMAKE_CXX_FLAGS=-Werror >/dev/null || exit 1
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
if ! ninja -C "$BUILD" -j "${JOBS:-2}" fuzz_targets >"$LOG" 2>&1; then
    tail -30 "$LOG"
    echo "fuzz build failed"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$BUILD/artifacts"
passed=0
failed=0
for t in $TARGETS; do
    scratch="$BUILD/corpus/$t"
    mkdir -p "$scratch"
    if "$BUILD/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix="$BUILD/artifacts/$t-" -print_final_stats=1 "$scratch" "fuzz/corpus/$t" >"$LOG" 2>&1; then
        runs=$(grep -o "^Done [0-9]* runs" "$LOG" | tail -1)
        echo "ok - fuzz_$t: ${runs:-done} in ${SECONDS_EACH} s, no crash"
        passed=$((passed + 1))
    else
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$LOG" | head -10
        echo "not ok - fuzz_$t: crash or failure (input in $BUILD/artifacts/)"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
