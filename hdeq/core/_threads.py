"""One BLAS thread for loops over small matrices (the Monte-Carlo twins).

The twins decompose many matrices of a few hundred rows, one after another. There BLAS
threads only add synchronization, and on a busy machine they wait for each other:
measured on this project's 2-core machine with two other processes running, the
simulation of a ridge learning curve (2000 rows, 200 features, 12 sizes x 100 subsets)
took 23 s with the default two OpenBLAS threads and 0.9 s with one; eigendecompositions
of size 200 took 9 ms against 5 ms even on a quieter machine.
"""

from __future__ import annotations

import contextlib

__all__ = ["small_matrix_blas", "SMALL_MATRIX"]

#: Matrices with all of the loop's decomposed dimensions below this run on one thread.
SMALL_MATRIX = 600


def small_matrix_blas(size: int = 0):
    """Context limiting BLAS to one thread when ``size < SMALL_MATRIX`` (600).

    ``size`` is the dimension that sets the cost of the loop's dense kernels (e.g.
    ``min(n, p)`` for the SVD of an ``n x p`` design); the default 0 always limits.
    A no-op for larger sizes, or when threadpoolctl (a scikit-learn dependency) is
    missing.

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq.core._threads import small_matrix_blas
    >>> with small_matrix_blas(200):
    ...     s = np.linalg.eigvalsh(np.eye(200))
    >>> float(s.sum())
    200.0
    """
    if size >= SMALL_MATRIX:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")
