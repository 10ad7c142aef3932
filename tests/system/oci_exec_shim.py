#!/usr/bin/env python3
"""containerd's runc shim, for `exec` only, for the lightvm-oci tests.

    oci_exec_shim.py RUNTIME ROOT ID PROCESS_JSON [SIGNAL AFTER_SECONDS]

As the shim does for `ctr task exec` / `docker exec`: it becomes a child
subreaper, runs `RUNTIME exec --process PROCESS_JSON --detach --pid-file F
ID` with its own stdin/stdout/stderr, reads the pid, optionally sends it
SIGNAL after AFTER_SECONDS, reaps it and prints "exit N" (or "signal N")
as stderr's last line. Its own status: exec's if exec failed, else 0.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main():
    runtime, root, cid, process = sys.argv[1:5]
    sig = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    after = float(sys.argv[6]) if len(sys.argv) > 6 else 0
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("oci_exec_shim: prctl(PR_SET_CHILD_SUBREAPER) failed")
    pid_file = "%s/%s.exec.pid" % (root, cid)
    rc = subprocess.call([runtime, "--root", root, "exec", "--process", process, "--detach",
                          "--pid-file", pid_file, cid])
    if rc != 0:
        sys.exit(rc)
    with open(pid_file) as f:
        pid = int(f.read())
    os.unlink(pid_file)
    if sig:
        time.sleep(after)
        os.kill(pid, sig)
    while True:
        got, status = os.waitpid(-1, 0)
        if got == pid:
            break
    sys.stdout.flush()
    if os.WIFSIGNALED(status):
        print("signal %d" % os.WTERMSIG(status), file=sys.stderr)
    else:
        print("exit %d" % os.WEXITSTATUS(status), file=sys.stderr)


main()
