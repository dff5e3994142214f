"""Synthetic data: Gaussian data with any covariance, Gaussian mixtures, power-law spectra.

All generators return data matrices of shape ``(n_samples, n_features)`` (rows are
samples, as in scikit-learn) and take ``seed`` (int, ``numpy.random.Generator`` or
None): same seed, same numbers.
"""

from __future__ import annotations

import numpy as np

from ..core._validation import (_show, as_generator, check_array, check_covariance,
                                check_scalar)

__all__ = ["gaussian", "gaussian_mixture", "power_law_spectrum", "power_law_target"]

def _covariance_factor(covariance, name: str, owner: str) -> tuple[np.ndarray, bool]:
    """Return ``(F, diagonal)`` with ``F @ F.T == covariance``.

    For a 1-D array of eigenvalues (diagonal covariance) ``F`` is the vector of square
    roots and ``diagonal`` is True. For a (p, p) symmetric PSD matrix, one ``eigh``
    (:func:`hdeq.core.check_covariance`, which sets rounding-level eigenvalues to zero,
    so a singular covariance gives data exactly in its range) gives
    ``F = V diag(sqrt(l))``.
    """
    evals, evecs = check_covariance(covariance, name, owner)
    if evecs is None:
        return np.sqrt(evals), True
    return evecs * np.sqrt(evals), False


def _check_n_samples(n_samples, owner: str) -> int:
    return check_scalar(n_samples, "n_samples", owner, low=1, low_inclusive=True, integer=True)


def gaussian(n_samples, covariance, *, mean=None, seed=None) -> np.ndarray:
    """Draw ``n_samples`` i.i.d. rows ``x ~ N(mean, C)``.

    Parameters
    ----------
    n_samples : int
        Number of rows (>= 1).
    covariance : array_like
        Either a 1-D array of ``n_features`` non-negative eigenvalues, meaning the
        diagonal covariance ``C = diag(covariance)`` in the standard basis, or a
        symmetric positive semi-definite ``(n_features, n_features)`` matrix.
    mean : array_like of shape (n_features,), optional
        Mean of each row (default zero).
    seed : int, numpy.random.Generator or None
        Source of randomness.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        ``X = Z F^T + mean`` with ``Z`` i.i.d. standard normal and ``F F^T = C``
        (``F = diag(sqrt(C))`` for eigenvalues; ``F = V Lambda^{1/2}`` from one
        eigendecomposition ``C = V Lambda V^T`` for a matrix).

    Examples
    --------
    >>> from hdeq.data import gaussian
    >>> X = gaussian(1000, [1.0, 4.0], seed=0)
    >>> X.shape
    (1000, 2)
    """
    owner = "gaussian"
    n = _check_n_samples(n_samples, owner)
    factor, diagonal = _covariance_factor(covariance, "covariance", owner)
    p = factor.shape[0]
    rng = as_generator(seed)
    Z = rng.standard_normal((n, p))
    X = Z * factor if diagonal else Z @ factor.T
    if mean is not None:
        mu = check_array(mean, "mean", owner, ndim=1)
        if mu.shape != (p,):
            raise ValueError(f"`mean` of {owner} must have shape (n_features,) = ({p},); "
                             f"got {mu.shape}")
        X += mu
    return X


