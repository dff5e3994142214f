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
equivalent, §6.1): the first ``head = 4000`` modes enter exactly, the tail up to ``K =
min(1e40, 1e110^(1/alpha))`` by Gauss-Legendre quadrature in ``u = log k`` (an atom
``e^{-alpha u}`` with multiplicity ``w e^u`` per node), and everything beyond ``K`` as one
remainder atom with the same first two spectral moments and target-energy moment
(exact to ``O(s_K / kappa)``), which removes the truncation pitfall of §6.2 (``P >>
n^{alpha/(alpha-1)}`` modes would be needed otherwise) for every ``alpha > 1``. It is
evaluated for effective ridges ``kappa >= 1e-100`` (about ``n <= 10^(100/alpha)`` when
ridgeless): beyond, :meth:`PowerLawRidge.risk` raises a ValueError naming ``alpha`` rather
than returning a NaN or an underflowed 0. With an integer ``n_modes`` the spectrum is the
finite one the simulation twin draws.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..core._validation import _show, check_array, check_bool, check_scalar
from ..equivalents._ridge_equivalent import ridge_risk
from ._population import check_trials, parse_population

__all__ = ["ScalingExponent", "scaling_exponent", "PowerLawRidge", "fit_power_law"]

_OWNER = "PowerLawRidge"


class ScalingExponent(NamedTuple):
    """Predicted decay ``E_n ≍ n^{-rate}`` of the excess risk and the name of the regime."""

    rate: float
    regime: str


def scaling_exponent(alpha, source, ridge_decay=None, noisy=False) -> ScalingExponent:
    r"""Predicted learning-curve exponent of ridge regression (theory note linear.md §6.2).

    With ``r' = min(r, 1)`` (saturation of the ridge filter at ``r = 1``), ``ell`` the ridge
    decay (``ridge = n^{-ell}``; None or ``numpy.inf`` means ridgeless, ``ell = inf``) and
    ``ell* = alpha / (1 + 2 alpha r')``:

    ========================  =======================  =============================
    regime                    condition                rate
    ========================  =======================  =============================
    noiseless, ridge-limited  ell < alpha              ``2 ell r'``
    noiseless, capacity-lim.  ell >= alpha             ``2 alpha r'``
    noisy, bias-limited       ell < ell*               ``2 ell r'``
    noisy, optimal            ell = ell*               ``2 alpha r'/(1 + 2 alpha r')``
    noisy, variance-limited   ell* < ell < alpha       ``1 - ell/alpha``
    noisy, tempered           ell >= alpha             0 (plateau, "tempered overfitting")
    ========================  =======================  =============================

    The last regime is labelled ``'noisy, tempered (ridgeless)'`` when ridgeless (``ell =
    inf``), where ``E_n -> noise_var (alpha - 1)``, and ``'noisy, tempered'`` for a finite
    ``ell >= alpha``: that model has a real ridge ``n^{-ell}``, which decays at least as
    fast as the ridgeless effective ridge ``kappa_0 ~ n^{-alpha}`` (§6.1), so the rate is
    the same, 0; the plateau is the ridgeless one for ``ell > alpha`` and lower at ``ell =
    alpha``, where the ridge is of the order of ``kappa_0`` (theory note §6.2, last row:
    ``ell >= alpha``).

    The optimal noisy rate is the Caponnetto & De Vito (2007) minimax rate; the noiseless
    ones are those of Spigler, Geiger & Wyart (2020) and Bordelon et al. (2020).

    Parameters
    ----------
    alpha : float
        Capacity exponent ``> 1``.
    source : float
        Source exponent ``r > 0``.
    ridge_decay : float or None
        ``ell >= 0``; None or ``numpy.inf`` (the same): ridgeless.
    noisy : bool
        Label noise present (a bool or ``numpy.bool_``; anything else, e.g. ``"no"``, is a
        ValueError).

    Returns
    -------
    ScalingExponent
        ``(rate, regime)``; the rate is rounded to 12 significant digits, so that the
        table's exact values print as such (``2 * 1.5 * 0.4`` is ``1.2``, not
        ``1.2000000000000002``).

    Examples
    --------
    >>> import hdeq
    >>> hdeq.scaling_exponent(1.5, 0.4)
    ScalingExponent(rate=1.2, regime='noiseless, capacity-limited')
    >>> hdeq.scaling_exponent(2.0, 0.25, ridge_decay=0.5, noisy=True).rate
    0.25
    """
    owner = "scaling_exponent"
    alpha = check_scalar(alpha, "alpha", owner, low=1.0)
    r = check_scalar(source, "source", owner, low=0.0)
    ell = _check_ridge_decay(ridge_decay, owner)
    ell = np.inf if ell is None else ell
    noisy = check_bool(noisy, "noisy", owner)
    rp = min(r, 1.0)
    rate, regime = _regime(alpha, rp, ell, noisy)
    return ScalingExponent(float(f"{rate:.12g}"), regime)


