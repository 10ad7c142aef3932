#!/usr/bin/env python3
"""Symbolizes a LIGHTVM_PROFILE histogram (docs/profiling.md).

usage: profile.py HISTOGRAM ELF[@BASE] [ELF[@BASE] ...] [--top N]

Each ELF's symbols (from `nm -n -C`) are shifted by BASE (hex, default 0:
the guest kernel and non-PIE programs; a PIE run with --no-aslr loads at a
fixed base). Prints the functions with the most samples and their share;
"?" counts addresses outside every symbol given (a library not listed).
"""
import bisect
import collections
import subprocess
import sys


def symbols(spec):
    path, _, base = spec.partition("@")
    base = int(base, 16) if base else 0
    out = subprocess.run(["nm", "-n", "-S", "-C", path], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            start = int(parts[0], 16) + base
            syms.append((start, start + int(parts[1], 16), parts[3]))
        elif len(parts) == 3 and parts[1] in "tTwW":  # no size (assembly): up to the next symbol
            start = int(parts[0], 16) + base
            syms.append((start, None, parts[2]))
    return syms


def main(argv):
    top = 40
    if "--top" in argv:
        i = argv.index("--top")
        top = int(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) < 2:
        sys.exit(__doc__)
    table = sorted(s for spec in argv[1:] for s in symbols(spec))
    starts = [a for a, _, _ in table]
    by_func = collections.Counter()
    total = 0
    with open(argv[0]) as f:
        for line in f:
            count, addr = line.split()
            count, addr = int(count), int(addr, 16)
            total += count
            i = bisect.bisect_right(starts, addr) - 1
            name = "?"
            if i >= 0:
                start, end, sym = table[i]
                if end is None and i + 1 < len(table):
                    end = table[i + 1][0]
                if end is None or addr < end:
                    name = sym
            by_func[name] += count
    print(f"{total} samples")
    for name, n in by_func.most_common(top):
        print(f"{100.0 * n / total:6.2f}% {n:7d}  {name[:110]}")


if __name__ == "__main__":
    main(sys.argv[1:])
