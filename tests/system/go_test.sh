#!/bin/bash
# A static Go program (Debian's golang-go, CGO_ENABLED=0): its runtime
# starts threads before main, and goroutines, channels, sync.WaitGroup and
# time.Sleep run on them. Built here, run natively and in lightvm; stdout
# and the status must match. Then Go's own tests of standard-library
# packages (`go test -c`, static), run in their source directories (some
# read testdata/) natively and in lightvm: both must PASS. And a net/http
# server with keep-alive clients on the VM's loopback.
#   usage: go_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
set -u
. "$(dirname "$0")/harness.sh"
harness_init go "$@"
trap 'rm -rf "$T"' EXIT

if ! command -v go >/dev/null; then
    fail "go is installed (scripts/install-deps.sh installs golang-go)"
    harness_finish
fi
SRC=$(cd "$(dirname "$0")/go" && pwd)
mkdir -p "$T/src" && cp "$SRC/goroutines.go" "$T/src/main.go"
if ! (cd "$T/src" && HOME=$T GOCACHE=$T/cache GOPATH=$T/gopath GO111MODULE=off CGO_ENABLED=0 \
        go build -o "$T/goroutines" main.go) > "$T/build.log" 2>&1; then
    fail "go build" "$(head -5 "$T/build.log")"
    harness_finish
fi
pass "go build (static, CGO_ENABLED=0)"

# GOMAXPROCS on one vCPU, and with two vCPUs (--cpus 2: the runtime's
# threads run in parallel).
for setting in "1 1" "4 1" "2 2" "4 2"; do
    read -r procs cpus <<< "$setting"
    native=$(GOMAXPROCS=$procs "$T/goroutines")
    native_rc=$?
    run "$L" run --cpus "$cpus" --env GOMAXPROCS=$procs "$T/goroutines"
    if [ "$RC" -ne "$native_rc" ] || [ "$OUT" != "$native" ]; then
        fail "goroutines, GOMAXPROCS=$procs, --cpus $cpus" "native: $native_rc '$native'" "$(describe)"
    else
        pass "goroutines, GOMAXPROCS=$procs, --cpus $cpus"
    fi
done

# net/http: a server and 8 keep-alive clients on the VM's own loopback
# (--net none), 401 requests, as natively (issue 14).
mkdir -p "$T/http" && cp "$SRC/nethttp.go" "$T/http/main.go"
if (cd "$T/http" && HOME=$T GOCACHE=$T/cache GOPATH=$T/gopath GO111MODULE=off CGO_ENABLED=0 \
        go build -o "$T/nethttp" main.go) > "$T/build.log" 2>&1; then
    native=$("$T/nethttp")
    native_rc=$?
    run "$L" run --timeout 60 "$T/nethttp"
    if [ "$RC" -ne 0 ] || [ "$native_rc" -ne 0 ] || [ "$OUT" != "$native" ]; then
        fail "net/http server and clients on the VM's loopback" "native: $native_rc '$native'" "$(describe)"
    else
        pass "net/http server and clients on the VM's loopback ($OUT), as natively"
    fi
else
    fail "go build nethttp" "$(head -5 "$T/build.log")"
fi

GOROOT=$(go env GOROOT)
for pkg in sort strings sync encoding/json compress/gzip; do
    bin="$T/$(basename "$pkg").test"
    if ! (cd "$T/src" && HOME=$T GOCACHE=$T/cache GOPATH=$T/gopath CGO_ENABLED=0 \
            go test -c -o "$bin" "$pkg") > "$T/build.log" 2>&1; then
        fail "go test -c $pkg" "$(head -5 "$T/build.log")"
        continue
    fi
    native=$(cd "$GOROOT/src/$pkg" && "$bin" -test.short 2>&1 | tail -1)
    # sync's tests re-execute the test binary: it must be visible in the
    # VM at the same path (the read-only root has it).
    # The default --cpus: every host CPU (two here), so GOMAXPROCS too.
    run "$L" run --mem 1G --rootfs /:ro -w "$GOROOT/src/$pkg" "$bin" -test.short
    if [ "$RC" -ne 0 ] || [ "$(printf '%s\n' "$OUT" | tail -1)" != PASS ] || [ "$native" != PASS ]; then
        fail "go test $pkg (-test.short)" "native: '$native'" "$(describe)"
    else
        pass "go test $pkg (-test.short), as natively"
    fi
done
harness_finish
