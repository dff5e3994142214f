"""Per-thread work arrays reused across calls of the chunked ``(points x atoms)`` sums.

The spectral sums of the ridge equivalent and the Silverstein-Choi terms of
:class:`hdeq.laws.SampleCovarianceLaw` are evaluated in chunks of about 65 000 elements
(0.5 MiB per array). Allocated afresh on every call, arrays of that size are handed
back to the operating system when freed and their pages are faulted in again on the
next call: measured on this project's 2-core machine, the 200-ridge theory curve of
``benchmarks/bench_ridge.py`` (task 2) took 3.1 ms, 1.4 ms with the allocator told to
keep the memory (``MALLOC_TRIM_THRESHOLD_``/``MALLOC_MMAP_THRESHOLD_``), and the
10^4-atom generalized Marchenko-Pastur density on 1000 points 0.100 s against 0.067 s.
Keeping a few such arrays per thread gives the second numbers without touching the
allocator.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["work_arrays"]

_LOCAL = threading.local()
_MAX_KEPT = 1 << 17     # elements per array worth keeping between calls (1 MiB of float64)


def work_arrays(tag: str, count: int, shape: tuple[int, ...], dtype=np.float64):
    """``count`` uninitialized arrays of ``shape`` and ``dtype``, reused between calls.

    The arrays belong to ``tag`` (the caller's name) in the calling thread: they are
    valid until the next call with the same ``tag`` in that thread, so a caller must
    not hold them across a call that may request the same tag. Arrays larger than
    ``2**17`` elements are allocated afresh and not kept.

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq.core._workspace import work_arrays
    >>> a, b = work_arrays("doc", 2, (3, 4))
    >>> a.shape, b.shape, a.dtype.name
    ((3, 4), (3, 4), 'float64')
    >>> c, = work_arrays("doc", 1, (2, 2))
    >>> bool(np.shares_memory(a, c))     # the same memory, handed out again
    True
    """
    size = int(np.prod(shape, dtype=np.int64))
    dtype = np.dtype(dtype)
    if size > _MAX_KEPT:
        return [np.empty(shape, dtype) for _ in range(count)]
    kept = getattr(_LOCAL, "arrays", None)
    if kept is None:
        kept = _LOCAL.arrays = {}
    flat = kept.setdefault((tag, dtype.str), [])
    for i in range(count):
        if i == len(flat):
            flat.append(np.empty(size, dtype))
        elif flat[i].size < size:
            flat[i] = np.empty(size, dtype)
    return [flat[i][:size].reshape(shape) for i in range(count)]
