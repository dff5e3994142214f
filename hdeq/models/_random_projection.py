r"""Linear random-projection (linear random-features) ridge regression in (n, N).

Model (theory note linear.md §6.3): rows ``x_i ~ N(0, Sigma)`` in R^P, ``y = x^T beta +
eps``; features ``z = F^T x`` with ``F`` a ``P x N`` matrix of i.i.d. ``N(0, 1/N)`` entries,
ridge on the features ``a_hat = (Z^T Z/n + ridge I_N)^{-1} Z^T y / n``, predictor
``x^T F a_hat``. Deterministic equivalent (the note's derivation: condition on F, then the
equivalent over F; checked only against Monte Carlo, table 6.5):

    kappa1 = kappa2 (1 - df1(kappa2)/N),          ridge = kappa1 (1 - df1(kappa2)/n),
    D1 = df1(kappa2), D2 = df2(kappa2), T = tr Sigma (Sigma + kappa2)^{-2},
    df2F = D1 - kappa1 T / (1 - D2/N),
    Sig  = kappa2 beta^T Sigma (Sigma + kappa2)^{-1} beta
           - kappa1 / (1 - D2/N) beta^T Sigma^2 (Sigma + kappa2)^{-2} beta,
    R    = (noise_var + Sig) / (1 - df2F / n)           (total test error, fresh label).

``kappa2`` solves the scalar equation ``ridge = kappa2 (1 - D1/N)(1 - D1/n)``, increasing
for ``df1(kappa2) <= min(n, N)``: bisection in ``log(kappa2 - kappa_lo)`` with
``df1(kappa_lo) = min(n, N)`` (:func:`hdeq.equivalents.ridgeless_threshold`), vectorized over
the broadcast ``(ridge, n_samples, n_random_features)``; ``1 - D1/N``, ``1 - D1/n`` and the
risk are formed from the offset without cancellation (exact near the peak ``N = n``, where
the risk grows like ``ridge^(-1/2)``, down to the smallest positive ridge). Limits: ``N -> inf`` is ridge regression (§5.2);
ridgeless with ``N < n``: ``R = (noise_var + kappa2 beta^T Sigma (Sigma+kappa2)^{-1} beta)
/ (1 - N/n)`` with ``df1(kappa2) = N``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core._errors import ConvergenceError
from ..core._threads import small_matrix_blas
from ..core._validation import as_generator, check_array, check_scalar
from ..equivalents._ridge_equivalent import (_kappa0, _kappa2_energy, _unit_scale,
                                             spectral_sums)
from ._population import HasLinearProblem, check_counts, check_trials, parse_population

__all__ = ["RandomProjectionRegression"]

_OWNER = "RandomProjectionRegression"


class RandomProjectionRegression(HasLinearProblem):
    r"""Ridge regression on ``N`` linear random features of ``P``-dimensional Gaussian data.

    Theory: the deterministic equivalent of theory note linear.md §6.3 (module docstring);
    twin: :meth:`simulate` draws ``X``, ``F`` and the noise and fits the model.

    Parameters
    ----------
    population : array_like or tuple or law
        ``Sigma`` in any form :class:`hdeq.RidgeRegression` accepts
        (:func:`hdeq.models._population.parse_population`): eigenvalues ``>= 0``,
        ``(values, weights)`` or a spectral law (both with ``n_features``), or a ``(P, P)``
        matrix. Zero eigenvalues enter no spectral sum.
    target : array_like of shape (n_features,), optional
        Coefficients of ``beta`` in the eigenbasis of ``Sigma``, or ``beta`` itself when
        ``population`` is a matrix. Exactly one of ``target`` and ``signal_var``.
    signal_var : float, optional
        Random isotropic target ``beta ~ N(0, signal_var/P I)`` (theory uses
        ``b_k^2 = signal_var/P``).
    noise_var : float
        Label noise variance.
    ridge : float or array_like
        Ridge(s) ``>= 0`` on the feature covariance scale (0: min-norm limit).
    n_samples, n_random_features : int or array_like of int
        Broadcast against ``ridge``.
    n_features : int, optional
        Required when ``population`` is ``(values, weights)`` or a law; checked otherwise.

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> model = hdeq.RandomProjectionRegression(np.ones(1500), signal_var=1.0, noise_var=0.1,
    ...                                         ridge=1e-2, n_samples=600,
    ...                                         n_random_features=1200)
    >>> round(model.test_error(), 5)                 # theory note §6.5, "iso" second row
    1.42769
    """

    def __init__(self, population, target=None, *, signal_var=None, noise_var, ridge,
                 n_samples, n_random_features, n_features=None):
        self._problem = prob = parse_population(population, target, signal_var, n_features,
                                                owner=_OWNER)
        self.noise_var = check_scalar(noise_var, "noise_var", _OWNER, low=0.0,
                                      low_inclusive=True)
        self.ridge = check_array(ridge, "ridge", _OWNER, nonnegative=True)
        self.n_samples = self._check_int(n_samples, "n_samples")
        self.n_random_features = self._check_int(n_random_features, "n_random_features")
        self.n_features = prob.n_features
        try:
            self.shape = np.broadcast_shapes(self.ridge.shape, self.n_samples.shape,
                                             self.n_random_features.shape)
        except ValueError:
            raise ValueError(f"`ridge`, `n_samples` and `n_random_features` of {_OWNER} must "
                             f"broadcast together (e.g. a grid: n_samples[:, None] against "
                             f"n_random_features[None, :]); got shapes {self.ridge.shape}, "
                             f"{self.n_samples.shape} and {self.n_random_features.shape}"
                             ) from None
        lam, n, N = (np.broadcast_to(a, self.shape).astype(float)
                     for a in (self.ridge, self.n_samples, self.n_random_features))
        peak = (lam == 0) & (n == N)
        rank = float(np.sum(prob.multiplicities))
        if self.noise_var == 0 and np.any(peak & (N >= rank)):
            raise ValueError(f"`n_random_features` of {_OWNER} must differ from n_samples when "
                             f"ridge = 0, noise_var = 0 and n_random_features >= rank "
                             f"{rank:g} (the interpolation peak is then 0/0); got "
                             f"{int(N[peak & (N >= rank)][0])} = n_samples")
        # the equivalent is homogeneous in the scale of Sigma: solve on Sigma / unit (exact;
        # the bisection's absolute floors and the sums then work at any scale)
        self._unit = _unit_scale(prob.atoms)
        self._t, self._m, self._e = prob.atoms / self._unit, prob.multiplicities, prob.energy
        with np.errstate(divide="ignore", invalid="ignore"):
            self._solve(lam, n, N)
        # interpolation peak (ridge 0, N = n): 1 - df2f/n = 0 and the noise (and the part
        # of the signal outside the projection, which acts as noise) is amplified without
        # bound, as RidgeRegression at ridge 0, n = rank: the risk is +inf there
        self._test = np.where(peak, np.inf, self._test)

    @staticmethod
    def _check_int(value, name):
        return check_counts(value, name, _OWNER).astype(int)

    def _sums(self, kappa2):
        t, m, e = self._t, self._m, self._e
        return spectral_sums(kappa2, t, [m, e], [(0, 1, 2), (1, 1, 2), (1, 2, 2)])

    def _solve(self, lam, n, N):
        """``kappa2 = kappa_lo + delta``, solved for the offset ``delta >= 0`` from the
        ridgeless root ``kappa_lo`` of ``min(n, N)``.

        With ``c = n`` or ``N``, ``c - df1(kappa2) = (c - df1(kappa_lo)) + delta D(delta)``,
        ``D = sum m t/((t + kappa_lo)(t + kappa2))`` and ``df1(kappa_lo)`` equal to
        ``min(n, N)`` (rank above it) or the rank (``kappa_lo = 0``): sums of non-negative
        terms, exact to rounding at every ``delta``. At ``N = n`` the ridge is ``~ delta^2``,
        so a ridge of 1e-300 needs ``delta ~ 1e-150``, far below the rounding of ``kappa2``
        itself: the risk, which diverges like ``1/delta ~ ridge^(-1/2)`` there, is then formed
        from the exact ``c - df1`` (below) instead of ``1 - df1(kappa2)/c``. ``delta`` is found
        by bisection in ``log delta`` (geometric midpoints), vectorized over the grid.
        """
        t, m, unit = self._t, self._m, self._unit
        flat_lam, flat_n, flat_N = lam.reshape(-1) / unit, n.reshape(-1), N.reshape(-1)
        rank = float(np.sum(m))
        q_u, q_inv = np.unique(np.minimum(flat_n, flat_N), return_inverse=True)
        lo_u = _kappa0(q_u, t, m)
        base = np.where(lo_u > 0, q_u, rank)[q_inv]          # df1(kappa_lo), exactly
        lo = lo_u[q_inv]

        def complements(delta):
            """``N - df1(kappa_lo + delta)`` and ``n - df1(kappa_lo + delta)``: the offset
            form, or the plain difference where ``df1 <= c/2`` (no cancellation there; at
            huge ridges it gives exactly ``c`` when ``df1`` is below rounding)."""
            d = np.empty(delta.shape)
            for u in range(q_u.size):
                sel = q_inv == u
                shifted = t + lo_u[u]
                d[sel], = spectral_sums(delta[sel], shifted, [m * t / shifted], [(0, 0, 1)])
            d1, = spectral_sums(lo + delta, t, [m], [(0, 1, 1)])
            return tuple(np.where(d1 <= 0.5 * c, c - d1, (c - base) + delta * d)
                         for c in (flat_N, flat_n))

        def h(delta):
            c_big, c_small = complements(delta)
            return (lo + delta) * (c_big / flat_N) * (c_small / flat_n)

        trace = float(np.sum(m * t))
        top = np.finfo(float).max
        hi = flat_lam + trace / flat_n + trace / flat_N + 1.0
        # for a huge ridge the additive margin is lost to rounding (and doubling would
        # overflow): a relative margin of 8 eps keeps h(hi) >= ridge there, as h(k) = k (1 -
        # O(1/k)) while the root stays below the largest float
        hi = np.maximum(hi, flat_lam + np.minimum(8 * np.finfo(float).eps * flat_lam,
                                                  top - flat_lam))
        for _ in range(200):
            short = h(hi) < flat_lam
            if not short.any():
                break
            hi = np.where(short, 2 * hi, hi)
        # a lower end with h < ridge: h -> 0 as delta -> 0 (one complement vanishes there)
        low = hi.copy()
        for _ in range(45):
            above = (h(low) >= flat_lam) & (low > 0)
            if not above.any():
                break
            low = np.where(above, low * 1e-8, low)
        a, b = low, hi.copy()
        for _ in range(200):
            geo = a > 0
            mid = np.where(geo, np.sqrt(a) * np.sqrt(b), 0.5 * b)
            below = h(mid) < flat_lam
            a = np.where(below, mid, a)
            b = np.where(below, b, mid)
            if np.all(b - a <= 4e-16 * b):
                break
        delta = np.where(flat_lam == 0, 0.0, 0.5 * a + 0.5 * b)
        # halves on both sides: the same quotient, without overflow at the largest ridges
        h_root = h(delta)
        resid = (0.5 * np.abs(h_root - flat_lam)) / (0.5 * flat_lam + 0.5e-300)
        ok = (flat_lam == 0) | (resid < 1e-8)
        if not np.all(ok):
            i = np.flatnonzero(~ok)[0]
            raise ConvergenceError(f"{_OWNER}: the kappa2 bisection did not converge at "
                                   f"ridge={flat_lam[i] * unit:g}, n_samples={flat_n[i]:g}, "
                                   f"n_random_features={flat_N[i]:g} (relative residual "
                                   f"{resid[i]:.3g})")
        kappa2 = lo + delta
        c_big, c_small = complements(delta)
        tt, a_e, s2 = self._sums(kappa2)
        kappa1 = kappa2 * (c_big / flat_N)
        # module formulas without cancellation: with 1 - D2/N = (c_N + kappa2 T)/N,
        # Sig = kappa2^2 a + kappa2 s2 kappa2 T/(c_N + kappa2 T), a = sum e t/(t+kappa2)^2,
        # 1 - df2F/n = (c_n + kappa2 c_N T/(c_N + kappa2 T))/n: all terms >= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            share = kappa2 * tt / (c_big + kappa2 * tt)
            share = np.where(c_big + kappa2 * tt > 0, share, 1.0)
            sig = _kappa2_energy(kappa2, a_e, t, self._e) + kappa2 * s2 * share
            den = (c_small + c_big * share) / flat_n
            total = (self.noise_var / unit + sig) / den
        self.kappa2 = (kappa2 * unit).reshape(self.shape)
        self.kappa1 = (kappa1 * unit).reshape(self.shape)
        self._test = (total * unit).reshape(self.shape)

    def _out(self, values):
        values = np.asarray(values, dtype=float)
        return float(values) if values.ndim == 0 else values

    def test_error(self):
        """Total test error ``noise_var + E (w - beta)^T Sigma (w - beta)`` (§6.3)."""
        return self._out(self._test)

    def excess_error(self):
        """Excess test error ``test_error - noise_var``."""
        return self._out(self._test - self.noise_var)

    def simulate(self, trials=8, seed=None) -> pd.DataFrame:
        """Monte-Carlo twin: draw ``X``, ``F``, noise (and ``beta`` for ``signal_var``), fit.

        For each grid point and trial: ``Z = X F``, ``a = (Z^T Z/n + ridge)^{-1} Z^T y/n``
        (minimum-norm least squares at ridge 0), ``w = F a``; the test error is exact over a
        fresh test point, ``noise_var + (w - beta)^T Sigma (w - beta)``. ``trials >= 2``
        independent draws (so that the standard error exists).

        Returns
        -------
        pandas.DataFrame
            Tidy: ``ridge, n_samples, n_random_features, quantity, theory, empirical,
            stderr, trials`` (quantity ``test_error``).
        """
        trials = check_trials(trials, f"{_OWNER}.simulate")
        rng = as_generator(seed)
        lam, n_b, N_b, theory = (np.broadcast_to(a, self.shape).reshape(-1)
                                 for a in (self.ridge, self.n_samples, self.n_random_features,
                                           self._test))
        s, P = self.population, self.n_features
        rows = []
        with small_matrix_blas(int(np.max(np.minimum(n_b, N_b)))):
            for j in range(lam.size):
                n, N = int(n_b[j]), int(N_b[j])
                vals = np.empty(trials)
                for k in range(trials):
                    beta = self._problem.draw_target(rng)
                    X = rng.standard_normal((n, P)) * np.sqrt(s)
                    F = rng.standard_normal((P, N)) / np.sqrt(N)
                    y = X @ beta + np.sqrt(self.noise_var) * rng.standard_normal(n)
                    Z = X @ F
                    if lam[j] > 0:
                        a = np.linalg.solve(Z.T @ Z / n + lam[j] * np.eye(N), Z.T @ y / n)
                    else:
                        a = np.linalg.lstsq(Z, y, rcond=None)[0]
                    d = F @ a - beta
                    vals[k] = self.noise_var + d ** 2 @ s
                rows.append({"ridge": lam[j], "n_samples": n, "n_random_features": N,
                             "quantity": "test_error", "theory": theory[j],
                             "empirical": vals.mean(), "stderr": vals.std(ddof=1) / np.sqrt(trials),
                             "trials": trials})
        return pd.DataFrame(rows)
