"""Deterministic equivalent of linear ridge regression: the effective ridge and the risks.

Everything here works on a population spectrum given as positive atoms ``t_j`` with
multiplicities ``m_j`` (how many of the ``n_features`` eigenvalues of the population
covariance equal ``t_j``; non-integer multiplicities are allowed, e.g. ``n_features *
weights``). Zero eigenvalues never enter the formulas and may be dropped.

Conventions (theory note linear.md §0, §3.2, §5.1-5.2): rows ``x_i ~ N(0, Sigma)``,
``S = X^T X / n``, estimator ``(S + ridge I)^{-1} X^T y / n`` (ridge on the covariance
scale), and

    df1(kappa) = sum_j m_j t_j / (t_j + kappa)            ( = tr Sigma (Sigma + kappa)^{-1} )
    df2(kappa) = sum_j m_j t_j^2 / (t_j + kappa)^2        ( = tr Sigma^2 (Sigma + kappa)^{-2} )
    ridge      = kappa (1 - df1(kappa) / n)               (defines the effective ridge kappa)

The map ``g(kappa) = kappa (1 - df1(kappa)/n)`` has derivative ``1 - df2(kappa)/n`` and is
convex; it increases on ``[kappa_c, inf)`` where ``df2(kappa_c) = n``. Hence:

* ``ridge > 0``: the root lies in ``(kappa_0, ridge + tr Sigma / n]`` and Newton started at
  the right end decreases monotonically to it (convex increasing function); a bracket is
  kept anyway and bisection takes over if a step leaves it;
* ``ridge = 0``: ``kappa = kappa_0``, with ``kappa_0 = 0`` when rank(Sigma) <= n and
  ``df1(kappa_0) = n`` otherwise (the ridgeless / min-norm limit, theory note §5.4);
* ``ridge < 0`` (only on request): valid iff ``ridge > g(kappa_c) = -(lower edge of the
  non-zero limiting spectrum of S)``; the root lies in ``(kappa_c, kappa_0)``.

The solvers are vectorized over arrays of ``ridge`` and ``n_samples`` (broadcast): there is
no Python loop over grid points, converged points leave the active set, and the residual of
the defining equation is recomputed after the solve.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..core._errors import ConvergenceError, ConvergenceWarning
from ..core._validation import _show, check_array, check_bool, check_on_failure
from ..core._workspace import work_arrays

__all__ = ["EffectiveRidgeResult", "RidgeRisk", "effective_ridge", "ridge_risk",
           "solve_effective_ridge", "spectral_sums", "ridgeless_threshold",
           "negative_ridge_bound"]

_EPS = np.finfo(float).eps
_CHUNK_ELEMENTS = 1 << 16     # elements per block when evaluating sums (cache friendly)
_MAX_ITER = 200
_RTOL = 1e-10                  # accepted relative residual of the defining equation


# ---------------------------------------------------------------------------------------
# spectral sums
# ---------------------------------------------------------------------------------------

def spectral_sums(kappa, eigenvalues, weights, terms):
    """Evaluate ``sum_j w_j t_j^a / (t_j + kappa)^b`` for every ``kappa``.

    Parameters
    ----------
    kappa : array_like
        Points (any shape) with ``t_j + kappa > 0`` for all atoms.
    eigenvalues : ndarray of shape (K,)
        Positive atoms ``t_j``.
    weights : sequence of ndarray of shape (K,)
        Weight vectors ``w`` (e.g. multiplicities, or target energies).
    terms : sequence of (w_index, a, b)
        Which sums to return.

    Returns
    -------
    list of ndarray, one per term, each of the shape of ``kappa``.

    Notes
    -----
    Computed in blocks of kappa so the (block, K) temporaries stay in cache: cost
    ``O(kappa.size * K)`` per term.

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq import spectral_sums
    >>> t = np.array([1.0, 2.0]); m = np.array([1.0, 1.0])
    >>> df1, df2 = spectral_sums([1.0], t, [m], [(0, 1, 1), (0, 2, 2)])
    >>> float(df1[0]), float(df2[0])  # 1/2 + 2/3, 1/4 + 4/9
    (1.1666666666666665, 0.6944444444444444)
    """
    kappa = np.asarray(kappa, dtype=float)
    flat = kappa.reshape(-1)
    t = np.asarray(eigenvalues, dtype=float)
    out = [np.empty(flat.shape) for _ in terms]
    # vectors w * t^a, one per term; one gemv per term (faster than a thin gemm here)
    coef = [np.asarray(weights[wi], dtype=float) * t ** a for wi, a, _ in terms]
    max_b = max(b for _, _, b in terms)
    step = max(1, _CHUNK_ELEMENTS // max(t.size, 1))
    rows_max = min(step, flat.size)
    t_rows, *bufs = work_arrays("spectral_sums", max_b + 1, (rows_max, t.size))
    t_rows[...] = t                                  # contiguous rows: faster add
    for start in range(0, flat.size, step):
        k = flat[start:start + step]
        rows = k.size
        powers = [b[:rows] for b in bufs]
        np.add(t_rows[:rows], k[:, None], out=powers[0])
        np.divide(1.0, powers[0], out=powers[0])
        for b in range(1, max_b):
            np.multiply(powers[b - 1], powers[0], out=powers[b])
        for i, (_, _, b) in enumerate(terms):
            out[i][start:start + rows] = powers[b - 1] @ coef[i]
    return [o.reshape(kappa.shape) for o in out]


def _df1_df2(kappa, t, m):
    return spectral_sums(kappa, t, [m], [(0, 1, 1), (0, 2, 2)])


# ---------------------------------------------------------------------------------------
# result record
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EffectiveRidgeResult:
    """Solution of ``ridge = kappa (1 - df1(kappa)/n)`` at each grid point.

    Attributes
    ----------
    value : ndarray
        The effective ridge ``kappa`` (broadcast shape of ``ridge`` and ``n_samples``).
    converged : ndarray of bool
        Per-point status: the relative residual is below 1e-10.
    residual : ndarray
        ``|kappa (1 - df1/n) - ridge| / (|ridge| + kappa df1/n + tiny)`` recomputed after
        the solve (0 where kappa = kappa_0 is the ridgeless root).
    n_iter : int
        Newton iterations used by the slowest point.
    kappa_0 : ndarray
        Ridgeless effective ridge (0 when rank <= n).
    """

    value: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    n_iter: int
    kappa_0: np.ndarray


# ---------------------------------------------------------------------------------------
# solvers
# ---------------------------------------------------------------------------------------

def _prepare(eigenvalues, multiplicity, owner):
    t = check_array(eigenvalues, "eigenvalues", owner, ndim=1, nonnegative=True)
    if multiplicity is None:
        m = np.ones_like(t)
    else:
        m = check_array(multiplicity, "multiplicity", owner, ndim=1, nonnegative=True)
        if m.shape != t.shape:
            raise ValueError(f"`multiplicity` of {owner} must have the shape of `eigenvalues` "
                             f"{t.shape}; got {m.shape}")
    keep = (t > 0) & (m > 0)
    if not np.any(keep):
        raise ValueError(f"`eigenvalues` of {owner} must contain a positive eigenvalue "
                         f"with positive multiplicity; got none")
    t, m, _ = merge_atoms(t[keep], m[keep])
    return t, m


def merge_atoms(eigenvalues, multiplicity, *energies):
    """Merge equal eigenvalues, summing their multiplicities (and any per-atom energies).

    Returns ``(values, multiplicity, [energies...])`` with sorted distinct values.
    """
    t, inv = np.unique(np.asarray(eigenvalues, float), return_inverse=True)
    out = []
    for w in (multiplicity, *energies):
        acc = np.zeros(t.shape)
        np.add.at(acc, inv, np.asarray(w, float))
        out.append(acc)
    return t, out[0], out[1:]


def _unit_scale(eigenvalues) -> float:
    """The power of two ``c`` with ``max(t)/c`` in ``[1, 2)``.

    Every quantity of the equivalent is homogeneous in the scale of the population
    (``t -> c t``, ``ridge -> c ridge`` give ``kappa -> c kappa``; ``df1``, ``df2`` unchanged),
    so the solvers work on ``t / c``: division by a power of two is exact, and the sums
    ``1/(t + kappa)^b`` stay in floating-point range for a population of any scale (they
    overflowed below ~1e-100 and above ~1e100).
    """
    return float(np.ldexp(1.0, int(np.frexp(np.max(eigenvalues))[1]) - 1))


def _check_n(n_samples, owner):
    return check_array(n_samples, "n_samples", owner, positive=True, allow_bool=False)


def _spectrum_first(eigenvalues, n_samples, owner):
    """The arguments are ``(eigenvalues, multiplicity, n_samples)``, in the order of
    :func:`effective_ridge` and of the models (population first); a scalar first argument
    is the old order ``(n_samples, eigenvalues)``: say so."""
    if np.ndim(eigenvalues) == 0:
        raise ValueError(f"`eigenvalues` of {owner} must be a 1-D array of population "
                         f"eigenvalues; got the scalar {_show(eigenvalues)} (the arguments are "
                         f"(eigenvalues, multiplicity=None, n_samples), population first as in "
                         f"effective_ridge and the models)")
    if n_samples is None:
        raise ValueError(f"`n_samples` of {owner} must be given; got None (the arguments "
                         f"are (eigenvalues, multiplicity=None, n_samples), population first)")


def ridgeless_threshold(eigenvalues, multiplicity=None, n_samples=None):
    """Ridgeless effective ridge ``kappa_0``: ``df1(kappa_0) = n`` if rank > n, else 0.

    Safeguarded Newton on the convex decreasing ``df1(kappa) - n`` (:func:`_kappa0`;
    theory note linear.md §3.2, §5.4).

    Parameters
    ----------
    eigenvalues, multiplicity : array_like of shape (K,)
        Population atoms and their multiplicities (default 1 each).
    n_samples : array_like
        Sample sizes (any shape). The order ``(eigenvalues, multiplicity, n_samples)`` is
        that of :func:`effective_ridge` and of the models (population first).

    Returns
    -------
    ndarray of the shape of ``n_samples``.

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> round(float(hdeq.ridgeless_threshold(np.ones(1000), n_samples=500)), 12)
    1.0
    """
    owner = "ridgeless_threshold"
    _spectrum_first(eigenvalues, n_samples, owner)
    t, m = _prepare(eigenvalues, multiplicity, owner)
    n = _check_n(n_samples, owner)
    c = _unit_scale(t)
    return _kappa0(n, t / c, m) * c


def _kappa0(n, t, m):
    """Ridgeless roots ``df1(kappa_0) = n`` (rank > n), else 0; ``t`` in unit scale.

    Safeguarded Newton on the bracket ``[t_min (rank/n - 1), tr/n]`` (``df1 >= rank
    t_min/(t_min + kappa)`` gives ``df1 >= n`` at the left end, ``df1 < tr/kappa`` gives
    ``df1 < n`` at the right end): far from the root the Newton step is taken in ``log
    kappa`` (in which a power-law ``df1`` is nearly linear), near it in ``kappa`` (quadratic
    convergence to rounding level), and a step that leaves the bracket is replaced by its
    geometric midpoint. Plain Newton on ``kappa`` from 0 (monotone, but multiplying kappa
    only by about ``1 + alpha`` per step on a spectrum ``k^-alpha``) needed more than 200
    steps for spectra spanning 100 decades, such as the infinite power-law spectra of
    :class:`hdeq.PowerLawRidge`.
    """
    n = np.asarray(n, dtype=float)
    rank = m.sum()
    out = np.zeros(n.shape)
    active = np.flatnonzero((rank > n).reshape(-1))
    if active.size == 0:
        return out
    flat = out.reshape(-1)
    nn = n.reshape(-1)[active]
    tmin = float(t.min())
    k_hi = np.full(nn.shape, float(np.sum(m * t))) / nn
    with np.errstate(over="ignore"):
        k_lo = np.minimum(tmin * (rank / nn - 1.0), k_hi)
    k = np.sqrt(k_lo) * np.sqrt(k_hi)
    for _ in range(_MAX_ITER):
        s1, s12 = spectral_sums(k, t, [m], [(0, 1, 1), (0, 1, 2)])    # df1, -d df1/dkappa
        f = s1 - nn
        at_floor = np.abs(f) <= 16 * _EPS * nn             # rounding level of the sum
        k_lo = np.where(f > 0, k, k_lo)
        k_hi = np.where(f < 0, k, k_hi)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            rel = f / (k * s12)                            # Newton step in log kappa
            new = np.where(np.abs(rel) > 0.1, k * np.exp(np.minimum(rel, 700.0)),
                           k + f / s12)
        outside = ~((new > k_lo) & (new < k_hi)) | ~np.isfinite(new)
        new = np.where(outside, np.sqrt(k_lo) * np.sqrt(k_hi), new)
        new = np.where(at_floor, k, new)
        done = at_floor | (np.abs(new - k) <= 4 * _EPS * k) | (k_hi <= k_lo * (1 + 4 * _EPS))
        flat[active[done]] = new[done]
        if np.all(done):
            break
        keep = ~done
        active, nn, k, k_lo, k_hi = active[keep], nn[keep], new[keep], k_lo[keep], k_hi[keep]
    else:  # pragma: no cover - safeguarded Newton converges; report rather than hide
        flat[active] = np.nan
    return out


def negative_ridge_bound(eigenvalues, multiplicity=None, n_samples=None):
    """Smallest admissible (negative) ridge: ``g(kappa_c) = kappa_c (1 - df1(kappa_c)/n)``.

    ``kappa_c`` solves ``df2(kappa_c) = n`` on ``(-min t, inf)``; ``-g(kappa_c)`` is the
    lower edge of the non-zero part of the limiting spectrum of ``S`` (for n > rank it is the
    lower MP-type edge of ``S`` itself; for rank > n that of the companion ``X X^T / n``), so
    ridge regression with ``ridge > g(kappa_c)`` is well defined in the limit
    (Silverstein-Choi critical point, theory note linear.md §3.4, §5.5). Arguments in the
    order of :func:`effective_ridge` and of the models: population first, then
    ``n_samples``.

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> # isotropic, gamma = 0.25: minus the lower MP edge (1 - sqrt(gamma))^2 = 0.25
    >>> round(float(hdeq.negative_ridge_bound(np.ones(100), n_samples=400)), 12)
    -0.25
    """
    owner = "negative_ridge_bound"
    _spectrum_first(eigenvalues, n_samples, owner)
    t, m = _prepare(eigenvalues, multiplicity, owner)
    n = _check_n(n_samples, owner)
    c = _unit_scale(t)
    t = t / c
    kc = _kappa_c(n, t, m)
    df1, = spectral_sums(kc, t, [m], [(0, 1, 1)])
    return kc * (1 - df1 / n) * c


def _kappa_c(n, t, m):
    """Root of df2(kappa) = n on (-t_min, inf); Newton from the left on a convex
    decreasing function (monotone)."""
    n = np.asarray(n, dtype=float)
    tmin = t.min()
    mmin = m[t == tmin].sum()
    nn = n.reshape(-1).copy()
    # start where df2 >= mmin tmin^2 / eps^2 = 4 n > n
    k = -tmin + 0.5 * tmin * np.sqrt(mmin / nn)
    out = np.full(nn.shape, np.nan)
    active = np.arange(nn.size)
    for _ in range(_MAX_ITER):
        s2, s3 = spectral_sums(k, t, [m], [(0, 2, 2), (0, 2, 3)])   # df2, -df2'/2
        step = (s2 - nn) / (2 * s3)
        at_floor = np.abs(s2 - nn) <= 16 * _EPS * nn
        k = np.where(at_floor, k, k + step)
        done = at_floor | (np.abs(step) <= 4 * _EPS * np.maximum(np.abs(k), tmin))
        out[active[done]] = k[done]
        if np.all(done):
            break
        active, nn, k = active[~done], nn[~done], k[~done]
    return out.reshape(n.shape)


def solve_effective_ridge(ridge, eigenvalues, multiplicity=None, n_samples=None, *,
                          allow_negative=False, _residual=True) -> EffectiveRidgeResult:
    r"""Solve ``ridge = kappa (1 - df1(kappa)/n)`` for the effective ridge, vectorized.

    For each broadcast pair ``(ridge, n_samples)`` it finds ``kappa`` with

    .. math:: \lambda = \kappa\,\Bigl(1 - \tfrac{1}{n}\sum_j m_j \tfrac{t_j}{t_j + \kappa}
              \Bigr),

    the self-consistent equation of the deterministic equivalent of ridge regression
    (theory note linear.md §3.2 and §5.2; Dobriban & Wager 2018; Hastie et al. 2022).
    This is the low-level solver: where the solve fails at a point it does not raise but
    reports it, with the per-point status and the residual of the equation recomputed
    after the solve (:func:`effective_ridge` is the wrapper that raises or returns NaN,
    and documents the method: Newton from the right end of a bracket, bisection as
    fallback).

    Parameters
    ----------
    ridge : array_like
        Ridge penalties on the covariance scale (>= 0, or > the bound of
        :func:`negative_ridge_bound` when ``allow_negative``).
    eigenvalues : array_like of shape (K,)
        Population eigenvalues (atoms); zeros are ignored.
    multiplicity : array_like of shape (K,), optional
        Multiplicity of each atom (default 1: ``eigenvalues`` lists all n_features values).
    n_samples : array_like
        Sample sizes; broadcast against ``ridge``.
    allow_negative : bool
        Accept negative ridges in the valid range.

    Returns
    -------
    EffectiveRidgeResult
        ``value`` (kappa), ``converged`` and ``residual`` per point, ``n_iter`` and the
        ridgeless root ``kappa_0``.

    Examples
    --------
    Isotropic population (1000 eigenvalues 1) and ``gamma = p/n = 2``: the closed form is
    ``kappa = (b + sqrt(b^2 + 4 ridge)) / 2`` with ``b = ridge + gamma - 1`` (theory note
    §5.5), and the ridgeless root is ``kappa_0 = gamma - 1``:

    >>> import numpy as np
    >>> from hdeq import solve_effective_ridge
    >>> res = solve_effective_ridge([0.0, 0.1, 1.0], [1.0], [1000], n_samples=500)
    >>> res.value.round(8), res.kappa_0, bool(res.converged.all())
    (array([1.        , 1.18442888, 2.41421356]), array([1., 1., 1.]), True)
    >>> lam, b = np.array([0.0, 0.1, 1.0]), np.array([0.0, 0.1, 1.0]) + 2 - 1
    >>> bool(np.allclose(res.value, (b + np.sqrt(b * b + 4 * lam)) / 2, rtol=1e-12))
    True
    >>> bool(res.residual.max() < 1e-15)
    True
    """
    allow_negative = check_bool(allow_negative, "allow_negative", "solve_effective_ridge")
    return _solve(ridge, eigenvalues, multiplicity, n_samples, allow_negative=allow_negative,
                  residual=_residual)[0]


def _complement(kappa, df1, s001, n, rank):
    """``n - df1(kappa)`` without cancellation where ``rank <= n``: there it is ``(n - rank)
    + kappa sum m/(t + kappa)`` (each ``1 - t/(t + kappa) = kappa/(t + kappa)``), a sum of
    non-negative terms, exact to rounding even where ``df1 = n (1 - 1e-150)`` (``n = rank``
    and a ridge of 1e-300, where the subtraction ``n - df1`` loses every digit). Where
    ``rank > n`` the subtraction is kept: ``kappa >= kappa_0 > 0`` keeps the effective
    ridge away from 0, and the risks use ``1 - df1/n = ridge/kappa`` at the root."""
    return np.where(rank <= n, (n - rank) + kappa * s001, n - df1)


def _solve(ridge, eigenvalues, multiplicity, n_samples, *, allow_negative, residual,
           energy=None, owner="effective_ridge"):
    """Body of :func:`solve_effective_ridge`. With per-atom ``energy`` (aligned with the
    merged atoms) it also returns ``(df1, df2, s12, a, c1)`` at the returned kappa, ``s12 =
    sum_j m_j t_j/(t_j+kappa)^2`` (``df1 - df2 = kappa s12``, kept apart: the difference
    cancels at small kappa, ``df2 = df1 - kappa s12`` at large kappa), ``a = sum_j e_j
    t_j/(t_j+kappa)^2`` and ``c1 = n - df1`` (:func:`_complement`), from the last Newton
    evaluation: there the final step delta has |delta| <= 1e-8 kappa (or is 0), and the
    first-order Taylor updates ``df1 - delta s12``, ``df2 - 2 delta d3``, ``s12 - 2 delta
    s13``, ``a - 2 delta a3``, ``c1 + delta s12`` (``d3``, ``s13``, ``a3`` the sums with
    ``(t+kappa)^3``) are exact up to O((delta/kappa)^2) <= ~1e-16 relative; this saves a
    separate pass over the grid.
    ``owner`` names the public caller in the messages about ``ridge`` and ``n_samples``.

    The Newton function ``g = kappa c1/n - ridge`` and its slope ``g' = (c1 + kappa
    s12)/n`` (``= 1 - df2/n``) are formed from ``c1`` without cancellation where ``rank <=
    n`` (:func:`_complement`), so that at ``n = rank`` a ridge down to the smallest
    positive float (``kappa ~ sqrt(ridge)``) is solved to rounding, the same whatever the
    other ridges of the grid."""
    _residual = residual
    t, m = _prepare(eigenvalues, multiplicity, owner)
    unit = _unit_scale(t)           # solve on t / unit (exact), scale kappa back at the end
    t = t / unit
    rank = float(m.sum())
    if energy is not None and not (np.shape(energy) == t.shape):
        raise ValueError(f"`energy` of {owner} must match the merged atoms")
    if n_samples is None:
        raise ValueError(f"`n_samples` of {owner} must be given; got None")
    lam = check_array(ridge, "ridge", owner)
    n = _check_n(n_samples, owner)
    lam, n = np.broadcast_arrays(lam, n)
    shape = lam.shape
    lam, n = lam.reshape(-1), n.reshape(-1)
    if not allow_negative and np.any(lam < 0):
        raise ValueError(f"`ridge` of {owner} must be >= 0 (pass allow_negative=True for a "
                         f"negative ridge); got minimum {_show(lam.min())}")
    lam_given = lam
    lam = lam / unit
    # ridgeless roots, once per distinct n
    n_unique, n_inv = np.unique(n, return_inverse=True)
    k0 = _kappa0(n_unique, t, m)[n_inv]
    kappa = k0.copy()
    lo = k0.copy()
    neg = lam < 0
    if np.any(neg):
        kc_u = _kappa_c(n_unique, t, m)
        df1c, = spectral_sums(kc_u, t, [m], [(0, 1, 1)])
        bound = (kc_u * (1 - df1c / n_unique))[n_inv]
        bad = neg & (lam <= bound)
        if np.any(bad):
            i = np.flatnonzero(bad)[0]
            raise ValueError(f"`ridge` of {owner} must be > {bound[i] * unit:.6g} (minus the "
                             f"lower edge of the limiting spectrum of S) at n_samples="
                             f"{n[i]:g}; got {_show(lam_given[i])}")
        lo[neg] = kc_u[n_inv][neg]
    trace = float(np.sum(m * t))
    hi = np.where(neg, k0, lam + trace / n)
    # Newton, started from a tabulated guess (positive ridges) or the right end of the
    # bracket (negative ridges); the bracket [lo, hi] is kept and bisection takes over
    # whenever a step leaves it
    active = np.flatnonzero(lam != 0)
    kappa[active] = hi[active]
    pos = np.flatnonzero(lam > 0)
    # g(kappa) = kappa (1 - df1/n) < kappa: the root lies above the ridge, and a positive
    # lower end lets the bisection fallback halve log kappa (roots near 1e-160 at n = rank)
    lo[pos] = np.maximum(lo[pos], 0.5 * lam[pos])
    if pos.size:
        guess = _table_guess(lam[pos], n_inv[pos], k0[pos], hi[pos], n_unique, t, m)
        if guess is None:
            guess = _initial_guess(lam[pos], n_inv[pos], hi[pos], n_unique, k0, n_inv, hi,
                                   t, m)
        kappa[pos] = guess
    n_iter = 0
    a_lam, a_n = lam[active], n[active]
    a_k, a_lo, a_hi = kappa[active], lo[active], hi[active]
    if energy is not None:
        sums = np.full((5, kappa.size), np.nan)
        have = np.zeros(kappa.size, dtype=bool)
        weights = [m, np.asarray(energy, float)]
        terms = [(0, 1, 1), (0, 1, 2), (0, 0, 1), (0, 2, 2), (1, 1, 2), (0, 2, 3), (0, 1, 3),
                 (1, 1, 3)]
    else:
        weights, terms = [m], [(0, 1, 1), (0, 1, 2), (0, 0, 1)]
    for n_iter in range(1, _MAX_ITER + 1):
        if active.size == 0:
            break
        df1, s12, s001, *extra = spectral_sums(a_k, t, weights, terms)
        c1 = _complement(a_k, df1, s001, a_n, rank)
        exact = rank <= a_n
        g = a_k * (c1 / a_n) - a_lam
        slope = (c1 + a_k * s12) / a_n                      # 1 - df2/n, df1 - df2 = k s12
        # keep the bracket [lo, hi] with g(lo) < 0 <= g(hi)
        a_hi = np.where(g >= 0, a_k, a_hi)
        a_lo = np.where(g < 0, a_k, a_lo)
        # Newton step k - g/g' = (k^2 s12 / n + ridge) / g' (no cancellation)
        # (k * (k s12): k^2 alone overflows for k > 1e154; k s12 ~ tr/k stays finite)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = (a_k * (a_k * s12) / a_n + a_lam) / slope
        outside = ~((new > a_lo) & (new < a_hi)) | ~np.isfinite(new)
        # midpoint as a sum of halves (identical to 0.5 (lo + hi), which overflows for a
        # bracket near the largest float); geometric when the bracket spans decades
        wide = (a_lo > 0) & (0.25 * a_hi > a_lo)
        mid = np.where(wide, np.sqrt(np.maximum(a_lo, 0.0)) * np.sqrt(np.maximum(a_hi, 0.0)),
                       0.5 * a_lo + 0.5 * a_hi)
        new = np.where(outside, mid, new)
        # stop at rounding level: tiny step, or |g| at the noise floor of its evaluation;
        # or after a Newton step of relative size <= 1e-8 where g' is not small (the
        # quadratic convergence leaves an error ~1e-16; the residual check certifies it).
        # The noise of g is that of the subtraction kappa - kappa df1/n where it is formed
        # that way (rank > n), else of its two terms (each term scaled before the sum:
        # a_k + |ridge| overflows for ridges near the largest float)
        noise = 8 * _EPS * np.abs(a_lam) + np.where(
            exact, 8 * _EPS * np.abs(a_k * (c1 / a_n)),
            8 * _EPS * np.abs(a_k) + 8 * _EPS * np.abs(a_k * df1 / a_n))
        step = np.abs(new - a_k)
        done = ((step <= 4 * _EPS * np.abs(a_k) + 1e-300) | (np.abs(g) <= noise)
                | (~outside & (step <= 1e-8 * np.abs(a_k)) & (slope >= 1e-3)))
        new = np.where(np.abs(g) <= noise, a_k, new)
        kappa[active] = new
        if energy is not None and np.any(done):
            d2, a_e, d3, s13, a3 = (v[done] for v in extra)
            delta = (new - a_k)[done]
            idx = active[done]
            sums[0, idx] = df1[done] - delta * s12[done]
            sums[1, idx] = d2 - 2 * delta * d3
            sums[2, idx] = s12[done] - 2 * delta * s13
            sums[3, idx] = a_e - 2 * delta * a3
            sums[4, idx] = c1[done] + delta * s12[done]
            have[idx] = True
        keep = ~done
        active, a_lam, a_n = active[keep], a_lam[keep], a_n[keep]
        a_k, a_lo, a_hi = new[keep], a_lo[keep], a_hi[keep]
    # recompute the residual of the defining equation
    if _residual:
        df1, s001 = spectral_sums(kappa, t, [m], [(0, 1, 1), (0, 0, 1)])
        residual = _residual_of(kappa, df1, _complement(kappa, df1, s001, n, rank), lam, n,
                                k0, rank)
    else:   # the caller (ridge_risk) evaluates df1 at kappa anyway and checks it there
        residual = np.zeros_like(kappa)
    converged = np.isfinite(kappa) & (residual <= _RTOL)
    result = EffectiveRidgeResult((kappa * unit).reshape(shape), converged.reshape(shape),
                                  residual.reshape(shape), n_iter, (k0 * unit).reshape(shape))
    if energy is None:
        return result, None
    rest = np.flatnonzero(~have)     # ridge 0 (kappa_0), or not converged: exact sums
    if rest.size:
        df1, df2, s12, s001, a_e = spectral_sums(
            kappa[rest], t, weights, [(0, 1, 1), (0, 2, 2), (0, 1, 2), (0, 0, 1), (1, 1, 2)])
        sums[:, rest] = [df1, df2, s12, a_e,
                         _complement(kappa[rest], df1, s001, n[rest], rank)]
    sums[2] /= unit                  # s12 = sum m t/(t + kappa)^2 has the scale 1/unit
    sums[3] /= unit                  # a = sum e t/(t + kappa)^2 too
    return result, tuple(v.reshape(shape) for v in sums)


def _residual_of(kappa, df1, c1, lam, n, k0, rank):
    """Relative residual of ridge = kappa c1/n, ``c1 = n - df1`` from :func:`_complement`
    (0 at the ridgeless root 0); scaled by the size of the terms the residual is formed
    from (``kappa df1/n`` where ``c1`` is a subtraction, ``kappa c1/n`` where it is not)."""
    size = np.abs(np.where(rank <= n, kappa * (c1 / n), kappa * (df1 / n)))
    scale = 0.5 * np.abs(lam) + 0.5 * size + 1e-300      # halves: no overflow near the max
    residual = 0.5 * np.abs(kappa * (c1 / n) - lam) / scale
    return np.where((lam == 0) & (k0 == 0), 0.0, residual)


_GUESS_POINTS = 48


def _initial_guess(lam, j, hi_points, n_unique, k0_all, n_inv, hi_all, t, m):
    """Starting points for Newton at positive ridges.

    Per distinct n, tabulate ``g(kappa) = kappa (1 - df1/n)`` at ``kappa = kappa_0 + u`` on a
    log grid of ``u`` covering ``[min ridge, max bracket end - kappa_0]`` (enough: ``0 < g'
    <= 1`` gives ``u >= ridge``), then interpolate ``log u`` linearly in ``log g``, which is
    close to linear in both regimes (``g ~ g'(kappa_0) u`` and ``g ~ kappa``). Cost
    ``~48 K`` per distinct n; the guess is typically within 1e-3, so 2-3 Newton steps
    follow.
    """
    nu = n_unique.size
    k0 = np.zeros(nu)
    k0[n_inv] = k0_all
    top = np.zeros(nu)
    np.maximum.at(top, n_inv, hi_all)
    low = np.full(nu, np.inf)
    np.minimum.at(low, j, lam)
    low = np.where(np.isfinite(low), low, 1.0)
    M = _GUESS_POINTS
    # a smallest ridge within 1e-6 of the largest float overflows this grid: its guesses
    # are then not finite and fall back to the bracket end (``ok`` below)
    with np.errstate(over="ignore", invalid="ignore"):
        span = np.maximum(top - k0, low * 1.000001)
        logu = np.log(low)[:, None] + (np.log(span) - np.log(low))[:, None] * np.linspace(
            0.0, 1.0, M)[None, :]
        kap = k0[:, None] + np.exp(logu)
    df1, s001 = spectral_sums(kap, t, [m], [(0, 1, 1), (0, 0, 1)])
    nn = n_unique[:, None]
    # log g = log kappa + log(1 - df1/n), formed in logs: g ~ kappa^2 underflows for
    # kappa < 1e-154 at n = rank (ridges down to the smallest float)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # kap = inf: above
        c1 = _complement(kap, df1, s001, nn, m.sum())
        logG = np.log(kap) + np.log(np.maximum(c1, 0.0) / nn)    # (nu, M), increasing in M
    rows = logG[j]                                             # (P, M)
    target = np.log(lam)
    idx = np.sum(rows < target[:, None], axis=1)
    i1 = np.clip(idx, 1, M - 1)
    g0 = np.take_along_axis(rows, (i1 - 1)[:, None], 1)[:, 0]
    g1 = np.take_along_axis(rows, i1[:, None], 1)[:, 0]
    l0 = logu[j, i1 - 1]
    l1 = logu[j, i1]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (target - g0) / (g1 - g0)
    guess = k0[j] + np.exp(l0 + np.clip(frac, -1.0, 2.0) * (l1 - l0))
    ok = np.isfinite(guess) & (guess > k0[j])
    return np.where(ok, np.minimum(guess, hi_points), hi_points)


_TABLE_STEP = 0.01      # finest spacing in log(kappa) of the shared table of _table_guess
_TABLE_STEP_MAX = 0.5   # coarsest spacing worth a table (else _initial_guess)


def _table_guess(lam, j, k0, hi, n_unique, t, m):
    """Starting points for Newton at positive ridges, accurate to ~1e-10 relative on large
    grids (so that one Newton step on the exact sums finishes most points) and to ~1e-5 on
    grids of a few hundred points (two steps).

    df1 and df2 do not depend on n or the ridge: they are tabulated once on a shared grid
    ``x = log kappa`` of spacing h covering every bracket ``[kappa_0 + ridge, ridge +
    tr Sigma / n]`` (``0 < g' <= 1`` puts the root there). ``g_n(kappa) = kappa (1 -
    df1/n)`` and ``dg_n/dx = kappa (1 - df2/n)`` are then known exactly at the nodes for
    every n; each point takes the node interval where ``g_n`` crosses its ridge and solves
    the cubic Hermite interpolant of ``g_n(x)`` there. The functions are analytic in a strip
    of half-width pi around the real x axis (poles at kappa = -t_j), so the interpolation
    error is ~h^4/384 times the fourth x-derivative: ~1e-10 kappa at h = 0.01. The table
    has at most a quarter as many nodes as there are points (so it costs at most a quarter
    of one Newton pass): h = 0.01, or coarser down to h = 0.5 on smaller grids (measured
    on 200 ridges over 5 decades at K = 1000, h = 0.23: start within 1.4e-5, two Newton
    passes instead of three from :func:`_initial_guess`). Returns None when even h = 0.5
    would need more nodes (then :func:`_initial_guess` is used).
    """
    lower = float(np.min(k0 + lam))
    upper = float(np.max(hi))
    if not (np.isfinite(lower) and np.isfinite(upper) and lower > 0):
        return None
    span = np.log(upper) - np.log(lower)
    max_nodes = lam.size // 4
    h = max(_TABLE_STEP, span / max(max_nodes - 2, 1))
    if h > _TABLE_STEP_MAX or max_nodes < 2:
        return None
    n_nodes = int(np.ceil(span / h)) + 2
    x = np.log(lower) + h * (np.arange(n_nodes) - 0.5)
    kap = np.exp(x)
    df1, s12, s001 = spectral_sums(kap, t, [m], [(0, 1, 1), (0, 1, 2), (0, 0, 1)])
    nn = n_unique[:, None]
    c1 = _complement(kap, df1, s001, nn, m.sum())        # n - df1, (n distinct, nodes)
    G = kap * (c1 / nn)
    dG = kap * ((c1 + kap * s12) / nn) * h               # dG/ds with s = (x - x_i)/h
    mono = np.maximum.accumulate(G, axis=1)
    i = np.empty(lam.size, dtype=np.intp)
    for u in np.unique(j):                               # one search per distinct n
        sel = j == u
        i[sel] = np.searchsorted(mono[u], lam[sel], side="right")
    i = np.clip(i, 1, n_nodes - 1) - 1
    g0, g1, d0, d1 = G[j, i], G[j, i + 1], dG[j, i], dG[j, i + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        sv = np.clip((lam - g0) / (g1 - g0), 0.0, 1.0)
        for _ in range(4):    # Newton on the cubic Hermite interpolant, s in [0, 1]
            s2 = sv * sv
            s3 = s2 * sv
            val = ((2 * s3 - 3 * s2 + 1) * g0 + (s3 - 2 * s2 + sv) * d0
                   + (3 * s2 - 2 * s3) * g1 + (s3 - s2) * d1)
            der = ((6 * s2 - 6 * sv) * (g0 - g1) + (3 * s2 - 4 * sv + 1) * d0
                   + (3 * s2 - 2 * sv) * d1)
            sv = np.clip(sv - (val - lam) / der, 0.0, 1.0)
        guess = np.exp(x[i] + h * sv)
    ok = np.isfinite(guess) & (guess > k0)
    return np.where(ok, np.minimum(guess, hi), hi)


def _finish(values, converged, where, on_failure, what, residual=None):
    """Raise ConvergenceError, or put NaN + one ConvergenceWarning, where not converged."""
    if np.all(converged):
        return values
    bad = ~converged
    i = np.flatnonzero(bad.reshape(-1))[0]
    worst = np.nanmax(residual[bad]) if residual is not None and np.any(np.isfinite(
        residual[bad])) else np.nan
    msg = (f"{what} did not converge at {int(bad.sum())} of {bad.size} points (worst relative "
           f"residual {worst:.3g}; first at {where(i)}). Check the population spectrum "
           f"(very small or very spread eigenvalues) or pass on_failure='nan'.")
    if on_failure == "raise":
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    values = np.array(values, dtype=float)
    values[bad] = np.nan
    return values


def effective_ridge(ridge, eigenvalues, multiplicity=None, n_samples=None, *,
                    allow_negative=False, on_failure="raise"):
    r"""Effective (renormalised) ridge of ridge regression, vectorized over ridge and n.

    Solves, for each broadcast pair ``(ridge, n_samples)``,

    .. math:: \lambda = \kappa\,\Bigl(1 - \tfrac{1}{n}\sum_j m_j \tfrac{t_j}{t_j + \kappa}\Bigr)

    (theory note linear.md §3.2 and §5.2; Dobriban & Wager 2018, Hastie et al. 2022,
    Bach 2024 "implicit regularisation", Atanasov et al. 2024 "renormalised ridge").
    The map is convex and increasing above ``kappa_0``, so Newton from the right end of
    the bracket ``[kappa_0, ridge + tr Sigma / n]`` converges monotonically; bisection takes
    over if a step leaves the bracket. ``ridge = 0`` returns the ridgeless root
    ``kappa_0`` (0 if rank <= n, else ``df1(kappa_0) = n``).

    Parameters
    ----------
    ridge : array_like
        Ridge(s) on the covariance scale (estimator ``(X^T X/n + ridge I)^{-1} X^T y/n``).
    eigenvalues : array_like of shape (K,)
        Population eigenvalues (atoms), zeros allowed (ignored).
    multiplicity : array_like of shape (K,), optional
        Number of features sharing each atom (float allowed; for a spectral law with
        weights ``w`` summing to one and ``p`` features pass ``p * w``). Default: ones.
    n_samples : array_like
        Sample sizes, broadcast against ``ridge``.
    allow_negative : bool
        Accept ``ridge < 0`` above :func:`negative_ridge_bound` (ValueError below it).
    on_failure : {"raise", "nan"}
        ConvergenceError, or NaN with one ConvergenceWarning, where the solve failed.

    Returns
    -------
    ndarray of the broadcast shape of ``ridge`` and ``n_samples``.

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq import effective_ridge
    >>> k = effective_ridge(0.1, np.ones(1000), n_samples=2000)   # theory note §5.6
    >>> round(float(k), 6)
    0.174166
    >>> effective_ridge([[0.0], [1.0]], np.ones(1000), n_samples=[500, 2000]).shape
    (2, 2)
    """
    check_on_failure(on_failure)
    allow_negative = check_bool(allow_negative, "allow_negative", "effective_ridge")
    res = solve_effective_ridge(ridge, eigenvalues, multiplicity, n_samples,
                                allow_negative=allow_negative)
    lam, n = np.broadcast_arrays(np.asarray(ridge, float), np.asarray(n_samples, float))
    out = _finish(res.value, res.converged,
                  lambda i: f"ridge={lam.reshape(-1)[i]:g}, n_samples={n.reshape(-1)[i]:g}",
                  on_failure, "effective_ridge", res.residual)
    return out[()] if np.ndim(out) == 0 else out


# ---------------------------------------------------------------------------------------
# risks
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RidgeRisk:
    """Deterministic equivalent of the ridge risks at each ``(ridge, n_samples)``.

    All arrays share the broadcast shape. ``bias`` and ``variance`` are the expectations
    over the noise conditional on the design (theory note linear.md §5.2); ``excess =
    bias + variance``; ``test = noise_var + excess`` (fresh noisy label); ``train`` is the
    training mean squared error ``(ridge/kappa)^2 test``.
    """

    kappa: np.ndarray
    df1: np.ndarray
    df2: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    excess: np.ndarray
    test: np.ndarray
    train: np.ndarray
    converged: np.ndarray


def ridge_risk(ridge, eigenvalues, multiplicity=None, n_samples=None, *, target_energy,
               noise_var, allow_negative=False, kappa=None, _owner="ridge_risk") -> RidgeRisk:
    r"""Bias, variance, test and training error of ridge regression (deterministic equivalent).

    With ``kappa`` the effective ridge (:func:`effective_ridge`), ``e_j`` the energy of the
    target in atom ``j`` (sum of ``b_k^2`` over the eigen-directions of that atom, ``b = V^T
    beta``) and ``sigma^2 = noise_var`` (theory note linear.md §5.2):

    .. math::

        B = \frac{\kappa^2 \sum_j e_j t_j/(t_j+\kappa)^2}{1 - \mathrm{df}_2/n},\quad
        V = \sigma^2\frac{\mathrm{df}_2/n}{1 - \mathrm{df}_2/n},\quad
        R = \sigma^2 + B + V,\quad
        R_{train} = (1 - \mathrm{df}_1/n)^2 R .

    At the interpolation threshold (ridge 0, rank = n) ``1 - df2/n = 0``: the variance is
    ``inf`` (when ``noise_var > 0``), the bias 0 and the training error 0, the limits from
    both sides. Next to it (rank = n, ridge -> 0+) the risk grows like ``1/kappa ~
    ridge^(-1/2)``; ``1 - df1/n = ridge/kappa`` and ``1 - df2/n = ridge/kappa + kappa sum m
    t/(t+kappa)^2 / n`` are then formed without cancellation, so the risks are exact to
    rounding down to the smallest positive ridge, whatever the other points of the grid.

    Parameters
    ----------
    ridge, eigenvalues, multiplicity, n_samples, allow_negative
        As in :func:`effective_ridge`.
    target_energy : array_like of shape (K,)
        ``e_j >= 0`` per atom (same length as ``eigenvalues``).
    noise_var : float
        ``sigma^2 >= 0``.
    kappa : array_like, optional
        Precomputed effective ridges (skips the solve).

    Returns
    -------
    RidgeRisk

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq import ridge_risk
    >>> r = ridge_risk(0.1, np.ones(1000), n_samples=2000, target_energy=np.ones(1000)/1000,
    ...                noise_var=0.5)     # theory note §5.6, first row
    >>> round(float(r.bias), 6), round(float(r.variance), 6), round(float(r.test), 6)
    (0.034522, 0.284522, 0.819045)
    """
    owner = _owner         # the public caller (a model passes its name), for the messages
    allow_negative = check_bool(allow_negative, "allow_negative", owner)
    t_all = check_array(eigenvalues, "eigenvalues", owner, ndim=1, nonnegative=True)
    e_all = check_array(target_energy, "target_energy", owner, ndim=1, nonnegative=True)
    if e_all.shape != t_all.shape:
        raise ValueError(f"`target_energy` of {owner} must have the shape of `eigenvalues` "
                         f"{t_all.shape}; got {e_all.shape}")
    m_all = (np.ones_like(t_all) if multiplicity is None else
             check_array(multiplicity, "multiplicity", owner, ndim=1, nonnegative=True))
    if m_all.shape != t_all.shape:
        raise ValueError(f"`multiplicity` of {owner} must have the shape of `eigenvalues` "
                         f"{t_all.shape}; got {m_all.shape}")
    sigma2 = float(noise_var)
    if not np.isfinite(sigma2) or sigma2 < 0:
        raise ValueError(f"`noise_var` of {owner} must be a float in [0, inf); got "
                         f"{_show(noise_var)}")
    keep = (t_all > 0) & (m_all > 0)
    if not np.any(keep):
        raise ValueError(f"`eigenvalues` of {owner} must contain a positive eigenvalue "
                         f"with positive multiplicity; got none")
    t, m, (e,) = merge_atoms(t_all[keep], m_all[keep], e_all[keep])
    rank = float(m.sum())
    if kappa is None:
        res, (df1, df2, s12, a, c1) = _solve(ridge, t, m, n_samples,
                                             allow_negative=allow_negative, residual=False,
                                             energy=e, owner=owner)
        kappa, k0 = res.value, res.kappa_0
        lam, n, kappa, df1, df2, s12, a, c1 = np.broadcast_arrays(
            np.asarray(ridge, float), np.asarray(n_samples, float), kappa, df1, df2, s12, a,
            c1)
    else:
        kappa = np.asarray(kappa, float)
        unit = _unit_scale(t)        # sums on t / unit (exact), see _unit_scale
        k0 = np.broadcast_to(_kappa0(np.asarray(n_samples, float), t / unit, m) * unit,
                             np.shape(kappa))
        lam, n, kappa = np.broadcast_arrays(np.asarray(ridge, float),
                                            np.asarray(n_samples, float), kappa)
        df1, df2, s12, s001, a = spectral_sums(
            kappa / unit, t / unit, [m, e], [(0, 1, 1), (0, 2, 2), (0, 1, 2), (0, 0, 1),
                                             (1, 1, 2)])
        c1 = _complement(kappa / unit, df1, s001, n, rank)
        s12, a = s12 / unit, a / unit
    # certificate: residual of the defining equation at the returned kappa
    converged = np.isfinite(kappa) & (_residual_of(kappa, df1, c1, lam, n, k0, rank)
                                      <= _RTOL)
    zero_k = kappa == 0
    df1 = np.where(zero_k, rank, df1)
    df2 = np.where(zero_k, rank, df2)
    a = np.where(zero_k, 0.0, a)
    # n (1 - df1/n) = n - df1: n ridge/kappa at the root (kappa > 0; 0 at the ridgeless
    # root kappa_0 > 0), n - rank at kappa = 0. Then 1 - df2/n = (n - df1 + kappa s12)/n,
    # a sum of two non-negative terms for ridge >= 0: no cancellation near the
    # interpolation threshold, where the variance grows like 1/kappa (~1/sqrt(ridge) at
    # n = rank) up to the smallest positive ridge
    with np.errstate(divide="ignore", invalid="ignore"):
        c1 = np.where(zero_k, n - rank, np.where(lam != 0, n * (lam / kappa), 0.0))
        den = (c1 + kappa * s12) / n
    at_threshold = ~(den > 0)                     # ridge 0 at n = rank (1 - df2/n = 0)
    den_safe = np.where(at_threshold, 1.0, den)
    ka2 = _kappa2_energy(kappa, a, t, e)          # kappa^2 a, overflow-safe
    bias = np.where(at_threshold, 0.0, ka2 / den_safe)
    variance = np.where(at_threshold, np.inf if sigma2 > 0 else 0.0,
                        sigma2 * (df2 / n) / den_safe)
    excess = bias + variance
    test = sigma2 + excess
    # 1 - df1/n = ridge/kappa at the root: the quotient avoids the cancellation of
    # 1 - df1/n when df1 ~ n (small ridges below the interpolation threshold)
    # factor (factor R): factor^2 alone underflows at n = rank for ridges below ~1e-308
    # (factor = ridge/kappa ~ sqrt(ridge)), while R ~ 1/kappa
    factor = c1 / n
    with np.errstate(invalid="ignore"):
        train = np.where(at_threshold, 0.0,
                         factor * (factor * ((sigma2 + ka2) / den_safe)))
    return RidgeRisk(kappa, df1, df2, bias, variance, excess, test, train,
                     np.asarray(converged, bool))


_BIG_KAPPA = 1e100     # above it kappa^2 a is formed from the scaled ratios kappa/(t+kappa)


def _kappa2_energy(kappa, a, t, e):
    """``kappa^2 a = sum_j e_j t_j (kappa/(t_j+kappa))^2`` without overflow or underflow.

    For moderate kappa the product of the given ``a = sum e t/(t+kappa)^2`` with kappa^2
    is exact to rounding. For a huge ridge (kappa > 1e100) kappa^2 overflows (kappa >
    1e154) and ``a`` underflows (kappa > 1e154: subnormal, then 0), so the sum is formed
    from the ratios ``kappa/(t+kappa) = 1/(1 + t/kappa)`` in (0, 1]: finite and accurate up
    to kappa ~ 1e308, with limit ``sum e t`` (the signal energy, the ridge -> inf bias).
    """
    kappa = np.asarray(kappa, float)
    a = np.broadcast_to(np.asarray(a, float), kappa.shape)
    out = np.empty(kappa.shape)
    big = kappa > _BIG_KAPPA
    small = ~big
    out[small] = kappa[small] * (kappa[small] * a[small])
    if np.any(big):
        kb = kappa[big]
        vals = np.empty(kb.size)
        et = np.asarray(e, float) * np.asarray(t, float)
        step = max(1, _CHUNK_ELEMENTS // max(t.size, 1))
        for start in range(0, kb.size, step):
            k = kb[start:start + step]
            ratio = 1.0 / (1.0 + t[None, :] / k[:, None])
            vals[start:start + step] = (ratio * ratio) @ et
        out[big] = vals
    return out
