"""Timing shared by the benchmark scripts (run them as `python benchmarks/bench_X.py`)."""

import time

import numpy as np


def clock() -> float:
    """CPU time of this process: robust on a shared machine (with one BLAS thread it
    equals the wall time of an idle core; with several it adds their times)."""
    return time.process_time()


def timed(fn, repeat: int = 1, *, wall: bool = False):
    """Best time over ``repeat`` calls of ``fn`` and its last result: ``(seconds, out)``.
    CPU time by default, wall-clock time with ``wall=True``."""
    now = time.perf_counter if wall else clock
    best, out = np.inf, None
    for _ in range(repeat):
        start = now()
        out = fn()
        best = min(best, now() - start)
    return best, out
