#!/usr/bin/env python3
"""containerd's shim for `exec` with a terminal (process.terminal), for the
lightvm-oci tests:

    oci_console.py RUNTIME ROOT ID PROCESS_JSON ROWS COLS [KEYS]

As the shim does for `docker exec -t`: it listens on a console socket, runs
`RUNTIME exec --process PROCESS_JSON --console-socket S --detach --pid-file F
ID`, takes the pty master it is sent, sets its window size to ROWS x COLS,
types KEYS (Python escapes: \\x03 is ^C, \\r is Enter) once the first output
came (KEYS "resize:R:C": resizes the terminal to R x C instead), and copies everything the terminal shows to stdout, byte for byte,
until the terminal is closed. It reaps the pid and prints "exit N" (or
"signal N") as stderr's last line. Its own status: exec's if exec failed,
else 0.
"""
import array
import codecs
import ctypes
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys
import termios
import time

PR_SET_CHILD_SUBREAPER = 36


def receive_master(server):
    server.settimeout(20)
    conn, _ = server.accept()
    fds = array.array("i")
    _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_LEN(fds.itemsize))
    conn.close()
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return fds[0]


def screen(master, keys):
    out = b""
    end = time.time() + 20
    while time.time() < end:
        if select.select([master], [], [], 0.5)[0]:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every slave is closed
                break
            if not data:
                break
            out += data
        if keys and out:
            if keys.startswith(b"resize:"):
                _, r, c = keys.split(b":")
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", int(r), int(c), 0, 0))
            else:
                os.write(master, keys)
            keys = b""
    return out


def main():
    runtime, root, cid, process, rows, cols = sys.argv[1:7]
    keys = codecs.decode(sys.argv[7], "unicode_escape").encode("latin-1") if len(sys.argv) > 7 else b""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("oci_console: prctl(PR_SET_CHILD_SUBREAPER) failed")
    path = "%s/console-%d.sock" % (root, os.getpid())
    pid_file = "%s/%s.console.pid" % (root, cid)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    proc = subprocess.Popen([runtime, "--root", root, "exec", "--process", process, "--console-socket", path,
                             "--detach", "--pid-file", pid_file, cid])
    master = receive_master(server)
    os.unlink(path)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", int(rows), int(cols), 0, 0))
    rc = proc.wait()
    if rc != 0:
        sys.exit(rc)
    with open(pid_file) as f:
        pid = int(f.read())
    os.unlink(pid_file)
    out = screen(master, keys)
    while True:
        got, status = os.waitpid(-1, 0)
        if got == pid:
            break
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    if os.WIFSIGNALED(status):
        print("signal %d" % os.WTERMSIG(status), file=sys.stderr)
    else:
        print("exit %d" % os.WEXITSTATUS(status), file=sys.stderr)


main()
