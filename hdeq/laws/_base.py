r"""The one surface every spectral law shares: :class:`SpectralLaw`."""

from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np

from numpy.polynomial.chebyshev import chebint, chebvander

from ..core._errors import ConvergenceError, ConvergenceWarning
from ..core._solver import SolveResult, resolve_failures
from ..core._stieltjes import adaptive_pieces, in_support, integrate_on_support
from ..core._validation import _show, check_array, check_on_failure, check_scalar

__all__ = ["SpectralLaw"]


def _chebval_at_one(coef):
    """Value at ``t = 1`` (``theta = pi``) of Chebyshev series given row-wise."""
    return coef.sum(axis=1)


def _theta(x, lo, hi):
    """Inverse of ``x = lo + (hi - lo)(1 - cos theta)/2`` on ``[lo, hi]``."""
    return np.arccos(np.clip(1.0 - 2.0 * (x - lo) / (hi - lo), -1.0, 1.0))


class SpectralLaw:
    r"""Base class of limiting spectral laws (probability measures on the real line).

    Convention: :math:`m(z) = \int d\mu(t) / (t - z)`, so ``Im m > 0`` when
    ``Im z > 0`` and ``m(z) ~ -1/z`` at infinity (DESIGN.md, theory note linear.md §1).

    **What a subclass must implement**

    ``_stieltjes(z)``
        ``z``: 1-D complex array with ``Im z >= 0``, no point at an atom. Return
        ``m(z)`` as a complex array of the same length, or a
        :class:`~hdeq.core.SolveResult` (then failures are turned into
        ``ConvergenceError`` / NaN + warning by the base). For *real* ``z`` it must
        return the boundary value ``m(x + i0)`` (``Im m = pi * density``), also on the
        support: the base uses this for :meth:`pdf`, :meth:`cdf` and :meth:`moment`.
    ``support`` (property)
        Sorted tuple of disjoint ``(left, right)`` intervals carrying the absolutely
        continuous part (empty tuple if none).
    ``atoms`` (property)
        Tuple of ``(location, mass)`` pairs with ``mass > 0`` (empty if none).
    ``sample(n_features, seed=None)``
        Eigenvalues of one finite random matrix of that kind (the empirical twin):
        sorted 1-D float array whose length is the first argument, the dimension of
        the matrix whose spectrum the law describes. That is ``n_features`` for the
        sample-covariance laws (``X^T X / n_samples`` is ``n_features x n_features``)
        and ``n_random_features`` for :class:`ConjugateKernelLaw` (which also takes it
        as the keyword ``n_random_features``); each law's ``sample`` says which, and
        how the other sizes follow from its ratios.

    **What the base provides** (override with closed forms where they exist):
    :meth:`stieltjes` (validation, reflection ``m(conj z) = conj m(z)``, errors on
    the support), :meth:`pdf` (``Im m(x + i0) / pi`` on the support, 0 outside),
    :meth:`cdf` (quadrature over the support with a cosine substitution that
    handles square-root edges, plus atoms), :meth:`moment` (same quadrature plus
    atoms), :attr:`mean`, :attr:`var`. ``_quad_nodes`` sets the number of
    Gauss-Legendre nodes per interval (96), ``_cdf_max_pieces`` the piece budget of
    the adaptive cdf quadrature (512, plus 8 per support interval).

    Laws are immutable values: validate parameters in ``__init__`` and never
    change them afterwards (``cached_property`` is used for derived quantities).
    """

    _quad_nodes: int = 96
    _cdf_max_pieces: int = 512

    # ---------------------------------------------------------------- to implement
    def _stieltjes(self, z: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def support(self) -> tuple[tuple[float, float], ...]:  # pragma: no cover
        raise NotImplementedError

    @property
    def atoms(self) -> tuple[tuple[float, float], ...]:  # pragma: no cover
        raise NotImplementedError

    def sample(self, n_features: int, seed=None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    # ---------------------------------------------------------------- helpers
    @property
    def _owner(self) -> str:
        return type(self).__name__

    @cached_property
    def _atom_locations(self) -> np.ndarray:
        return np.array([a for a, _ in self.atoms], dtype=float)

    @cached_property
    def _atom_masses(self) -> np.ndarray:
        return np.array([w for _, w in self.atoms], dtype=float)

    @cached_property
    def continuous_mass(self) -> float:
        """Mass of the absolutely continuous part, ``1 - sum of atom masses``."""
        return float(1.0 - self._atom_masses.sum())

    def _call_stieltjes(self, z: np.ndarray, on_failure: str, what: str) -> np.ndarray:
        out = self._stieltjes(z)
        if isinstance(out, SolveResult):
            out = resolve_failures(out, on_failure, what=f"{what} of {self._owner}")
        return np.asarray(out, dtype=complex)

    # ---------------------------------------------------------------- public surface
    def stieltjes(self, z, *, on_failure: str = "raise") -> np.ndarray:
        r"""Stieltjes transform :math:`m(z) = \int d\mu(t) / (t - z)`.

        Parameters
        ----------
        z : array_like of complex, any shape
            Points off the support. ``Im z < 0`` is handled by reflection
            ``m(conj z) = conj m(z)``; real ``z`` outside the support and away from
            the atoms is allowed (``m`` is then real).
        on_failure : {"raise", "nan"}
            What to do where a numerical solver does not converge: raise
            :class:`~hdeq.core.ConvergenceError`, or return NaN there with one
            :class:`~hdeq.core.ConvergenceWarning`.

        Returns
        -------
        ndarray of complex, shape of ``z`` (0-d for a scalar).

        Raises
        ------
        ValueError
            If a real ``z`` lies on the support or at an atom (the transform is not
            defined there: use ``Im z > 0`` or :meth:`pdf`).
        """
        check_on_failure(on_failure)
        z = check_array(z, "z", self._owner, allow_complex=True).astype(complex)
        shape = z.shape
        zf = z.ravel()
        real = zf.imag == 0
        if np.any(real):
            xr = zf.real[real]
            on = in_support(xr, self.support)
            if self.atoms:
                on |= np.isin(xr, self._atom_locations)
            if np.any(on):
                bad = xr[on][0]
                raise ValueError(
                    f"`z` of {self._owner}.stieltjes must be off the support and the "
                    f"atoms for real z (support {self.support}, atoms at "
                    f"{tuple(self._atom_locations.tolist())}); got z = {_show(bad)}. Use "
                    f"Im z > 0, or pdf(x) for the density")
        lower = zf.imag < 0
        zu = np.where(lower, np.conj(zf), zf)
        m = self._call_stieltjes(zu, on_failure, "the Stieltjes transform")
        m = np.where(lower, np.conj(m), m)
        m[real] = m[real].real                        # real off the support
        return m.reshape(shape)

    def pdf(self, x, *, on_failure: str = "raise") -> np.ndarray:
        r"""Density of the absolutely continuous part, :math:`\operatorname{Im} m(x + i0)/\pi`.

        Taken on the real axis exactly (the boundary value, no smoothing width); 0
        outside the support. At an atom the value is the density of the continuous
        part only (finite, no warning). Array in, array out (shape of ``x``).
        """
        check_on_failure(on_failure)
        x = check_array(x, "x", self._owner, allow_infinite=True)
        out = np.zeros(x.shape)
        xf = x.ravel()
        inside = np.zeros(xf.shape, dtype=bool)
        for a, b in self.support:
            inside |= (xf > a) & (xf < b)
        if np.any(inside):
            xi = xf[inside]
            if self.atoms:
                at = np.isin(xi, self._atom_locations)
                # density of the continuous part at an atom: the limit from the right
                xi = np.where(at, xi + 1e-9 * (1.0 + np.abs(xi)), xi)
            m = self._call_stieltjes(xi.astype(complex), on_failure, "the density")
            dens = np.maximum(m.imag, 0.0) / np.pi
            out.ravel()[np.flatnonzero(inside)] = dens
        return out.reshape(x.shape)

    def cdf(self, x, *, rtol: float = 1e-11, on_failure: str = "raise") -> np.ndarray:
        r"""Distribution function :math:`\mu((-\infty, x])`, atoms included.

        Each support interval is split adaptively into pieces whose masses are
        accurate to ``rtol`` (:func:`hdeq.core.adaptive_pieces`; above 1e-8 a
        lighter rule is used, e.g. ``rtol=1e-6`` for a Kolmogorov distance, many times
        cheaper for populations with many distinct eigenvalues); inside a piece,
        the integrand in :math:`\theta` after the substitution
        :math:`x = a + (b - a)(1 - \cos\theta)/2` (smooth for square-root edges) is
        interpolated once by a Chebyshev series, whose antiderivative gives the cdf at
        any number of points with no further density evaluation. Plus the masses of
        the atoms ``<= x``. Clipped to [0, 1].

        If the density cannot be computed at a quadrature node the cdf is not known
        inside the support: ``on_failure="raise"`` raises the
        :class:`~hdeq.core.ConvergenceError`, ``"nan"`` returns NaN for ``x`` strictly
        between the first and the last support edge (outside, the cdf is exact from the
        atoms and the continuous mass) with one :class:`~hdeq.core.ConvergenceWarning`.
        """
        check_on_failure(on_failure)
        x = check_array(x, "x", self._owner, allow_infinite=True)
        xf = x.ravel()
        out = np.zeros(xf.shape)
        for loc, mass in self.atoms:
            out += mass * (xf >= loc)
        rtol = check_scalar(rtol, "rtol", f"{self._owner}.cdf", low=0.0, high=1e-2,
                            high_inclusive=True)
        try:
            pieces = self._cdf_pieces("raise", max(rtol, 1e-13))
        except ConvergenceError as exc:
            if on_failure == "raise":
                raise
            lo, hi = self.support[0][0], self.support[-1][1]
            out += self.continuous_mass * (xf >= hi)
            out[(xf > lo) & (xf < hi)] = np.nan
            warnings.warn(f"{exc}; the cdf of {self._owner} is NaN inside the support",
                          ConvergenceWarning, stacklevel=2)
            return np.clip(out, 0.0, 1.0).reshape(x.shape)
        if pieces is not None:
            lo, hi, coef = pieces
            # mass of the pieces entirely to the left of each x, plus the partial piece
            cum = np.concatenate([[0.0], np.cumsum(_chebval_at_one(coef))])
            k = np.searchsorted(hi, xf, side="right")  # pieces with hi <= x are full
            out += cum[k]
            part = (k < lo.size) & (xf > lo[np.minimum(k, lo.size - 1)])
            if np.any(part):
                j = k[part]
                t = 2.0 * _theta(xf[part], lo[j], hi[j]) / np.pi - 1.0
                out[part] += np.sum(chebvander(t, coef.shape[1] - 1) * coef[j], axis=1)
        return np.clip(out, 0.0, 1.0).reshape(x.shape)

    def _cdf_pieces(self, on_failure="raise", rtol: float = 1e-11):
        """The continuous part's cdf as piecewise Chebyshev series (cached).

        The support is partitioned adaptively (:func:`hdeq.core.adaptive_pieces`,
        Gauss-Legendre rules of ``n`` and ``2n`` nodes agreeing to ``rtol``, with
        ``n = _quad_nodes``, or 24 nodes when ``rtol > 1e-8``); on
        each piece ``[lo, hi]`` the integrand in ``theta`` (``x = lo + (hi - lo)(1 -
        cos theta)/2``, smooth at square-root edges) is interpolated at Chebyshev
        points and integrated term by term. Returns ``(lo, hi, coef)`` with ``coef``
        the coefficients (one row per piece) of the antiderivative in
        ``t = 2 theta/pi - 1``, vanishing at ``theta = 0``; None for no support.
        """
        cache = self.__dict__.setdefault("_cdf_cache", {})
        if rtol not in cache:
            pdf = lambda t: self.pdf(t, on_failure=on_failure)  # noqa: E731
            nodes = self._quad_nodes if rtol <= 1e-8 else 24
            parts = adaptive_pieces(pdf, self.support, n_nodes=nodes, rtol=rtol,
                                    max_pieces=self._cdf_max_pieces)
            if not parts:
                cache[rtol] = None
                return None
            lo = np.array([a for a, _, _ in parts])
            hi = np.array([b for _, b, _ in parts])
            deg = 2 * nodes
            t = np.cos(np.pi * (np.arange(deg + 1) + 0.5) / (deg + 1))  # Chebyshev points
            theta = (t + 1.0) * np.pi / 2.0
            x = lo[:, None] + (hi - lo)[:, None] * (1.0 - np.cos(theta)) / 2.0
            dens = pdf(x.ravel()).reshape(x.shape)
            # integrand in t: pdf(x) dx/dtheta dtheta/dt
            f = dens * (hi - lo)[:, None] / 2.0 * np.sin(theta) * (np.pi / 2.0)
            values_to_coef = chebvander(t, deg)  # exact interpolation at deg + 1 points
            coef = np.linalg.solve(values_to_coef, f.T).T
            anti = chebint(coef, lbnd=-1.0, axis=1)
            cache[rtol] = (lo, hi, anti)
        return cache[rtol]

    def _interval_mass(self, a, b, on_failure="raise") -> float:
        """Mass of the continuous part on the support interval ``[a, b]``."""
        lo, hi, coef = self._cdf_pieces(on_failure)
        inside = (lo >= a) & (hi <= b)
        return float(np.sum(_chebval_at_one(coef[inside])))

    def moment(self, k: int) -> float:
        r"""Moment :math:`M_k = \int t^k d\mu(t)` (atoms included).

        Base implementation: adaptive quadrature of ``t^k pdf(t)`` on the support
        (:func:`hdeq.core.integrate_on_support`, relative accuracy about 1e-11) plus
        ``sum_atoms loc^k mass``.
        """
        k = check_scalar(k, "k", f"{self._owner}.moment", low=0, low_inclusive=True,
                         integer=True)
        if k == 0:
            return 1.0
        total = float(np.sum(self._atom_masses * self._atom_locations ** k))
        total += integrate_on_support(lambda t: t ** k * self.pdf(t), self.support,
                                      n_nodes=self._quad_nodes)
        return total

    @property
    def mean(self) -> float:
        """First moment."""
        return self.moment(1)

    @property
    def var(self) -> float:
        """Variance ``M_2 - M_1^2``."""
        return self.moment(2) - self.moment(1) ** 2
