"""Wigner's semicircle law, with closed forms for every quantity."""

from __future__ import annotations

import math

import numpy as np

from ..core._validation import (_show, as_generator, check_array, check_on_failure,
                                check_scalar)
from ._base import SpectralLaw

__all__ = ["Semicircle"]


class Semicircle(SpectralLaw):
    r"""Wigner's semicircle law of radius ``2 * scale`` (variance ``scale**2``).

    Limit of the eigenvalue distribution of a Wigner matrix ``W`` of size
    ``p = n_features``: symmetric, with independent centred entries above the
    diagonal of variance ``scale**2 / p`` (Wigner 1958; Couillet & Liao 2022,
    Thm. 2.5). :meth:`sample` draws the GOE-type matrix
    ``W = scale * (G + G.T) / sqrt(2 p)`` with ``G`` a ``p x p`` standard Gaussian
    matrix (off-diagonal variance ``scale**2 / p``, diagonal ``2 scale**2 / p``).

    Closed forms, with ``s = scale`` and ``m(z) = \int d\mu(t) / (t - z)``:

    * Stieltjes transform: the root with ``Im m > 0`` of ``s^2 m^2 + z m + 1 = 0``,
      ``m(z) = (-z + sqrt(z - 2s) sqrt(z + 2s)) / (2 s^2)`` with the *product of two
      principal square roots*, analytic on ``C \ [-2s, 2s]`` and ``~ -1/z`` at
      infinity.
    * density ``f(x) = sqrt(4 s^2 - x^2) / (2 pi s^2)`` on ``[-2s, 2s]``;
    * distribution ``F(x) = 1/2 + x sqrt(4 s^2 - x^2) / (4 pi s^2) + arcsin(x / 2s) / pi``;
    * moments ``M_{2k} = Catalan(k) s^{2k}`` (1, 2, 5, 14, ...), odd moments 0.

    Parameters
    ----------
    scale : float, default 1.0
        Positive standard deviation ``s`` of the law; support ``[-2s, 2s]``.

    Examples
    --------
    >>> from hdeq.laws import Semicircle
    >>> law = Semicircle(scale=1.0)
    >>> law.support
    ((-2.0, 2.0),)
    >>> float(law.moment(4))
    2.0
    >>> round(complex(law.stieltjes(1j)).imag, 12)          # (sqrt 5 - 1) / 2
    0.61803398875
    """

    def __init__(self, scale: float = 1.0):
        self.scale = check_scalar(scale, "scale", "Semicircle", low=0.0)

    def __repr__(self) -> str:
        return f"Semicircle(scale={self.scale!r})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.scale == self.scale

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.scale))

    # -- support and atoms ------------------------------------------------------------
    @property
    def radius(self) -> float:
        """Right edge ``2 * scale`` of the support."""
        return 2.0 * self.scale

    @property
    def support(self) -> tuple[tuple[float, float], ...]:
        """``((-2 scale, 2 scale),)``."""
        return ((-self.radius, self.radius),)

    @property
    def atoms(self) -> tuple:
        """No atoms: ``()``."""
        return ()

    # -- transforms ---------------------------------------------------------------------
    def _stieltjes(self, z):
        r"""Closed form ``m(z) = -2 / (z + sqrt(z - 2s) sqrt(z + 2s))`` for
        ``Im z >= 0`` (the base class validates ``z`` and reflects ``Im z < 0``).

        This equals ``(-z + sqrt(z - 2s) sqrt(z + 2s)) / (2 s^2)`` (multiply by the
        conjugate root; ``z + root`` never vanishes) without its cancellation at large
        ``|z|``. On ``[-2s, 2s]`` it is the boundary value ``m(x + i0)``.
        """
        z = np.asarray(z, dtype=complex)
        z = np.where(z.imag == 0, z.real + 0j, z)       # +0 imaginary part: upper limit
        root = np.sqrt(z - self.radius) * np.sqrt(z + self.radius)
        return -2.0 / (z + root)

    def stieltjes_derivative(self, z):
        """Derivative ``m'(z) = -m / (2 s^2 m + z)`` of the Stieltjes transform
        (differentiate ``s^2 m^2 + z m + 1 = 0``)."""
        z = np.asarray(z, dtype=complex)
        lower = z.imag < 0
        zu = np.where(lower, np.conj(z), z)
        m = self._stieltjes(zu)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            d = -m / (2.0 * self.scale * (self.scale * m) + zu)
        return np.where(lower, np.conj(d), d)

    def pdf(self, x, *, on_failure: str = "raise"):
        """Density ``sqrt(4 s^2 - x^2) / (2 pi s^2)`` on ``[-2s, 2s]``, 0 outside
        (closed form; ``on_failure`` is accepted for the common interface)."""
        check_on_failure(on_failure)
        x = check_array(x, "x", "Semicircle.pdf", allow_infinite=True)
        # in units of the radius, v = x / (2 s): f = sqrt(1 - v^2) / (pi s) (no
        # overflow or underflow of x^2, s^2 for huge or tiny scales)
        with np.errstate(over="ignore", under="ignore"):
            v = np.clip(x / self.radius, -1.0, 1.0)
            return np.sqrt(1.0 - v * v) / (np.pi * self.scale)

    def cdf(self, x, *, rtol: float = 1e-11, on_failure: str = "raise"):
        """Distribution function
        ``1/2 + x sqrt(4 s^2 - x^2) / (4 pi s^2) + arcsin(x / 2s) / pi`` (clipped;
        closed form, so ``rtol`` is accepted for the common interface only)."""
        check_on_failure(on_failure)
        x = check_array(x, "x", "Semicircle.cdf", allow_infinite=True)
        with np.errstate(over="ignore", under="ignore"):   # v = x / (2 s), scale-free
            v = np.clip(x / self.radius, -1.0, 1.0)
        return 0.5 + (v * np.sqrt(1.0 - v * v) + np.arcsin(v)) / np.pi

    def ppf(self, q):
        """Quantile function (inverse of :meth:`cdf`): with ``x = 2s sin(theta)``,
        ``F = 1/2 + (2 theta + sin 2 theta) / (2 pi)``, solved for ``theta`` by
        vectorized bisection to double precision."""
        q = check_array(q, "q", "Semicircle.ppf")
        if np.any((q < 0) | (q > 1)):
            raise ValueError(f"`q` of Semicircle.ppf must be in [0, 1]; got min {_show(q.min())}, "
                             f"max {_show(q.max())}")
        r = self.radius
        # Solve F(2s sin(theta)) = q for theta in [-pi/2, pi/2]:
        # F = 1/2 + (theta + sin(theta) cos(theta)) / pi  =  1/2 + (2 theta + sin 2theta)/(2 pi)
        # g(theta) = 2 theta + sin(2 theta) - 2 pi (q - 1/2) is increasing: bisection + Newton.
        target = 2.0 * np.pi * (q - 0.5)
        lo = np.full(q.shape, -np.pi / 2)
        hi = np.full(q.shape, np.pi / 2)
        for _ in range(60):  # bisection: 2^-60 * pi is below double precision
            mid = 0.5 * (lo + hi)
            g = 2.0 * mid + np.sin(2.0 * mid) - target
            lo = np.where(g < 0, mid, lo)
            hi = np.where(g < 0, hi, mid)
        return r * np.sin(0.5 * (lo + hi))

    # -- moments -----------------------------------------------------------------------
    def moment(self, k: int) -> float:
        """Raw moment ``M_k``: ``Catalan(k/2) s^k`` for even ``k``, 0 for odd ``k``."""
        k = check_scalar(k, "k", "Semicircle.moment", low=0, low_inclusive=True,
                         integer=True)
        if k % 2:
            return 0.0
        j = k // 2
        with np.errstate(over="ignore", under="ignore"):   # inf beyond the float range
            return float(math.comb(2 * j, j) // (j + 1) * np.float64(self.scale) ** k)

    @property
    def mean(self) -> float:
        """0."""
        return 0.0

    @property
    def var(self) -> float:
        """``scale**2`` (``inf`` beyond the float range)."""
        with np.errstate(over="ignore", under="ignore"):
            return float(np.float64(self.scale) ** 2)

    # -- empirical twin ----------------------------------------------------------------
    def sample(self, n_features: int, seed=None) -> np.ndarray:
        """Sorted eigenvalues of one GOE-type matrix ``scale (G + G^T) / sqrt(2 p)``,
        ``p = n_features``, ``G`` with i.i.d. N(0, 1) entries."""
        p = check_scalar(n_features, "n_features", "Semicircle.sample", low=1,
                         low_inclusive=True, integer=True)
        rng = as_generator(seed)
        g = rng.standard_normal((p, p))
        w = (g + g.T) * (self.scale / math.sqrt(2.0 * p))
        return np.linalg.eigvalsh(w)