def _regime(alpha, rp, ell, noisy):
    if not noisy:
        if ell < alpha:
            return 2 * ell * rp, "noiseless, ridge-limited"
        return 2 * alpha * rp, "noiseless, capacity-limited"
    ell_star = alpha / (1 + 2 * alpha * rp)
    if np.isclose(ell, ell_star, rtol=1e-12, atol=0):
        return 2 * alpha * rp / (1 + 2 * alpha * rp), "noisy, optimal"
    if ell < ell_star:
        return 2 * ell * rp, "noisy, bias-limited"
    if ell < alpha:
        return 1 - ell / alpha, "noisy, variance-limited"
    # ell >= alpha: a real ridge n^-ell (at most of the order of kappa_0 ~ n^-alpha) is not
    # ridgeless; the label says "ridgeless" only for ell = inf
    return 0.0, "noisy, tempered (ridgeless)" if ell == np.inf else "noisy, tempered"


def _check_ridge_decay(ridge_decay, owner):
    """``ell`` as a float in [0, inf), or None when ridgeless (None or +inf, the same)."""
    if ridge_decay is None:
        return None
    if (isinstance(ridge_decay, (float, np.floating)) or
            (isinstance(ridge_decay, np.ndarray) and ridge_decay.ndim == 0
             and np.issubdtype(ridge_decay.dtype, np.floating))) and ridge_decay == np.inf:
        return None
    try:
        return check_scalar(ridge_decay, "ridge_decay", owner, low=0.0, low_inclusive=True)
    except ValueError:
        raise ValueError(f"`ridge_decay` of {owner} must be a float in [0.0, inf] or None "
                         f"(inf and None: ridgeless); got {_show(ridge_decay)}") from None


def fit_power_law(x, y) -> tuple[float, float]:
    """Least-squares fit of ``log y = log C - rate log x``; returns ``(rate, C)``.

    ``x`` and ``y`` are positive 1-D arrays of the same length; ``x`` must take at least
    two distinct values (a slope is undefined otherwise; ValueError).

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> x = np.array([10.0, 100.0, 1000.0])
    >>> [round(v, 10) for v in hdeq.fit_power_law(x, 3 * x ** -0.5)]
    [0.5, 3.0]
    """
    x = check_array(x, "x", "fit_power_law", ndim=1, positive=True)
    y = check_array(y, "y", "fit_power_law", ndim=1, positive=True)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"`x` and `y` of fit_power_law must have the same length >= 2; got "
                         f"{x.shape} and {y.shape}")
    _check_distinct(x, "x", "fit_power_law")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(-slope), float(np.exp(intercept))


def _check_distinct(x, name, owner):
    """ValueError unless the 1-D array ``x`` takes at least two distinct values."""
    if x.size and np.all(x == x[0]):
        raise ValueError(f"`{name}` of {owner} must take at least two distinct values (a "
                         f"log-log slope needs them); got {x.size} copies of {_show(x[0])}")


#: Smallest atom of the infinite spectrum (relative to ``s_1 = 1``): the squares of the
#: atoms stay normal floats, and so do the powers ``(t + kappa)^{-3}`` of the spectral sums
#: for every effective ridge above :data:`_KAPPA_FLOOR`.
_ATOM_FLOOR = 1e-110
#: Smallest effective ridge the infinite spectrum is evaluated at (ValueError below it).
_KAPPA_FLOOR = 1e-100


