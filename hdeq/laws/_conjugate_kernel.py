"""Limiting spectrum of the one-hidden-layer conjugate-kernel (CK) Gram matrix.

Pennington & Worah (2017), *Nonlinear random matrix theory for deep learning*, NeurIPS;
Péché (2019), *A note on the Pennington-Worah distribution*, ECP; Benigni & Péché (2021),
EJP. Theory note ``nonlinear.md`` §3.4 (formulas, root selection, oracle values) and §3.5
(Gaussian-equivalence principle).
"""

from __future__ import annotations

import numpy as np

from ..core._errors import ConvergenceError
from ..core._solver import CONVERGED, MAX_ITER, NOT_FINITE, WRONG_BRANCH, SolveResult
from ..core._stieltjes import integrate_on_support
from ..core._validation import (as_generator, check_array, check_bool, check_on_failure,
                                check_scalar)
from ._base import SpectralLaw

__all__ = ["ConjugateKernelLaw"]

_OWNER = "ConjugateKernelLaw"
#: aspect_ratio, width_ratio and their quotient psi are verified in this range (support,
#: continuous mass to 1e-8 and the linear-equivalent route to 1e-7, for zeta / eta in
#: {0, 0.1, 0.5, 0.9, 1}); beyond it bulks 1e-6 narrow or 1e12 apart are not resolved.
_RATIO_RANGE = (1e-6, 1e6)


def _gaussian_expectation(func) -> float:
    """E[func(xi)], xi ~ N(0, 1), by adaptive quadrature split at 0 (kink-safe).

    scipy's IntegrationWarnings are held back: where the result is not finite they are
    dropped (the caller raises a ValueError that says why), else re-emitted."""
    import warnings

    from scipy import integrate

    def integrand(x):
        return func(x) * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)

    total = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", integrate.IntegrationWarning)
        for lo, hi in ((-np.inf, 0.0), (0.0, np.inf)):
            value, _ = integrate.quad(integrand, lo, hi, limit=200, epsabs=1e-13,
                                      epsrel=1e-12)
            total += value
    if np.isfinite(total):
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return float(total)


#: Points at which a plain activation callable is checked for finite values before any
#: quadrature (the Gaussian weight beyond |x| = 10 is below 1e-22).
_PROBE = np.linspace(-10.0, 10.0, 201)
#: Relative size of ``E f^2 - (E f)^2`` against ``E f^2`` below which the centred activation
#: is zero to the accuracy of the quadrature (``epsrel = 1e-12`` on each moment).
_CONSTANT_RTOL = 1e-10


def _check_not_constant(mean, second, activation):
    """ValueError when the centred activation ``f - E f(xi)`` vanishes: ``eta = 0``."""
    if not second - mean ** 2 > _CONSTANT_RTOL * abs(second):
        raise ValueError(
            f"`activation` of {_OWNER} must not be constant: its centred version f - E f(xi) "
            f"is identically zero (variance E[f(xi)^2] - E[f(xi)]^2 = "
            f"{max(second - mean ** 2, 0.0):.3g} with E f(xi) = {mean:.6g}), so the "
            f"conjugate kernel Y Y^T / n_samples of the centred features is degenerate "
            f"(all zero); got {activation!r}")


def _activation_constants(activation):
    """(mean, eta, zeta) of an activation at unit pre-activation variance.

    Uses the object's own Gaussian moments when it is an :class:`hdeq.Activation` (it has
    ``gaussian_equivalent``), else adaptive quadrature of the plain callable (theory note
    §1.1: ``mu1 = E[xi s(xi)]`` by Stein's identity, valid for kinks), after checking it
    returns finite values on :data:`_PROBE` (ValueError naming the first point where not).
    A constant activation (``eta = 0``: the centred features vanish) is a ValueError.
    """
    if isinstance(activation, str):  # laws sit below the activation registry
        raise ValueError(f"`activation` of {_OWNER} must be a callable or an "
                         f"hdeq.activation(...); for a name pass "
                         f"hdeq.activation({activation!r}); got the string {activation!r}")
    if hasattr(activation, "gaussian_equivalent") and hasattr(activation, "second_moment"):
        mu0, mu1, _ = activation.gaussian_equivalent(1.0)
        second = activation.second_moment(1.0)
        _check_not_constant(float(mu0), float(second), activation)
        return float(mu0), float(second - mu0 ** 2), float(mu1 ** 2)
    if not callable(activation):
        raise ValueError(f"`activation` of {_OWNER} must be callable (a function of one "
                         f"array argument, or an hdeq.activation(...)); got {activation!r}")

    def value(x):
        # a numpy float: a square beyond the float range is inf (then ValueError), not an
        # OverflowError
        return np.float64(np.asarray(activation(np.asarray([x], dtype=float)),
                                     dtype=float).ravel()[0])

    with np.errstate(all="ignore"):
        for x in _PROBE:
            fx = value(x)
            if not np.isfinite(fx):
                raise ValueError(f"`activation` of {_OWNER} must return finite values "
                                 f"(checked at {_PROBE.size} points of [-10, 10] before "
                                 f"integrating); got f({x:g}) = {float(fx)!r} from "
                                 f"{activation!r}")
        mean = _gaussian_expectation(value)
        second = _gaussian_expectation(lambda x: value(x) ** 2)
        mu1 = _gaussian_expectation(lambda x: x * value(x))
    if not all(np.isfinite(v) for v in (mean, second, mu1)):
        raise ValueError(f"`activation` of {_OWNER} must have finite Gaussian moments "
                         f"E f, E f^2; got {activation!r}")
    mean, second, mu1 = float(mean), float(second), float(mu1)
    _check_not_constant(mean, second, activation)
    return mean, max(second - mean ** 2, 0.0), mu1 ** 2


