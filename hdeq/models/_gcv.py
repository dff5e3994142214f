"""Generalized and leave-one-out cross-validation of ridge regression on a data set.

Both are computed from ONE thin SVD of the design and vectorized over the ridge grid.
Estimator (theory note linear.md §5.1): ``beta_hat = (X^T X / n + ridge I)^{-1} X^T y / n``
with no intercept (centre ``X`` and ``y`` yourself if the model should have one).
"""

from __future__ import annotations

import numpy as np

from ..core._validation import _show, check_array, check_data

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
        raise ValueError(f"`ridge` of {owner} must be >= 0; got minimum {_show(lam.min())}")
    return lam


def _shrinkage(d, n, lam):
    r"""The ridge shrinkage factors of the residual, ``w_j = lam / (s_j + lam)`` with
    ``s_j = d_j^2 / n`` (``1 - w_j`` are the eigenvalues of the hat matrix), written as
    ``w = k u`` in a form that neither overflows nor underflows for any finite ridge.

    With ``q = lam / s_1`` (``s_1`` the largest eigenvalue) and ``sr_j = s_j / s_1`` in
    ``(0, 1]``: for ``q >= 1``, ``u_j = 1 / (sr_j / q + 1)`` in ``[1/2, 1]`` and ``k = 1``
    (``q = inf`` from an overflow gives the exact limit ``u = 1``); for ``q < 1``
    (including a negative ridge above ``-s_r``), ``u_j = 1 / (sr_j + q)`` and ``k = q``.
    ``u`` is bounded by ``1 / (sr_r + q)``, at most ``1 / (max(n, p) eps)^2`` (the rank
    tolerance of :func:`_svd`). The hat-matrix eigenvalues ``1 - w_j = s_j / (s_j + lam)``
    are formed as ``sr_j u_j`` (``q < 1``) or ``(sr_j / q) u_j`` (``q >= 1``), without the
    cancellation of ``1 - w`` at large ridges. Returns ``u`` and ``hat`` of shape
    ``(R, r)`` and ``k`` of shape ``(R,)``.
    """
    lam = np.asarray(lam, float).reshape(-1)
    if d.size == 0:
        return np.zeros((lam.size, 0)), np.ones(lam.size), np.zeros((lam.size, 0))
    sr = (d / d[0]) ** 2
    with np.errstate(over="ignore"):
        q = np.where(lam == 0, 0.0, (lam / d[0]) * (n / d[0]))
    big = q >= 1
    with np.errstate(divide="ignore"):
        inv_q = np.where(big, 1.0 / np.where(big, q, 1.0), 0.0)
    sr_q = np.where(big[:, None], sr[None, :] * inv_q[:, None], sr[None, :])
    u = 1.0 / (sr_q + np.where(big, 1.0, q)[:, None])
    k = np.where(big, 1.0, q)
    return u, k, sr_q * u


def _gcv_from_svd(d, uty, perp2, n, lam):
    r"""GCV at every ridge from the singular values ``d``, ``U^T y`` and ``||y - U U^T y||^2``.

    With the residual factors ``w_j = lam/(s_j + lam)`` (:func:`_shrinkage`), ``n (1 -
    tr H/n) = (n - r) + sum_j w_j`` and ``||y - X beta_hat||^2 = perp2 + sum_j w_j^2
    (U^T y)_j^2``, so

        GCV = n (perp2 + sum_j w_j^2 (U^T y)_j^2) / ((n - r) + sum_j w_j)^2.

    When ``rank = n`` (no residual outside the span) the common factor ``k`` of ``w = k u``
    cancels, ``GCV = n sum_j u_j^2 (U^T y)_j^2 / (sum_j u_j)^2``, which is also the
    ridgeless limit ``lam -> 0+`` of theory note §5.3 (``u_j = s_1/s_j``), ``(1/n) y^T K^{-2}
    y / ((1/n) tr K^{-1})^2`` with ``K = X X^T / n``; for ``rank < n`` at ridge 0, ``w = 0``
    gives the least-squares residual over ``(1 - r/n)^2``. Every term is bounded, so the
    value is exact to rounding for every finite ridge; ``lam -> inf`` gives ``mean(y^2)``.
    """
    lam = np.asarray(lam, float)
    u, k, _ = _shrinkage(d, n, lam)
    uty2 = uty ** 2
    if d.size == n:       # no residual outside the span of X: k cancels
        out = n * ((u * u) @ uty2) / u.sum(axis=1) ** 2
    else:
        w = k[:, None] * u
        out = n * (perp2 + (w * w) @ uty2) / ((n - d.size) + w.sum(axis=1)) ** 2
    return out.reshape(lam.shape)