def _power_law_atoms(alpha, source, n_modes, head=4000, tail_nodes=600):
    """Atoms ``s``, multiplicities and target energies of the power-law model.

    Finite model: ``s_k = k^-alpha``, ``b_k^2 = k^(alpha - 1 - 2 alpha r)`` for ``k <=
    n_modes``. Infinite model (module notes): the modes ``k <= H`` (``H = head``, fewer when
    ``H^-alpha`` is below :data:`_ATOM_FLOOR`) exactly; ``H < k <= K`` by Gauss-Legendre
    quadrature of ``int_{H+1/2}^{K} dk`` in ``u = log k`` (the midpoint rule for the sum, an
    error ~alpha^2/(24 H^2) relative on that part), with ``K = min(1e40, floor^(-1/alpha))``;
    and the rest, ``k > K``, as ONE remainder atom that matches the moments ``S1 = int_K^inf
    s dk``, ``S2 = int_K^inf s^2 dk`` and the energy moment ``Se = int_K^inf b^2 s dk``
    (``t = S2/S1``, multiplicity ``S1^2/S2``, energy ``Se/t``). Every spectral sum is
    linear in atoms with ``t << kappa`` up to ``O((t/kappa)^2)``, so the remainder is exact
    to ``O(t_K/kappa)``, below 1e-10 relative for ``kappa >= 1e-100``; truncating at ``K``
    instead (as before) lost ``S1/kappa`` of df1, 1e-3 relative at alpha = 1.1.
    """
    expo = alpha - 1.0 - 2.0 * alpha * source            # b_k^2 = k^expo
    if n_modes is not None:
        k = np.arange(1, n_modes + 1, dtype=float)
        return k ** -alpha, np.ones(n_modes), k ** expo
    log_k_max = min(40.0 * np.log(10.0), -np.log(_ATOM_FLOOR) / alpha)
    h = int(min(head, max(1.0, np.floor(np.exp(log_k_max) - 0.5))))
    k = np.arange(1, h + 1, dtype=float)
    x, w = np.polynomial.legendre.leggauss(tail_nodes)
    a, b = np.log(h + 0.5), max(log_k_max, np.log(h + 0.5))
    u = 0.5 * (b - a) * x + 0.5 * (a + b)
    mult = 0.5 * (b - a) * w * np.exp(u)
    kt = np.exp(u)
    # remainder k > K = e^b, in logs: ln S1 = (1 - alpha) b - ln(alpha - 1), ...
    ln_s1 = (1.0 - alpha) * b - np.log(alpha - 1.0)
    ln_s2 = (1.0 - 2.0 * alpha) * b - np.log(2.0 * alpha - 1.0)
    ln_se = -2.0 * alpha * source * b - np.log(2.0 * alpha * source)
    t_rem = np.exp(ln_s2 - ln_s1)
    m_rem = np.exp(2.0 * ln_s1 - ln_s2)
    e_rem = np.exp(ln_se - (ln_s2 - ln_s1))
    return (np.r_[k ** -alpha, kt ** -alpha, t_rem], np.r_[np.ones(h), mult, m_rem],
            np.r_[k ** expo, mult * kt ** expo, e_rem])


