#!/usr/bin/env python3
"""What the mapped ownership model costs a metadata walk (docs/benchmarks.md,
section 18): `busybox du -s` over one tree in a share, passthrough against
mapped (with no file carrying user.lightvm.owner, and with every file
carrying one), alternating, RUNS runs each. Prints medians of wall time and
of CPU time (user + sys of the lightvm process: steadier than wall time on a
shared host), and each against passthrough.

usage: mapped_bench.py LIGHTVM [RUNS] [SOURCE_DIR]   (default 5, /usr/share/fpcsrc)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BB = "/usr/bin/busybox"


def run(cmd):
    t0 = time.monotonic_ns()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"{' '.join(cmd)}: status {status}")
    return (time.monotonic_ns() - t0) / 1e6, (ru.ru_utime + ru.ru_stime) * 1e3


def main():
    lightvm = os.path.realpath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    src = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/fpcsrc"
    tmp = tempfile.mkdtemp(prefix="lightvm-mappedbench.", dir="/var/tmp")
    try:
        plain, owned = f"{tmp}/plain", f"{tmp}/owned"
        shutil.copytree(src, plain, symlinks=True)
        shutil.copytree(src, owned, symlinks=True)
        # Every file and directory of `owned` gets the attribute (a guest root's chown -R).
        run([lightvm, "run", "--fs", f"{owned}:/t:mapped", BB, "chown", "-R", "0:0", "/t"])
        entries = sum(len(d) + len(f) for _, d, f in os.walk(plain)) + 1
        configs = [
            ("native", [BB, "du", "-s", plain]),
            ("passthrough", [lightvm, "run", "--fs", f"{plain}:/t", BB, "du", "-s", "/t"]),
            ("mapped, no attributes", [lightvm, "run", "--fs", f"{plain}:/t:mapped", BB, "du", "-s", "/t"]),
            ("mapped, every file has one", [lightvm, "run", "--fs", f"{owned}:/t:mapped", BB, "du", "-s", "/t"]),
        ]
        times = {name: ([], []) for name, _ in configs}
        for _ in range(runs):
            for name, cmd in configs:
                wall, cpu = run(cmd)
                times[name][0].append(wall)
                times[name][1].append(cpu)
        base = [statistics.median(v) for v in times["passthrough"]]
        print(f"tree: copy of {src}, {entries} entries; {runs} runs each; load {os.getloadavg()[0]:.1f}")
        print("| share | wall ms | CPU ms | against passthrough (wall / CPU) |")
        print("|---|---:|---:|---|")
        for name, _ in configs:
            wall, cpu = (statistics.median(v) for v in times[name])
            vs = "" if name == "native" else f"{(wall / base[0] - 1) * 100:+.1f} % / {(cpu / base[1] - 1) * 100:+.1f} %"
            print(f"| {name} | {wall:.0f} | {cpu:.0f} | {vs} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
