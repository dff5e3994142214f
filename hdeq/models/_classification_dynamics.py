r"""Gradient-flow dynamics of a linear classifier on a two-class Gaussian mixture.

Setting (theory note linear.md §7b; Liao & Couillet 2018, "The dynamics of learning: a
random matrix approach"): ``x_i ~ N(y_i mu, I_p)`` with balanced labels ``y_i = +-1``,
``c = p/n``, ``ell = ||mu||^2``; a single-layer linear network trained by gradient flow on
``L(w) = (1/(2n)) sum_i (y_i - w^T x_i)^2`` from ``w_0 ~ N(0, (init_var/p) I_p)``.

Since ``y_i^2 = 1``, training is least squares on ``u_i = y_i x_i ~ N(mu, I_p)`` with
all-ones targets: ``K = U U^T / n`` is a sample covariance with second moment
``I + mu mu^T`` (a rank-one spike of strength ``ell``), and

    w(t) = g_t(K) u_bar + e^{-tK} w_0,        g_t(s) = (1 - e^{-ts}) / s.

For a Gaussian test point the misclassification rate given ``w`` is exactly
``Q(mu^T w / ||w||)``, ``Q = 1 - Phi``. With ``mt`` the companion Marchenko-Pastur
transform of ratio ``c``, ``H(z) = mt / (1 + (1 + ell) mt)`` and ``mu_MP`` the ``p x p``
MP law (theory note §7b, re-derivation verified by Monte Carlo):

    E(t) = mu^T w(t)   -> -(1/(2 pi i)) \oint g_t(z) ell H(z) dz
    V(t) = ||w(t)||^2  -> -(1/(2 pi i)) \oint g_t(z)^2 z H(z) (1 + mt(z)) dz
                          + init_var int e^{-2tx} dmu_MP(x)
    train(t)           -> -(1/(2 pi i)) \oint e^{-2tz} H(z) (1 + mt(z)) dz
                          + init_var int x e^{-2tx} dmu_MP(x)
    P_err(t)           -> Q( E(t) / sqrt(V(t)) )

The contour encloses the MP bulk, the isolated eigenvalue ``(1 + ell)(1 + c/ell)``
(present iff ``ell > sqrt(c)``; the pole of ``H``) and 0.

Large times. ``u_bar`` lies in the range of ``K``, so the measures behind ``E`` and ``V``
have no mass at 0: ``H`` is analytic at 0 and ``H (1 + mt)`` has at most a simple pole
there, cancelled by the factor ``z`` of ``g_t^2 z``. Their integrals therefore run on the
log-ellipse alone (``Re z >= a/2``, ``a`` the lower edge of the bulk), without the small
circle at 0: on that circle the filter takes its value at 0, ``g_t(0) = t``, which
multiplied the rounding (~1e-18) of the vanishing circle integral of ``H`` and made
``E(t)`` drift from ``t ~ 1e12`` on (86 at ``t = 1e20``), and ``g_t(0)^2 0 = t^2 * 0``
gave NaN once ``t^2`` overflowed. On the log-ellipse ``g_t(z) -> 1/z`` with
``|e^{-tz}| <= e^{-t a/2}``, so every value reaches its ``t = inf`` limit (the
least-squares / min-norm classifier, plus the untouched null-space part of ``w_0`` when
``p > n``) continuously, to rounding, for all finite ``t`` (times are capped at
:data:`~hdeq.models._dynamics.MAX_TIME`, as in :class:`hdeq.GradientFlow`). The training
error and the initialisation terms keep the circle: ``e^{-2tz}`` is bounded by 1 there
and the atom at 0 (the ``n - p`` zero eigenvalues of ``U U^T/n``, resp. the ``p - n`` of
``U^T U/n``) contributes exactly its residue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import erfc

from ..core._contour import Contour, spectral_contour
from ..core._threads import small_matrix_blas
from ..core._validation import as_generator, check_array, check_scalar
from ._dynamics import MAX_TIME, _check_total_mass, _LeastSquaresDynamics, _tidy_table
from ._population import check_trials

__all__ = ["GaussianMixtureGradientFlow"]

_OWNER = "GaussianMixtureGradientFlow"
_QUANTITIES = ("misclassification", "train_error", "alignment", "weight_sq_norm")


def _gauss_tail(x):
    """``Q(x) = 1 - Phi(x)``."""
    return 0.5 * erfc(np.asarray(x) / np.sqrt(2.0))


def _error_rate(alignment, sq_norm):
    """``Q(mu^T w / ||w||)``; ``w = 0`` (e.g. ``t = 0`` from ``w_0 = 0``) classifies at
    chance: 1/2, the limit of a vanishing random direction."""
    e, v = np.asarray(alignment, dtype=float), np.asarray(sq_norm, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(v > 0, e / np.sqrt(np.where(v > 0, v, 1.0)), 0.0)
    return _gauss_tail(ratio)


def _g(t, z):
    # (1 - e^{-tz}) / z, analytic, value t at z = 0
    z = np.asarray(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.expm1(-t * z) / z
    return np.where(z == 0, t * np.ones_like(out), out)


def _g2z(t, z):
    return _g(t, z) ** 2 * z


def _g_over_t(t, z):
    # g_t(z) / t = (1 - e^{-tz}) / (tz): bounded, value 1 at tz = 0 (the direction of w(t)
    # for w_0 = 0 as t -> 0+, where E ~ t and V ~ t^2 underflow below t ~ 1e-154)
    z = np.asarray(z)
    x = t * z
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.expm1(-x) / x
    return np.where(x == 0, np.ones_like(out), out)


def _g_direction(t, z):
    # g_t(z) / min(t, 1): the direction of w(t) for w_0 = 0 without underflow at either
    # end (t -> 0+: g_t/t, bounded, see _g_over_t; large t: g_t -> 1/z, while g_t/t ~ 1/t
    # and its square would underflow to 0 and the rate to 1/2 near t ~ 1e154)
    return np.where(t <= 1.0, _g_over_t(t, z), _g(t, z))


def _g_direction2z(t, z):
    return _g_direction(t, z) ** 2 * z


def _decay2(t, z):
    return np.exp(-2.0 * t * z)


def _z_decay2(t, z):
    return z * np.exp(-2.0 * t * z)


def _output(values, arg):
    # + 0.0 turns a -0.0 (e.g. -expm1(0)/z at t = 0) into 0.0
    values = np.asarray(values, dtype=float) + 0.0
    return float(values.reshape(-1)[0]) if np.ndim(arg) == 0 else values.reshape(np.shape(arg))


class GaussianMixtureGradientFlow:
    r"""Two-class Gaussian mixture, linear classifier trained by gradient flow on the MSE.

    Deterministic equivalents of the alignment ``E(t) = mu^T w(t)``, the squared norm
    ``V(t) = ||w(t)||^2``, the misclassification rate ``Q(E/sqrt V)`` and the training
    mean squared error over time (theory note linear.md §7b, formulas in the module
    docstring), beside a simulation twin. Note the two error measures: ``test_error`` is
    the test **misclassification rate** (alias of :meth:`misclassification`), while
    ``train_error`` is the training **mean squared error** of the loss being minimized.

    Parameters
    ----------
    n_features : int
        Dimension ``p``.
    n_samples : int
        Training samples ``n`` (``n != p``; balanced classes in the theory).
    mean_sq_norm : float
        ``ell = ||mu||^2 > 0``: class means are ``+mu`` and ``-mu``.
    init_var : float
        ``E ||w_0||^2``; ``w_0 ~ N(0, init_var/p I)``.
    n_nodes : int
        Nodes of the log-ellipse contour.

    Examples
    --------
    >>> import hdeq
    >>> model = hdeq.GaussianMixtureGradientFlow(512, 1024, mean_sq_norm=2.0, init_var=0.5)
    >>> round(model.misclassification(2.0), 6)          # theory note §7b oracle table
    0.153082
    """

    def __init__(self, n_features, n_samples, mean_sq_norm, init_var=0.0, *, n_nodes=300):
        self.n_features = check_scalar(n_features, "n_features", _OWNER, low=1,
                                       low_inclusive=True, integer=True)
        self.n_samples = check_scalar(n_samples, "n_samples", _OWNER, low=1,
                                      low_inclusive=True, integer=True)
        if self.n_samples == self.n_features:
            raise ValueError(f"`n_samples` of {_OWNER} must differ from n_features = "
                             f"{self.n_features} (the MP bulk touches 0 at ratio 1); got "
                             f"{self.n_samples}")
        self.mean_sq_norm = check_scalar(mean_sq_norm, "mean_sq_norm", _OWNER, low=0.0)
        self.init_var = check_scalar(init_var, "init_var", _OWNER, low=0.0, low_inclusive=True)
        self.n_nodes = check_scalar(n_nodes, "n_nodes", _OWNER, low=16, low_inclusive=True,
                                    integer=True)
        self.aspect_ratio = self.n_features / self.n_samples
        self._cache = None

    @property
    def outlier(self) -> float | None:
        """Isolated eigenvalue ``(1 + ell)(1 + c/ell)`` of ``U^T U/n``, if ``ell > sqrt(c)``."""
        c, ell = self.aspect_ratio, self.mean_sq_norm
        return (1 + ell) * (1 + c / ell) if ell > np.sqrt(c) else None

    def _nodes(self):
        if self._cache is not None:
            return self._cache
        from ..laws import MarchenkoPastur
        c, ell = self.aspect_ratio, self.mean_sq_norm
        law = MarchenkoPastur(c)
        lo, hi = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
        if self.outlier is not None:
            hi = max(hi, self.outlier)
        contour = spectral_contour(lo, hi, n_nodes=self.n_nodes)
        z = contour.nodes
        up = np.where(z.imag < 0, z.conj(), z)
        mt = law.companion_stieltjes(up)
        m = law.stieltjes(up)
        mt = np.where(z.imag < 0, mt.conj(), mt)
        m = np.where(z.imag < 0, m.conj(), m)
        _check_total_mass(contour, m, _OWNER)
        h = mt / (1.0 + (1.0 + ell) * mt)
        # the log-ellipse alone, for E and V (no mass at 0 behind them: module notes)
        off = ~contour.at_zero
        ellipse = Contour(contour.nodes[off], contour.weights[off], contour.at_zero[off])
        h1 = h * (1.0 + mt)
        self._cache = {"contour": contour, "ellipse": ellipse, "h1": h1, "m": m,
                       "h_ellipse": h[off], "h1_ellipse": h1[off]}
        return self._cache

    def _check_times(self, times):
        return check_array(times, "times", _OWNER, nonnegative=True)

    @staticmethod
    def _capped(times):
        """Times as the filters take them: flat, at most ``MAX_TIME`` (as GradientFlow)."""
        return np.minimum(np.reshape(times, -1), MAX_TIME)

    def alignment(self, times):
        """``E(t) = mu^T w(t)`` (deterministic equivalent, theory note §7b)."""
        times = self._check_times(times)
        c = self._nodes()
        out = c["ellipse"].spectral_integral(_g, self._capped(times),
                                             self.mean_sq_norm * c["h_ellipse"]).real
        return _output(out, times)

    def _signal_plus_init(self, times, signal_filter, init_filter, *, at_zero):
        """``-(1/2 pi i) oint f(z) H(z)(1 + mt(z)) dz + init_var int g(x) dmu_MP(x)``: the
        common form of ``V(t)`` and of the training error (module docstring). ``at_zero``:
        whether ``f H (1 + mt)`` has a pole at 0 (the signal integral then needs the circle
        at 0; else it runs on the log-ellipse alone)."""
        times = self._check_times(times)
        c = self._nodes()
        cont, flat = c["contour"], self._capped(times)
        if at_zero:
            out = cont.spectral_integral(signal_filter, flat, c["h1"]).real
        else:
            out = c["ellipse"].spectral_integral(signal_filter, flat, c["h1_ellipse"]).real
        if self.init_var > 0:
            out = out + self.init_var * cont.spectral_integral(init_filter, flat, c["m"]).real
        return _output(out, times)

    def weight_sq_norm(self, times):
        """``V(t) = ||w(t)||^2`` including the initialisation term (>= 0; contour rounding
        below 0 is set to 0)."""
        return _output(np.maximum(self._signal_plus_init(times, _g2z, _decay2,
                                                         at_zero=False), 0.0), times)

    def misclassification(self, times):
        """Test misclassification rate ``Q(E(t) / sqrt(V(t)))`` (a probability in [0, 1],
        not a squared error).

        ``t = 0`` with ``init_var = 0`` is ``w = 0``: chance, 1/2. For ``t > 0`` with
        ``init_var = 0``, ``E ~ t`` and ``V ~ t^2`` (both underflow below ``t ~ 1e-154``),
        so for ``t <= 1`` the ratio is formed from ``E/t`` and ``V/t^2`` (filters
        ``g_t(z)/t``, bounded; for ``t > 1`` from ``E`` and ``V``, which stay finite): the
        rate tends to ``Q(E'/sqrt(V'))`` of the direction ``X^T y`` as ``t -> 0+``
        (e.g. 0.10295 for p = 256, n = 512, ``||mu||^2 = 2``), not to 1/2.
        """
        times = self._check_times(times)
        if self.init_var > 0:
            return _output(_error_rate(self.alignment(times), self.weight_sq_norm(times)),
                           times)
        c = self._nodes()
        cont, flat = c["ellipse"], self._capped(times)
        e = cont.spectral_integral(_g_direction, flat, self.mean_sq_norm * c["h_ellipse"]).real
        v = np.maximum(cont.spectral_integral(_g_direction2z, flat, c["h1_ellipse"]).real, 0.0)
        rate = np.where(flat > 0, _error_rate(e, v), 0.5)
        return _output(rate, times)

    def test_error(self, times):
        """The test **misclassification rate** :meth:`misclassification` (the error a
        classifier is judged by), whereas :meth:`train_error` is the training **mean
        squared error** of the regression loss being minimized: the two are different
        quantities, not a test/train pair of one measure."""
        return self.misclassification(times)

    def train_error(self, times):
        """Training mean squared error ``(1/n) ||y - X w(t)||^2`` (the loss of the gradient
        flow; not a misclassification rate, see :meth:`test_error`)."""
        return _output(np.maximum(self._signal_plus_init(times, _decay2, _z_decay2,
                                                         at_zero=True), 0.0), times)

    def simulate(self, times, trials=8, seed=None) -> pd.DataFrame:
        """Monte-Carlo twin: gradient flow on a drawn mixture, exactly through an SVD.

        Each trial draws ``n_samples`` points of :func:`hdeq.data.gaussian_mixture` with
        means ``+-mu``, ``mu = sqrt(ell) e_1``, equal priors (labels ``y = +-1``) and
        ``w_0``; ``w(t) = g_t(S) X^T y/n + e^{-tS} w_0`` with ``S = X^T X/n``. It records
        the exact test misclassification given ``w`` (``Q(mu^T w/||w||)``, a Gaussian test
        point), the training MSE, ``mu^T w`` and ``||w||^2``. ``trials >= 2`` independent
        draws (so that the standard error exists).

        ``S`` is decomposed through the thin SVD of ``X/sqrt(n)`` with the numerical rank
        of the :class:`hdeq.GradientFlow` twin (singular values below the ``matrix_rank``
        tolerance are zeros): the null space of ``S`` (``p > n``) is exact, with no
        component of ``X^T y/n`` and ``w_0`` untouched there (the ``lambda = 0`` form of the
        filters), instead of ``eigh`` eigenvalues ~1e-15 of either sign on which ``g_t``
        grows like ``t`` or ``e^{t |lambda|}``.

        Returns
        -------
        pandas.DataFrame
            Tidy: ``time, quantity, theory, empirical, stderr, n_samples, n_features,
            trials``.
        """
        from ..data import gaussian_mixture
        times = self._check_times(times).reshape(-1)
        flat = self._capped(times)
        trials = check_trials(trials, f"{_OWNER}.simulate")
        rng = as_generator(seed)
        p, n = self.n_features, self.n_samples
        mu = np.zeros(p)
        mu[0] = np.sqrt(self.mean_sq_norm)
        draws = {q: np.empty((trials, times.size)) for q in _QUANTITIES}
        with small_matrix_blas(p):
            for i in range(trials):
                X, labels = gaussian_mixture(n, np.stack([mu, -mu]), seed=rng)
                y = 1.0 - 2.0 * labels
                w0 = np.sqrt(self.init_var / p) * rng.standard_normal(p)
                U, sv, Vt, lam = _LeastSquaresDynamics._decompose(X)   # range of S, rank r
                b = sv * (U.T @ y) / np.sqrt(n)                  # Vt X^T y/n (0 off the range)
                a0 = Vt @ w0
                coef = (_g(flat[:, None], lam[None, :]) * b
                        + np.expm1(-flat[:, None] * lam[None, :]) * a0)
                W = w0[None, :] + coef @ Vt                                 # (T, p)
                e = W @ mu
                v = np.sum(W ** 2, axis=1)
                draws["alignment"][i] = e
                draws["weight_sq_norm"][i] = v
                if self.init_var > 0:
                    draws["misclassification"][i] = _error_rate(e, v)
                else:     # the direction of g_t(S) X^T y/n, scaled as in the theory
                    Wd = (_g_direction(flat[:, None], lam[None, :]) * b) @ Vt
                    rate = _error_rate(Wd @ mu, np.sum(Wd ** 2, axis=1))
                    draws["misclassification"][i] = np.where(times > 0, rate, 0.5)
                resid = y[None, :] - W @ X.T
                draws["train_error"][i] = np.mean(resid ** 2, axis=1)
        theory = {"misclassification": self.misclassification(times),
                  "train_error": self.train_error(times), "alignment": self.alignment(times),
                  "weight_sq_norm": self.weight_sq_norm(times)}
        return _tidy_table("time", times, draws, theory, n_samples=n, n_features=p)