def _kappa_estimate(alpha, n):
    """``kappa_0(n) ~ ((pi/alpha)/sin(pi/alpha))^alpha n^-alpha`` (theory note §6.1), in
    logs (no underflow)."""
    c = np.pi / alpha
    return alpha * np.log(c / np.sin(c)) - alpha * np.log(n)


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
        spectrum (see the module notes). The finite model follows the population rule of
        every linear model: modes with ``k^-alpha <= n_modes * eps`` are exact zeros, in the
        theory and in :meth:`simulate` alike (:mod:`hdeq.models._population`).
    noise_var : float
        Label noise variance.
    ridge_decay : float or None
        ``ell``; None or ``numpy.inf`` (the same; stored as None) means ridgeless.
    ridge_scale : float
        Prefactor of the ridge schedule.

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> model = hdeq.PowerLawRidge(2.0, 0.25)                     # noiseless, ridgeless
    >>> n = np.geomspace(1e3, 3e4, 8)
    >>> round(hdeq.fit_power_law(n, model.excess_error(n))[0], 2)   # theory note §6.2: 1.003
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
        self.ridge_decay = _check_ridge_decay(ridge_decay, _OWNER)
        self.ridge_scale = check_scalar(ridge_scale, "ridge_scale", _OWNER, low=0.0)
        atoms = _power_law_atoms(self.alpha, self.source, self.n_modes)
        if self.n_modes is not None:
            # the finite model is a linear model like any other: the population rule of
            # the parser (eigenvalues <= n_features * eps of the largest are zeros), which its
            # simulation twin (RidgeRegression) applies too
            prob = parse_population(atoms[0], np.sqrt(atoms[2]), owner=_OWNER)
            self._twin = (prob.eigenvalues, np.sqrt(atoms[2]))
            atoms = (prob.atoms, prob.multiplicities, prob.energy)
        self._atoms = atoms

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
        """The full :class:`hdeq.equivalents.RidgeRisk` record at each ``n_samples``.

        For the infinite spectrum the effective ridge must stay above 1e-100 (relative to
        ``s_1 = 1``; it is about ``max(ridge, n^-alpha)``), and the excess risk above the
        smallest normal float: ValueError naming ``alpha`` and the largest usable
        ``n_samples`` otherwise, never a NaN or an underflowed 0.
        """
        n = self._check_n(n_samples)
        s, mult, energy = self._atoms
        lam = self.ridge(n)
        if self.n_modes is None:
            self._check_range(n, lam)
        risk = ridge_risk(lam, s, mult, n, target_energy=energy, noise_var=self.noise_var)
        if self.n_modes is None:
            bad = ~(np.isfinite(risk.kappa) & (risk.kappa >= _KAPPA_FLOOR) & risk.converged)
            if np.any(bad):
                self._range_error(n, bad, "the effective ridge")
            tiny = risk.excess < np.finfo(float).tiny
            if np.any(tiny):
                self._range_error(n, tiny, "the excess risk")
        return risk

    def _largest_n(self):
        """Largest n whose estimated effective ridge is above the floor (ridgeless)."""
        c = np.pi / self.alpha
        log_n = np.log(c / np.sin(c)) - np.log(10.0 * _KAPPA_FLOOR) / self.alpha
        return float(np.exp(log_n))

    def _check_range(self, n, lam):
        log_k = np.maximum(np.log(np.maximum(lam, 1e-300)), _kappa_estimate(self.alpha, n))
        bad = log_k < np.log(10.0 * _KAPPA_FLOOR)
        if np.any(bad):
            self._range_error(n, bad, "the effective ridge")

    def _range_error(self, n, bad, what):
        n = np.broadcast_to(n, np.shape(bad))
        first = float(np.asarray(n)[bad].min())
        if what == "the effective ridge":
            why = (f"{what} (about max(ridge, n^-alpha)) would fall below {_KAPPA_FLOOR:g}, "
                   f"outside the floating-point range of the spectral sums for this spectrum "
                   f"(largest usable n_samples about {self._largest_n():.3g} when ridgeless)")
        else:
            rate = self.predicted_exponent().rate
            why = (f"{what} (decaying like n^-{rate:g}) falls below the smallest normal "
                   f"double {np.finfo(float).tiny:.3g}")
        raise ValueError(f"`n_samples` of {_OWNER}(alpha={self.alpha:g}, source="
                         f"{self.source:g}) on the infinite spectrum: at n_samples={first:g} "
                         f"{why}; use smaller n_samples, a finite n_modes or a smaller alpha")

    def excess_error(self, n_samples):
        """Excess risk ``E_n = R - noise_var`` (deterministic equivalent, §5.2 / §6.1)."""
        out = np.asarray(self.risk(n_samples).excess, dtype=float)
        return float(out) if out.ndim == 0 else out

    def predicted_exponent(self) -> ScalingExponent:
        """:func:`scaling_exponent` for this model."""
        return scaling_exponent(self.alpha, self.source, self.ridge_decay,
                                noisy=self.noise_var > 0)

    def fitted_exponent(self, n_samples) -> float:
        """Rate fitted (least squares in log-log) on the theory curve at ``n_samples``
        (a 1-D array taking at least two distinct values)."""
        n = self._check_n(n_samples)
        if n.ndim != 1 or n.size < 2:
            raise ValueError(f"`n_samples` of {_OWNER}.fitted_exponent must be a 1-D array "
                             f"of length >= 2; got shape {n.shape}")
        _check_distinct(n, "n_samples", f"{_OWNER}.fitted_exponent")
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
        s, b = self._twin
        model = RidgeRegression(s, b, noise_var=self.noise_var,
                                ridge=np.atleast_1d(self.ridge(n)), n_samples=n)
        table = model.simulate(trials=trials, seed=seed)
        table = table[table.quantity == "excess_error"].reset_index(drop=True)
        return table[["n_samples", "ridge", "theory", "empirical", "stderr", "trials"]]
