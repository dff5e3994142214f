"""Learning curves of ridge regression predicted from the user's own data.

The rows the user gives are treated as the population (a "pool"); the theory is the
deterministic equivalent of :class:`~hdeq.models.RidgeRegression` for that population,
and the simulation twin actually fits ridge on random subsets of the pool.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core._threads import small_matrix_blas
from ..core._validation import as_generator, check_array, check_bool, check_data
from ._population import check_counts, check_trials
from ._ridge import RidgeRegression

__all__ = ["learning_curve", "pool_model"]

_OWNER = "learning_curve"


def _pool(X, y, center):
    """Pool statistics: centred data, eigen-decomposition of the pool covariance, the best
    linear predictor in that eigenbasis and the pool residual variance."""
    X, y = check_data(X, "X", _OWNER, y=y)
    if center and X.shape[0] < 2:
        raise ValueError(f"`X` of {_OWNER} must have at least 2 rows with center=True (one "
                         f"row minus the pool mean is zero, so the pool covariance would be "
                         f"zero); got {X.shape[0]} row (or pass center=False to use the raw "
                         f"second moments)")
    if center:
        X = X - X.mean(axis=0)
        y = y - y.mean()
    N = X.shape[0]
    s, V = np.linalg.eigh(X.T @ X / N)
    tol = max(X.shape) * np.finfo(float).eps * max(s[-1], 0.0)
    s = np.where(s > tol, s, 0.0)
    if not np.any(s > 0):
        raise ValueError(f"`X` of {_OWNER} must have a non-constant column (the pool covariance "
                         f"is the covariance of the {'centred ' if center else ''}rows); got "
                         f"{'only constant columns' if center else 'only zero columns'}")
    proj = V.T @ (X.T @ y / N)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(s > 0, proj / np.where(s > 0, s, 1.0), 0.0)   # b = V^T beta*
    beta = V @ coef
    noise_var = float(np.mean((y - X @ beta) ** 2))
    return X, y, s, coef, beta, noise_var


def _check_sizes(n_samples, N):
    n = check_counts(n_samples, "n_samples", _OWNER, high=N, ndim=(0, 1),
                     high_note=" (the number of rows of X)")
    return np.atleast_1d(n).astype(int)


def pool_model(X, y, ridge, n_samples, *, center=True) -> RidgeRegression:
    """The :class:`RidgeRegression` whose population is the empirical distribution of the
    rows of ``(X, y)`` (see :func:`learning_curve` for the construction).

    Returns a model with ``ridge`` broadcast against ``n_samples[:, None]``.
    """
    center = check_bool(center, "center", "pool_model")
    _, _, s, coef, _, noise_var = _pool(X, y, center)
    n = _check_sizes(n_samples, np.shape(X)[0])
    lam = check_array(ridge, "ridge", _OWNER, ndim=(0, 1), nonnegative=True)
    return RidgeRegression(s, coef, noise_var=noise_var, ridge=np.atleast_1d(lam),
                           n_samples=n[:, None])


def learning_curve(X, y, n_samples, ridge, *, center=True, simulate=False, trials=10,
                   seed=None) -> pd.DataFrame:
    r"""Predicted (and optionally measured) learning curve of ridge regression on your data.

    The ``N`` given rows are treated as the population:

    * **centring**: with ``center=True`` (default) the columns of ``X`` and ``y`` are
      centred by their pool means, which are then treated as known, and ridge is fitted
      without intercept (``center=False`` uses the raw second moments);
    * **population covariance** ``Sigma = X^T X / N`` of the (centred) rows;
    * **target** the pool least-squares coefficients ``beta* = X^+ y`` (minimum norm);
    * **noise** ``noise_var = (1/N) ||y - X beta*||^2``, the pool residual variance.

    The test error of ridge fitted on ``n`` random rows, measured on the whole pool, is then
    exactly

    .. math:: \frac1N \lVert y - X \hat\beta \rVert^2 = \sigma^2
              + (\hat\beta - \beta^*)^\top \Sigma\, (\hat\beta - \beta^*)

    (the pool residual is orthogonal to the columns), and its prediction is the
    deterministic equivalent of :class:`RidgeRegression` with that ``Sigma``, ``beta*``
    and ``noise_var = sigma^2`` (theory note linear.md §5.2). The theory assumes Gaussian
    rows and noise independent of ``x``; real rows satisfy neither, so agreement is an
    empirical question that ``simulate=True`` answers: it fits ridge on ``trials`` random
    subsets of ``n`` rows drawn **without replacement** (the DE assumes i.i.d. rows; the
    difference is O(n/N)) and evaluates on the whole pool. Integer data are converted to float.

    Parameters
    ----------
    X : array_like of shape (N, n_features)
    y : array_like of shape (N,)
    n_samples : int or array_like of int
        Training sizes, in ``[1, N]``.
    ridge : float or array_like
        Ridges ``>= 0`` on the covariance scale (estimator ``(X^T X/n + ridge I)^{-1}
        X^T y / n``, ``0`` = min-norm least squares).
    center : bool
        Centre ``X`` and ``y`` by the pool means (see above). Must be a bool (``True``,
        ``False`` or a ``numpy.bool_``): anything else, e.g. the string ``"no"``, is a
        ValueError rather than being read by its truthiness; so for ``simulate``.
    simulate : bool
        Also fit on random subsets (one thin SVD per subset serves all ridges).
    trials : int
        Subsets per size when simulating (>= 2).
    seed : int, Generator or None

    Returns
    -------
    pandas.DataFrame
        Tidy: ``n_samples, ridge, quantity ('test_error' or 'train_error'), theory,
        empirical, stderr, trials`` (``empirical``/``stderr`` NaN without simulation).
        ``table.attrs`` holds the pool's ``noise_var``, ``n_rows``, ``n_features`` and
        ``signal_energy = beta*^T Sigma beta*``.

    Examples
    --------
    A pool of 5000 Gaussian rows: the predicted test error at 60, 100 and 400 training
    rows, beside the mean over 20 random subsets of that size (each fit scored on the
    whole pool) and its standard error:

    >>> import numpy as np
    >>> from hdeq import learning_curve
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((5000, 50))
    >>> y = X @ rng.standard_normal(50) / 7 + rng.standard_normal(5000)
    >>> table = learning_curve(X, y, [60, 100, 400], 0.1, simulate=True, trials=20, seed=1)
    >>> test = table[table.quantity == "test_error"].round(3)
    >>> print(test[["n_samples", "theory", "empirical", "stderr"]].to_string(index=False))
     n_samples  theory  empirical  stderr
            60   2.089      2.082   0.071
           100   1.574      1.535   0.030
           400   1.102      1.101   0.004

    The error falls towards the pool's residual variance, the floor no linear fit beats:

    >>> round(table.attrs["noise_var"], 3)
    0.979
    """
    center = check_bool(center, "center", _OWNER)
    simulate = check_bool(simulate, "simulate", _OWNER)
    pool = _pool(X, y, center)
    n = _check_sizes(n_samples, pool[0].shape[0])
    lam = np.atleast_1d(check_array(ridge, "ridge", _OWNER, ndim=(0, 1), nonnegative=True))
    if simulate:
        trials = check_trials(trials, _OWNER)
    return _curve(pool, n, lam, simulate, trials, seed)


def _curve(pool, n, lam, simulate, trials, seed):
    """Learning-curve table from precomputed pool statistics (see learning_curve)."""
    Xc, yc, s, coef, beta, noise_var = pool
    N, p = Xc.shape
    model = RidgeRegression(s, coef, noise_var=noise_var, ridge=lam, n_samples=n[:, None])
    test, train = model.test_error(), model.train_error()
    test, train = np.broadcast_to(test, (n.size, lam.size)), np.broadcast_to(train, test.shape)
    emp = np.full((2, n.size, lam.size), np.nan)
    se = np.full_like(emp, np.nan)
    if simulate:
        rng = as_generator(seed)
        for i, size in enumerate(n):
            vals = np.empty((trials, 2, lam.size))
            with small_matrix_blas(min(int(size), p)):
                for k in range(trials):
                    idx = rng.choice(N, size=size, replace=False)
                    vals[k] = _fit_subset(Xc, yc, idx, lam)
            emp[:, i] = vals.mean(axis=0)
            se[:, i] = vals.std(axis=0, ddof=1) / np.sqrt(trials)
    rows = []
    for qi, (q, th) in enumerate((("test_error", test), ("train_error", train))):
        for i, size in enumerate(n):
            for j, lv in enumerate(lam):
                rows.append((int(size), float(lv), q, float(th[i, j]), emp[qi, i, j],
                             se[qi, i, j]))
    table = pd.DataFrame(rows, columns=["n_samples", "ridge", "quantity", "theory",
                                        "empirical", "stderr"])
    table["trials"] = trials if simulate else 0
    table.attrs.update(noise_var=noise_var, n_rows=N, n_features=p,
                       signal_energy=float(np.sum(s * coef ** 2)))
    return table


def _fit_subset(X, y, idx, lam):
    """Test error on the whole pool and training error of ridge fitted on rows ``idx``,
    for every ridge, from ONE eigendecomposition of the smaller Gram matrix (``X_s^T X_s``
    when n >= p, else ``X_s X_s^T`` and the kernel form ``X_s^T (X_s X_s^T + n lam)^{-1}
    y_s``). Eigenvalues below ``max(n, p) * eps * max`` count as zero (pseudo-inverse at
    ridge 0)."""
    Xs, ys = X[idx], y[idx]
    n, p = Xs.shape
    primal = n >= p
    ev, vecs = np.linalg.eigh(Xs.T @ Xs if primal else Xs @ Xs.T)
    keep = ev > max(n, p) * np.finfo(float).eps * max(ev[-1], 0.0)
    ev, vecs = ev[keep], vecs[:, keep]
    w = (1.0 / n) / (ev[None, :] / n + lam[:, None])   # 1/(ev + n lam), no overflow of n lam
    if primal:
        B = vecs @ (w * (vecs.T @ (Xs.T @ ys))).T                       # (p, R)
    else:
        B = Xs.T @ (vecs @ (w * (vecs.T @ ys)).T)
    test = np.mean((y[:, None] - X @ B) ** 2, axis=0)
    train = np.mean((ys[:, None] - Xs @ B) ** 2, axis=0)
    return np.stack([test, train])
