# lightvmd's VMs with networking, as a user asks for it: `lightvm run -d`
# with -p, --net user|host, and --dns/--hostname/--tmpfs handed over, the
# same fields in the REST API (checked against docs/openapi.json), the
# refusals, and a --net user snapshot restored through the daemon. Sourced
# by daemon_test.sh (its $L, $G, $BUSYBOX, curl_api); not run on its own.
net_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
NP=$(net_port)

# -p: a guest server in a background VM answers host curl (the monitor,
# which left the host's network while it waited in the pool, binds the
# port back there); it ends after two requests.
run "$L" run -d --name dnet-web -m 64M -p "127.0.0.1:$NP:80" "$G/netpeer.glibc" serve 80 2
expect "run -d -p: the VM starts" 0
a=$(curl -s --retry 20 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$NP/")
b=$(curl -s --max-time 10 "http://127.0.0.1:$NP/")
run "$L" wait dnet-web
[ "$a$b" = "hellohello" ] && [ "$RC" -eq 0 ] && pass "run -d -p: host curl reaches the guest server twice, then it exits 0" ||
    fail "run -d -p" "answers '$a' '$b'" "$(describe)"

# The port is taken: one line naming it, status 125, the VM shown as failed.
python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", '"$NP"')); s.listen(); time.sleep(15)' &
HOLDER=$!
sleep 0.3
run "$L" run -d --name dnet-busy -m 64M -p "127.0.0.1:$NP:80" "$G/netpeer.glibc" serve 80 1
expect_error "run -d -p on a port in use: one line" 125 "host port $NP is already in use"
run "$L" inspect dnet-busy
case "$OUT" in *'"error": "-p 127.0.0.1:'"$NP"':80: host port '"$NP"' is already in use"'*) pass "inspect shows why it did not start" ;;
    *) fail "inspect of a VM whose port was taken" "$(describe)" ;; esac
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null

# --hostname and --tmpfs are handed over (they were dropped before).
run "$L" run -d --name dnet-opts -m 64M --hostname box --tmpfs /data:1M "$BUSYBOX" sh -c 'hostname; grep " /data " /proc/mounts'
run "$L" wait dnet-opts
[ "$(log_of dnet-opts)" = $'box\ntmpfs /data tmpfs rw 0 0' ] && pass "run -d --hostname --tmpfs: the VM has both" ||
    fail "run -d --hostname --tmpfs" "$(log_of dnet-opts)"

# What a lightvmd VM cannot take is refused, not dropped.
run "$L" run -d -m 64M --stats "$G/hello.musl"
expect_error "run -d --stats: refused with one line" 125 "--stats: not with -d or create"
run "$L" run -d -m 64M --uid 1000 "$G/hello.musl"
expect_error "run -d --uid: refused with one line" 125 "--uid/--gid: not with -d or create"

# The REST API takes the flags' texts and names a bad one.
curl_api POST /v1/vms "{\"app\":\"$G/hello.musl\",\"net\":\"bogus\"}"
[ "$CODE" = 400 ] && case "$BODY" in *"net: unknown mode 'bogus'"*) true ;; *) false ;; esac &&
    pass "API: an unknown net mode is a 400 naming it" || fail "API bad net" "$CODE $BODY"
curl_api POST /v1/vms "{\"app\":\"$G/hello.musl\",\"publish\":[\"80\"]}"
[ "$CODE" = 400 ] && case "$BODY" in *"publish"*"expected [HOSTIP:]HOSTPORT:GUESTPORT"*) true ;; *) false ;; esac &&
    pass "API: a malformed publish entry is a 400 naming it" || fail "API bad publish" "$CODE $BODY"
curl_api POST /v1/vms "{\"app\":\"$G/hello.musl\",\"dns\":[\"not-an-ip\"]}"
[ "$CODE" = 400 ] && pass "API: a bad dns server is a 400" || fail "API bad dns" "$CODE $BODY"
curl_api POST /v1/vms "{\"restore\":\"$T/none\",\"net\":\"user\"}"
[ "$CODE" = 400 ] && case "$BODY" in *"net: not with restore"*) true ;; *) false ;; esac &&
    pass "API: net with restore is refused (it comes from the snapshot)" || fail "API net with restore" "$CODE $BODY"
