"""Up-front resource estimates and progress display for the long commands.

A command estimates the memory and the floating-point work of what it was asked to do
before doing it: over :func:`memory_budget` it refuses (saying which option to lower);
over a second of estimated work it shows a progress bar (on a terminal) and, over
:data:`NOTE_SECONDS`, says up front roughly how long it will take.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time

import numpy as np
from rich.progress import (BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from ._options import console, note

#: Share of the currently available memory a command may plan to use.
MEMORY_SHARE = 0.6
#: Estimated run time above which the command says up front how long it will take.
NOTE_SECONDS = 10.0


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux; else the physical memory;
    else 4 GiB)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 * 2 ** 30


def memory_budget() -> int:
    """Bytes a command may plan to use: MEMORY_SHARE of the available memory."""
    return int(MEMORY_SHARE * available_memory())


@functools.lru_cache(maxsize=1)
def flop_rate() -> float:
    """Effective floating-point operations per second here, for rough time estimates:
    half the single-thread rate of a dense matrix product (measured once, a few
    milliseconds; one thread, because a multi-threaded timing on a loaded machine varies
    tenfold). The work estimates count the dense kernels at that rate: about 15 n³ for
    an eigendecomposition with vectors (eigh), 5 n³ for eigenvalues only."""
    from ..core._threads import small_matrix_blas

    a = np.random.default_rng(0).standard_normal((400, 400))
    best = np.inf
    with small_matrix_blas():
        a @ a  # warm up
        for _ in range(5):   # the fastest of a few: a loaded machine only slows some
            start = time.perf_counter()
            a @ a
            best = min(best, time.perf_counter() - start)
    # products of tall feature matrices, copies and elementwise activations on all
    # threads run about half as fast as one thread's square product (measured on the
    # commands' shapes, 2 cores)
    return float(np.clip(0.5 * 2 * 400 ** 3 / max(best, 1e-7), 1e8, 1e13))


def seconds_for(flops: float) -> float:
    return flops / flop_rate()


def fmt_bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"


def fmt_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


class _Steps:
    """What :func:`progress` yields: ``advance(work, description)`` after each step."""

    def __init__(self, bar: Progress | None, task):
        self._bar, self._task = bar, task

    def describe(self, description: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=description)

    def advance(self, work: float) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, work)


@contextlib.contextmanager
def progress(total_flops: float, what: str):
    """A progress bar over ``total_flops`` of estimated work, shown when the work is
    estimated over a second (bars are drawn on terminals only; elsewhere the up-front
    note is the only sign of a long run). Yields a :class:`_Steps`."""
    seconds = seconds_for(total_flops)
    if seconds > NOTE_SECONDS:
        note(f"{what}: estimated {fmt_seconds(seconds)} (rough; Ctrl-C stops)")
    if seconds <= 1.0 or not console.is_terminal:   # elsewhere a bar only adds blank lines
        yield _Steps(None, None)
        return
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                   TextColumn("left"), TimeRemainingColumn(), console=console,
                   transient=True)
    with bar:
        task = bar.add_task(what, total=max(total_flops, 1.0))
        yield _Steps(bar, task)