def gaussian_mixture(n_samples, means, covariances=None, priors=None, *,
                     seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_samples`` rows from a mixture of ``k`` Gaussians.

    Each row first draws its class ``l`` with probability ``priors[l]``, then
    ``x ~ N(means[l], C_l)``.

    Parameters
    ----------
    n_samples : int
        Number of rows (>= 1).
    means : array_like of shape (k, n_features)
        Class means.
    covariances : None or array_like of shape (k, n_features) or (k, n_features, n_features)
        None: every class has the identity covariance; ``(k, n_features)``: diagonal
        covariances given by their eigenvalues; ``(k, p, p)``: full symmetric PSD matrices.
    priors : array_like of shape (k,), optional
        Class probabilities, non-negative and summing to one (within 1e-10); default
        uniform.
    seed : int, numpy.random.Generator or None
        Source of randomness.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of int of shape (n_samples,)
        The class of each row, in ``0..k-1``.

    Examples
    --------
    >>> from hdeq.data import gaussian_mixture
    >>> X, labels = gaussian_mixture(200, [[1.0, 0.0], [-1.0, 0.0]], seed=0)
    >>> X.shape, sorted(set(labels.tolist()))
    ((200, 2), [0, 1])
    """
    owner = "gaussian_mixture"
    n = _check_n_samples(n_samples, owner)
    mu = check_array(means, "means", owner, ndim=2)
    k, p = mu.shape
    if k < 1 or p < 1:
        raise ValueError(f"`means` of {owner} must have at least one class and one feature; "
                         f"got shape {mu.shape}")
    if priors is None:
        pi = np.full(k, 1.0 / k)
    else:
        pi = check_array(priors, "priors", owner, ndim=1, nonnegative=True)
        if pi.shape != (k,):
            raise ValueError(f"`priors` of {owner} must have shape (k,) = ({k},) to match "
                             f"`means`; got {pi.shape}")
        if abs(pi.sum() - 1.0) > 1e-10:
            raise ValueError(f"`priors` of {owner} must sum to one; got {_show(pi.sum())}")
        pi = pi / pi.sum()
    if covariances is None:
        factors = [(np.ones(p), True)] * k
    else:
        cov = check_array(covariances, "covariances", owner, ndim=(2, 3))
        if cov.shape not in ((k, p), (k, p, p)):
            raise ValueError(f"`covariances` of {owner} must have shape (k, n_features) = "
                             f"({k}, {p}) or (k, n_features, n_features) = ({k}, {p}, {p}); "
                             f"got {cov.shape}")
        factors = [_covariance_factor(cov[j], f"covariances[{j}]", owner) for j in range(k)]
    rng = as_generator(seed)
    labels = rng.choice(k, size=n, p=pi).astype(np.intp)
    Z = rng.standard_normal((n, p))
    X = np.empty((n, p))
    for j, (factor, diagonal) in enumerate(factors):
        rows = labels == j
        X[rows] = (Z[rows] * factor if diagonal else Z[rows] @ factor.T) + mu[j]
    return X, labels


def power_law_spectrum(n_features, exponent, *, scale=1.0) -> np.ndarray:
    """Power-law eigenvalues ``s_k = scale * k^(-exponent)``, ``k = 1..n_features``.

    This is the "capacity" condition of scaling-law analyses (theory note linear.md
    §6.1: ``s_k = k^(-alpha)``, ``alpha = exponent``).

    Parameters
    ----------
    n_features : int
        Number of eigenvalues (>= 1).
    exponent : float
        Decay exponent ``alpha >= 0``.
    scale : float
        Positive multiplier (``s_1 = scale``).

    Returns
    -------
    ndarray of shape (n_features,), decreasing.

    Examples
    --------
    >>> from hdeq.data import power_law_spectrum
    >>> power_law_spectrum(3, 2.0)
    array([1.        , 0.25      , 0.11111111])
    """
    owner = "power_law_spectrum"
    p = check_scalar(n_features, "n_features", owner, low=1, low_inclusive=True, integer=True)
    alpha = check_scalar(exponent, "exponent", owner, low=0, low_inclusive=True)
    scale = check_scalar(scale, "scale", owner, low=0)
    return scale * np.arange(1, p + 1, dtype=float) ** (-alpha)


def power_law_target(n_features, exponent, source_exponent, *, seed=None) -> np.ndarray:
    """Target coefficients ``b_k`` with power ``b_k^2 s_k = k^(-(1 + 2 alpha r))``.

    Convention of theory note linear.md §6.1-6.2 (the "source" condition): with
    eigenvalues ``s_k = k^(-alpha)`` (:func:`power_law_spectrum` with ``scale=1``),
    ``alpha = exponent`` and ``r = source_exponent``, the coefficients of the target in
    the eigenbasis of the covariance satisfy ``b_k^2 s_k = k^(-(1 + 2 alpha r))``, i.e.
    ``|b_k| = k^((alpha - 1 - 2 alpha r) / 2)``; the signs are i.i.d. uniform +-1 drawn
    from ``seed``. The total signal ``sum_k b_k^2 s_k`` stays finite as
    ``n_features -> inf`` when ``r > 0``.

    Parameters
    ----------
    n_features : int
        Number of coefficients (>= 1).
    exponent : float
        Capacity exponent ``alpha >= 0`` of the spectrum.
    source_exponent : float
        Source exponent ``r >= 0``.
    seed : int, numpy.random.Generator or None
        Source of the random signs.

    Returns
    -------
    ndarray of shape (n_features,)

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq.data import power_law_spectrum, power_law_target
    >>> b = power_law_target(4, 2.0, 0.5, seed=0)
    >>> s = power_law_spectrum(4, 2.0)
    >>> np.allclose(b**2 * s, np.arange(1, 5) ** -3.0)
    True
    """
    owner = "power_law_target"
    p = check_scalar(n_features, "n_features", owner, low=1, low_inclusive=True, integer=True)
    alpha = check_scalar(exponent, "exponent", owner, low=0, low_inclusive=True)
    r = check_scalar(source_exponent, "source_exponent", owner, low=0, low_inclusive=True)
    k = np.arange(1, p + 1, dtype=float)
    magnitude = k ** ((alpha - 1.0 - 2.0 * alpha * r) / 2.0)
    signs = as_generator(seed).choice(np.array([-1.0, 1.0]), size=p)
    return signs * magnitude
