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
. "$(dirname "$0")/lib.sh"
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
runc_vs_lightvm "docker run --rm busybox true" lv rc
