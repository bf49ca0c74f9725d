"""Shared by the benchmark scripts: command line, machine header, timing."""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import mlsd


def setup(doc: str) -> argparse.Namespace:
    """Parses --quick/--threads/--repeat, applies the thread count, prints the machine header."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--threads", type=int, default=None, help="mlsd threads (default: all cores)")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    args = parser.parse_args()
    if args.threads:
        mlsd.set_num_threads(args.threads)
    import sklearn

    print(f"mlsd {mlsd.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, mlsd threads {mlsd.get_num_threads()}")
    return args


def best_time(fn, repeat: int, stop_after: float = 10.0, before=None):
    """(value, best seconds) over `repeat` runs; a run longer than `stop_after` seconds is not repeated.
    `before`, if given, is called (untimed) before each run."""
    best, value = float("inf"), None
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - t0
        best = min(best, elapsed)
        if elapsed > stop_after:
            break
    return value, best
