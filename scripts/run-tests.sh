#!/bin/sh
# The whole test suite: every tier on the regular build, then the host code
# (unit + guest tiers, which run the monitor in-process) under ASan+UBSan.
# Prints the ctest summaries; exits non-zero if anything failed.
set -u
BUILD=${1:-build}
ASAN=${2:-build-asan}
status=0

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "*** WARNING: /dev/kvm not usable: guest and system tests will be reported SKIPPED ***"
fi

echo "=== tier 1-3: unit, guest and system tests ($BUILD) ==="
(cd "$BUILD" && ctest --output-on-failure) || status=1

echo "=== sanitizers: host code under ASan+UBSan ($ASAN) ==="
cmake -S . -B "$ASAN" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLIGHTVM_SANITIZE=ON >/dev/null || exit 1
ninja -C "$ASAN" unit_tests guest_lib_tests guest_tests lightvm guest_programs >/dev/null || exit 1
(cd "$ASAN" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -L 'unit|guest') || status=1

[ $status -eq 0 ] && echo "=== all test runs passed ===" || echo "=== SOME TESTS FAILED ==="
exit $status