class ConjugateKernelLaw(SpectralLaw):
    r"""Limiting eigenvalue law of the conjugate-kernel Gram matrix ``Y Y^T / n_samples``.

    Setting (Pennington & Worah 2017; theory note §3.4): weights ``W`` of shape
    ``(n_random_features, n_features)`` with i.i.d. ``N(0, 1/n_features)`` entries, data
    ``X`` of shape ``(n_features, n_samples)`` with i.i.d. ``N(0, 1)`` entries (so every
    pre-activation is ``N(0, 1)``), features ``Y = f(W X)`` with a centred activation
    (``E f(xi) = 0``), and ``M = Y Y^T / n_samples`` of size ``n_random_features``.
    Only two numbers of the activation matter:

    .. math::  \eta = E f(\xi)^2, \qquad \zeta = (E f'(\xi))^2 = (E\,\xi f(\xi))^2 .

    With ``phi = aspect_ratio = n_features / n_samples`` and
    ``psi = aspect_ratio / width_ratio = n_features / n_random_features``, the transform
    ``G(z) = -m(z)`` (Pennington-Worah sign) is

    .. math::  G(z) = \frac{\psi}{z} P\!\left(\frac{1}{z\psi}\right) + \frac{1-\psi}{z},
               \quad P = 1 + (\eta-\zeta) t P_\phi P_\psi
                         + \frac{P_\phi P_\psi t \zeta}{1 - P_\phi P_\psi t \zeta},

    ``P_phi = 1 + (P - 1) phi``, ``P_psi = 1 + (P - 1) psi``: a quartic in ``P`` for each
    ``t = 1/(z psi)``. Numerically the quartic is solved in ``G`` itself (coefficients
    polynomial in ``z``; for ``width_ratio > 1`` in the companion ``Gc`` of the
    ``n_samples x n_samples`` matrix, from which ``G = Gc/w + (1 - 1/w)/z``): the root is
    followed by continuation from high above the support (where ``m ~ -1/z``) down to
    ``z``, and checked: quartic residual, and ``Im m > 0`` at every height above the
    axis (a jump to another root is redone by nearest-root tracking). The support is
    searched on a grid refined where narrow bulks can sit, and must carry the
    continuous mass (else ``ConvergenceError``). Verified (support, mass, both routes)
    for ``aspect_ratio``, ``width_ratio`` and ``psi`` in [1e-6, 1e6]; outside, a
    ``ValueError``.

    Linear equivalent (Péché 2019; §3.4): ``M`` has the same limit as
    ``Y_lin Y_lin^T / n_samples`` with ``Y_lin = sqrt(zeta) W X + sqrt(eta - zeta) Z``,
    ``Z`` i.i.d. ``N(0, 1)``. Given ``W`` this is a sample covariance with population
    ``zeta W W^T + (eta - zeta) I``, which gives the second route ``method="equivalent"``
    (generalized Marchenko-Pastur with an affine Marchenko-Pastur population).
    Special cases: ``zeta = 0`` is the MP law of ratio ``width_ratio`` scaled by ``eta``;
    ``zeta = eta`` (linear ``f``) is the product-Wishart law of ``W X X^T W^T / n_samples``.

    Parameters
    ----------
    eta, zeta : float
        ``eta > 0`` and ``0 <= zeta <= eta`` (Cauchy-Schwarz), at unit pre-activation
        variance. Use :meth:`from_activation` to compute them from an activation.
    aspect_ratio : float
        ``n_features / n_samples`` (Pennington-Worah ``phi``), in [1e-6, 1e6].
    width_ratio : float
        ``n_random_features / n_samples``, in [1e-6, 1e6]; their quotient
        ``psi = n_features / n_random_features`` must be in [1e-6, 1e6] too (the range
        in which the law is verified: a ValueError beyond it).
    activation : callable, optional
        The (uncentred) activation, kept for :meth:`sample`; set by :meth:`from_activation`.

    Examples
    --------
    >>> from hdeq.laws import ConjugateKernelLaw
    >>> law = ConjugateKernelLaw(eta=1.0, zeta=0.0, aspect_ratio=0.5, width_ratio=1.0)
    >>> round(float(law.stieltjes(-0.5).real), 10)   # MP of ratio 1: m(-1/2) = 1
    1.0
    """

    def __init__(self, eta, zeta, aspect_ratio, width_ratio, *, activation=None):
        self.eta = check_scalar(eta, "eta", _OWNER, low=0.0)
        self.zeta = check_scalar(zeta, "zeta", _OWNER, low=0.0, low_inclusive=True)
        if self.zeta > self.eta * (1.0 + 1e-12):
            raise ValueError(f"`zeta` of {_OWNER} must be at most `eta` = {self.eta!r} "
                             f"(Cauchy-Schwarz: (E f')^2 <= E f^2); got {zeta!r}")
        self.zeta = min(self.zeta, self.eta)
        lo, hi = _RATIO_RANGE
        self.aspect_ratio = check_scalar(aspect_ratio, "aspect_ratio", _OWNER, low=lo,
                                         high=hi, low_inclusive=True, high_inclusive=True)
        self.width_ratio = check_scalar(width_ratio, "width_ratio", _OWNER, low=lo,
                                        high=hi, low_inclusive=True, high_inclusive=True)
        psi = self.aspect_ratio / self.width_ratio
        if not lo <= psi <= hi:
            raise ValueError(
                f"`aspect_ratio / width_ratio` (n_features / n_random_features) of {_OWNER} "
                f"must be in [{lo:g}, {hi:g}], the range in which the law is verified; got "
                f"{self.aspect_ratio!r} / {self.width_ratio!r} = {psi:g}")
        if activation is not None and not callable(activation):
            raise ValueError(f"`activation` of {_OWNER} must be callable or None; "
                             f"got {activation!r}")
        self._activation = activation
        self._mean = None
        self._support = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_activation(cls, activation, aspect_ratio, width_ratio):
        """Build the law of ``f(W X) f(W X)^T / n_samples`` for an activation ``f``.

        ``f`` is centred internally (``f - E f(xi)``: a non-zero mean only adds a rank-one
        spike, not part of the limit law); ``eta = Var f(xi)``, ``zeta = (E xi f(xi))^2``
        are computed by adaptive quadrature split at 0 (theory note §1.2, §1.4 pitfall).
        ValueError for an activation that is constant (its centred version is identically
        zero, ``eta = 0``: the conjugate kernel is degenerate) or, for a plain callable,
        returns a non-finite value on ``[-10, 10]`` (checked before integrating).

        Examples
        --------
        >>> import numpy as np
        >>> from hdeq.laws import ConjugateKernelLaw
        >>> law = ConjugateKernelLaw.from_activation(np.tanh, 0.5, 0.625)
        >>> round(law.eta, 6), round(law.zeta, 6)     # theory note §3.4 table
        (0.394294, 0.366879)
        """
        mean, eta, zeta = _activation_constants(activation)
        law = cls(eta, zeta, aspect_ratio, width_ratio, activation=activation)
        law._mean = mean
        return law

    @classmethod
    def from_sizes(cls, eta, zeta, n_samples, n_features, n_random_features, *,
                   activation=None):
        """The law with ratios taken from finite sizes (``aspect_ratio = n_features /
        n_samples``, ``width_ratio = n_random_features / n_samples``)."""
        n_samples = check_scalar(n_samples, "n_samples", _OWNER, low=0, integer=True)
        n_features = check_scalar(n_features, "n_features", _OWNER, low=0, integer=True)
        n_random = check_scalar(n_random_features, "n_random_features", _OWNER, low=0,
                                integer=True)
        return cls(eta, zeta, n_features / n_samples, n_random / n_samples,
                   activation=activation)

    def __repr__(self):
        return (f"ConjugateKernelLaw(eta={self.eta!r}, zeta={self.zeta!r}, "
                f"aspect_ratio={self.aspect_ratio!r}, width_ratio={self.width_ratio!r})")

    # ------------------------------------------------------------------ parameters
    @property
    def phi(self) -> float:
        """Pennington-Worah ``phi = n_features / n_samples``."""
        return self.aspect_ratio

    @property
    def psi(self) -> float:
        """Pennington-Worah ``psi = n_features / n_random_features``."""
        return self.aspect_ratio / self.width_ratio

    @property
    def atoms(self) -> tuple[tuple[float, float], ...]:
        """``((0.0, mass),)`` when the Gram matrix is rank deficient, else ``()``.

        ``M`` has rank ``min(n_random_features, n_samples)`` when ``zeta < eta`` and
        ``min(n_random_features, n_samples, n_features)`` when ``f`` is linear.
        """
        w = self.width_ratio
        rank = min(w, 1.0) if self.zeta < self.eta else min(w, 1.0, self.aspect_ratio)
        mass = 1.0 - rank / w
        return ((0.0, float(mass)),) if mass > 1e-14 else ()

    def moment(self, k: int) -> float:
        """Moment ``int t^k dmu``: closed form for ``k <= 3``, quadrature beyond.

        From the linear equivalent (§3.4): with population ``H = zeta * MP(1/psi) +
        (eta - zeta)`` and ``c = width_ratio``, ``m1 = h1``, ``m2 = h2 + c h1^2``,
        ``m3 = h3 + 3 c h1 h2 + c^2 h1^3`` (generalized-MP moments), ``h_j`` the moments
        of ``H`` (MP moments ``1, 1 + y, 1 + 3y + y^2`` for ratio ``y = 1/psi``).
        """
        k = check_scalar(k, "k", f"{_OWNER}.moment", low=0, low_inclusive=True,
                         integer=True)
        if k > 3:
            return super().moment(k)
        y, z, b = 1.0 / self.psi, self.zeta, self.eta - self.zeta
        lam = (1.0, 1.0, 1.0 + y, 1.0 + 3.0 * y + y * y)   # MP moments, ratio y
        h1 = z * lam[1] + b
        h2 = z * z * lam[2] + 2.0 * z * b * lam[1] + b * b
        h3 = z ** 3 * lam[3] + 3.0 * z * z * b * lam[2] + 3.0 * z * b * b * lam[1] + b ** 3
        c = self.width_ratio
        return (1.0, h1, h2 + c * h1 * h1, h3 + 3.0 * c * h1 * h2 + c * c * h1 ** 3)[k]

    # ------------------------------------------------------------------ quartic route
    def _degree(self) -> int:
        if self.zeta == 0.0:
            return 2
        if self.zeta == self.eta:
            return 3
        return 4

    @property
    def _companion(self) -> bool:
        """Solve for the companion ``Gc = -mc`` of the ``n_samples x n_samples`` matrix
        ``Y^T Y / n_samples`` when ``width_ratio > 1``: the ``n_random_features`` law is
        ``(1/w) mc - (1 - 1/w)/z``, an atom of mass ``1 - 1/w`` plus a continuous part
        of mass ``1/w`` spread over a support of width ``~w``; solved directly, its
        density (``~1/w^2``) drowned in the rounding of the atom's ``1/z`` from
        ``width_ratio ~ 1e5`` on (the support came out empty)."""
        return self.width_ratio > 1.0

    def _coefficients(self, z):
        r"""Coefficients (highest degree first) of the Pennington-Worah quartic written
        in ``G = -m`` itself (or in ``Gc = -mc`` for the companion, :attr:`_companion`);
        shape ``z.shape + (5,)``.

        With ``kappa = psi`` (direct) or ``phi`` (companion) and ``lam`` the other one,
        ``z G = 1 + kappa (P - 1)``, so that ``P_kappa = z G``,
        ``P_lam = 1 + lam (z G - 1) / kappa`` and
        ``Q = t P_phi P_psi = alpha G + beta G^2`` with ``alpha = (1 - lam/kappa)/psi``,
        ``beta = lam z / (kappa psi)``; the equation
        ``(P - 1 - (eta - zeta) Q)(1 - zeta Q) - zeta Q = 0`` is then a quartic in ``G``
        whose coefficients are polynomials in ``z``. (Both transforms come from the same
        ``P``: ``z G = 1 + psi (P - 1)``, ``z Gc = 1 + phi (P - 1)``, so
        ``G = Gc / w + (1 - 1/w) / z``.) Written in ``P`` and ``t = 1/(z psi)`` instead,
        the coefficients grow like ``1/z^2`` and the four roots cluster at
        ``P = 1 - 1/psi`` as ``z -> 0`` (a root accurate to ``eps^(1/4)``): densities near
        a hard edge at 0 (``width_ratio = 1``) were garbage below ``1e-7``.
        """
        phi, psi, eta, zeta = self.phi, self.psi, self.eta, self.zeta
        kappa, lam = (phi, psi) if self._companion else (psi, phi)
        d = eta - zeta
        alpha = (1.0 - lam / kappa) / psi
        beta = lam * z / (kappa * psi)
        a0, a1, a2 = -1.0 / kappa + 0.0 * z, z / kappa - d * alpha, -d * beta   # A = P - 1 - d Q
        b1, b2 = -zeta * alpha + 0.0 * z, -zeta * beta                          # B = 1 - zeta Q
        c0 = a0
        c1 = a0 * b1 + a1 - zeta * alpha
        c2 = a0 * b2 + a1 * b1 + a2 - zeta * beta
        c3 = a1 * b2 + a2 * b1
        c4 = a2 * b2
        return np.stack([c4, c3, c2, c1, c0], axis=-1)

    def _roots(self, z):
        coef = self._coefficients(z)[..., 5 - (self._degree() + 1):]
        deg = coef.shape[-1] - 1
        lead = coef[..., :1]
        comp = np.zeros(z.shape + (deg, deg), dtype=complex)
        comp[..., 0, :] = -coef[..., 1:] / lead
        if deg > 1:
            idx = np.arange(deg - 1)
            comp[..., idx + 1, idx] = 1.0
        return np.linalg.eigvals(comp)

    def _residual(self, G, z):
        coef = self._coefficients(z)
        value = np.zeros_like(G)
        scale = np.zeros(G.shape)
        for j in range(5):
            value = value * G + coef[..., j]
            scale = scale * np.abs(G) + np.abs(coef[..., j])
        return np.abs(value) / np.maximum(scale, 1e-300)

    def _horner(self, coef, G):
        value = np.zeros_like(G)
        deriv = np.zeros_like(G)
        for j in range(coef.shape[-1]):
            deriv = deriv * G + value
            value = value * G + coef[..., j]
        return value, deriv

    def _track(self, x, heights, G, newton: bool):
        """Follow the root ``G`` from ``heights[0]`` down to ``heights[-1]`` (per point).

        Each step is predicted by ``G z_old / z_new`` (exact where ``G ~ 1/z``, far above
        the support; no change near the axis, where ``z`` hardly moves). Returns
        ``(G, hopped)``: ``hopped`` marks points where Newton did not settle within its
        iterations, or the followed root left the Herglotz branch (``Im m = -Im G < 0``
        beyond rounding at a positive height), i.e. it may have jumped to another root
        of the quartic. Nearest-root tracking (``newton=False``) only considers roots
        on the Herglotz side above the axis.
        """
        hopped = np.zeros(x.shape, dtype=bool)
        z_old = x + 1j * heights[0]
        final = len(heights) - 1
        for i, h in enumerate(heights):
            # tracking needs the root to ~1e-12 only; the last height to rounding
            tol = 4e-16 if i == final else 1e-12
            z = x + 1j * h
            above = h > 0
            G = G * (z_old / z)
            z_old = z
            if newton:              # on the points whose step is above rounding only
                coef = self._coefficients(z)
                G = G.copy()
                last = np.zeros(x.shape)
                act = np.arange(x.size)
                for _ in range(8):
                    value, deriv = self._horner(coef[act], G[act])
                    step = value / np.where(deriv == 0, 1.0, deriv)
                    G[act] -= step
                    last[act] = np.abs(step)
                    act = act[~(last[act] <= tol * np.abs(G[act]))]
                    if act.size == 0:
                        break
                hopped |= ~(last <= 1e-8 * np.abs(G))
            else:
                roots = self._roots(z)
                dist = np.abs(roots - G[:, None])
                wrong = above[:, None] & (roots.imag > 1e-12 * np.abs(roots))
                dist = np.where(wrong & ~wrong.all(axis=-1, keepdims=True), np.inf, dist)
                pick = np.argmin(dist, axis=-1)
                G = np.take_along_axis(roots, pick[:, None], axis=-1)[:, 0]
            hopped |= above & ~(G.imag <= 1e-12 * np.abs(G))
        return G, hopped

    def _stieltjes_quartic(self, z, steps=80):
        """m(z) for Im z >= 0 (flattened array); returns (m, residual).

        The root ``G = -m`` (or ``Gc = -mc``, :attr:`_companion`) starts at
        ``G = 1/(x + i top)`` high above the axis (where ``m ~ -1/z``; ``top`` is 50
        times the scale of the support) and is followed down to ``z``. Fast path: Newton tracking; points that end with a large residual,
        on the wrong side (``Im m < 0``) or that left the Herglotz branch on the way
        (a jump to another root; seen for small ``aspect_ratio / width_ratio``, where
        the quartic has a root near ``m = 0``) are redone by nearest-root tracking over
        the Herglotz roots of the quartic (companion-matrix eigenvalues). A point still
        off the branch gets an infinite residual (a ConvergenceError, never a wrong
        value).
        """
        if z.size == 0:
            return z.copy(), np.zeros(0)
        x, y = z.real, z.imag
        scale = self._scale
        top = 50.0 * scale + 2.0 * np.abs(x)
        # down to 1e-13 of the local scale |x| (not of top: a hard edge at 0 next to a
        # bulk 1e6 times higher needs both), 6 steps per decade
        floor = 1e-13 * np.maximum(np.abs(x), 1e-7 * scale)
        n = int(np.ceil(6.0 * np.log10(np.max(top / floor)))) + 1
        frac = np.linspace(0.0, 1.0, max(n, steps))[:, None]
        heights = y[None, :] + top[None, :] * (floor / top)[None, :] ** frac
        heights = np.vstack([heights, y[None, :]])
        G, hopped = self._track(x, heights, 1.0 / (x + 1j * heights[0]), newton=True)
        residual = self._residual(G, z)
        tol = 1e-12 * np.abs(G)
        redo = ~(np.isfinite(G) & (residual < 1e-10) & (G.imag < tol)) | hopped
        if np.any(redo):
            Gr, still = self._track(x[redo], heights[:, redo],
                                    1.0 / (x[redo] + 1j * heights[0, redo]), newton=False)
            G = G.copy()
            G[redo] = Gr
            residual = self._residual(G, z)
            bad = np.zeros(z.shape, dtype=bool)
            bad[redo] = still
            residual[bad] = np.inf
        if self._companion:                  # the n_random_features law from mc
            w = self.width_ratio
            return -(G / w + (1.0 - 1.0 / w) / z), residual
        return -G, residual

    # ------------------------------------------------------------------ equivalent route
    def _mp_stieltjes(self, w, ratio):
        """Stieltjes transform of the MP law with ``ratio`` and unit variance, any w in C_+
        or real outside the support: root of ``r w m^2 + (w - 1 + r) m + 1 = 0`` that is a
        Stieltjes transform (theory note §2.1)."""
        b = w - 1.0 + ratio
        disc = np.sqrt(b * b - 4.0 * ratio * w + 0j)
        m1 = (-b + disc) / (2.0 * ratio * w)
        m2 = (-b - disc) / (2.0 * ratio * w)
        # Stieltjes branch: Im m has the sign of Im w; on the real axis m ~ -1/w at infinity
        good1 = np.where(np.abs(w.imag) > 0, m1.imag * w.imag > 0,
                         np.abs(m1 * w + 1.0) < np.abs(m2 * w + 1.0))
        return np.where(good1, m1, m2)

    def _stieltjes_equivalent(self, z, tol=1e-13, max_iter=20000):
        """m(z) for Im z > 0 through the generalized-MP equation of the linear equivalent.

        Companion transform ``u`` (of the n_samples x n_samples matrix) solves
        ``u = -1 / (z - c * int t dH(t) / (1 + t u))``, ``c = width_ratio``;
        ``m = (u + (1 - c)/z) / c``. Damped fixed point, then a check of the residual.
        """
        c, zeta, b = self.width_ratio, self.zeta, self.eta - self.zeta
        y = 1.0 / self.psi

        if zeta <= 1e-10 * self.eta:
            # H = zeta * MP + b within zeta * (1 + sqrt(y)) of delta_eta: below the
            # route's 1e-9 accuracy, and avoids dividing by a (sub)normal zeta
            zeta, b = 0.0, self.eta

        def h_int(u):  # int t dH(t) / (1 + t u)
            if zeta == 0.0:
                return b / (1.0 + b * u)
            w = -(1.0 + b * u) / (zeta * u)
            s = self._mp_stieltjes(w, y)                    # int dMP / (lam - w)
            return (1.0 - s / (zeta * u)) / u

        u = -1.0 / z
        residual = np.full(z.shape, np.inf)
        for _ in range(max_iter):
            new = -1.0 / (z - c * h_int(u))
            residual = np.abs(new - u) / np.maximum(np.abs(new), 1e-300)
            u = 0.5 * u + 0.5 * new
            if np.all(residual < tol):
                break
        m = (u + (1.0 - c) / z) / c
        return m, residual

    # ------------------------------------------------------------------ SpectralLaw
    def _stieltjes(self, z: np.ndarray) -> SolveResult:
        """Quartic route for ``Im z >= 0`` (real ``z``: boundary value ``m(x + i0)``)."""
        zero = z == 0
        zu = np.where(zero, 1j, z)
        with np.errstate(all="ignore"):
            m, residual = self._stieltjes_quartic(zu)
        status = np.full(z.shape, CONVERGED, dtype=np.int8)
        status[residual > 1e-8] = MAX_ITER
        status[(zu.imag > 0) & ~(m.imag > 0) & (status == CONVERGED)] = WRONG_BRANCH
        status[~np.isfinite(m) | zero] = NOT_FINITE
        return SolveResult(m, status, np.zeros(z.shape, dtype=int), residual, z)

    def stieltjes(self, z, *, method: str = "quartic", on_failure: str = "raise"):
        r"""Stieltjes transform ``m(z) = \int d\mu(t) / (t - z)`` (broadcast over ``z``).

        Parameters
        ----------
        z : complex array_like
            Points off the support (``Im z < 0`` by reflection ``m(conj z) = conj m(z)``).
        method : {"quartic", "equivalent"}
            ``"quartic"``: Pennington-Worah quartic with root continuation (default).
            ``"equivalent"``: generalized-MP fixed point of Péché's linear equivalent
            (``Im z != 0`` only; a slower second route used to cross-check).
        on_failure : {"raise", "nan"}
            Where the defining equation is not met (quartic residual 1e-8, fixed-point
            step 1e-9) or ``Im m <= 0``: raise ``ConvergenceError`` or return NaN with one
            ``ConvergenceWarning``.

        Examples
        --------
        >>> import numpy as np
        >>> from hdeq.laws import ConjugateKernelLaw
        >>> law = ConjugateKernelLaw(1.0, 0.5, 1.0, 1.0)
        >>> complex(np.round(law.stieltjes(1 + 0.2j), 6))    # theory note §3.4: G = -m
        (-0.472954+0.806943j)
        """
        if np.any(np.asarray(z) == 0):
            raise ValueError(f"`z` of {_OWNER}.stieltjes must be non-zero (the quartic is "
                             "written in t = 1/(z psi)); got z = 0. Use a small non-zero z")
        if method == "quartic":
            return super().stieltjes(z, on_failure=on_failure)
        if method != "equivalent":
            raise ValueError(f"`method` of {_OWNER}.stieltjes must be 'quartic' or "
                             f"'equivalent'; got {method!r}")
        check_on_failure(on_failure)
        z = check_array(z, "z", _OWNER, allow_complex=True).astype(complex)
        if np.any(z.imag == 0):
            raise ValueError(f"`z` of {_OWNER}.stieltjes with method='equivalent' must "
                             "have a non-zero imaginary part; got a real z")
        flat = z.ravel()
        lower = flat.imag < 0
        zu = np.where(lower, flat.conj(), flat)
        with np.errstate(all="ignore"):
            m, residual = self._stieltjes_equivalent(zu)
        status = np.full(zu.shape, CONVERGED, dtype=np.int8)
        status[residual > 1e-9] = MAX_ITER
        status[~(m.imag > 0) & (status == CONVERGED)] = WRONG_BRANCH
        status[~np.isfinite(m)] = NOT_FINITE
        result = SolveResult(m, status, np.zeros(zu.shape, dtype=int), residual, zu)
        m = self._call_stieltjes_result(result, on_failure)
        return np.where(lower, m.conj(), m).reshape(z.shape)

    def _call_stieltjes_result(self, result, on_failure):
        from ..core._solver import resolve_failures
        return resolve_failures(result, on_failure,
                                what=f"the Stieltjes transform (equivalent) of {_OWNER}")

    @property
    def support(self) -> tuple[tuple[float, float], ...]:
        """Intervals of the continuous part (edges to ~1e-10 relative).

        Found on a grid from the quartic branch on the real axis (inside: the followed root
        is non-real), each edge refined by 32-section; computed once.
        """
        if self._support is None:
            edges = tuple((float(a), float(b)) for a, b in self._compute_support())
            self._check_mass(edges)
            self._support = edges
        return self._support

    def _check_mass(self, edges):
        """The intervals found must carry the continuous mass ``1 - atoms`` (a light
        quadrature, 1e-6): a bulk narrower than the search grid would otherwise be lost
        without a word."""
        def density(x):
            with np.errstate(all="ignore"):
                m, _ = self._stieltjes_quartic(np.asarray(x, dtype=complex))
            return np.maximum(np.nan_to_num(m.imag), 0.0) / np.pi
        found = integrate_on_support(density, edges, n_nodes=24, rtol=1e-7) if edges else 0.0
        want = self.continuous_mass
        if not abs(found - want) <= 1e-5 * want:
            raise ConvergenceError(
                f"{self!r}: the support found, {edges}, carries mass {found:.6g} of the "
                f"continuous part's {want:.6g} (a bulk missed or not resolved); the law is "
                f"verified for aspect_ratio, width_ratio and aspect_ratio / width_ratio "
                f"within [1e-6, 1e6]")

    @property
    def _scale(self) -> float:
        """Operator-norm bound from the linear equivalent, ``||Sigma|| (1 + sqrt(c))^2``:
        the scale of the support."""
        sigma = self.zeta * (1.0 + np.sqrt(1.0 / self.psi)) ** 2 + (self.eta - self.zeta)
        return float(sigma * (1.0 + np.sqrt(self.width_ratio)) ** 2)

    def _upper_bound(self) -> float:
        return 1.2 * self._scale * (1.0 + 1e-6)

    def _bulk_centres(self):
        """Where the bulks of the law sit, from the linear equivalent (a sample
        covariance of ``n_random_features`` dimensions, ratio ``width_ratio``, population
        ``zeta W W^T + (eta - zeta) I``; its companion is ``width_ratio`` times a sample
        covariance with population ``(eta - zeta) I + zeta X^T X / n_features``): the
        population's atom ``eta - zeta`` and bulk ``zeta max(1, 1/psi) + eta - zeta``, and
        ``width_ratio`` times the companion's ``eta - zeta`` and
        ``zeta max(1, 1/phi) + eta - zeta``. Bulks there can be narrower than the global
        search grid (relative width ``~4 sqrt(ratio)``), so it is refined around them."""
        b, z, w = self.eta - self.zeta, self.zeta, self.width_ratio
        centres = [b, z * max(1.0, 1.0 / self.psi) + b, w * b,
                   w * (z * max(1.0, 1.0 / self.phi) + b), self.moment(1) / self.continuous_mass]
        return [c for c in centres if c > 0]

    def _inside(self, x):
        """``Im m(x + i0)`` is positive beyond rounding, relative to the density scale
        ``continuous_mass / _scale`` (a width ratio of 1e5 puts mass 1e-5 over a
        support of width ~1e5: ``Im m ~ 1e-10``, below any absolute threshold)."""
        m, _ = self._stieltjes_quartic(np.asarray(x, dtype=complex))
        return m.imag * self._scale > 1e-9 * self.continuous_mass

    def _compute_support(self):
        top = self._upper_bound()
        # 800 equal steps and 40 per decade down to 1e-13 * top (the bound ``top`` can
        # exceed the support by 1e3, and bulks sit decades apart for small
        # aspect_ratio / width_ratio), plus 150 points within a factor 1.5 of each place
        # where a narrow bulk can sit (:meth:`_bulk_centres`); a support reaching
        # 1e-13 * top is reported as reaching 0 (a hard edge, width_ratio = 1)
        centres = np.unique(np.round(np.log10(self._bulk_centres()), 2))   # ~2% apart
        local = [np.geomspace(c / 1.5, min(c * 1.5, top), 150) for c in 10.0 ** centres
                 if 1e-13 * top < c < top]
        grid = np.unique(np.concatenate([np.linspace(0.0, top, 801)[1:],
                                         np.geomspace(1e-13 * top, top, 13 * 40 + 1)]
                                        + local))
        with np.errstate(all="ignore"):
            inside = self._inside(grid)
        change = np.nonzero(inside[1:] != inside[:-1])[0]
        a, b = grid[change], grid[change + 1]
        entering = inside[change + 1]        # True: the support starts inside (a, b)
        if inside[0]:                        # support reaches down to 0
            a, b, entering = np.r_[0.0, a], np.r_[0.0, b], np.r_[True, entering]
        if a.size % 2 or (a.size and not entering[0]):
            raise ConvergenceError(f"{_OWNER}: could not bracket the support edges of "
                                   f"{self!r}")
        # 32-section on every bracket at once: 8 rounds shrink each bracket by 32**8 ~ 1e12
        frac = np.linspace(0.0, 1.0, 33)[1:-1]
        fixed = b <= a                        # the edge at 0 needs no refinement
        with np.errstate(all="ignore"):
            for _ in range(8):
                pts = a[:, None] + (b - a)[:, None] * frac[None, :]
                pts = np.where(fixed[:, None], 1.0, pts)
                ins = self._inside(pts.ravel()).reshape(pts.shape)
                flip = np.where(entering[:, None], ins, ~ins)   # past the edge
                first = np.where(flip.any(axis=1), flip.argmax(axis=1), frac.size)
                lo_idx = first - 1
                new_a = np.where(lo_idx >= 0, pts[np.arange(a.size), np.maximum(lo_idx, 0)], a)
                new_b = np.where(first < frac.size,
                                 pts[np.arange(a.size), np.minimum(first, frac.size - 1)], b)
                a, b = np.where(fixed, 0.0, new_a), np.where(fixed, 0.0, new_b)
        return (0.5 * (a + b)).reshape(-1, 2)

    def _sizes(self, size: int) -> tuple[int, int, int]:
        m = max(1, int(round(size / self.width_ratio)))
        n0 = max(1, int(round(self.aspect_ratio * m)))
        return n0, m, size

    def sample(self, n_features: int | None = None, seed=None, *,
               n_random_features: int | None = None, equivalent: bool = False) -> np.ndarray:
        """Eigenvalues (sorted) of one finite CK Gram matrix ``Y Y^T / n_samples``.

        The size is that of the matrix, ``n_random_features x n_random_features``: the
        first positional argument, named ``n_features`` only to share the laws' common
        ``sample(size, seed)`` surface (for a sample covariance law the matrix is
        ``n_features x n_features``), or, clearer, the keyword ``n_random_features``
        (one of the two). It is **not** the input dimension ``n_features`` of
        :meth:`from_sizes`: that is ``round(aspect_ratio * n_samples)``, with
        ``n_samples = round(n_random_features / width_ratio)``. ``W`` has i.i.d.
        ``N(0, 1/input_dim)`` entries, ``X`` i.i.d. ``N(0, 1)``. ``Y = f(W X) - E f(xi)``
        when the law knows its activation; with ``equivalent=True`` (or for a law built
        from ``eta, zeta`` only) ``Y`` is Péché's linear equivalent
        ``sqrt(zeta) W X + sqrt(eta - zeta) Z``.

        Examples
        --------
        >>> import numpy as np
        >>> from hdeq.laws import ConjugateKernelLaw
        >>> law = ConjugateKernelLaw.from_activation(np.tanh, 0.5, 0.625)
        >>> law.sample(n_random_features=200, seed=0).shape    # 320 samples, input dim 160
        (200,)
        >>> bool(np.all(law.sample(200, seed=0) == law.sample(n_random_features=200, seed=0)))
        True
        """
        where = f"{_OWNER}.sample"
        if (n_features is None) == (n_random_features is None):
            raise ValueError(
                f"{where} needs the size of the CK Gram matrix, n_random_features, once: "
                f"positionally or as n_random_features=; got n_features={n_features!r}, "
                f"n_random_features={n_random_features!r}")
        name, size = (("n_features", n_features) if n_random_features is None
                      else ("n_random_features", n_random_features))
        n1 = check_scalar(size, name, where, low=1, low_inclusive=True, integer=True)
        equivalent = check_bool(equivalent, "equivalent", where)
        rng = as_generator(seed)
        n0, m, n1 = self._sizes(n1)
        W = rng.standard_normal((n1, n0)) / np.sqrt(n0)
        X = rng.standard_normal((n0, m))
        pre = W @ X
        if self._activation is not None and not equivalent:
            if self._mean is None:
                self._mean = _activation_constants(self._activation)[0]
            Y = np.asarray(self._activation(pre), dtype=float) - self._mean
        else:
            Y = np.sqrt(self.zeta) * pre + np.sqrt(self.eta - self.zeta) * \
                rng.standard_normal((n1, m))
        if n1 <= m:
            ev = np.linalg.eigvalsh(Y @ Y.T / m)
        else:   # same nonzero spectrum from the smaller Gram, padded with zeros
            ev = np.r_[np.zeros(n1 - m), np.linalg.eigvalsh(Y.T @ Y / m)]
        return np.sort(np.maximum(ev, 0.0))
