#!/usr/bin/env python3
"""lightvm with its stdio on a pseudo-terminal (issue 11, terminal ioctls),
as a user at a terminal runs it, directly or through lightvmd:
    tty_pty.py LIGHTVM GUEST_DIR raw|term
raw:  the guest (ttyraw raw 2) reads typed bytes one at a time, no echo.
term: the guest sets raw mode and waits; SIGTERM to lightvm ends it.
Either way the terminal's settings afterwards are the ones before.
Prints one line: "ok" or what went wrong; exit status 0 or 1."""
import os, pty, select, signal, sys, termios, time

lightvm, guests, mode = sys.argv[1:4]
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
args = ["raw", "2"] if mode == "raw" else ["hang"]
pid = os.fork()
if pid == 0:
    os.setsid()
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.execv(lightvm, [lightvm, "run", "--timeout", "30", guests + "/ttyraw.glibc"] + args)
screen = b""


def wait_for(needle, seconds=20):
    global screen
    end = time.time() + seconds
    while needle not in screen:
        left = end - time.time()
        if left <= 0 or not select.select([master], [], [], left)[0]:
            return False
        try:
            screen += os.read(master, 4096)
        except OSError:
            return False
    return True


def finish(problem):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    print(problem)
    sys.exit(1)


if not wait_for(b"ready"):
    finish("no 'ready' from the guest: %r" % screen)
if termios.tcgetattr(slave)[3] & (termios.ICANON | termios.ECHO):
    finish("raw mode did not reach the terminal")
if mode == "raw":
    for c in b"qw":  # letters not in the guest's own output
        os.write(master, bytes([c]))
        if not wait_for(b"got %02x" % c):
            finish("byte %r not read on its own: %r" % (chr(c), screen))
else:
    os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
want = 0 if mode == "raw" else 128 + signal.SIGTERM
got = os.waitstatus_to_exitcode(status)
got = 128 - got if got < 0 else got
if got != want:
    finish("status %d, expected %d: %r" % (got, want, screen))
if mode == "raw" and (b"q" in screen or b"w" in screen):
    finish("typed bytes were echoed: %r" % screen)
if termios.tcgetattr(slave) != before:
    finish("the terminal was left changed: %r, was %r" % (termios.tcgetattr(slave), before))
print("ok")
