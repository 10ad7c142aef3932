#!/bin/bash
# Threads as C++ and Rust programs use them (issue 10): static binaries
# built here with Debian's g++ and rustc (std::thread, std::async,
# condition variables, atomics, thread_local; Rust's Mutex, mpsc, Condvar,
# Barrier), run natively and in lightvm: stdout and status must match.
#   usage: threads_lang_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
set -u
. "$(dirname "$0")/harness.sh"
harness_init threads_lang "$@"
trap 'rm -rf "$T"' EXIT
SRC=$(cd "$(dirname "$0")/langs" && pwd)

# same NAME BINARY: native and lightvm runs agree.
same() {
    local name=$1 bin=$2 native native_rc
    native=$("$bin")
    native_rc=$?
    run "$L" run "$bin"
    if [ "$RC" -ne "$native_rc" ] || [ "$OUT" != "$native" ]; then
        fail "$name" "native: $native_rc '$native'" "$(describe)"
    else
        pass "$name"
    fi
}

if g++ -std=c++20 -O2 -static -pthread -o "$T/cpp_threads" "$SRC/threads.cpp" 2> "$T/build.log"; then
    same "C++ std::thread, std::async, condition_variable, atomics" "$T/cpp_threads"
else
    fail "g++ -static threads.cpp" "$(head -5 "$T/build.log")"
fi

# Debian's rustc (scripts/install-deps.sh), not a rustup toolchain on PATH.
if [ ! -x /usr/bin/rustc ]; then
    fail "rustc is installed (scripts/install-deps.sh installs rustc)"
elif /usr/bin/rustc -O -C target-feature=+crt-static -o "$T/rust_threads" "$SRC/threads.rs" 2> "$T/build.log"; then
    same "Rust std::thread, Mutex, mpsc, Condvar, Barrier" "$T/rust_threads"
else
    fail "rustc -C target-feature=+crt-static threads.rs" "$(head -5 "$T/build.log")"
fi
harness_finish
