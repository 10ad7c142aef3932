#!/bin/bash
# Container start to exit through containerd: `ctr run --rm` of busybox
# true with lightvm-oci and with runc as the runtime binary, alternating in
# the same run, on a private containerd (tests/system/containerd_env.sh) with
# a locally built busybox-static image (native snapshotter for both).
# Prints the median and p90 wall time of each and the ratio.
#
# usage: oci_bench.sh LIGHTVM_OCI [RUNS]   (root; containerd and runc installed)
set -eu
OCI=$(realpath "$1")
RUNS=${2:-30}
RUNC=$(command -v runc) || { echo "oci_bench: runc not installed (apt-get install containerd)"; exit 1; }
T=$(mktemp -d /tmp/lightvm-ocibench.XXXXXX)
. "$(dirname "$0")/../tests/system/containerd_env.sh"
trap 'containerd_stop; rm -rf "$T"' EXIT
containerd_start "$T"
IMG=$(busybox_image "$T" /usr/bin/busybox)

now_us() { echo $(( $(date +%s%N) / 1000 )); }
. "$(dirname "$0")/lib.sh"
one() {  # RUNTIME ID: microseconds for one ctr run --rm ... true
    local t0 t1
    t0=$(now_us)
    "${CTR[@]}" run --rm --snapshotter native --runc-binary "$1" "$IMG" "$2" true >/dev/null
    t1=$(now_us)
    echo $((t1 - t0))
}
one "$OCI" warm-oci >/dev/null; one "$RUNC" warm-runc >/dev/null
lv=() rc=()
for i in $(seq "$RUNS"); do
    lv+=("$(one "$OCI" oci-$i)")
    rc+=("$(one "$RUNC" runc-$i)")
done
runc_vs_lightvm "ctr run --rm busybox true" lv rc