def _power_of_two_scale(y):
    """The power of two ``c`` with ``max|y| / c`` in ``[1/2, 1)`` (1 for y = 0): dividing
    by it is exact and keeps squares of ``y`` far from overflow."""
    top = float(np.max(np.abs(y))) if y.size else 0.0
    return float(np.ldexp(1.0, int(np.frexp(top)[1]))) if top > 0 else 1.0


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
    The formula is evaluated in a form whose every term is bounded (see
    ``_gcv_from_svd``), so it is exact to rounding for every finite ridge, from the
    smallest subnormal to the largest float (``ridge -> inf`` gives ``mean(y**2)``).
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
    From the data alone, GCV estimates the test error of the ridge fit on a fresh noisy
    point. Here the truth is known (``Sigma = I``, ``noise_var = 1``), so the test error
    of each fit is ``1 + ||beta_hat - beta||^2``:

    >>> import numpy as np
    >>> from hdeq import gcv
    >>> rng = np.random.default_rng(0)
    >>> n, p = 400, 100
    >>> X = rng.standard_normal((n, p)); beta = rng.standard_normal(p) / np.sqrt(p)
    >>> y = X @ beta + rng.standard_normal(n)
    >>> ridges = [0.01, 0.1, 1.0]
    >>> gcv(X, y, ridges).round(3)
    array([1.35 , 1.287, 1.383])
    >>> fits = [np.linalg.solve(X.T @ X / n + r * np.eye(p), X.T @ y / n) for r in ridges]
    >>> np.round([1 + np.sum((b - beta) ** 2) for b in fits], 3)
    array([1.337, 1.261, 1.331])

    Both are near the deterministic equivalent (:class:`hdeq.RidgeRegression`), and both
    pick ridge 0.1 of the three (the optimum ``gamma noise_var / ||beta||^2`` is about 0.25
    here):

    >>> from hdeq import RidgeRegression
    >>> RidgeRegression(np.ones(p), signal_var=1.0, noise_var=1.0, ridge=ridges,
    ...                 n_samples=n).test_error().round(3)
    array([1.322, 1.26 , 1.357])
    """
    owner = "gcv"
    X, y = check_data(X, "X", owner, y=y)
    lam = _check_ridge(ridge, owner)
    n = X.shape[0]
    U, d, _ = _svd(X)
    c = _power_of_two_scale(y)          # GCV is quadratic in y: work on y / c (exact)
    ys = y / c
    uty = U.T @ ys
    perp2 = float(np.sum((ys - U @ uty) ** 2)) if d.size < n else 0.0
    out = _gcv_from_svd(d, uty, perp2, n, lam) * c ** 2
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
    the error undefined: ``inf`` is returned. Exact to rounding for every finite ridge
    (``ridge -> inf`` gives ``mean(y**2)``). One thin SVD serves the whole grid.

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
    >>> import numpy as np
    >>> from hdeq import loo
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
    c = _power_of_two_scale(y)          # LOO is quadratic in y: work on y / c (exact)
    ys = y / c
    uty = U.T @ ys
    flat = lam.reshape(-1)
    out = np.empty(flat.shape)
    # residual e_i = y_perp_i + (U w U^T y)_i and 1 - H_ii = lev_perp_i + (U^2 w)_i with
    # w = k u (_shrinkage): A = U (u U^T y), B = U^2 u are bounded for every ridge
    u, k, _ = _shrinkage(d, n, flat)
    A = (u * uty[None, :]) @ U.T                               # (R, n)
    B = u @ (U ** 2).T
    if r == n:                # no part outside the span: k cancels, ridge 0 included
        out[:] = np.mean((A / B) ** 2, axis=1)
    else:
        lev_perp = np.clip(1.0 - np.sum(U ** 2, axis=1), 0.0, 1.0)   # 1 - leverage of P_X
        y_perp = ys - U @ uty
        pos = flat != 0
        if np.any(pos):
            # divide both by c_i = max(lev_perp_i, k) (>= k, so k / c_i <= 1): finite at
            # every ridge, also for rows of leverage ~1 where both terms are O(k)
            kp = k[pos][:, None]
            scale = np.maximum(lev_perp[None, :], np.abs(kp))
            e = y_perp[None, :] / scale + (kp / scale) * A[pos]
            h = lev_perp[None, :] / scale + (kp / scale) * B[pos]
            out[pos] = np.mean((e / h) ** 2, axis=1)
        if np.any(~pos):
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(lev_perp > 1e-12, y_perp / np.maximum(lev_perp, 1e-300),
                                 np.inf)
            out[~pos] = np.mean(ratio ** 2)
    out = out.reshape(lam.shape) * c ** 2
    return float(out) if out.ndim == 0 else out
