"""Generalized and leave-one-out cross-validation of ridge regression on a data set.

Both are computed from ONE thin SVD of the design and vectorized over the ridge grid.
Estimator (theory note linear.md §5.1): ``beta_hat = (X^T X / n + ridge I)^{-1} X^T y / n``
with no intercept (centre ``X`` and ``y`` yourself if the model should have one).
"""

from __future__ import annotations

import numpy as np

from ..core._validation import check_array, check_data

__all__ = ["gcv", "loo"]


def _svd(X):
    """Thin SVD with the numerical rank (singular values below the matrix_rank
    tolerance ``max(n, p) * eps * d_max`` are treated as zero and dropped)."""
    U, d, Vt = np.linalg.svd(X, full_matrices=False)
    tol = max(X.shape) * np.finfo(float).eps * (d[0] if d.size else 0.0)
    r = int(np.sum(d > tol))
    return U[:, :r], d[:r], Vt[:r]


def _check_ridge(ridge, owner):
    lam = check_array(ridge, "ridge", owner, ndim=(0, 1))
    if np.any(lam < 0):
        raise ValueError(f"`ridge` of {owner} must be >= 0; got minimum {lam.min()!r}")
    return lam


def _gcv_from_svd(d, uty, perp2, n, lam):
    """GCV at every ridge from the singular values ``d``, ``U^T y`` and ``||y - U U^T y||^2``.

    For ridge > 0 both numerator and denominator are divided by ``(n ridge)^2`` so the
    ridge -> 0+ limit is taken without cancellation; at ridge = 0 with rank = n this is
    the ridgeless formula of theory note §5.3, ``(1/n) y^T K^{-2} y / ((1/n) tr K^{-1})^2``
    with ``K = X X^T / n``.
    """
    lam = np.asarray(lam, float)
    r = d.size
    d2 = d ** 2
    full_rank_rows = r == n
    if full_rank_rows:
        perp2 = 0.0
    out = np.empty(lam.shape)
    flat = lam.reshape(-1)
    res = out.reshape(-1)
    pos = flat > 0
    if np.any(pos):
        nl = n * flat[pos][:, None]
        inv = 1.0 / (d2[None, :] + nl)
        num = (perp2 / nl[:, 0] ** 2 + (inv ** 2) @ (uty ** 2)) / n
        den = ((n - r) / nl[:, 0] + inv.sum(axis=1)) / n
        res[pos] = num / den ** 2
    if np.any(~pos):
        if full_rank_rows:   # ridgeless limit 0+
            num = np.sum(uty ** 2 / d2 ** 2) / n
            den = np.sum(1.0 / d2) / n
            res[~pos] = num / den ** 2
        else:                # least squares residual / (1 - r/n)^2
            res[~pos] = (perp2 / n) / ((n - r) / n) ** 2
    return out


def gcv(X, y, ridge):
    r"""Generalized cross-validation of ridge regression, vectorized over ``ridge``.

    .. math::
        \mathrm{GCV}(\lambda) = \frac{\tfrac1n\lVert y - X\hat\beta_\lambda\rVert^2}
        {\bigl(1 - \tfrac1n \operatorname{tr} S (S + \lambda)^{-1}\bigr)^2},\qquad
        S = X^\top X / n

    (Golub, Heath & Wahba 1979; theory note linear.md §5.3). In the proportional regime
    it is a consistent estimator of the **total** test error ``noise_var + excess``
    (Hastie et al. 2022; Patil et al. 2021), because ``1 - tr S(S+λ)^{-1}/n -> λ/κ``.
    At ``ridge = 0`` it returns the ridgeless limit ``λ -> 0+``: when ``rank X = n``
    (n_features >= n_samples) ``(1/n) y^T K^{-2} y / ((1/n) tr K^{-1})^2`` with
    ``K = X X^T / n``; otherwise the least-squares residual over ``(1 - rank/n)^2``.
    One thin SVD serves the whole ridge grid: cost ``O(n p min(n, p) + len(ridge) min(n, p))``.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Design (integers are converted to float; no intercept is fitted).
    y : array_like of shape (n_samples,)
    ridge : float or array_like of shape (n_ridges,)
        Ridge(s) >= 0 on the covariance scale (estimator ``(X^T X/n + ridge I)^{-1} X^T y/n``).

    Returns
    -------
    float or ndarray of shape (n_ridges,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 100)); y = X @ (rng.standard_normal(100) / 10)
    >>> g = gcv(X, y + 0.5 * rng.standard_normal(200), [0.0, 0.1, 1.0])
    >>> g.shape
    (3,)
    """
    owner = "gcv"
    X, y = check_data(X, "X", owner, y=y)
    lam = _check_ridge(ridge, owner)
    n = X.shape[0]
    U, d, _ = _svd(X)
    uty = U.T @ y
    perp2 = max(float(y @ y - uty @ uty), 0.0)
    out = _gcv_from_svd(d, uty, perp2, n, lam)
    return float(out) if out.ndim == 0 else out


