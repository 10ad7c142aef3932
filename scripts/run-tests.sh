#!/bin/bash
# The whole test suite:
#   1. every tier (unit, guest, system) on the regular build;
#   2. the host code (unit + guest tiers, which run the monitor in-process)
#      under ASan+UBSan, with warnings as errors;
#   3. a clang 14 build with warnings as errors, and its unit tests;
#   4. every libFuzzer target for FUZZ_SECONDS (default 20) seconds.
# Prints each ctest summary and a final "N passed, N failed" over all runs;
# exits non-zero if anything failed.
set -u
BUILD=${1:-build}
ASAN=${2:-build-asan}
CLANG=${BUILD}-clang
status=0
passed=0
failed=0
LOG=$(mktemp)
FAILED_NAMES=$(mktemp)
trap 'rm -f "$LOG" "$FAILED_NAMES"' EXIT

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "*** WARNING: /dev/kvm not usable: guest and system tests will be reported SKIPPED ***"
fi

# run_ctest DIR [ctest args...]: runs ctest, adds its counts to the totals.
run_ctest() {
    local dir=$1
    shift
    (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$LOG"
    local rc=${PIPESTATUS[0]}
    local line total nfail
    line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$LOG" | tail -1)
    if [ -n "$line" ]; then
        nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
        total=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
        passed=$((passed + total - nfail))
        failed=$((failed + nfail))
    fi
    # ctest lists failures as "  NN - name (Failed)"; keep them for the end,
    # where a reader of a long log looks first.
    sed -n '/The following tests FAILED/,$p' "$LOG" | grep -E '^\s+[0-9]+ - ' |
        sed "s|^|  $dir: |" >>"$FAILED_NAMES"
    [ "$rc" -eq 0 ] || status=1
}

# build DIR TARGETS...: quiet on success, shows the log on failure.
build() {
    local dir=$1
    shift
    if ! ninja -C "$dir" "$@" >"$LOG" 2>&1; then
        tail -40 "$LOG"
        echo "build in $dir failed"
        failed=$((failed + 1))
        echo "$passed passed, $failed failed"
        exit 1
    fi
}

echo "=== 1. unit, guest and system tests ($BUILD) ==="
run_ctest "$BUILD"

echo "=== 2. host code under ASan+UBSan, warnings as errors ($ASAN) ==="
cmake -S . -B "$ASAN" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLIGHTVM_SANITIZE=ON -DCMAKE_CXX_FLAGS=-Werror >/dev/null || exit 1
build "$ASAN" unit_tests freestanding_tests guest_lib_tests guest_kernel_tests daemon_unit_tests guest_tests lightvm guest_programs
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_ctest "$ASAN" -L 'unit|guest'

echo "=== 3. clang 14, warnings as errors, unit tests ($CLANG) ==="
CC=clang CXX=clang++ cmake -S . -B "$CLANG" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS=-Werror -DCMAKE_C_FLAGS=-Werror >/dev/null || exit 1
build "$CLANG"
run_ctest "$CLANG" -L unit

echo "=== 4. fuzz targets, ${FUZZ_SECONDS:-20} s each (${BUILD}-fuzz) ==="
./scripts/fuzz.sh "${BUILD}-fuzz" "${FUZZ_SECONDS:-20}" | tee "$LOG"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
grep '^not ok' "$LOG" | sed 's|^|  fuzz: |' >>"$FAILED_NAMES"
line=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$LOG" | tail -1)
if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
fi

if [ $status -eq 0 ]; then
    echo "=== all test runs passed ==="
else
    echo "=== SOME TESTS FAILED ==="
    cat "$FAILED_NAMES"
fi
echo "$passed passed, $failed failed"
exit $status
