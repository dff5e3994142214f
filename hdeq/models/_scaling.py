r"""Scaling laws of ridge regression with power-law spectra and targets.

Data model (theory note linear.md §6.1, "source/capacity" convention):

    capacity  s_k = k^{-alpha}, alpha > 1;       source  b_k^2 s_k = k^{-(1 + 2 alpha r)}, r > 0;
    ridge     ridge = ridge_scale * n^{-ell}     (ell = None: ridgeless, ell = inf);

and the excess risk ``E_n = R - noise_var`` of ridge regression follows the deterministic
equivalent of §5.2 (``ridge = kappa (1 - df1(kappa)/n)``; Bordelon, Canatar & Pehlevan
2020; Cui, Loureiro, Krzakala & Zdeborová 2021; Cheng & Montanari 2022). The predicted
rates ``E_n ≍ n^{-rate}`` are those of the table in theory note §6.2
(:func:`scaling_exponent`).

Infinite spectra. With ``n_modes=None`` the spectrum is infinite ("dimension-free"
equivalent, §6.1): the first ``head`` modes enter exactly and the tail ``k > head`` by
Gauss-Legendre quadrature in ``u = log k`` up to ``k = 1e40`` (an atom ``e^{-alpha u}``
with multiplicity ``w e^u`` per node), which removes the truncation pitfall of §6.2
(``P >> n^{alpha/(alpha-1)}`` modes would be needed otherwise). With an integer
``n_modes`` the spectrum is the finite one the simulation twin draws.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..core._validation import _show, check_array, check_scalar
from ..equivalents._ridge_equivalent import ridge_risk
from ._population import check_trials

__all__ = ["ScalingExponent", "scaling_exponent", "PowerLawRidge", "fit_power_law"]

_OWNER = "PowerLawRidge"


class ScalingExponent(NamedTuple):
    """Predicted decay ``E_n ≍ n^{-rate}`` of the excess risk and the name of the regime."""

    rate: float
    regime: str


def scaling_exponent(alpha, source, ridge_decay=None, noisy=False) -> ScalingExponent:
    r"""Predicted learning-curve exponent of ridge regression (theory note linear.md §6.2).

    With ``r' = min(r, 1)`` (saturation of the ridge filter at ``r = 1``), ``ell`` the ridge
    decay (``ridge = n^{-ell}``; None means ridgeless, ``ell = inf``) and
    ``ell* = alpha / (1 + 2 alpha r')``:

    ========================  =======================  =============================
    regime                    condition                rate
    ========================  =======================  =============================
    noiseless, ridge-limited  ell < alpha              ``2 ell r'``
    noiseless, capacity-lim.  ell >= alpha             ``2 alpha r'``
    noisy, bias-limited       ell < ell*               ``2 ell r'``
    noisy, optimal            ell = ell*               ``2 alpha r'/(1 + 2 alpha r')``
    noisy, variance-limited   ell* < ell < alpha       ``1 - ell/alpha``
    noisy, tempered           ell >= alpha             0 (``E_n -> noise_var (alpha-1)``-type
                                                       plateau, "tempered overfitting")
    ========================  =======================  =============================

    The optimal noisy rate is the Caponnetto & De Vito (2007) minimax rate; the noiseless
    ones are those of Spigler, Geiger & Wyart (2020) and Bordelon et al. (2020).

    Parameters
    ----------
    alpha : float
        Capacity exponent ``> 1``.
    source : float
        Source exponent ``r > 0``.
    ridge_decay : float or None
        ``ell >= 0`` or None (ridgeless).
    noisy : bool
        Label noise present.

    Returns
    -------
    ScalingExponent
        ``(rate, regime)``.

    Examples
    --------
    >>> scaling_exponent(1.5, 0.4)
    ScalingExponent(rate=1.2000000000000002, regime='noiseless, capacity-limited')
    >>> scaling_exponent(2.0, 0.25, ridge_decay=0.5, noisy=True).rate
    0.25
    """
    owner = "scaling_exponent"
    alpha = check_scalar(alpha, "alpha", owner, low=1.0)
    r = check_scalar(source, "source", owner, low=0.0)
    ell = (np.inf if ridge_decay is None else
           check_scalar(ridge_decay, "ridge_decay", owner, low=0.0, low_inclusive=True))
    rp = min(r, 1.0)
    if not noisy:
        if ell < alpha:
            return ScalingExponent(2 * ell * rp, "noiseless, ridge-limited")
        return ScalingExponent(2 * alpha * rp, "noiseless, capacity-limited")
    ell_star = alpha / (1 + 2 * alpha * rp)
    if np.isclose(ell, ell_star, rtol=1e-12, atol=0):
        return ScalingExponent(2 * alpha * rp / (1 + 2 * alpha * rp), "noisy, optimal")
    if ell < ell_star:
        return ScalingExponent(2 * ell * rp, "noisy, bias-limited")
    if ell < alpha:
        return ScalingExponent(1 - ell / alpha, "noisy, variance-limited")
    return ScalingExponent(0.0, "noisy, tempered (ridgeless)")


def fit_power_law(x, y) -> tuple[float, float]:
    """Least-squares fit of ``log y = log C - rate log x``; returns ``(rate, C)``.

    Examples
    --------
    >>> x = np.array([10.0, 100.0, 1000.0])
    >>> [round(v, 10) for v in fit_power_law(x, 3 * x ** -0.5)]
    [0.5, 3.0]
    """
    x = check_array(x, "x", "fit_power_law", ndim=1, positive=True)
    y = check_array(y, "y", "fit_power_law", ndim=1, positive=True)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"`x` and `y` of fit_power_law must have the same length >= 2; got "
                         f"{x.shape} and {y.shape}")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(-slope), float(np.exp(intercept))


def _power_law_atoms(alpha, source, n_modes, head=4000, tail_nodes=600, k_max=1e40):
    """Atoms ``s``, multiplicities and target energies of the power-law model."""
    expo = alpha - 1.0 - 2.0 * alpha * source            # b_k^2 = k^expo
    if n_modes is not None:
        k = np.arange(1, n_modes + 1, dtype=float)
        return k ** -alpha, np.ones(n_modes), k ** expo
    k = np.arange(1, head + 1, dtype=float)
    x, w = np.polynomial.legendre.leggauss(tail_nodes)
    a, b = np.log(head + 0.5), np.log(k_max)
    u = 0.5 * (b - a) * x + 0.5 * (a + b)
    mult = 0.5 * (b - a) * w * np.exp(u)
    kt = np.exp(u)
    return (np.r_[k ** -alpha, kt ** -alpha], np.r_[np.ones(head), mult],
            np.r_[k ** expo, mult * kt ** expo])


class PowerLawRidge:
    r"""Ridge regression on a power-law data model: learning curves and their exponents.

    Capacity ``s_k = k^{-alpha}``, target ``b_k^2 s_k = k^{-(1 + 2 alpha r)}`` (theory note
    linear.md §6.1; :func:`hdeq.data.power_law_spectrum` and :func:`hdeq.data.power_law_target`
    draw the same model), ridge schedule ``ridge = ridge_scale * n^{-ridge_decay}`` (None:
    ridgeless), label noise ``noise_var``. The excess risk is the deterministic equivalent
    of §5.2 (:func:`hdeq.equivalents.ridge_risk`), vectorized over ``n_samples``. The
    equivalent is a smooth function of ``n``, so the theory methods accept any real
    ``n_samples > 0`` (e.g. a geometric grid for a log-log slope); :meth:`simulate` needs
    integers.

    Parameters
    ----------
    alpha, source : float
        Capacity ``> 1`` and source ``r > 0`` exponents, as in :func:`scaling_exponent`.
    n_modes : int or None
        Number of features ``P`` (finite model, as simulated), or None for the infinite
        spectrum (see the module notes).
    noise_var : float
        Label noise variance.
    ridge_decay : float or None
        ``ell``; None means ridgeless.
    ridge_scale : float
        Prefactor of the ridge schedule.

    Examples
    --------
    >>> model = PowerLawRidge(2.0, 0.25)                          # noiseless, ridgeless
    >>> n = np.geomspace(1e3, 3e4, 8)
    >>> round(fit_power_law(n, model.excess_error(n))[0], 2)     # theory note §6.2: 1.003
    1.0
    >>> model.predicted_exponent()
    ScalingExponent(rate=1.0, regime='noiseless, capacity-limited')
    """

    def __init__(self, alpha, source, n_modes=None, *, noise_var=0.0, ridge_decay=None,
                 ridge_scale=1.0):
        self.alpha = check_scalar(alpha, "alpha", _OWNER, low=1.0)
        self.source = check_scalar(source, "source", _OWNER, low=0.0)
        self.n_modes = (None if n_modes is None else
                        check_scalar(n_modes, "n_modes", _OWNER, low=1, low_inclusive=True,
                                     integer=True))
        self.noise_var = check_scalar(noise_var, "noise_var", _OWNER, low=0.0,
                                      low_inclusive=True)
        self.ridge_decay = (None if ridge_decay is None else
                            check_scalar(ridge_decay, "ridge_decay", _OWNER, low=0.0,
                                         low_inclusive=True))
        self.ridge_scale = check_scalar(ridge_scale, "ridge_scale", _OWNER, low=0.0)
        self._atoms = _power_law_atoms(self.alpha, self.source, self.n_modes)

    def ridge(self, n_samples):
        """The ridge schedule ``ridge_scale * n^{-ridge_decay}`` (0 when ridgeless)."""
        n = self._check_n(n_samples)
        if self.ridge_decay is None:
            return np.zeros(n.shape)[()]
        return (self.ridge_scale * n ** -self.ridge_decay)[()]

    def _check_n(self, n_samples):
        n = check_array(n_samples, "n_samples", _OWNER, positive=True, allow_bool=False)
        if self.ridge_decay is None and self.n_modes is not None and np.any(n == self.n_modes):
            raise ValueError(f"`n_samples` of {_OWNER} must differ from n_modes = "
                             f"{self.n_modes} when ridgeless (interpolation peak); got "
                             f"{self.n_modes}")
        return n

    def risk(self, n_samples):
        """The full :class:`hdeq.equivalents.RidgeRisk` record at each ``n_samples``."""
        n = self._check_n(n_samples)
        s, mult, energy = self._atoms
        return ridge_risk(self.ridge(n), s, mult, n, target_energy=energy,
                          noise_var=self.noise_var)

    def excess_error(self, n_samples):
        """Excess risk ``E_n = R - noise_var`` (deterministic equivalent, §5.2 / §6.1)."""
        out = np.asarray(self.risk(n_samples).excess, dtype=float)
        return float(out) if out.ndim == 0 else out

    def predicted_exponent(self) -> ScalingExponent:
        """:func:`scaling_exponent` for this model."""
        return scaling_exponent(self.alpha, self.source, self.ridge_decay,
                                noisy=self.noise_var > 0)

    def fitted_exponent(self, n_samples) -> float:
        """Rate fitted (least squares in log-log) on the theory curve at ``n_samples``."""
        n = self._check_n(n_samples)
        return fit_power_law(n, self.excess_error(n))[0]

    def simulate(self, n_samples, trials=8, seed=None) -> pd.DataFrame:
        """Monte-Carlo twin through :meth:`hdeq.RidgeRegression.simulate` (finite model).

        Draws ``P = n_modes`` Gaussian features with variances ``s_k``, the target
        ``b_k = k^{(alpha - 1 - 2 alpha r)/2}`` (positive signs; the risk does not depend on
        them), and fits ridge with ``ridge(n)`` at each ``n_samples``. Returns the rows of
        quantity ``excess_error`` (columns ``n_samples, ridge, theory, empirical, stderr,
        trials``); ``trials >= 2`` independent draws (so that the standard error exists).
        """
        from ._ridge import RidgeRegression
        trials = check_trials(trials, f"{_OWNER}.simulate")
        if self.n_modes is None:
            raise ValueError(f"`n_modes` of {_OWNER} must be an integer to simulate; got None "
                             f"(the infinite spectrum cannot be drawn)")
        n = self._check_n(n_samples).reshape(-1)
        if np.any(n != np.round(n)):
            raise ValueError(f"`n_samples` of {_OWNER}.simulate must be whole numbers of "
                             f"samples; got {_show(n[n != np.round(n)][0])} (round the grid, "
                             f"e.g. np.unique(np.round(n)))")
        n = n.astype(int)
        s, _, energy = self._atoms
        model = RidgeRegression(s, np.sqrt(energy), noise_var=self.noise_var,
                                ridge=np.atleast_1d(self.ridge(n)), n_samples=n)
        table = model.simulate(trials=trials, seed=seed)
        table = table[table.quantity == "excess_error"].reset_index(drop=True)
        return table[["n_samples", "ridge", "theory", "empirical", "stderr", "trials"]]
