"""Per-thread work arrays (hdeq.core._workspace)."""

import threading

import numpy as np

from hdeq.core._workspace import _MAX_KEPT, work_arrays


def test_arrays_are_reused_per_tag_and_grow():
    a, b = work_arrays("test-a", 2, (4, 5))
    assert a.shape == b.shape == (4, 5) and not np.shares_memory(a, b)
    c, = work_arrays("test-a", 1, (2, 3))
    assert np.shares_memory(a, c)                 # the same memory handed out again
    d, = work_arrays("test-b", 1, (4, 5))
    assert not np.shares_memory(a, d)             # another tag has its own arrays
    e, f = work_arrays("test-a", 2, (10, 10))     # larger than before: grown
    assert e.shape == (10, 10) and not np.shares_memory(e, f)
    z, = work_arrays("test-a", 1, (3,), dtype=complex)
    assert z.dtype == complex and not np.shares_memory(z, e)


def test_large_requests_are_not_kept():
    a, = work_arrays("test-big", 1, (_MAX_KEPT + 1,))
    b, = work_arrays("test-big", 1, (_MAX_KEPT + 1,))
    assert not np.shares_memory(a, b)


def test_threads_do_not_share_arrays():
    mine, = work_arrays("test-thread", 1, (8,))
    theirs = []
    t = threading.Thread(target=lambda: theirs.extend(work_arrays("test-thread", 1, (8,))))
    t.start()
    t.join()
    assert not np.shares_memory(mine, theirs[0])