def loo(X, y, ridge):
    r"""Exact leave-one-out error of ridge regression, vectorized over ``ridge``.

    .. math::
        \mathrm{LOO}(\lambda) = \frac1n\sum_i\Bigl(\frac{y_i - \hat y_i}{1 - H_{ii}}\Bigr)^2,
        \qquad H = X (X^\top X + n\lambda I)^{-1} X^\top

    (the exact shortcut for linear smoothers; theory note linear.md §5.3). Unlike
    :func:`gcv`, which replaces every ``H_ii`` by their mean, this is the exact mean squared
    error of the n fits that each leave one row out. At ``ridge = 0`` with ``rank X = n``
    it returns the limit ``λ -> 0+``: ``(1/n) sum_i ((K^{-1} y)_i / (K^{-1})_{ii})^2``.
    Rows with leverage exactly one at ``ridge = 0`` (possible only when ``rank X < n``) make
    the error undefined: ``inf`` is returned. One thin SVD serves the whole grid.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    y : array_like of shape (n_samples,)
    ridge : float or array_like of shape (n_ridges,)
        Ridge(s) >= 0 on the covariance scale.

    Returns
    -------
    float or ndarray of shape (n_ridges,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 5)); y = X @ np.ones(5) + rng.standard_normal(50)
    >>> brute = np.mean([(y[i] - X[i] @ np.linalg.lstsq(np.delete(X, i, 0), np.delete(y, i),
    ...                  rcond=None)[0]) ** 2 for i in range(50)])
    >>> bool(np.isclose(loo(X, y, 0.0), brute))
    True
    """
    owner = "loo"
    X, y = check_data(X, "X", owner, y=y)
    lam = _check_ridge(ridge, owner)
    n = X.shape[0]
    U, d, _ = _svd(X)
    r = d.size
    d2 = d ** 2
    uty = U.T @ y
    lev_perp = np.clip(1.0 - np.sum(U ** 2, axis=1), 0.0, 1.0)   # 1 - leverage of P_X
    y_perp = y - U @ uty
    if r == n:
        lev_perp = np.zeros(n)
        y_perp = np.zeros(n)
    flat = lam.reshape(-1)
    out = np.empty(flat.shape)
    pos = flat > 0
    if np.any(pos):
        nl = n * flat[pos]
        inv = 1.0 / (d2[None, :] + nl[:, None])             # (R, r)
        # residual / (n lam) and (1 - H_ii) / (n lam), exact for every lam > 0
        e = y_perp[None, :] / nl[:, None] + (inv * uty[None, :]) @ U.T
        h = lev_perp[None, :] / nl[:, None] + inv @ (U ** 2).T
        out[pos] = np.mean((e / h) ** 2, axis=1)
    if np.any(~pos):
        if r == n:
            e = U @ (uty / d2)
            h = (U ** 2) @ (1.0 / d2)
            out[~pos] = np.mean((e / h) ** 2)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(lev_perp > 1e-12, y_perp / np.maximum(lev_perp, 1e-300),
                                 np.inf)
            out[~pos] = np.mean(ratio ** 2)
    out = out.reshape(lam.shape)
    return float(out) if out.ndim == 0 else out
