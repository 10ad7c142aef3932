#!/bin/bash
# Images (issue 15 item 3): `lightvm image import` of a ~50 MiB image, cold
# (unpacked into an empty cache) and as a cache hit (the same image again:
# index, manifest and config read and hashed, nothing unpacked), as an OCI
# image layout (gzip layers) and as a docker-archive tar (plain layers);
# then the start of `lightvm run --image IMG true` against `lightvm run
# --rootfs CACHEDROOT:ro true` on the same cached root, in the same run.
#
# The image is tests/system/image_build.py's busybox image plus a third
# layer of FILLER MiB (1 MiB files, half random bytes, half repetitive text).
# Files are in the page cache (the machine is shared: caches are not
# dropped), so import times are CPU and file-system work, not disk reads.
# Reference rows: the same blobs through `sha256sum` + `tar -xzf` (or
# `tar -xf`) natively, which neither checks diff_ids nor applies whiteouts.
#
# usage: image_bench.sh LIGHTVM [RUNS (3)] [START_RUNS (21)] [FILLER_MIB (48)]
set -eu
L=$(realpath "$1")
RUNS=${2:-3}
START_RUNS=${3:-21}
FILLER=${4:-48}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/lightvm-imagebench.XXXXXX)
trap 'rm -rf "$T"' EXIT
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }  # no fork
# ms CMD...: wall time of CMD in ms (3 decimals), its output discarded.
ms() {
    local t0 t1
    t0=$(now_us)
    "$@" >/dev/null 2>"$T/err" || { echo "failed: $* : $(head -c 200 "$T/err")" >&2; exit 1; }
    t1=$(now_us)
    awk -v d=$((t1 - t0)) 'BEGIN {printf "%.1f", d / 1000}'
}

python3 "$HERE/../tests/system/image_build.py" "$T/img" --busybox /bin/busybox --filler "$FILLER" >/dev/null
ID=$(cat "$T/img/id")
OCI_BYTES=$(du -sb "$T/img/oci" | cut -f1)
TAR_BYTES=$(stat -c %s "$T/img/docker.tar")
echo "image: $((FILLER + 2)) MiB of files in 3 layers; OCI layout (gzip) $((OCI_BYTES >> 20)) MiB, docker-archive $((TAR_BYTES >> 20)) MiB; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# import_rows FORMAT SOURCE: cold imports into fresh caches, then cache hits.
import_rows() {
    local name=$1 src=$2 cold=() hit=()
    for i in $(seq "$RUNS"); do
        export LIGHTVM_IMAGE_DIR="$T/cache-$name-$i"
        cold+=("$(ms "$L" image import "$src")")
        hit+=("$(ms "$L" image import "$src")")
        rm -rf "$LIGHTVM_IMAGE_DIR"
    done
    echo "| import, cold, $name | $(med "${cold[@]}") ms | ${cold[*]} |"
    echo "| import, cache hit, $name | $(med "${hit[@]}") ms | ${hit[*]} |"
}

native_rows() {
    local gz=() plain=() blobs
    blobs=$(cd "$T/img/oci/blobs/sha256" && python3 -c 'import json; m=json.load(open("../../index.json"))["manifests"][0]["digest"][7:]; print(" ".join(l["digest"][7:] for l in json.load(open(m))["layers"]))')
    for _ in $(seq "$RUNS"); do
        rm -rf "$T/native" && mkdir "$T/native"
        gz+=("$(ms sh -c "cd '$T/img/oci/blobs/sha256' && sha256sum * >/dev/null && for b in $blobs; do tar -xzf \$b -C '$T/native'; done")")
        rm -rf "$T/native" && mkdir "$T/native"
        plain+=("$(ms sh -c "sha256sum '$T/img/docker.tar' >/dev/null && cd '$T/native' && tar -xf '$T/img/docker.tar' && for l in */layer.tar; do mkdir -p root && tar -xf \$l -C root; done")")
    done
    rm -rf "$T/native"
    echo "| reference: sha256sum + tar -xzf of the OCI blobs, natively | $(med "${gz[@]}") ms | ${gz[*]} |"
    echo "| reference: sha256sum + tar -xf of the docker-archive and its layers, natively | $(med "${plain[@]}") ms | ${plain[*]} |"
}

echo "| what | median | runs |"
echo "|---|---:|---|"
import_rows oci-layout "$T/img/oci"
import_rows docker-archive "$T/img/docker.tar"
native_rows

# Start: one cache, the image imported once.
export LIGHTVM_IMAGE_DIR="$T/cache"
"$L" image import --name bench "$T/img/oci" >/dev/null
ROOT="$T/cache/roots/sha256/$ID/rootfs"
by_name=() by_path=() ro=() rootfs=()
for _ in $(seq "$START_RUNS"); do
    by_name+=("$(ms "$L" run -u 0 --image bench true)")
    by_path+=("$(ms "$L" run -u 0 --image "$T/img/oci" true)")
    ro+=("$(ms "$L" run -u 0 --image bench --read-only true)")
    rootfs+=("$(ms "$L" run --rootfs "$ROOT:ro" "$ROOT/bin/true")")
done
echo
echo "start + exit of \`true\` (busybox), $START_RUNS runs each, interleaved:"
echo
echo "| what | median | vs --rootfs |"
echo "|---|---:|---:|"
mr=$(med "${rootfs[@]}")
echo "| \`lightvm run --rootfs CACHEDROOT:ro CACHEDROOT/bin/true\` | $mr ms | 1.00x |"
for row in "--image NAME (overlay writable layer)|by_name" "--image PATH (cache hit + overlay)|by_path" "--image NAME --read-only (no overlay)|ro"; do
    label=${row%|*}
    arr="${row#*|}[@]"
    m=$(med "${!arr}")
    echo "| \`lightvm run $label true\` | $m ms | $(ratio "$m" "$mr") |"
done
