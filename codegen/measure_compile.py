#!/usr/bin/env python3
"""Measures what including the catalogue costs and records it in codegen/compile_times.json,
which generate.py renders into docs/catalogue.md.

Each row is a one-line translation unit compiled with `<cxx> -std=c++17 -O0 -fsyntax-only`
against include/; the figure is the median wall time of --runs runs. Run it on an idle
machine, then run generate.py.

Usage: measure_compile.py [--cxx g++] [--runs 3]
"""

import argparse
import json
import os
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
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


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
            rows.append({"what": what, "seconds": round(statistics.median(times), 2)})
            print("%-75s %.2f s" % (what, rows[-1]["seconds"]))
    result = {
        "command": "%s -std=c++17 -O0 -fsyntax-only" % args.cxx,
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
