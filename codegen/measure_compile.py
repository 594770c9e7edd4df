#!/usr/bin/env python3
"""Measures what including the catalogue costs and records it in codegen/compile_times.json,
which generate.py renders into docs/catalogue.md.

Each row is a one-line translation unit compiled with `<cxx> -std=c++17 -O0 -fsyntax-only`
against include/; the figures are the medians of --runs runs, wall time and the
compiler's CPU time (user + system). Then run generate.py.

Usage: measure_compile.py [--cxx g++] [--runs 3]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

ROWS = [
    ("ami/typed.hpp (the contract only, for reference)", ["ami/typed.hpp"]),
    ("one action: ami/actions/queue_add.hpp", ["ami/actions/queue_add.hpp"]),
    ("one event: ami/events/hangup.hpp", ["ami/events/hangup.hpp"]),
    ("ami/actions.hpp (every action)", ["ami/actions.hpp"]),
    ("ami/events.hpp (every event)", ["ami/events.hpp"]),
    ("ami/actions.hpp + ami/events.hpp", ["ami/actions.hpp", "ami/events.hpp"]),
    ("both catalogues: ami/actions/catalogue.hpp + ami/events/catalogue.hpp",
     ["ami/actions/catalogue.hpp", "ami/events/catalogue.hpp"]),
]


def time_once(cmd):
    """(wall seconds, CPU seconds of the compiler): CPU time barely moves when other jobs
    share the machine, wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    version = subprocess.run([args.cxx, "--version"], check=True, capture_output=True,
                             text=True).stdout.splitlines()[0]
    flags = ["-std=c++17", "-O0", "-fsyntax-only", "-I", str(ROOT / "include")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for what, headers in ROWS:
            tu = Path(tmp) / "tu.cpp"
            tu.write_text("".join('#include "%s"\n' % h for h in headers), encoding="utf-8")
            cmd = [args.cxx] + flags + [str(tu)]
            times = [time_once(cmd) for _ in range(args.runs)]
            rows.append({"what": what,
                         "seconds": round(statistics.median(t[0] for t in times), 2),
                         "cpu_seconds": round(statistics.median(t[1] for t in times), 2)})
            print("%-75s %.2f s wall, %.2f s CPU" % (what, rows[-1]["seconds"],
                                                     rows[-1]["cpu_seconds"]))
    load = os.getloadavg()[0]
    result = {
        "command": "%s -std=c++17 -O0 -fsyntax-only" % args.cxx,
        "load": round(load, 1),
        "runs": args.runs,
        "machine": "%s, %d cores" % (version, os.cpu_count() or 1),
        "rows": rows,
    }
    with open(HERE / "compile_times.json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
