# A private containerd for tests and benchmarks (sourced, not run): its own
# root, state, socket and namespace, and an OCI image built from local files.
#   containerd_start DIR     starts it (config and sockets in DIR); sets SOCK,
#                            NS, CPID and CTR (the ctr command line as an array);
#                            exits 77 (skip) if it cannot start here
#   busybox_image DIR BUSYBOX  builds a one-layer OCI image of busybox-static,
#                            imports it (native snapshotter), prints its name
#   containerd_stop          kills every task, deletes the containers, stops it

containerd_start() {
    local dir=$1
    SOCK="$dir/containerd.sock"
    NS=lvtest$$  # the shim keeps lightvm-oci's --root at /run/containerd/runc/$NS
    cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
TOML
    containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
    CPID=$!
    for _ in $(seq 100); do
        [ -S "$SOCK" ] && ctr -a "$SOCK" version >/dev/null 2>&1 && break
        sleep 0.1
    done
    if ! ctr -a "$SOCK" version >/dev/null 2>&1; then
        echo "SKIPPED: containerd does not start in this environment:"
        tail -5 "$dir/containerd.log"
        kill "$CPID" 2>/dev/null
        CPID=""
        exit 77
    fi
    CTR=(ctr -a "$SOCK" -n "$NS")
}

containerd_stop() {
    [ -n "${CPID:-}" ] || return 0
    local c
    for c in $("${CTR[@]}" task ls -q 2>/dev/null); do "${CTR[@]}" task kill -s KILL "$c" >/dev/null 2>&1; done
    sleep 0.5
    for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do
        "${CTR[@]}" task delete -f "$c" >/dev/null 2>&1
        "${CTR[@]}" containers delete "$c" >/dev/null 2>&1
    done
    kill "$CPID" 2>/dev/null
    wait "$CPID" 2>/dev/null
    rmdir "/run/containerd/runc/$NS" 2>/dev/null
    # The namespace's cgroup, parent of its containers' (runc's and
    # lightvm-oci's both leave it): only if empty.
    rmdir /sys/fs/cgroup/*/"$NS" 2>/dev/null
    CPID=""
}

busybox_image() {
    local dir=$1 busybox=$2 a
    mkdir -p "$dir/img/rootfs/bin" "$dir/img/rootfs/etc" "$dir/img/rootfs/tmp" "$dir/oci/blobs/sha256"
    cp "$busybox" "$dir/img/rootfs/bin/busybox"
    for a in sh echo cat ls touch sleep true false hostname; do ln -s busybox "$dir/img/rootfs/bin/$a"; done
    tar -C "$dir/img/rootfs" --numeric-owner --owner=0 --group=0 -cf "$dir/img/layer.tar" .
    python3 - "$dir/img/layer.tar" "$dir/oci" <<'PY'
import hashlib, json, os, sys
layer, out = sys.argv[1], sys.argv[2]
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(out, "blobs", "sha256", d), "wb").write(data)
    return "sha256:" + d, len(data)
ldigest, lsize = blob(open(layer, "rb").read())
config = {"architecture": "amd64", "os": "linux",
          "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/"},
          "rootfs": {"type": "layers", "diff_ids": [ldigest]}}
cdigest, csize = blob(json.dumps(config).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ldigest, "size": lsize}]}
mdigest, msize = blob(json.dumps(manifest).encode())
index = {"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
    "platform": {"architecture": "amd64", "os": "linux"},
    "annotations": {"io.containerd.image.name": "docker.io/library/lvbusybox:test",
                    "org.opencontainers.image.ref.name": "test"}}]}
json.dump(index, open(os.path.join(out, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
PY
    tar -C "$dir/oci" -cf "$dir/image.tar" .
    if ! "${CTR[@]}" images import --snapshotter native "$dir/image.tar" >"$dir/import.log" 2>&1; then
        cat "$dir/import.log"
        return 1
    fi
    echo docker.io/library/lvbusybox:test
}
