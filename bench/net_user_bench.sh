#!/bin/bash
# --net user (pasta) against --net host and a native process, in the same
# run: the start-up cost of a VM with its own network namespace and pasta,
# TCP stream throughput guest -> host and a 64-byte request/response round
# trip, each to a host peer (netpeer, native) on an address outside the
# VM's namespace (198.51.100.77, added to the host's lo for the run, so no
# traffic leaves the machine). Needs root (a namespace per VM) and pasta.
#
# usage: net_user_bench.sh LIGHTVM GUEST_DIR [RUNS] [MIB]
set -eu
L=$(realpath "$1")
G=$(realpath "$2")
RUNS=${3:-7}
MIB=${4:-256}
PEER=198.51.100.77
T=$(mktemp -d /tmp/lightvm-netuserbench.XXXXXX)
. "$(dirname "$0")/lib.sh"
ip addr add "$PEER/32" dev lo
trap 'ip addr del "$PEER/32" dev lo; rm -rf "$T"' EXIT
P=$G/netpeer.glibc
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])'; }
now_us() { date +%s%6N; }

# start: a VM running hello, end to end (the CLI process included).
boot() {
    local t0 t1
    t0=$(now_us); "$@" >/dev/null; t1=$(now_us)
    echo $((t1 - t0))
}
bn=() bh=() bu=()
for _ in $(seq $((RUNS * 3))); do
    bn+=("$(boot "$L" run --net none "$G/hello.musl")")
    bh+=("$(boot "$L" run --net host "$G/hello.musl")")
    bu+=("$(boot "$L" run --net user "$G/hello.musl")")
done

# peer SERVER_ARGS -- CLIENT...: runs netpeer SERVER_ARGS natively in the
# background, then the client; prints the client's output.
with_peer() {
    local pp=$1 mode=$2
    shift 2
    "$P" "$mode" "$pp" >/dev/null &
    local srv=$!
    sleep 0.05
    "$@"
    wait $srv
}
sn=() sh=() su=() rn=() rh=() ru=() su_ex=() ru_ex=()
for _ in $(seq "$RUNS"); do
    p=$(port); sn+=("$(with_peer "$p" sink "$P" stream 127.0.0.1 "$p" "$MIB" | awk '{print $3}')")
    p=$(port); sh+=("$(with_peer "$p" sink "$L" run --net host "$P" stream 127.0.0.1 "$p" "$MIB" | awk '{print $3}')")
    p=$(port); su+=("$(with_peer "$p" sink "$L" run --stats --net user "$P" stream "$PEER" "$p" "$MIB" 2>"$T/stats" | awk '{print $3}')")
    su_ex+=("$(exits "$T/stats")")
    p=$(port); rn+=("$(with_peer "$p" echo "$P" rr 127.0.0.1 "$p" 2000 64 | awk '{print $3}')")
    p=$(port); rh+=("$(with_peer "$p" echo "$L" run --net host "$P" rr 127.0.0.1 "$p" 2000 64 | awk '{print $3}')")
    p=$(port); ru+=("$(with_peer "$p" echo "$L" run --stats --net user "$P" rr "$PEER" "$p" 2000 64 2>"$T/stats" | awk '{print $3}')")
    ru_ex+=("$(exits "$T/stats")")
done
echo "net_user_bench: $RUNS runs ($((RUNS * 3)) for start-up), medians; native = the same netpeer on 127.0.0.1"
echo "| | native | --net host | --net user | user/native | user/host | exits/op (user) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
mbn=$(med "${bn[@]}"); mbh=$(med "${bh[@]}"); mbu=$(med "${bu[@]}")
echo "| start + run hello (us; native column: --net none) | $mbn | $mbh | $mbu | $(ratio "$mbu" "$mbn") | $(ratio "$mbu" "$mbh") | |"
msn=$(med "${sn[@]}"); msh=$(med "${sh[@]}"); msu=$(med "${su[@]}"); mse=$(med "${su_ex[@]}")
echo "| stream guest -> host (MiB/s) | $msn | $msh | $msu | $(ratio "$msu" "$msn") | $(ratio "$msu" "$msh") | $(awk -v e="$mse" -v n="$MIB" 'BEGIN {printf "%.2f/MiB", e / n}') |"
mrn=$(med "${rn[@]}"); mrh=$(med "${rh[@]}"); mru=$(med "${ru[@]}"); mre=$(med "${ru_ex[@]}")
echo "| request/response 64 B (us per round trip) | $mrn | $mrh | $mru | $(ratio "$mru" "$mrn") | $(ratio "$mru" "$mrh") | $(awk -v e="$mre" 'BEGIN {printf "%.2f/rt", e / 2000}') |"
