#!/usr/bin/env python3
"""A TCP proxy between two lightvmd for the migration tests: forwards one
connection and injects a fault into the source->target stream.

usage: migrate_proxy.py LISTEN_PORT TARGET_PORT MODE
  MODE  pass            forward everything
        cut-pages:N     close both sides instead of the N-th pages frame
        cut-end         close instead of forwarding the end frame
        cut-go          close instead of forwarding the go frame
        slow            forward at ~1 MiB/s (the target can be killed mid-transfer)
Prints "listening" once it accepts connections. Frames: docs/migration.md
(24-byte header: type u32, flags u32, a u64, len u64; payload len bytes,
none for zero frames)."""
import socket
import struct
import sys
import threading
import time

PAGES, ZERO, END, GO = 3, 4, 6, 8


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def close_both(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def forward_raw(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    close_both(src, dst)


def forward_frames(src, dst, mode):
    pages_seen = 0
    try:
        while True:
            header = read_exact(src, 24)
            ftype, _flags, _a, length = struct.unpack("<IIQQ", header)
            payload = b"" if ftype == ZERO else read_exact(src, length)
            if ftype == PAGES:
                pages_seen += 1
                if mode == "cut-pages:%d" % pages_seen:
                    break
            if (mode == "cut-end" and ftype == END) or (mode == "cut-go" and ftype == GO):
                break
            if mode == "slow":
                data = header + payload
                for i in range(0, len(data), 16384):
                    dst.sendall(data[i:i + 16384])
                    time.sleep(0.016)
            else:
                dst.sendall(header + payload)
    except (EOFError, OSError):
        pass
    close_both(src, dst)


def main():
    listen_port, target_port, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(4)
    print("listening", flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection(("127.0.0.1", target_port))
        threading.Thread(target=forward_frames, args=(client, upstream, mode), daemon=True).start()
        threading.Thread(target=forward_raw, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    main()
