import numpy as np
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    """One BLAS thread for the whole run: the simulation twins do many small
    eigendecompositions, for which threads only add contention (and on a loaded
    2-core machine multi-threaded OpenBLAS was seen to thrash, 0.06 s -> 8.7 s)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
