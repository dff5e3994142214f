r"""The Marchenko-Pastur law, with closed forms for every quantity."""

from __future__ import annotations

import math

import numpy as np

from ..core._validation import as_generator, check_array, check_scalar
from ._base import SpectralLaw

__all__ = ["MarchenkoPastur"]


def _gram_eigenvalues(X: np.ndarray) -> np.ndarray:
    """Sorted eigenvalues of ``X.T @ X / n_samples`` (length ``n_features``),
    computed from the smaller Gram matrix; tiny negative round-off clipped to 0."""
    n, p = X.shape
    if n >= p:
        ev = np.linalg.eigvalsh(X.T @ X / n)
    else:
        ev = np.concatenate([np.zeros(p - n), np.linalg.eigvalsh(X @ X.T / n)])
    return np.sort(np.maximum(ev, 0.0))


def _n_samples_for(n_features: int, aspect_ratio: float) -> int:
    return max(1, int(round(n_features / aspect_ratio)))


class MarchenkoPastur(SpectralLaw):
    r"""Marchenko-Pastur law: spectrum of ``X.T @ X / n_samples`` (``p x p``).

    ``X`` is ``(n_samples, n_features)`` with i.i.d. centred entries of variance
    ``scale``; ``aspect_ratio = c = n_features / n_samples``; the law is the limit of
    the ``p = n_features`` eigenvalues (Marcenko & Pastur 1967; theory note linear.md
    §2). With ``s = scale``, ``a = s (1 - sqrt c)^2``, ``b = s (1 + sqrt c)^2``:

    * density :math:`f(x) = \sqrt{(b - x)(x - a)} / (2\pi c s x)` on ``[a, b]``;
    * atom ``1 - 1/c`` at 0 when ``c > 1``;
    * Stieltjes transform, root with ``Im m > 0`` of :math:`c s z m^2 - (s(1 - c) - z) m + 1 = 0`:
      :math:`m(z) = (s(1 - c) - z + \sqrt{z - a}\sqrt{z - b}) / (2 c s z)` with the
      *product of two principal square roots* (analytic off ``[a, b]``; a single
      root of the product has a spurious cut at ``Re z = s(1 + c)``);
    * moments (Narayana polynomials)
      :math:`M_k = s^k \sum_{j=0}^{k-1} \frac{c^j}{j+1}\binom{k}{j}\binom{k-1}{j}`:
      1, 1 + c, 1 + 3c + c^2, ... (including the atom).

    Parameters
    ----------
    aspect_ratio : float
        ``c = n_features / n_samples`` in (0, inf).
    scale : float, default 1.0
        Variance of the entries of ``X``.

    Examples
    --------
    >>> from hdeq.laws import MarchenkoPastur
    >>> law = MarchenkoPastur(0.5)
    >>> [round(e, 6) for e in law.support[0]]
    [0.085786, 2.914214]
    >>> round(float(law.stieltjes(-1.0).real), 6)        # theory note §2 oracle
    0.561553
    >>> law.moment(3)
    2.75
    """

    def __init__(self, aspect_ratio: float, scale: float = 1.0):
        self.aspect_ratio = check_scalar(aspect_ratio, "aspect_ratio", "MarchenkoPastur",
                                         low=0.0)
        self.scale = check_scalar(scale, "scale", "MarchenkoPastur", low=0.0)

    def __repr__(self) -> str:
        return f"MarchenkoPastur(aspect_ratio={self.aspect_ratio!r}, scale={self.scale!r})"

    def __eq__(self, other) -> bool:
        return (type(other) is type(self) and other.aspect_ratio == self.aspect_ratio
                and other.scale == self.scale)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.aspect_ratio, self.scale))

    # ------------------------------------------------------------------ support
    @property
    def edges(self) -> tuple[float, float]:
        """``(s (1 - sqrt c)^2, s (1 + sqrt c)^2)``."""
        a, b = _unit_edges(self.aspect_ratio)
        return (self.scale * a, self.scale * b)

    @property
    def support(self) -> tuple[tuple[float, float], ...]:
        return (self.edges,)

    @property
    def atoms(self) -> tuple[tuple[float, float], ...]:
        """``((0.0, 1 - 1/c),)`` when ``c > 1``, else ``()`` (as ``(c - 1)/c``: exact to
        rounding also for ``c`` next to 1, where ``1 - 1/c`` cancels)."""
        c = self.aspect_ratio
        return ((0.0, (c - 1.0) / c),) if c > 1 else ()

    # ------------------------------------------------------------------ transforms
    def _stieltjes(self, z: np.ndarray) -> np.ndarray:
        # computed for scale 1 at u = z / s and scaled back, m(z) = m_1(z / s) / s
        # (no overflow for scales like 1e-200 or 1e200); |u| > 1e150: m = -1/z to
        # rounding (the next term is M_1 / z^2)
        c, s = self.aspect_ratio, self.scale
        a, b = _unit_edges(c)
        z = np.asarray(z, dtype=complex)
        with np.errstate(over="ignore", invalid="ignore"):
            u = z / s
            far = ~(np.abs(u) <= 1e150)
        u = np.where(far, 1.0, u)
        S = np.sqrt(u - a) * np.sqrt(u - b)
        n1 = (1.0 - c) - u + S
        n2 = (1.0 - c) - u - S
        # m = n1 / (2 c u) = 2 / n2 (product of the two roots is 1/(c u)); use
        # the form without cancellation (|n1| small near z = 0 when c < 1).
        use1 = np.abs(n1) >= np.abs(n2)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            m = np.where(use1, n1 / (2.0 * c * u), 2.0 / n2) / s
            m = np.where(far, -1.0 / z, m)
        return m

    def stieltjes_derivative(self, z):
        """Derivative ``m'(z) = -(c s m^2 + m) / (2 c s z m + z - s (1 - c))`` of the
        Stieltjes transform (differentiate ``c s z m^2 - (s(1 - c) - z) m + 1 = 0``;
        written with ``s m`` and ``z / s`` so that no scale overflows).

        Used by the free convolutions' Newton steps: a finite-difference derivative
        (relative error ~1e-8) made the subordination solve stall within ~1e-6 of an
        edge where its derivative nearly vanishes (support of ``H ⊠ MP`` not found).
        """
        z = np.asarray(z, dtype=complex)
        lower = z.imag < 0
        zu = np.where(lower, np.conj(z), z)
        c, s = self.aspect_ratio, self.scale
        with np.errstate(all="ignore"):
            sm = s * self._stieltjes(zu)                 # m_1(u), u = z / s
            u = zu / s
            d = -(c * sm * sm + sm) / (2.0 * c * u * sm + u - (1.0 - c)) / (s * s)
        return np.where(lower, np.conj(d), d)

    def companion_stieltjes(self, z, *, on_failure: str = "raise") -> np.ndarray:
        r"""Stieltjes transform of the ``n x n`` companion ``X X^T / n_samples``.

        :math:`\tilde m(z) = c\, m(z) - (1 - c)/z` (theory note linear.md §2),
        evaluated without cancellation as the transform of the companion law itself,
        ``MarchenkoPastur(1/c, scale = c s)`` (``X X^T/n = c X X^T/p``).
        """
        return self.companion_law.stieltjes(z, on_failure=on_failure)

    @property
    def companion_law(self) -> "MarchenkoPastur":
        """The ``n x n`` companion spectrum: ``MarchenkoPastur(1/c, c * scale)``."""
        c = self.aspect_ratio
        return MarchenkoPastur(1.0 / c, c * self.scale)

    def pdf(self, x, *, on_failure: str = "raise") -> np.ndarray:
        r"""Closed form :math:`\sqrt{(b - x)(x - a)} / (2 \pi c s x)` on ``(a, b)``, else 0."""
        x = check_array(x, "x", self._owner, allow_infinite=True)
        a, b = self.edges
        inside = (x > a) & (x < b)
        # in units of the scale, v = x / s (no overflow of (b - x)(x - a) for huge s)
        a1, b1 = _unit_edges(self.aspect_ratio)
        v = np.clip(np.where(inside, x, 0.5 * (a + b)) / self.scale, a1, b1)
        dens = np.sqrt((b1 - v) * (v - a1)) / (2 * np.pi * self.aspect_ratio * v)
        with np.errstate(over="ignore", under="ignore"):
            return np.where(inside, dens / self.scale, 0.0)

    def moment(self, k: int) -> float:
        """Narayana moments ``s^k sum_j c^j/(j+1) C(k,j) C(k-1,j)`` (exact)."""
        k = check_scalar(k, "k", "MarchenkoPastur.moment", low=0, low_inclusive=True,
                         integer=True)
        if k == 0:
            return 1.0
        c = self.aspect_ratio
        total = sum(c ** j / (j + 1) * math.comb(k, j) * math.comb(k - 1, j)
                    for j in range(k))
        with np.errstate(over="ignore", under="ignore"):   # inf beyond the float range
            return float(np.float64(self.scale) ** k * total)

    @property
    def var(self) -> float:
        """``c s^2`` (``inf`` beyond the float range)."""
        with np.errstate(over="ignore", under="ignore"):
            return float(self.aspect_ratio * np.float64(self.scale) ** 2)

    # ------------------------------------------------------------------ twin
    def sample(self, n_features: int, seed=None) -> np.ndarray:
        """Eigenvalues of ``X.T @ X / n_samples`` for one Gaussian ``X``.

        ``X`` has shape ``(n_samples, n_features)`` with ``n_samples =
        round(n_features / aspect_ratio)`` (at least 1) and i.i.d. ``N(0, scale)``
        entries. Returns the ``n_features`` eigenvalues sorted ascending.
        """
        p = check_scalar(n_features, "n_features", "MarchenkoPastur.sample", low=1,
                         low_inclusive=True, integer=True)
        rng = as_generator(seed)
        n = _n_samples_for(p, self.aspect_ratio)
        X = rng.standard_normal((n, p)) * math.sqrt(self.scale)
        return _gram_eigenvalues(X)


def _unit_edges(c: float) -> tuple[float, float]:
    """Edges ``((1 - sqrt c)^2, (1 + sqrt c)^2)`` of the unit-scale law, the lower one as
    ``((1 - c)/(1 + sqrt c))^2``: ``1 - c`` is exact next to ``c = 1``, where ``1 - sqrt
    c`` loses the digits of ``c`` (relative error 1.7e-7 at ``c = 1 - 1e-9``)."""
    r = math.sqrt(c)
    return ((1.0 - c) / (1.0 + r)) ** 2, (1.0 + r) ** 2
