# A private dockerd for tests and benchmarks (sourced, not run): its own data
# root, exec root, pid file and socket under one directory, the containerd it
# starts itself (state under the exec root), and lightvm-oci added as the
# runtime "lightvm". No network setup: no bridge, no iptables rules, no
# ip_forward change, so the host's network is left as it was; containers
# run with --network none. Its own daemon.json (the host's
# /etc/docker/daemon.json is not read) puts its identity key, which dockerd
# 20.10 would write to /etc/docker/key.json, in DIR too; the plugin directory it always
# makes, /run/docker/plugins, is removed again if it was not there before.
#   docker_start DIR OCI   starts it; sets DOCKER (the docker command line as
#                          an array), DEXEC (its exec root) and DPID; exits 77
#                          (skip) if it cannot start here
#   docker_image DIR       builds tests/system/image_build.py's image from
#                          local files, `docker load`s it, prints its name
#   docker_stop            removes every container, stops dockerd (and with
#                          it its containerd and shims)

docker_start() {
    local dir=$1 oci=$2
    DEXEC=$dir/exec
    mkdir -p "$dir/data" "$DEXEC"
    DOCKER_RUN_DIR_NEW=1
    [ ! -e /run/docker ] || DOCKER_RUN_DIR_NEW=0
    printf '{"deprecated-key-path": "%s"}\n' "$dir/key.json" >"$dir/daemon.json"
    dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$DEXEC" --pidfile "$dir/dockerd.pid" \
        -H "unix://$dir/docker.sock" --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --bridge=none --userland-proxy=false --add-runtime "lightvm=$oci" >"$dir/dockerd.log" 2>&1 &
    DPID=$!
    DOCKER=(docker -H "unix://$dir/docker.sock")
    for _ in $(seq 150); do
        "${DOCKER[@]}" version >/dev/null 2>&1 && break
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    if ! "${DOCKER[@]}" version >/dev/null 2>&1; then
        echo "SKIPPED: dockerd does not start in this environment:"
        tail -5 "$dir/dockerd.log"
        docker_stop
        exit 77
    fi
}

# Safe under `set -e` (the benchmark's EXIT trap): no step's failure ends it.
docker_stop() {
    [ -n "${DPID:-}" ] || return 0
    local c
    c=$("${DOCKER[@]}" ps -aq 2>/dev/null || true)
    [ -z "$c" ] || "${DOCKER[@]}" rm -f $c >/dev/null 2>&1 || true
    kill "$DPID" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DPID" 2>/dev/null || true
    wait "$DPID" 2>/dev/null || true
    DPID=""
    if [ "$DOCKER_RUN_DIR_NEW" = 1 ]; then rmdir /run/docker/plugins /run/docker 2>/dev/null || true; fi
}

docker_image() {
    local dir=$1
    python3 "$(dirname "${BASH_SOURCE[0]}")/image_build.py" "$dir/img" --compress none --busybox "${BUSYBOX:-/bin/busybox}" \
        >"$dir/image_build.log" 2>&1 || { cat "$dir/image_build.log"; return 1; }
    "${DOCKER[@]}" load -i "$dir/img/docker.tar" >"$dir/load.log" 2>&1 || { cat "$dir/load.log"; return 1; }
    echo test/image:1
}
