# Shared by the system tests (sourced, not run): argument checks, the
# SKIP protocol (exit 77 without /dev/kvm), TAP-like "ok"/"not ok" lines and
# the run/expect helpers. Usage, after sourcing:
#   harness_init NAME "$@"     # sets L (lightvm), G (guest programs), T (temp dir)
#   ... run CMD; expect NAME STATUS [STDOUT] ...
#   harness_finish             # prints "N passed, N failed", exits 0/1

harness_init() {
    local name=$1
    shift
    if [ $# -ne 2 ]; then
        echo "usage: $0 LIGHTVM_BINARY GUEST_PROGRAM_DIR" >&2
        exit 2
    fi
    L=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    G=$(cd "$2" && pwd)
    BUSYBOX=/usr/bin/busybox
    if [ ! -c /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
        echo "SKIPPED: /dev/kvm not available"
        exit 77
    fi
    if [ ! -x "$L" ]; then
        echo "not ok - lightvm binary $L not found"
        exit 1
    fi
    T=$(mktemp -d "${TMPDIR:-/tmp}/lightvm-$name.XXXXXX")
    chmod 755 "$T"
    : >"$T/empty"
    PASSED=0
    FAILED=0
    IN=""
    IN_DIR=""
}

pass() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
fail() {
    echo "not ok - $1"
    shift
    for line in "$@"; do echo "#   $line"; done
    FAILED=$((FAILED + 1))
}
# Bugs once reported by these tests are fixed: a recurrence is a failure.
known_bug() { fail "regression: $*"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# run CMD...: stdin from $IN (default: an empty file, never a closed fd),
# stdout to $T/out (or $OUT_TO, for this call only), stderr to $T/err, in
# $IN_DIR (default: $T). Sets RC, OUT,
# ERR, ERR_LINES, MS; HUNG=1 if it had to be killed after 30 s.
run() {
    local start end out=${OUT_TO:-$T/out}
    start=$(now_ms)
    (cd "${IN_DIR:-$T}" && timeout -s KILL 30 "$@" <"${IN:-$T/empty}" >"$out" 2>"$T/err")
    RC=$?
    end=$(now_ms)
    MS=$((end - start))
    HUNG=0
    if [ "$RC" -eq 137 ] && [ "$MS" -ge 29000 ]; then HUNG=1; fi
    OUT=$(head -c 65536 "$out" | tr -d '\000')
    OUT_TO=""
    ERR=$(cat "$T/err")
    ERR_LINES=$(wc -l <"$T/err")
    IN=""
    IN_DIR=""
}

describe() { echo "status $RC, ${MS} ms, stdout '$(head -c 300 "$T/out")', stderr '$(head -c 300 "$T/err")'"; }

# expect NAME STATUS [STDOUT]: the last run exited STATUS (and printed STDOUT).
expect() {
    local name=$1 status=$2
    if [ "$HUNG" -eq 1 ]; then fail "$name" "hung (killed after 30 s)"; return; fi
    if [ "$RC" -ne "$status" ]; then fail "$name" "expected status $status" "$(describe)"; return; fi
    if [ $# -ge 3 ] && [ "$OUT" != "$3" ]; then fail "$name" "expected stdout '$3'" "$(describe)"; return; fi
    pass "$name"
}

# expect_error NAME STATUS TEXT [exact]: an error case: status, nothing on
# stdout, exactly one line on stderr containing TEXT (equal to it with "exact").
expect_error() {
    local name=$1 status=$2 what=$3 mode=${4:-}
    if [ "$HUNG" -eq 1 ]; then fail "$name" "hung (killed after 30 s)"; return; fi
    if [ "$RC" -ne "$status" ]; then fail "$name" "expected status $status" "$(describe)"; return; fi
    if [ "$ERR_LINES" -ne 1 ]; then fail "$name" "expected exactly one line on stderr, got $ERR_LINES" "$(describe)"; return; fi
    if [ "$mode" = exact ]; then
        if [ "$ERR" != "$what" ]; then fail "$name" "expected stderr '$what'" "$(describe)"; return; fi
    else
        case "$ERR" in
            *"$what"*) ;;
            *) fail "$name" "stderr lacks '$what'" "$(describe)"; return ;;
        esac
    fi
    if [ -s "$T/out" ]; then fail "$name" "unexpected stdout" "$(describe)"; return; fi
    pass "$name"
}

harness_finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
