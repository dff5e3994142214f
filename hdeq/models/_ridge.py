"""Linear ridge regression in the proportional regime: theory and its Monte-Carlo twin.

Setting (theory note linear.md §5.1): rows ``x_i ~ N(0, Sigma)`` in R^p, ``y = X beta +
eps`` with ``eps ~ N(0, noise_var I_n)``, and the ridge estimator on the covariance scale

    beta_hat = (X^T X / n + ridge I_p)^{-1} X^T y / n.

The theory is the finite-size deterministic equivalent of §5.2, with the effective ridge
``kappa`` solving ``ridge = kappa (1 - df1(kappa)/n)``
(:func:`hdeq.equivalents.effective_ridge`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core._threads import small_matrix_blas
from ..core._validation import (_show, as_generator, check_array, check_bool,
                                check_on_failure, check_scalar)
from ..equivalents._ridge_equivalent import (_finish, _kappa0, _kappa_c, _unit_scale,
                                             ridge_risk, spectral_sums)
from ._gcv import _gcv_from_svd, _shrinkage, _svd
from ._population import HasLinearProblem, check_counts, check_trials, parse_population

__all__ = ["RidgeRegression"]

_OWNER = "RidgeRegression"
QUANTITIES = ("test_error", "excess_error", "bias", "variance", "train_error", "gcv",
              "degrees_of_freedom")


_REPLACE_NAMES = ("population", "target", "signal_var", "noise_var", "ridge", "n_samples",
                  "n_features", "allow_negative", "on_failure")


def _check_replace_names(changes, valid, owner):
    """ValueError naming the valid arguments when ``replace`` gets an unknown one."""
    unknown = sorted(set(changes) - set(valid))
    if unknown:
        raise ValueError(f"arguments of {owner}.replace must be among {', '.join(valid)}; "
                         f"got {', '.join(map(repr, unknown))}")


class RidgeRegression(HasLinearProblem):
    r"""Ridge regression on Gaussian data: deterministic equivalent and simulation twin.

    Rows ``x ~ N(0, Sigma)``, ``y = x^T beta + noise`` (variance ``noise_var``), estimator
    ``beta_hat = (X^T X/n + ridge I)^{-1} X^T y / n`` (ridge on the covariance scale,
    theory note linear.md §5.1). With ``kappa`` solving ``ridge = kappa (1 - df1/n)``,
    ``df_a = tr Sigma^a (Sigma + kappa)^{-a}`` and ``b = V^T beta`` (theory note §5.2):

    .. math::

        B = \frac{\kappa^2\, b^\top \Sigma(\Sigma+\kappa)^{-2} b}{1 - df_2/n},\quad
        V = \sigma^2\,\frac{df_2/n}{1 - df_2/n},\quad
        R_{test} = \sigma^2 + B + V,\quad R_{train} = (1 - df_1/n)^2 R_{test}.

    The object is an immutable value; every quantity is vectorized over ``ridge`` and
    ``n_samples``, which are broadcast (``np.broadcast_shapes``): e.g. ``ridge`` of shape
    ``(R,)`` and ``n_samples`` of shape ``(N, 1)`` give ``(N, R)`` arrays. Scalars give floats.

    Parameters
    ----------
    population : array_like or tuple or law
        The population covariance ``Sigma``, as one of

        * 1-D array of its ``n_features`` eigenvalues (the eigenbasis is the standard one);
        * ``(values, weights)``: a spectral distribution (weights sum to one) with
          ``n_features`` given: ``n_features * weights[j]`` eigenvalues equal
          ``values[j]`` (the simulation rounds these counts by largest remainders);
        * a ``(p, p)`` symmetric positive semi-definite matrix;
        * a spectral law (an object with ``cdf``, ``support``, ``atoms``, e.g. from
          :mod:`hdeq.laws`) with ``n_features`` given: it is **discretized** into
          ``n_features`` mid-quantile atoms ``F^{-1}((j + 1/2)/p)``, which both the theory and
          the simulation then use.

        In every form, eigenvalues ``<= n_features * eps`` times the largest (float64 ``eps``,
        the rounding level) are exact zeros, for the
        theory and the simulation twin alike (the rule of every linear model,
        :mod:`hdeq.models._population`); attribute ``snapped_weight`` gives their share.
    target : array_like of shape (n_features,), optional
        The coefficients ``b = V^T beta`` of ``beta`` in the eigenbasis of ``Sigma`` (in the
        order of the given eigenvalues) when ``population`` is eigenvalues, or ``beta`` itself
        when it is a matrix. Give exactly one of ``target`` and ``signal_var``.
    signal_var : float, optional
        Isotropic random target ``beta ~ N(0, (signal_var / p) I_p)``, so ``E||beta||^2 =
        signal_var`` (``r^2`` of theory note §5.5); the theory uses ``b_k^2 -> signal_var/p``
        (exact in expectation) and the simulation draws a fresh ``beta`` per trial.
    noise_var : float
        Label noise variance ``sigma^2 >= 0``.
    ridge : float or array_like
        Ridge(s) ``>= 0``; ``0`` is the min-norm interpolator / least squares (limit 0+).
    n_samples : int or array_like of int
        Training sample size(s) ``>= 1``.
    n_features : int, optional
        Required for ``(values, weights)`` and for a law; checked otherwise.
    allow_negative : bool
        Accept negative ridges, only above ``-(lower edge of the limiting non-zero
        spectrum of S)`` (:func:`hdeq.equivalents.negative_ridge_bound`), where the
        estimator stays well defined; ValueError otherwise. Not verified against published
        values (theory note §5.5); the simulation checks it.
    on_failure : {"raise", "nan"}
        What the effective-ridge solver does at a point where it fails.

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> model = hdeq.RidgeRegression(np.ones(1000), signal_var=1.0, noise_var=0.5,
    ...                              ridge=0.1, n_samples=2000)      # theory note §5.6, first row
    >>> round(model.test_error(), 6), round(model.bias(), 6), round(model.variance(), 6)
    (0.819045, 0.034522, 0.284522)
    >>> hdeq.RidgeRegression(np.ones(200), signal_var=1.0, noise_var=1.0, ridge=[0.0, 0.1],
    ...                      n_samples=[[100], [400]]).test_error().shape
    (2, 2)
    """

    def __init__(self, population, target=None, *, signal_var=None, noise_var, ridge,
                 n_samples, n_features=None, allow_negative=False, on_failure="raise"):
        self.allow_negative = check_bool(allow_negative, "allow_negative", _OWNER)
        self.on_failure = check_on_failure(on_failure)
        self.noise_var = check_scalar(noise_var, "noise_var", _OWNER, low=0,
                                      low_inclusive=True)
        self._population_arg = population
        self._target_arg = target
        self._n_features_arg = n_features
        self._problem = prob = parse_population(population, target, signal_var, n_features,
                                                owner=_OWNER)
        self.n_features = prob.n_features
        self._atoms, self._mult, self._energy = prob.atoms, prob.multiplicities, prob.energy
        lam = check_array(ridge, "ridge", _OWNER)
        if not self.allow_negative and np.any(lam < 0):
            raise ValueError(f"`ridge` of {_OWNER} must be >= 0 (or pass allow_negative=True "
                             f"for a negative ridge above minus the lower spectral edge); got "
                             f"minimum {_show(lam.min())}")
        n = check_counts(n_samples, "n_samples", _OWNER)
        self.ridge = lam
        self.n_samples = n.astype(int)
        try:
            self.shape = np.broadcast_shapes(lam.shape, n.shape)
        except ValueError:
            raise ValueError(f"`ridge` and `n_samples` of {_OWNER} must broadcast together "
                             f"(e.g. a grid: ridge[None, :] against n_samples[:, None]); got "
                             f"shapes {lam.shape} and {n.shape}") from None
        # solve once (the object is a value); raises for invalid negative ridges
        self._risk = ridge_risk(lam, self._atoms, self._mult, n.astype(float),
                                target_energy=self._energy, noise_var=self.noise_var,
                                allow_negative=self.allow_negative, _owner=_OWNER)

    # ------------------------------------------------------------------ helpers
    def _out(self, values):
        values = np.broadcast_to(values, self.shape)
        values = _finish(values, np.broadcast_to(self._risk.converged, self.shape),
                         self._where, self.on_failure, "effective ridge")
        return float(values) if values.ndim == 0 else np.array(values)

    def _where(self, i):
        lam, n = np.broadcast_arrays(self.ridge, self.n_samples)
        return f"ridge={lam.reshape(-1)[i]:g}, n_samples={n.reshape(-1)[i]}"

    def replace(self, **changes) -> "RidgeRegression":
        """A new model with some constructor arguments changed (e.g. ``ridge=...``).

        Valid names: population, target, signal_var, noise_var, ridge, n_samples,
        n_features, allow_negative, on_failure (ValueError for any other)."""
        _check_replace_names(changes, _REPLACE_NAMES, _OWNER)
        args = dict(population=self._population_arg, noise_var=self.noise_var,
                    ridge=self.ridge, n_samples=self.n_samples,
                    n_features=self._n_features_arg, allow_negative=self.allow_negative,
                    on_failure=self.on_failure)
        if self.signal_var is not None:
            args["signal_var"] = self.signal_var
        else:
            args["target"] = self._target_arg
        if "target" in changes:
            args.pop("signal_var", None)
        if "signal_var" in changes:
            args.pop("target", None)
        args.update(changes)
        population = args.pop("population")
        return RidgeRegression(population, **args)

    @property
    def aspect_ratio(self):
        """``n_features / n_samples`` (``gamma`` of the theory note), shape of n_samples."""
        return self.n_features / self.n_samples

    @property
    def null_risk(self) -> float:
        """Test error of the zero predictor, ``beta^T Sigma beta + noise_var`` (the
        ``ridge -> inf`` limit)."""
        return float(np.sum(self._atoms * self._energy) + self.noise_var)

    # ------------------------------------------------------------------ quantities
    def test_error(self, kind: str = "total"):
        """Expected test error on a fresh sample, conditional on the design, averaged
        over the noise: ``kind="total"`` gives ``noise_var + bias + variance`` (squared
        error on a fresh noisy label); ``kind="excess"`` gives ``bias + variance =
        (beta_hat - beta)^T Sigma (beta_hat - beta)`` (theory note §5.1-5.2).
        ``inf`` at the interpolation threshold (ridge 0, rank = n, noise_var > 0)."""
        if kind == "total":
            return self._out(self._risk.test)
        if kind == "excess":
            return self._out(self._risk.excess)
        raise ValueError(f"`kind` of {_OWNER}.test_error must be 'total' or 'excess'; got "
                         f"{kind!r}")

    def train_error(self):
        """Training mean squared error ``(1/n)||y - X beta_hat||^2 ~ (1 - df1/n)^2 R_test
        = (ridge/kappa)^2 R_test`` (theory note §5.2); 0 when interpolating."""
        return self._out(self._risk.train)

    def bias(self):
        """``kappa^2 b^T Sigma (Sigma + kappa)^{-2} b / (1 - df2/n)`` (theory note §5.2)."""
        return self._out(self._risk.bias)

    def variance(self):
        """``noise_var (df2/n) / (1 - df2/n)``; ``inf`` at the interpolation threshold."""
        return self._out(self._risk.variance)

    def effective_ridge(self):
        """The effective ridge ``kappa``: ``ridge = kappa (1 - df1(kappa)/n)``."""
        return self._out(self._risk.kappa)

    def degrees_of_freedom(self, order: int = 1):
        """``df1 = tr Sigma (Sigma + kappa)^{-1}`` (order 1, the limit of
        ``tr S (S + ridge)^{-1}``) or ``df2 = tr Sigma^2 (Sigma + kappa)^{-2}`` (order 2)."""
        if order == 1:
            return self._out(self._risk.df1)
        if order == 2:
            return self._out(self._risk.df2)
        raise ValueError(f"`order` of {_OWNER}.degrees_of_freedom must be 1 or 2; got "
                         f"{order!r}")

    def optimal_ridge(self):
        r"""Ridge minimizing the total test error, for each value of ``n_samples``.

        Works in the effective-ridge variable: ``R(kappa) = (sigma^2 + kappa^2 A)/(1 -
        df2/n)`` with ``A = sum e t/(t+kappa)^2`` is explicit, and ``ridge(kappa) = kappa(1 -
        df1/n)`` is increasing, so the minimizer is found on a log grid of ``kappa`` and
        refined by bisection on the sign of ``dR/dkappa``, proportional to
        ``kappa E3 (1 - df2/n) - (sigma^2 + kappa^2 A) M3 / n`` with ``E3 = sum e t^2/(t+
        kappa)^3`` and ``M3 = sum m t^2/(t+kappa)^3``. Isotropic case: ``ridge* = gamma
        sigma^2 / r^2`` (theory note §5.5; Dobriban & Wager 2018). The search covers
        ``ridge >= 0`` (or, with ``allow_negative``, down to the valid bound); ``0`` is
        returned when the risk increases from the boundary, ``inf`` when it decreases
        forever (no signal).

        Returns
        -------
        ndarray of the shape of ``n_samples`` (float for a scalar).
        """
        n_arr = np.asarray(self.n_samples, float)
        nu, inv = np.unique(n_arr.reshape(-1), return_inverse=True)
        # homogeneous in the scale of Sigma: search on Sigma / unit (exact), scale back
        unit = _unit_scale(self._atoms)
        t, m, e, s2 = self._atoms / unit, self._mult, self._energy, self.noise_var / unit
        lo = _kappa_c(nu, t, m) if self.allow_negative else _kappa0(nu, t, m)
        scale = float(np.sum(m * t) / np.sum(m))
        M = 300
        # grid of kappa - lo up to beyond the minimizer: for large kappa, dR/dkappa ~
        # 2 sum(e t^2)/kappa^2 - 2 (sigma^2 + sum e t) sum(m t^2)/(n kappa^3) > 0 once kappa
        # exceeds (sigma^2 + sum e t) sum(m t^2) / (n sum e t^2), so with any signal the
        # minimizer lies below that (weak signals: ridge* ~ 1e6 mean eigenvalue and more)
        et2 = float(np.sum(e * t * t))
        top = 1e6 * (scale + np.abs(lo))
        if et2 > 0:
            top = np.maximum(top, 100 * (s2 + float(np.sum(e * t))) * float(np.sum(m * t * t))
                             / (nu * et2))
        u = np.exp(np.linspace(np.log(1e-16 * (scale + np.abs(lo))), np.log(top), M).T)
        kap = lo[:, None] + u                                            # (N, M)
        df1, df2, a = spectral_sums(kap, t, [m, e], [(0, 1, 1), (0, 2, 2), (1, 1, 2)])
        with np.errstate(divide="ignore", invalid="ignore"):
            risk = np.where(1 - df2 / nu[:, None] > 0,
                            (s2 + kap ** 2 * a) / (1 - df2 / nu[:, None]), np.inf)

        def slope_sign(k, nn):
            d2, a2, e3, m3 = spectral_sums(k, t, [m, e], [(0, 2, 2), (1, 1, 2), (1, 2, 3),
                                                          (0, 2, 3)])
            return k * e3 * (1 - d2 / nn) - (s2 + k ** 2 * a2) * m3 / nn

        # local minima on the grid: dR/dkappa turns from <= 0 to > 0 between two nodes (its
        # sign is accurate where R itself is flat to rounding, e.g. for a weak signal,
        # whose R differs from its limit by ~1e-17 relative at the optimum); the one with
        # the smallest R wins, or the left end when R increases from there
        rising = slope_sign(kap, nu[:, None]) > 0                           # (N, M)
        change = ~rising[:, :-1] & rising[:, 1:]
        score = np.where(change, np.minimum(risk[:, :-1], risk[:, 1:]), np.inf)
        rows = np.arange(nu.size)
        i = np.argmin(score, axis=1)
        interior = change[rows, i]
        edge = rising[:, 0] & (~interior | (risk[:, 0] <= score[rows, i]))
        left = np.where(edge, lo, kap[rows, i])
        right = np.where(edge, kap[:, 0], kap[rows, np.minimum(i + 1, M - 1)])
        for _ in range(80):
            mid = 0.5 * (left + right)
            pos = slope_sign(mid, nu) > 0
            right = np.where(pos, mid, right)
            left = np.where(pos, left, mid)
        kstar = 0.5 * (left + right)
        d1, = spectral_sums(kstar, t, [m], [(0, 1, 1)])
        lam = kstar * (1 - d1 / nu)
        # boundary cases: the minimizer sits on kappa_0 (ridge 0) when the risk increases
        # from there; no minimum at all when it decreases everywhere (no signal)
        lam = np.where(edge & ~self.allow_negative, 0.0, lam)
        lam = np.where(~interior & ~edge, np.inf, lam)
        if not self.allow_negative:
            lam = np.maximum(lam, 0.0)
        out = (lam * unit)[inv].reshape(n_arr.shape)
        return float(out) if out.ndim == 0 else out

    # ------------------------------------------------------------------ simulation
    def simulate(self, trials: int = 10, seed=None) -> pd.DataFrame:
        """Monte-Carlo twin: draw designs, fit ridge, measure the same quantities.

        For each distinct ``n_samples`` and each trial: draw ``X = Z diag(sqrt(s))`` in the
        eigenbasis of Sigma (the risks are rotation invariant), ``beta`` (the given
        coefficients, or a fresh isotropic draw for ``signal_var``) and the noise; ONE thin
        SVD ``X = U D V^T`` then serves every ridge paired with that ``n_samples``:

        * ``bias = (E beta_hat - beta)^T Sigma (E beta_hat - beta)`` and ``variance =
          noise_var sum_j d_j^2/(d_j^2 + n ridge)^2 v_j^T Sigma v_j`` are the exact
          conditional expectations over the noise given X (theory note §5.6), and
          ``test_error = noise_var + bias + variance``, ``excess_error = bias + variance``;
        * ``train_error`` and ``gcv`` (:func:`hdeq.gcv`, theory = total test error) use the
          one noise draw; ``degrees_of_freedom`` is ``tr S (S + ridge)^{-1}`` (theory df1).

        Parameters
        ----------
        trials : int
            Independent draws per ``n_samples`` (>= 2 for a standard error).
        seed : int, Generator or None

        Returns
        -------
        pandas.DataFrame
            Tidy: columns ``ridge, n_samples, quantity, theory, empirical, stderr,
            trials``, one row per (ridge, n_samples, quantity).
        """
        trials = check_trials(trials, f"{_OWNER}.simulate")
        rng = as_generator(seed)
        lam_b, n_b = np.broadcast_arrays(self.ridge, self.n_samples)
        theory = {
            "test_error": self._risk.test, "excess_error": self._risk.excess,
            "bias": self._risk.bias, "variance": self._risk.variance,
            "train_error": self._risk.train, "gcv": self._risk.test,
            "degrees_of_freedom": self._risk.df1,
        }
        theory = {k: np.broadcast_to(v, self.shape).reshape(-1) for k, v in theory.items()}
        s = self._problem.eigenvalues
        sqrt_s = np.sqrt(s)
        p = self.n_features
        rows = []
        for n in np.unique(n_b):
            idx = np.flatnonzero(n_b.reshape(-1) == n)
            lams = lam_b.reshape(-1)[idx]
            lam_u, lam_inv = np.unique(lams, return_inverse=True)
            values = np.empty((trials, len(QUANTITIES), lam_u.size))
            with small_matrix_blas(min(int(n), p)):
                for k in range(trials):
                    values[k] = self._one_draw(int(n), lam_u, s, sqrt_s, p, rng)
            mean = values.mean(axis=0)
            with np.errstate(invalid="ignore"):     # inf - inf at the interpolation peak
                se = values.std(axis=0, ddof=1) / np.sqrt(trials)
            for qi, q in enumerate(QUANTITIES):
                for i_local, i in enumerate(idx):
                    j = lam_inv[i_local]
                    rows.append((lams[i_local], int(n), q, float(theory[q][i]),
                                 mean[qi, j], se[qi, j]))
        table = pd.DataFrame(rows, columns=["ridge", "n_samples", "quantity", "theory",
                                            "empirical", "stderr"])
        table["trials"] = trials
        return table

    def _one_draw(self, n, lam, s, sqrt_s, p, rng):
        X = rng.standard_normal((n, p)) * sqrt_s
        beta = self._problem.draw_target(rng)
        y = X @ beta + np.sqrt(self.noise_var) * rng.standard_normal(n)
        U, d, Vt = _svd(X)                                          # numerical rank r
        if np.any(lam <= -(d[-1] ** 2) / n):
            raise ValueError(f"`ridge` of {_OWNER}.simulate: a negative ridge is below minus "
                             f"the smallest non-zero eigenvalue of X^T X/n in a draw "
                             f"(n_samples={n}); use a ridge further from the bound")
        # shrinkage d^2/(d^2 + n ridge) and residual factors n ridge/(d^2 + n ridge) in the
        # bounded form of _shrinkage: no overflow up to the largest float
        u, k, hat = _shrinkage(d, n, lam)
        shrink = hat.T                                              # (r, R)
        resid = (k[:, None] * u).T
        c = Vt @ beta
        mean_err = Vt.T @ (shrink * c[:, None]) - beta[:, None]     # E beta_hat - beta, (p, R)
        bias = s @ mean_err ** 2
        g = (Vt ** 2) @ s                                           # v_j^T Sigma v_j
        variance = self.noise_var * ((g / d ** 2) @ shrink ** 2)    # d^2/(d^2 + n ridge)^2
        uty = U.T @ y
        perp2 = float(np.sum((y - U @ uty) ** 2)) if d.size < n else 0.0
        train = (perp2 + (resid ** 2 * (uty ** 2)[:, None]).sum(axis=0)) / n
        gcv_v = _gcv_from_svd(d, uty, perp2, n, lam)
        dof = shrink.sum(axis=0)
        test = self.noise_var + bias + variance
        return np.stack([test, bias + variance, bias, variance, train, gcv_v, dof])