NP2=$(net_port)
curl_api POST '/v1/vms?start=1' "{\"name\":\"dnet-api\",\"app\":\"$G/netpeer.glibc\",\"args\":[\"serve\",\"80\",\"1\"],\"memory\":\"64M\",\"publish\":[\"127.0.0.1:$NP2:80\"]}"
[ "$CODE" = 201 ] || [ "$CODE" = 200 ] && a=$(curl -s --retry 20 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$NP2/") &&
    [ "$a" = hello ] && pass "API: publish in a create request serves host curl" || fail "API publish" "$CODE $BODY" "'$a'"
"$L" wait dnet-api >/dev/null 2>&1
curl_api GET /v1/vms/dnet-api
case "$BODY" in *'"publish": ['*'"host_port": '"$NP2"*) pass "inspect shows the published port" ;; *'"publish":['*"\"host_port\":$NP2"*) pass "inspect shows the published port" ;;
    *) fail "inspect publish" "$BODY" ;; esac

# --net user and host, and a --net user snapshot restored through the
# daemon (each restore gets its own pasta namespace). A host server on an
# address outside the VM's namespace (added to lo here) is reached; the
# host's loopback is not.
DNET_IP=198.51.100.79
if [ "$(id -u)" -eq 0 ] && command -v pasta >/dev/null && command -v ip >/dev/null &&
    ip addr add "$DNET_IP/32" dev lo 2>/dev/null; then
    mkdir -p "$T/dnetwww" && echo "page from outside" >"$T/dnetwww/index.html"
    WP=$(net_port)
    (cd "$T/dnetwww" && exec python3 -m http.server "$WP" --bind 0.0.0.0 >/dev/null 2>&1) &
    WPID=$!
    wait_until 5 curl -s -o /dev/null "http://127.0.0.1:$WP/"
    run "$L" run -d --name dnet-user -m 64M --net user "$BUSYBOX" wget -q -O - "http://$DNET_IP:$WP/"
    run "$L" wait dnet-user
    [ "$RC" -eq 0 ] && [ "$(log_of dnet-user)" = "page from outside" ] &&
        pass "run -d --net user: busybox wget reaches a server outside the VM" || fail "run -d --net user" "$(describe)" "$(log_of dnet-user)"
    run "$L" run -d --name dnet-lo -m 64M --net user "$BUSYBOX" wget -q -O - "http://127.0.0.1:$WP/"
    run "$L" wait dnet-lo
    [ "$RC" -ne 0 ] && pass "run -d --net user: the host's 127.0.0.1 is out of reach" || fail "run -d --net user isolation" "$(log_of dnet-lo)"
    run "$L" run -d --name dnet-host -m 64M --net host "$BUSYBOX" wget -q -O - "http://127.0.0.1:$WP/"
    run "$L" wait dnet-host
    [ "$RC" -eq 0 ] && [ "$(log_of dnet-host)" = "page from outside" ] &&
        pass "run -d --net host: the host's loopback is reached" || fail "run -d --net host" "$(log_of dnet-host)"
    run "$L" run --net user --save "$T/dnet-snap" --save-at-ready --save-stop -m 64M "$BUSYBOX" sh -c \
        "echo x >/sys/devices/virtual/lightvm/ready; wget -q -O - http://$DNET_IP:$WP/"
    run "$L" snapshot restore --name dnet-rs "$T/dnet-snap"
    run "$L" wait dnet-rs
    [ "$RC" -eq 0 ] && [ "$(log_of dnet-rs)" = "page from outside" ] &&
        pass "a --net user snapshot restored through lightvmd reaches out from its own namespace" ||
        fail "daemon restore of a --net user snapshot" "$(describe)" "$(log_of dnet-rs)"
    # A --net user VM with no host socket open migrates, and reaches out
    # from the target through a pasta namespace of its own there.
    MTP=$(free_port)
    start_target dnet-tgt "$MTP"
    run "$L" run -d --name dnet-mig -m 64M --net user "$BUSYBOX" sh -c "sleep 1; wget -q -O - http://$DNET_IP:$WP/"
    sleep 0.3
    run "$L" migrate dnet-mig --to "127.0.0.1:$MTP"
    expect "a --net user VM with no socket open migrates" 0
    run env LIGHTVM_SOCKET="$T/dnet-tgt.sock" "$L" wait dnet-mig
    [ "$RC" -eq 0 ] && [ "$(on dnet-tgt "$L" logs dnet-mig)" = "page from outside" ] &&
        pass "... and reaches out from the target's pasta namespace" ||
        fail "--net user migration" "$(describe)" "$(on dnet-tgt "$L" logs dnet-mig)" "$(tail -3 "$T/dnet-tgt.log")"
    migrate_cleanup
    [ "$(pgrep -x pasta | wc -l)" -eq 0 ] && pass "no pasta left after the VMs ended" || fail "pasta left" "$(pgrep -a pasta)"
    kill "$WPID"; wait "$WPID" 2>/dev/null
    ip addr del "$DNET_IP/32" dev lo
else
    echo "# SKIPPED: lightvmd VMs with --net user/host (needs root, pasta and ip)"
fi
