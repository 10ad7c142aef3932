#!/usr/bin/env python3
"""A minimal stand-in for containerd's runc shim, for the lightvm-oci tests.

    oci_shim.py RUNTIME ROOT BUNDLE ID [--then SHELL_COMMAND]

Like the shim it becomes a child subreaper, runs `RUNTIME create --pid-file`
with its own stdin/stdout/stderr as the container's, then `start`, then runs
SHELL_COMMAND (if any; $OCI, $ROOT and $ID are set for it), then reaps the
container's process and prints "exit N" (or "signal N") on stderr's last
line. Its own exit status: create's or start's if they failed, else 0.
"""
import ctypes
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    args = sys.argv[1:]
    then = None
    if "--then" in args:
        i = args.index("--then")
        then = args[i + 1]
        del args[i:i + 2]
    runtime, root, bundle, cid = args
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("oci_shim: prctl(PR_SET_CHILD_SUBREAPER) failed")
    pid_file = os.path.join(root, "..", cid + ".pid")
    rc = subprocess.call([runtime, "--root", root, "create", "--bundle", bundle, "--pid-file", pid_file, cid])
    if rc != 0:
        print("oci_shim: create failed", file=sys.stderr)
        return rc
    with open(pid_file) as f:
        pid = int(f.read())
    os.unlink(pid_file)
    rc = subprocess.call([runtime, "--root", root, "start", cid], stdout=subprocess.DEVNULL)
    if rc != 0:
        print("oci_shim: start failed", file=sys.stderr)
        return rc
    if then:
        env = dict(os.environ, OCI=runtime, ROOT=root, ID=cid)
        subprocess.call(["sh", "-c", then], env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr)
    while True:  # reap everything, as the shim does, until the container's process
        done, status = os.waitpid(-1, 0)
        if done == pid:
            break
    sys.stderr.flush()
    if os.WIFEXITED(status):
        print("exit %d" % os.WEXITSTATUS(status), file=sys.stderr)
    else:
        print("signal %d" % os.WTERMSIG(status), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
