#!/bin/bash
# Container start to exit through Docker: `docker run --rm --network none`
# of busybox true with --runtime lightvm (lightvm-oci) and --runtime runc,
# alternating in the same run, on a private dockerd
# (tests/system/docker_env.sh: its own containerd, overlay2) with a locally
# built busybox-static image. Prints the median and p90 wall time of each
# and the ratio.
#
# usage: docker_bench.sh LIGHTVM_OCI [RUNS]   (root; docker.io installed)
set -eu
OCI=$(realpath "$1")
RUNS=${2:-30}
command -v dockerd >/dev/null || { echo "docker_bench: dockerd not installed (apt-get install docker.io)"; exit 1; }
T=$(mktemp -d /tmp/lightvm-dockerbench.XXXXXX)
. "$(dirname "$0")/../tests/system/docker_env.sh"
trap 'docker_stop; rm -rf "$T"' EXIT
docker_start "$T" "$OCI"
IMG=$(docker_image "$T")

now_us() { echo $(( $(date +%s%N) / 1000 )); }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p90() { sort -g | awk '{a[NR]=$1} END {i=int(NR*0.9+0.5); if (i<1) i=1; print a[i]}'; }
one() {  # RUNTIME: microseconds for one docker run --rm ... true
    local t0 t1
    t0=$(now_us)
    "${DOCKER[@]}" run --rm --network none --runtime "$1" "$IMG" true >/dev/null
    t1=$(now_us)
    echo $((t1 - t0))
}
one lightvm >/dev/null; one runc >/dev/null
lv=() rc=()
for _ in $(seq "$RUNS"); do
    lv+=("$(one lightvm)")
    rc+=("$(one runc)")
done
mlv=$(printf '%s\n' "${lv[@]}" | median); mrc=$(printf '%s\n' "${rc[@]}" | median)
plv=$(printf '%s\n' "${lv[@]}" | p90); prc=$(printf '%s\n' "${rc[@]}" | p90)
echo "| docker run --rm busybox true ($RUNS runs each) | runc | lightvm-oci | ratio |"
echo "|---|---:|---:|---:|"
echo "| median µs | $mrc | $mlv | $(awk -v a="$mlv" -v b="$mrc" 'BEGIN {printf "%.2fx", a / b}') |"
echo "| p90 µs | $prc | $plv | $(awk -v a="$plv" -v b="$prc" 'BEGIN {printf "%.2fx", a / b}') |"
