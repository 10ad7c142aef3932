#!/usr/bin/env bash
# System tests for networking: drive `lightvm run --net/-p` exactly as a
# user would, with host-side curl, busybox and python peers on 127.0.0.1.
#   net_cli_test.sh LIGHTVM_BINARY GUEST_PROGRAM_DIR
# Prints "ok - NAME" / "not ok - NAME" per check and "N passed, N failed";
# exits 1 if anything failed, 77 (skip) without a usable /dev/kvm or curl.
# Documented limitations print "KNOWN LIMITATION: ..." and do not fail.

set -u
. "$(dirname "$0")/harness.sh"
harness_init net-cli-test "$@"
for tool in curl python3; do
    if ! command -v $tool >/dev/null; then
        echo "SKIPPED: $tool not installed (scripts/install-deps.sh)"
        rm -rf "$T"
        exit 77
    fi
done
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
KNOWN=0
known_limitation() { echo "KNOWN LIMITATION: $*"; KNOWN=$((KNOWN + 1)); }

# A TCP port nobody uses now (the kernel picks it).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until something listens on 127.0.0.1:$1 (at most ~10 s).
wait_port() {
    for _ in $(seq 200); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# serve_page DIR TEXT BIND: a host http server on BIND for DIR/index.html
# holding TEXT; sets PAGE_PORT to its port.
serve_page() {
    mkdir -p "$1"
    echo "$2" >"$1/index.html"
    PAGE_PORT=$(free_port)
    (cd "$1" && exec python3 -m http.server "$PAGE_PORT" --bind "$3" >/dev/null 2>&1) &
    PIDS="$PIDS $!"
    wait_port "$PAGE_PORT" || fail "host http server on $3 starts"
}

serve_page "$T/www" "page from the host" 127.0.0.1
HOST_PORT=$PAGE_PORT

# 1. A guest server published with -p, fetched by host curl: 1000 requests,
#    one connection each, all answered.
P=$(free_port)
"$L" run --timeout 60 -p "127.0.0.1:$P:80" "$G/netpeer.glibc" serve 80 1000 >"$T/serve.out" 2>"$T/serve.err" &
VM=$!
urls=""
for _ in $(seq 1000); do urls="$urls http://127.0.0.1:$P/"; done
# shellcheck disable=SC2086
answered=$(curl -s --retry 20 --retry-connrefused --retry-delay 0 $urls | grep -c '^hello$')
wait $VM
RC=$?
if [ "$answered" -eq 1000 ] && [ "$RC" -eq 0 ]; then pass "-p: 1000 curl requests to a guest server, all answered"
else fail "-p: 1000 curl requests to a guest server, all answered" "answered $answered, guest status $RC: $(head -c 300 "$T/serve.err")"; fi

# 2. busybox nc -l in the guest serves one HTTP response to host curl.
P=$(free_port)
printf 'HTTP/1.0 200 OK\r\nContent-Length: 8\r\n\r\nfrom nc\n' >"$T/resp"
"$L" run --timeout 20 -p "$P:80" "$BUSYBOX" nc -l -p 80 <"$T/resp" >"$T/nc.out" 2>&1 &
VM=$!
body=$(curl -s --retry 20 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$P/x")
wait $VM
RC=$?
if [ "$body" = "from nc" ] && [ "$RC" -eq 0 ] && grep -q "GET /x HTTP" "$T/nc.out"; then pass "busybox nc -l behind -p answers curl"
else fail "busybox nc -l behind -p answers curl" "body '$body', status $RC, guest output '$(head -c 200 "$T/nc.out")'"; fi

# 2b. -p HOSTIP:HOSTPORT:GUESTPORT/udp under --net none (the default): a
#     guest UDP echo server (netpeer udpecho, on the wildcard address) gets
#     three datagrams from one host socket and echoes each exactly, from the
#     published address; a second host socket gets its own reply; the
#     server saw two distinct host peers, its own in-VM client's echo stayed
#     in the VM, and a sendto outside from the published socket is
#     ENETUNREACH. Datagrams sent as soon as the host port is bound wait for
#     the guest there (no retries). Once per server mode.
# Waits until a UDP socket is bound to 127.0.0.1:$1 (at most ~10 s), read
# from /proc/net/udp (a probing bind could take the port itself).
wait_udp_port() {
    local hex
    hex=$(printf '0100007F:%04X' "$1")
    for _ in $(seq 200); do
        grep -q " $hex " /proc/net/udp && return 0
        sleep 0.05
    done
    return 1
}
cat >"$T/udpclient.py" <<'PYEOF'
import socket, sys
dest = ("127.0.0.1", int(sys.argv[1]))
def client():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(20)
    return s
a, b = client(), client()
sent = [b"first", b"second " + b"x" * 700, b"third"]
for m in sent:
    a.sendto(m, dest)
got = [a.recvfrom(2048) for _ in sent]
print("a", "ok" if [d for d, _ in got] == sent else "bad %r" % [d[:16] for d, _ in got],
      "from-published" if all(src == dest for _, src in got) else "from %r" % [src for _, src in got])
b.sendto(b"from b", dest)
d, src = b.recvfrom(2048)
print("b", "ok" if d == b"from b" and src == dest else "bad %r %r" % (d, src))
a.sendto(b"quit", dest)
print("quit", "ok" if a.recvfrom(2048)[0] == b"quit" else "bad")
PYEOF
for mode in block epoll block6; do
    P=$(free_port)
    "$L" run --timeout 30 -p "127.0.0.1:$P:7/udp" "$G/netpeer.musl" udpecho 7 "$mode" \
        >"$T/udpecho.out" 2>"$T/udpecho.err" &
    VM=$!
    if wait_udp_port "$P"; then got=$(timeout 25 python3 "$T/udpclient.py" "$P" 2>&1); else got="port never bound"; fi
    wait $VM
    RC=$?
    want="a ok from-published
b ok
quit ok"
    if [ "$got" = "$want" ] && [ "$RC" -eq 0 ] &&
        [ "$(cat "$T/udpecho.out")" = "udpecho peers 2 local ok outside unreachable" ]; then
        pass "--net none -p /udp ($mode): a guest UDP echo server answers two host clients, each from the published port"
    else fail "--net none -p /udp ($mode): a guest UDP echo server answers two host clients, each from the published port" \
        "client: $(echo "$got" | tr '\n' '|')" "guest status $RC: $(head -c 300 "$T/udpecho.out") $(head -c 300 "$T/udpecho.err")"; fi
done
# A UDP port some other socket holds, SO_REUSEADDR set on it or not, is one
# line (SO_REUSEADDR on ours would have shared the port with the first).
for reuse in 0 1; do
    P=$(free_port)
    python3 -c "import socket,sys,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, $reuse); s.bind(('127.0.0.1',$P)); open('$T/udphold','w'); time.sleep(30)" &
    HOLD=$!
    for _ in $(seq 100); do [ -e "$T/udphold" ] && break; sleep 0.05; done
    run "$L" run -p "127.0.0.1:$P:53/udp" "$G/hello.musl"
    expect_error "-p /udp on a host UDP port already in use (SO_REUSEADDR=$reuse on its socket)" 125 "host port $P is already in use"
    kill $HOLD 2>/dev/null
    wait $HOLD 2>/dev/null
    rm -f "$T/udphold"
done

# 3. --net host: busybox wget in the guest fetches from the host's server.
run "$L" run --timeout 20 --net host "$BUSYBOX" wget -q -O - "http://127.0.0.1:$HOST_PORT/"
expect "--net host: busybox wget reaches a host server" 0 "page from the host"

# 4. Isolation: the default (--net none) cannot reach the host's loopback.
run "$L" run --timeout 20 "$BUSYBOX" wget -q -O - "http://127.0.0.1:$HOST_PORT/"
if [ "$RC" -ne 0 ] && [ -z "$OUT" ]; then pass "--net none: the host's 127.0.0.1 services are unreachable"
else fail "--net none: the host's 127.0.0.1 services are unreachable" "$(describe)"; fi
run "$L" run --timeout 20 --net none "$G/netpeer.glibc" get 192.0.2.1 80
if [ "$RC" -eq 1 ] && grep -q "unreachable" "$T/err"; then pass "--net none: no route out (ENETUNREACH)"
else fail "--net none: no route out (ENETUNREACH)" "$(describe)"; fi

# 5. The guest's own loopback works with --net none (sockets test program).
run "$L" run --timeout 20 "$G/sockets.musl"
if [ "$RC" -eq 0 ] && ! grep -q FAILED "$T/out" && grep -q "tcp6 150000 bytes: ok" "$T/out"; then
    pass "--net none: loopback TCP/UDP/AF_UNIX inside the VM"
else fail "--net none: loopback TCP/UDP/AF_UNIX inside the VM" "$(describe)"; fi

# 6. busybox httpd: the issue's example. httpd forks a child per connection:
#    200 requests, one connection (and one guest process) each, all answered.
P=$(free_port)
"$L" run --timeout 120 -p "$P:80" --rootfs /:ro "$BUSYBOX" httpd -f -p 80 -h "$T/www" >"$T/httpd.out" 2>&1 &
VM=$!
body=$(curl -s -m 5 --retry 20 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$P/")
urls=""
for _ in $(seq 199); do urls="$urls http://127.0.0.1:$P/"; done
# shellcheck disable=SC2086
answered=$(curl -s -m 60 $urls | grep -c '^page from the host$')
kill $VM 2>/dev/null
wait $VM 2>/dev/null
if [ "$body" = "page from the host" ] && [ "$answered" -eq 199 ]; then pass "busybox httpd (a fork per connection) behind -p: 200 curl requests answered"
else fail "busybox httpd (a fork per connection) behind -p: 200 curl requests answered" "first body '$body', then $answered of 199: $(head -c 300 "$T/httpd.out")"; fi

# 6b. The same page from a dynamically linked server that does not fork:
#     Debian's python3 (socketserver.TCPServer, one request at a time).
if [ -x /usr/bin/python3 ]; then
    P=$(free_port)
    "$L" run --timeout 120 -p "$P:8000" --rootfs /:ro -w "$T/www" /usr/bin/python3 -c \
        "import http.server as h, socketserver as s; s.TCPServer(('', 8000), h.SimpleHTTPRequestHandler).serve_forever()" \
        >"$T/py.out" 2>&1 &
    VM=$!
    body=""
    for _ in $(seq 90); do
        body=$(curl -s -m 10 "http://127.0.0.1:$P/index.html") && [ -n "$body" ] && break
        sleep 1
    done
    kill $VM 2>/dev/null
    wait $VM 2>/dev/null
    if [ "$body" = "page from the host" ]; then pass "python3 http server (dynamic, --rootfs /:ro) behind -p serves curl"
    else fail "python3 http server (dynamic, --rootfs /:ro) behind -p serves curl" "body '$body', guest output '$(head -c 300 "$T/py.out")'"; fi
fi

# 6b2. A UDP exchange as glibc's DNS resolver makes it (IP_RECVERR set on
#      the socket, connect, send, poll, recv), from dynamic python3 in the
#      guest to a host UDP echo server; getent failed on the setsockopt
#      before IP_RECVERR was allowed.
if [ -x /usr/bin/python3 ]; then
    UP=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1',$UP)); open('$T/udp.ready','w'); d,a=s.recvfrom(512); s.sendto(d.upper(),a)" &
    UPID=$!
    for _ in $(seq 100); do [ -e "$T/udp.ready" ] && break; sleep 0.05; done
    run "$L" run --timeout 20 --net host --rootfs /:ro /usr/bin/python3 -c "import socket
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, 11, 1)  # IP_RECVERR
s.connect(('127.0.0.1', $UP)); s.send(b'query'); s.settimeout(5); print(s.recv(512).decode())"
    expect "--net host: UDP with IP_RECVERR (glibc's resolver's way) gets its answer" 0 "QUERY"
    kill $UPID 2>/dev/null
    wait $UPID 2>/dev/null
fi

# 6c. --net ns:PATH: the guest's sockets live in a network namespace made
#     here with ip netns (as a CNI plugin would): it reaches a server that
#     listens only inside that namespace, -p publishes into it, and the host's
#     own loopback services are not there.
NS=lightvm-nettest-$$
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add "$NS" 2>/dev/null; then
    ip netns exec "$NS" ip link set lo up
    mkdir -p "$T/nswww"
    echo "page from the namespace" >"$T/nswww/index.html"
    NSP=$(free_port)
    (cd "$T/nswww" && exec ip netns exec "$NS" python3 -m http.server "$NSP" --bind 127.0.0.1 >/dev/null 2>&1) &
    PIDS="$PIDS $!"
    for _ in $(seq 200); do
        ip netns exec "$NS" python3 -c "import socket; socket.create_connection(('127.0.0.1',$NSP),0.2).close()" 2>/dev/null && break
        sleep 0.05
    done
    run "$L" run --timeout 20 --net "ns:/run/netns/$NS" "$BUSYBOX" wget -q -O - "http://127.0.0.1:$NSP/"
    expect "--net ns:PATH: busybox wget reaches a server inside the namespace" 0 "page from the namespace"
    run "$L" run --timeout 20 --net "ns:/run/netns/$NS" "$BUSYBOX" wget -q -O - "http://127.0.0.1:$HOST_PORT/"
    if [ "$RC" -ne 0 ] && [ -z "$OUT" ]; then pass "--net ns:PATH: the host's 127.0.0.1 services are not in the namespace"
    else fail "--net ns:PATH: the host's 127.0.0.1 services are not in the namespace" "$(describe)"; fi
    P=$(free_port)
    "$L" run --timeout 20 --net "ns:/run/netns/$NS" -p "127.0.0.1:$P:80" "$G/netpeer.glibc" serve 80 1 >"$T/nsserve.out" 2>"$T/nsserve.err" &
    VM=$!
    body=""
    for _ in $(seq 100); do
        body=$(ip netns exec "$NS" curl -s -m 5 "http://127.0.0.1:$P/") && [ -n "$body" ] && break
        sleep 0.1
    done
    wait $VM
    RC=$?
    if [ "$body" = "hello" ] && [ "$RC" -eq 0 ]; then pass "--net ns:PATH with -p: the port is published inside the namespace"
    else fail "--net ns:PATH with -p: the port is published inside the namespace" "body '$body', status $RC: $(head -c 300 "$T/nsserve.err")"; fi
    ip netns delete "$NS"
else
    echo "# SKIPPED: --net ns:PATH needs root and ip netns"
fi
# 6d. --net user: the guest's sockets live in a namespace of its own that
#     pasta connects outward. A host server on an address outside the VM's
#     namespace (an extra address on the host's lo, added here, so no
#     traffic leaves this machine) is reached; the host's 127.0.0.1
#     services and the gateway address (which pasta would otherwise map to
#     the host's loopback) are not; -p ports are published in the host's
#     namespace; pasta ends with the VM, a SIGKILLed one included.
OUT_IP=198.51.100.77
if [ "$(id -u)" -eq 0 ] && command -v pasta >/dev/null && command -v ip >/dev/null &&
    ip addr add "$OUT_IP/32" dev lo 2>/dev/null; then
    serve_page "$T/outwww" "page from outside" 0.0.0.0
    OUTP=$PAGE_PORT
    pastas() { pgrep -x pasta | wc -l; }
    before=$(pastas)
    run "$L" run --timeout 20 --net user "$BUSYBOX" wget -q -O - "http://$OUT_IP:$OUTP/"
    expect "--net user: busybox wget reaches a server outside the VM" 0 "page from outside"
    run "$L" run --timeout 20 --net user "$G/netpeer.musl" get "$OUT_IP" "$OUTP"
    expect "--net user: a static musl client (netpeer) gets the page" 0 "page from outside"
    run "$L" run --timeout 20 --net user "$BUSYBOX" wget -q -O - "http://127.0.0.1:$OUTP/"
    if [ "$RC" -ne 0 ] && [ -z "$OUT" ]; then pass "--net user: the host's 127.0.0.1 services are unreachable"
    else fail "--net user: the host's 127.0.0.1 services are unreachable" "$(describe)"; fi
    GW=$(ip -4 route show default | awk '{print $3; exit}')
    if [ -n "$GW" ]; then
        run "$L" run --timeout 5 --net user "$G/netpeer.musl" get "$GW" "$OUTP"
        if [ "$OUT" != "page from outside" ]; then pass "--net user: the gateway address is not the host"
        else fail "--net user: the gateway address is not the host" "$(describe)"; fi
    fi
    P=$(free_port)
    "$L" run --timeout 20 --net user -p "127.0.0.1:$P:80" "$G/netpeer.glibc" serve 80 1 >"$T/userserve.out" 2>"$T/userserve.err" &
    VM=$!
    body=$(curl -s -m 5 --retry 50 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$P/")
    wait $VM
    RC=$?
    if [ "$body" = "hello" ] && [ "$RC" -eq 0 ]; then pass "--net user with -p: host curl reaches the guest server"
    else fail "--net user with -p: host curl reaches the guest server" "body '$body', status $RC: $(head -c 300 "$T/userserve.err")"; fi
    # --dns: the guest's /etc/resolv.conf names a DNS server made here (any
    # A query gets 192.0.2.123, others no answer), and glibc's getent finds
    # a name through it, the query going out through pasta.
    cat >"$T/dns.py" <<'PYEOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
open(sys.argv[2], "w").close()
while True:
    q, peer = s.recvfrom(512)
    end = 12
    while q[end]:
        end += q[end] + 1
    qtype = struct.unpack(">H", q[end + 1:end + 3])[0]
    question = q[12:end + 5]
    answers = b""
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.123")
    header = q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if answers else 0, 0, 0)
    s.sendto(header + question + answers, peer)
PYEOF
    python3 "$T/dns.py" "$OUT_IP" "$T/dns.ready" &
    DNSPID=$!
    for _ in $(seq 100); do [ -e "$T/dns.ready" ] && break; sleep 0.05; done
    run "$L" run --timeout 20 --net user --dns "$OUT_IP" --rootfs /:ro "$BUSYBOX" cat /etc/resolv.conf
    expect "--dns: the guest's /etc/resolv.conf names the server" 0 "nameserver $OUT_IP"
    run "$L" run --timeout 20 --net user --dns "$OUT_IP" --rootfs /:ro /usr/bin/getent hosts lightvm-test.example
    if [ "$RC" -eq 0 ] && grep -q "^192.0.2.123 *lightvm-test.example" "$T/out"; then
        pass "--net user --dns: glibc's getent resolves a name through the server"
    else fail "--net user --dns: glibc's getent resolves a name through the server" "$(describe)"; fi
    kill $DNSPID 2>/dev/null
    wait $DNSPID 2>/dev/null
    # -p HOST:GUEST/udp under --net user: a guest UDP server (python3)
    # answers a host client (retried until the guest is up).
    if [ -x /usr/bin/python3 ]; then
        P=$(free_port)
        "$L" run --timeout 30 --net user --rootfs /:ro -p "127.0.0.1:$P:53/udp" /usr/bin/python3 -c \
            "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0',53)); d,a=s.recvfrom(100); s.sendto(d.upper(),a)" \
            >"$T/udpserve.out" 2>&1 &
        VM=$!
        got=$(python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(50):
    s.sendto(b'ping', ('127.0.0.1', $P))
    try:
        print(s.recv(100).decode()); break
    except OSError:
        pass")
        wait $VM
        RC=$?
        if [ "$got" = "PING" ] && [ "$RC" -eq 0 ]; then pass "--net user with -p /udp: a host client gets the guest's answer"
        else fail "--net user with -p /udp: a host client gets the guest's answer" "got '$got', status $RC: $(head -c 300 "$T/udpserve.out")"; fi
    fi
    "$L" run --net user "$BUSYBOX" sleep 30 >/dev/null 2>&1 &
    VM=$!
    sleep 1
    kill -9 $VM
    wait $VM 2>/dev/null
    sleep 0.5
    if [ "$(pastas)" -eq "$before" ]; then pass "--net user: pasta ends with the VM (SIGKILLed monitor included)"
    else fail "--net user: pasta ends with the VM (SIGKILLed monitor included)" "$before pasta processes before, $(pastas) after"; fi
    # Snapshots of a --net user VM (issue 16, per-clone network identity):
    # saved at its ready mark with no host socket open, every restore gets
    # a pasta namespace of its own. Two clones at once both bind port 7070
    # (one namespace would refuse the second) and both reach the server.
    NETREADY="echo 1 > /sys/devices/virtual/lightvm/ready; busybox nc -l -p 7070 & sleep 0.5; kill -0 \$! && echo bound; wget -q -O - http://$OUT_IP:$OUTP/"
    run "$L" run --no-daemon --timeout 20 --net user --save "$T/netsnap" --save-at-ready --save-stop "$BUSYBOX" sh -c "$NETREADY"
    expect "--net user: a VM with no host socket open saves at its ready mark" 0 ""
    "$L" run --restore "$T/netsnap" >"$T/clone1.out" 2>/dev/null &
    C1=$!
    run "$L" run --restore "$T/netsnap"
    wait $C1
    c1=$(cat "$T/clone1.out")
    if [ "$RC" -eq 0 ] && [ "$OUT" = "$(printf 'bound\npage from outside')" ] && [ "$c1" = "$OUT" ]; then
        pass "--net user: two clones at once, each in a namespace of its own, both reach the outside"
    else fail "--net user clones" "$(describe)" "first clone: $c1"; fi
    run "$L" run --no-daemon --timeout 20 --net user --save "$T/netsnap2" --save-at-ready "$BUSYBOX" sh -c \
        'busybox nc -l -p 7071 & sleep 0.3; echo 1 > /sys/devices/virtual/lightvm/ready'
    expect_error "--net user: a save with a host socket open is refused with one line" 125 "host socket(s) open"
    run "$L" run --save "$T/netsnap3" --net user -p "127.0.0.1:$(free_port):80" "$BUSYBOX" true
    expect_error "--save with -p: one line" 2 "cannot be saved"
    sleep 0.5
    if [ "$(pastas)" -eq "$before" ]; then pass "--net user: no pasta outlives the clones"
    else fail "--net user: pasta after the clones" "$before pasta processes before, $(pastas) after"; fi
    # pasta failing to configure the namespace: the guest's first socket
    # ends the run with pasta's last line; a guest without sockets is not
    # held up by it.
    # (--no-daemon: the pasta a run finds is on the caller's PATH; through
    # lightvmd it is the daemon's.)
    mkdir -p "$T/fakebin"
    printf '#!/bin/sh\necho "fake pasta: cannot start" >&2\nexit 1\n' >"$T/fakebin/pasta"
    chmod +x "$T/fakebin/pasta"
    run env PATH="$T/fakebin:$PATH" "$L" run --no-daemon --net user "$BUSYBOX" wget -q -O - "http://$OUT_IP:$OUTP/"
    expect_error "--net user: pasta failing is one line at the first socket" 125 "lightvm: --net user: pasta failed: fake pasta: cannot start" exact
    run env PATH="$T/fakebin:$PATH" "$L" run --no-daemon --net user "$BUSYBOX" echo no sockets
    expect "--net user: a guest without sockets does not wait for pasta" 0 "no sockets"
    run env PATH=/nonexistent "$L" run --no-daemon --net user "$G/hello.musl"
    expect_error "--net user without pasta installed" 125 "--net user: pasta not found"
    # lightvmd as nobody: its pool shells stay in the host's network (no
    # privilege to leave it), VMs reach out with --net user and publish
    # with -p, and nothing of nobody's outlives the daemon.
    rootless_daemon() {
        local rl d as_client
        rl=$(mktemp -d /tmp/lightvm-rootless.XXXXXX)
        chown 65534:65534 "$rl"
        "$T/as_nobody" "$(dirname "$L")/lightvmd" --socket "$rl/d.sock" --state-dir "$rl/state" --pool 1 --pool-mem 64M \
            2>"$rl/daemon.log" &
        d=$!
        PIDS="$PIDS $d"
        for _ in $(seq 100); do [ -S "$rl/d.sock.run" ] && break; sleep 0.1; done
        as_client="setpriv --reuid=65534 --regid=65534 --clear-groups env LIGHTVM_SOCKET=$rl/d.sock"
        run $as_client "$L" run -d --name rl-get --net user "$BUSYBOX" wget -q -O - "http://$OUT_IP:$OUTP/"
        run $as_client "$L" wait rl-get
        run $as_client "$L" logs rl-get
        expect "lightvmd as nobody: a --net user VM reaches a server outside" 0 "page from outside"
        P=$(free_port)
        run $as_client "$L" run -d --name rl-serve --net user -p "127.0.0.1:$P:80" "$G/netpeer.glibc" serve 80 1
        body=$(curl -s --retry 20 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$P/")
        run $as_client "$L" wait rl-serve
        if [ "$body" = "hello" ] && [ "$RC" -eq 0 ]; then pass "lightvmd as nobody: -p publishes a guest server to host curl"
        else fail "lightvmd as nobody: -p" "body '$body', $(describe)" "$(tail -3 "$rl/daemon.log")"; fi
        run $as_client "$L" run "$BUSYBOX" echo attached
        expect "lightvmd as nobody: an attached lightvm run goes through it" 0 "attached"
        kill -TERM "$d"; wait "$d" 2>/dev/null
        left=1
        for _ in $(seq 50); do
            left=$(ps -o stat= -u 65534 | grep -vc '^Z')
            [ "$left" -eq 0 ] && break
            sleep 0.1
        done
        [ "$left" -eq 0 ] && pass "lightvmd as nobody: nothing of nobody's outlives the daemon" ||
            fail "lightvmd as nobody: processes left" "$(ps -o pid=,stat=,args= -u 65534)"
        rm -rf "$rl"
    }
    # Rootless: the same as a user without privileges (nobody), given KVM
    # and tun device nodes of this test's own, bound over /dev/kvm and
    # /dev/net/tun in a mount namespace of its own (the host's nodes are not
    # touched; this machine has both 0600 where Debian makes tun 0666 and
    # gives /dev/kvm to the kvm group). A script, not a function: `run`
    # starts it through timeout.
    printf '#!/bin/sh\nexec unshare -m sh -c '"'"'mount --bind "$0/kvm" /dev/kvm && mount --bind "$0/tun" /dev/net/tun && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"'"'"' "%s" "$@"\n' \
        "$T" >"$T/as_nobody"
    chmod +x "$T/as_nobody"
    as_nobody() { "$T/as_nobody" "$@"; }
    if command -v setpriv >/dev/null && command -v unshare >/dev/null && mknod "$T/kvm" c 10 232 2>/dev/null &&
        mknod "$T/tun" c 10 200 && chown 65534:65534 "$T/kvm" "$T/tun" && as_nobody "$L" --version >/dev/null 2>&1; then
        before=$(pastas)
        run "$T/as_nobody" "$L" run --no-daemon --timeout 20 --net user "$BUSYBOX" wget -q -O - "http://$OUT_IP:$OUTP/"
        expect "--net user as nobody (rootless): busybox wget reaches a server outside the VM" 0 "page from outside"
        run "$T/as_nobody" "$L" run --no-daemon --timeout 20 --net user "$G/netpeer.musl" get "$OUT_IP" "$OUTP"
        expect "--net user as nobody: a static musl client (netpeer) gets the page" 0 "page from outside"
        run "$T/as_nobody" "$L" run --no-daemon --timeout 20 --net user "$BUSYBOX" wget -q -O - "http://127.0.0.1:$OUTP/"
        if [ "$RC" -ne 0 ] && [ -z "$OUT" ]; then pass "--net user as nobody: the host's 127.0.0.1 services are unreachable"
        else fail "--net user as nobody: the host's 127.0.0.1 services are unreachable" "$(describe)"; fi
        P=$(free_port)
        as_nobody "$L" run --no-daemon --timeout 20 --net user -p "127.0.0.1:$P:80" "$G/netpeer.glibc" serve 80 1 \
            >"$T/rlserve.out" 2>"$T/rlserve.err" &
        VM=$!
        body=$(curl -s --retry 20 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$P/")
        wait $VM
        RC=$?
        if [ "$body" = "hello" ] && [ "$RC" -eq 0 ]; then pass "--net user -p as nobody: host curl reaches the guest server"
        else fail "--net user -p as nobody: host curl reaches the guest server" "body '$body', status $RC: $(head -c 300 "$T/rlserve.err")"; fi
        sleep 0.3
        # The namespace process is a fork of lightvm's, running as nobody
        # (zombies do not count: init reaps them when it gets to it).
        left=1
        for _ in $(seq 50); do
            left=$(ps -o stat= -o comm= -u 65534 | awk '$1 !~ /^Z/ && $2 == "lightvm"' | wc -l)
            [ "$left" -eq 0 ] && break
            sleep 0.1
        done
        if [ "$(pastas)" -eq "$before" ] && [ "$left" -eq 0 ]; then
            pass "--net user as nobody: pasta and the namespace process end with the VM"
        else fail "--net user as nobody: pasta after the VMs" "$before pasta processes before, $(pastas) after, $left of nobody's lightvm processes left"; fi
        rootless_daemon
    else
        echo "# SKIPPED: rootless --net user needs setpriv, unshare and a lightvm binary nobody may run"
    fi
    ip addr del "$OUT_IP/32" dev lo
else
    echo "# SKIPPED: --net user needs root, pasta (passt) and ip"
fi
run "$L" run --net ns:/nonexistent/netns "$G/hello.musl"
expect_error "--net ns: a namespace that does not exist" 125 "--net ns:/nonexistent/netns: No such file or directory"
run "$L" run --net ns:/etc/hostname "$G/hello.musl"
expect_error "--net ns: a file that is not a namespace" 125 "--net ns:/etc/hostname"

# 6d. /etc/hosts and /etc/resolv.conf where the guest's root file system has none.
run "$L" run --hostname web1 "$BUSYBOX" cat /etc/hosts
if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -q "^127.0.0.1	localhost$" && printf '%s\n' "$OUT" | grep -q "^127.0.1.1	web1$"; then
    pass "no rootfs: /etc/hosts names localhost and the hostname"
else fail "no rootfs: /etc/hosts" "$(describe)"; fi
mkdir -p "$T/rootfs/etc"
printf '10.1.2.3\tmine\n' >"$T/rootfs/etc/hosts"
run "$L" run --rootfs "$T/rootfs:ro" "$BUSYBOX" cat /etc/hosts
expect "a rootfs's own /etc/hosts is used as is" 0 "10.1.2.3	mine"
run "$L" run "$BUSYBOX" cat /etc/resolv.conf
if [ "$RC" -ne 0 ]; then pass "--net none: no /etc/resolv.conf (no server is reachable)"; else fail "--net none: no resolv.conf" "$(describe)"; fi
want=$(grep -E '^nameserver' /etc/resolv.conf | head -3 | awk '{print "nameserver " $2}')
if [ -n "$want" ]; then
    run "$L" run --net host "$BUSYBOX" cat /etc/resolv.conf
    if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ]; then pass "--net host without a rootfs: the host's name servers"
    else fail "--net host: the host's name servers" "want '$want' $(describe)"; fi
else
    echo "# SKIPPED: this host's /etc/resolv.conf names no server"
fi

# 7. Errors: one line; status 2 for a bad option (usage), 125 for a host port in use.
run "$L" run --net bridge "$G/hello.musl"
expect_error "--net with an unknown mode" 2 "--net: unknown mode 'bridge'"
run "$L" run --dns 10.0.0.x "$G/hello.musl"
expect_error "--dns with a bad address" 2 "--dns: '10.0.0.x' is not an IP address"
run "$L" run -p 80 "$G/hello.musl"
expect_error "-p without a guest port" 2 "-p 80: expected [HOSTIP:]HOSTPORT:GUESTPORT"
run "$L" run -p 8080:99999 "$G/hello.musl"
expect_error "-p with a bad port" 2 "guest port '99999' is not a port"
run "$L" run -p "127.0.0.1:$HOST_PORT:80" "$G/hello.musl"
expect_error "-p on a host port already in use" 125 "host port $HOST_PORT is already in use"

echo "$KNOWN known limitation(s)"
harness_finish
