"""small_matrix_blas: one BLAS thread for loops over small matrices."""

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from hdeq.core._threads import SMALL_MATRIX, small_matrix_blas


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_small_sizes_run_on_one_thread_and_large_ones_are_left_alone():
    # the test session runs single-threaded (conftest): allow two threads here first
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        if not before or any(n < 2 for n in before):   # pragma: no cover - one-core BLAS
            pytest.skip("BLAS cannot run two threads on this machine")
        with small_matrix_blas(SMALL_MATRIX - 1):
            assert all(n == 1 for n in _blas_threads())
        assert _blas_threads() == before
        with small_matrix_blas(SMALL_MATRIX):
            assert _blas_threads() == before
