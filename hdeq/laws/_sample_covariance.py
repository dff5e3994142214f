r"""Generalized Marchenko-Pastur law: sample covariance of any population spectrum."""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from ..core._solver import SolveResult, solve_stieltjes
from ..core._stieltjes import rounding_zero_rtol, sample_covariance_edges
from ..core._validation import (_show, as_generator, check_array, check_on_failure,
                                check_population, check_scalar)
from ..core._workspace import work_arrays
from ._base import SpectralLaw
from ._marchenko_pastur import _gram_eigenvalues, _n_samples_for

__all__ = ["SampleCovarianceLaw"]

_DIRECT_MAX_ATOMS = 256      # above this: coarse-population start + full Newton polish
_COARSE_ATOMS = 96
_CHUNK_ELEMENTS = 1 << 16    # elements of the (points x atoms) work arrays per chunk


def _silverstein_terms(m, t, w, wt, wt2, wt3, derivative=True):
    r"""``T1 = sum_j w_j / (1 + t_j m)`` and ``T2 = sum_j w_j t_j / (1 + t_j m)^2``.

    Vectorized over 1-D complex ``m`` and the atoms ``t`` (``wt = w t``, ...), in real
    arithmetic, chunked so the (points x atoms) work arrays stay in cache. ``T1`` is
    computed from ``conj(d)/|d|^2``, ``d = 1 + t m``, term by term (accurate); ``T2``
    (only the Newton derivative) from moments of ``1/|d|^4``.
    """
    a = m.real
    b = m.imag
    T1 = np.empty(m.size, complex)
    T2 = np.empty(m.size, complex) if derivative else None
    K = t.size
    rows = max(1, _CHUNK_ELEMENTS // max(K, 1))
    W2 = np.stack([wt, wt2, wt3], axis=1) if derivative else None
    work = work_arrays("silverstein_terms", 4, (min(rows, m.size), K))
    for s in range(0, m.size, rows):
        sl = slice(s, s + rows)
        aa, bb = a[sl, None], b[sl, None]
        dr, di, q, tmp = (v[:aa.shape[0]] for v in work)
        np.multiply(t, aa, out=dr)
        dr += 1.0
        np.multiply(t, bb, out=di)
        np.multiply(dr, dr, out=q)
        q += np.multiply(di, di, out=tmp)
        np.reciprocal(q, out=q)
        dr *= q
        di *= q
        T1[sl] = (dr @ w) - 1j * (di @ w)
        if derivative:
            q *= q
            R = q @ W2                     # sum w t |d|^-4 t^k, k = 0, 1, 2
            A, B = a[sl], b[sl]
            T2[sl] = (R[:, 0] + 2 * A * R[:, 1] + (A * A - B * B) * R[:, 2]
                      - 2j * (B * R[:, 1] + A * B * R[:, 2]))
    return T1, T2


class SampleCovarianceLaw(SpectralLaw):
    r"""Limiting spectrum of a sample covariance matrix (generalized Marchenko-Pastur).

    Eigenvalues of ``X.T @ X / n_samples`` (``p x p``, ``p = n_features``) where the
    rows of ``X`` (``n_samples x n_features``) are i.i.d. with covariance ``C`` whose
    spectrum tends to the population law ``H``; ``aspect_ratio = c = n_features /
    n_samples`` (Silverstein & Bai 1995; theory note linear.md §3.1). The companion
    transform ``mt`` (of the ``n x n`` matrix ``X X^T / n_samples``) is the root
    with ``Im mt > 0`` of the Silverstein-Choi equation

    .. math:: z = -\frac{1}{\tilde m} + c \int \frac{t\,dH(t)}{1 + t \tilde m},

    solved by Newton with continuation (:func:`hdeq.core.solve_stieltjes`), and the
    ``p x p`` transform is
    :math:`m(z) = -\int dH(t) / (z + t\, z\tilde m(z))` (equal to
    ``(mt + (1 - c)/z)/c``, written without the cancellation near 0). Edges by
    Silverstein-Choi critical points (:func:`hdeq.core.sample_covariance_edges`).

    Atoms: with ``w0 = H({0})`` (zero population eigenvalues), the ``p x p`` law
    has an atom at 0 of mass ``max(w0, 1 - 1/c)`` (rank of the sample covariance
    is ``min(n, (1 - w0) p)``), and the companion one of mass
    ``max(0, 1 - c (1 - w0))``.

    Scale and spread of the population. The law of ``s C`` is the law of ``C``
    scaled by ``s``, so everything is computed for the population divided by its
    largest eigenvalue ``t_max`` (attribute ``population_scale``) and scaled back
    (``support``, ``stieltjes``, ``pdf``, ``cdf``, ``sample``): ``t_max = 1e300`` or
    ``1e-300`` cost nothing in accuracy. Spreads are resolved down to rounding:
    population eigenvalues ``<= zero_rtol * t_max``, by default ``K * eps`` for ``K``
    distinct eigenvalues (:func:`hdeq.core._stieltjes.rounding_zero_rtol`: the float64
    rounding level of the eigenvalues of a ``K x K`` covariance matrix, the default
    tolerance of ``numpy.linalg.matrix_rank``; ``4.4e-16`` for two eigenvalues,
    ``1.7e-13`` for 784), are treated as **exact zeros**: their mass ``w0``
    (attribute ``zero_weight``; the part that was positive is ``snapped_weight``)
    joins the atom at 0 and the companion's atom. Everything above is kept, e.g.
    ``H = (delta_1 + delta_1e13)/2``, ``c = 0.3`` has two bulks, the lower one
    ``[0.2859, 1.714]``, and no atom. Pass a larger ``zero_rtol`` to merge
    eigenvalues you know to be noise into the atom at 0 (honoured as given: the cdf
    then changes only below a few times ``zero_rtol * t_max``), or ``zero_rtol=0`` to
    keep every positive eigenvalue.
    :meth:`moment` uses the population as given (closed form, exact), :meth:`sample`
    too.

    For many distinct population eigenvalues (``K > 256``), points are first solved
    for a coarse population (96 equal-mass groups, group means), then polished by
    Newton on the full population; points where the polish fails are solved again
    with full continuation on the full population. Each Newton iteration is one
    vectorized (active points x K) array operation.

    Parameters
    ----------
    population : array_like, (values, weights) pair, or SpectralLaw
        Eigenvalues of ``C`` (equal weights; repeated values are merged), a pair of
        eigenvalues and weights summing to one, or a law. A law is discretized into
        ``n_atoms`` atoms: its atoms are kept, and its continuous part is cut into
        equal-mass bins by quadrature of its ``pdf``, each bin replaced by its mean.
    aspect_ratio : float
        ``c = n_features / n_samples`` in (0, inf).
    n_atoms : int, default 1000
        Number of atoms used to discretize a population given as a law.
    zero_rtol : float, optional
        Population eigenvalues ``<= zero_rtol * max`` are treated as zeros (above);
        default ``K * eps`` (rounding level). The value used is the attribute
        ``zero_rtol``.

    Examples
    --------
    >>> from hdeq.laws import SampleCovarianceLaw
    >>> law = SampleCovarianceLaw(([1.0, 3.0, 10.0], [0.5, 0.3, 0.2]), 0.3)
    >>> [tuple(round(e, 4) for e in iv) for iv in law.support]   # theory note §3.6
    [(0.2716, 1.5736), (1.6111, 4.88), (6.3231, 16.0177)]
    >>> round(float(law.delta(-2.0).real), 6)
    0.168466
    >>> round(float(law.pdf(2.0)), 7)
    0.1262633
    """

    def __init__(self, population, aspect_ratio: float, *, n_atoms: int = 1000,
                 zero_rtol: float | None = None):
        owner = "SampleCovarianceLaw"
        self.aspect_ratio = check_scalar(aspect_ratio, "aspect_ratio", owner, low=0.0)
        self.n_atoms = check_scalar(n_atoms, "n_atoms", owner, low=1,
                                    low_inclusive=True, integer=True)
        if zero_rtol is not None:
            zero_rtol = check_scalar(zero_rtol, "zero_rtol", owner, low=0.0, high=1.0,
                                     low_inclusive=True)
        pop = check_population(population, "population", owner)
        if isinstance(pop, tuple):
            values, weights = pop
            self.population_law = None
        else:
            self.population_law = pop
            values, weights = _discretize_law(pop, self.n_atoms)
        self.population_values = values
        self.population_weights = weights
        self.population_values.setflags(write=False)
        self.population_weights.setflags(write=False)
        self.zero_rtol = (rounding_zero_rtol(values.size) if zero_rtol is None
                          else zero_rtol)
        # internal units: population / t_max; tiny eigenvalues snapped to zero
        self.population_scale = float(values.max())
        self._unit_values = values / self.population_scale
        pos = self._unit_values > self.zero_rtol
        self._t = self._unit_values[pos]
        self._w = weights[pos]
        self.zero_weight = float(weights[~pos].sum())
        self.snapped_weight = float(weights[~pos & (values > 0)].sum())
        c = self.aspect_ratio
        self._scale = float((1.0 + math.sqrt(c)) ** 2)      # internal units

    def __repr__(self) -> str:
        k = self.population_values.size
        return (f"SampleCovarianceLaw(<population with {k} distinct eigenvalues>, "
                f"aspect_ratio={self.aspect_ratio!r})")

    @property
    def _cdf_max_pieces(self) -> int:
        """Piece budget of the cdf quadrature: a bulk spread over many decades has a
        bump per population eigenvalue (geometric populations of 300 to 1000 values
        over 11 to 13 decades need 2 to 3 pieces each)."""
        return 512 + 4 * self._t.size

    # ------------------------------------------------------------------ support
    @cached_property
    def support(self) -> tuple[tuple[float, float], ...]:
        """Intervals of the continuous part (Silverstein-Choi critical points)."""
        u = self.population_scale
        return tuple((a * u, b * u) for a, b in self._unit_support)

    @cached_property
    def _unit_support(self):
        return sample_covariance_edges(self._t, self._w, self.aspect_ratio, zero_rtol=0.0)

    @cached_property
    def _unit_law(self):
        """The same law for the population divided by ``population_scale``."""
        if self.population_scale == 1.0:
            return self
        return SampleCovarianceLaw((self._unit_values, self.population_weights),
                                   self.aspect_ratio, zero_rtol=self.zero_rtol)

    def _to_unit(self, x):
        """``x / population_scale`` as floats clipped to +-1e300 (far outside the
        support of the unit law, which lies in [0, (1 + sqrt c)^2])."""
        with np.errstate(over="ignore"):
            return np.clip(x / self.population_scale, -1e300, 1e300)

    # ------------------------------------------------------------------ pdf / cdf
    def pdf(self, x, *, on_failure: str = "raise") -> np.ndarray:
        """Density, computed for the unit population and scaled back (class docstring)."""
        if self._unit_law is self:
            return super().pdf(x, on_failure=on_failure)
        check_on_failure(on_failure)
        x = check_array(x, "x", self._owner, allow_infinite=True)
        dens = self._unit_law.pdf(self._to_unit(x), on_failure=on_failure)
        with np.errstate(over="ignore"):
            return dens / self.population_scale

    def cdf(self, x, *, rtol: float = 1e-11, on_failure: str = "raise") -> np.ndarray:
        """Distribution function, computed for the unit population (scale-free);
        exactly 1 at and beyond the right edge of the support. ``rtol`` as in
        :meth:`SpectralLaw.cdf`."""
        if self._unit_law is self:
            out = super().cdf(x, rtol=rtol, on_failure=on_failure)
            top = self._unit_support[-1][1] if self._unit_support else 0.0
            out[np.asarray(x, dtype=float) >= top] = 1.0
            return out
        check_on_failure(on_failure)
        x = check_array(x, "x", self._owner, allow_infinite=True)
        return self._unit_law.cdf(self._to_unit(x), rtol=rtol, on_failure=on_failure)

    def _interval_mass(self, a, b, on_failure="raise") -> float:
        if self._unit_law is self:
            return super()._interval_mass(a, b, on_failure)
        u = self.population_scale
        return self._unit_law._interval_mass(a / u, b / u, on_failure)

    @property
    def atoms(self) -> tuple[tuple[float, float], ...]:
        """``((0.0, max(w0, 1 - 1/c)),)`` when that mass is positive, else ``()``."""
        mass = max(self.zero_weight, 1.0 - 1.0 / self.aspect_ratio)
        return ((0.0, float(mass)),) if mass > 1e-15 else ()

    @property
    def companion_atom_mass(self) -> float:
        """Mass ``max(0, 1 - c (1 - w0))`` of the companion law at 0."""
        return max(0.0, 1.0 - self.aspect_ratio * (1.0 - self.zero_weight))

    # ------------------------------------------------------------------ solver
    @staticmethod
    def _equation(t, w, c):
        r"""Silverstein-Choi equation ``F(mt, z) = phi(mt) - z`` and ``dF/dmt`` for the
        positive atoms ``t`` (weights ``w``, summing to ``1 - w0``), written without
        cancellation: with ``sum_j w_j t_j/(1 + t_j m) = (sum_j w_j - T1)/m``,

        .. math:: \varphi(m) = -\frac1m + c\sum_j \frac{w_j t_j}{1 + t_j m}
                  = -\frac{a + c T_1}{m}, \qquad
                  \varphi'(m) = \frac{a + c T_1}{m^2} + \frac{c T_2}{m},

        ``a = 1 - c (1 - w0)``, ``T1 = sum w/(1 + t m)``, ``T2 = sum w t/(1 + t m)^2``.
        The textbook form ``-1/m + c S1`` cancels where ``|z m| << 1`` without a
        companion atom (``c (1 - w0) = 1``, ``mt ~ z^(-1/2)``): below ``|z| ~ 1e-30``
        its rounding (``1e-16 |1/m|``) exceeded ``z`` and a wrong ``mt`` passed the
        residual test (density 1e-34 times too small at ``x = 1e-100``). The residual
        is relative to the size of these terms, ``|z| + (|a| + c |T1|)/|m|``, not to
        ``|z| + |1/m|`` (which any ``|m| > 1e13`` met at such ``z``).
        """
        wt = w * t
        wt2 = wt * t
        wt3 = wt2 * t
        a = 1.0 - c * float(w.sum())

        def fun(m, z, idx):
            T1, T2 = _silverstein_terms(m, t, w, wt, wt2, wt3)
            minv = 1.0 / m
            P = (a + c * T1) * minv
            size = np.abs(z) + (abs(a) + c * np.abs(T1)) * np.abs(minv)
            return -P - z, (P + c * T2) * minv, size
        return fun

    @cached_property
    def _coarse(self):
        """Coarse population for starting values: consecutive atoms grouped between
        cut points that are the union of equal-mass quantiles and a geometric grid
        of values (so isolated large eigenvalues keep their own group); each group
        is replaced by its mean."""
        t, w = self._t, self._w
        G = _COARSE_ATOMS // 2
        cw = np.cumsum(w) / w.sum()
        q_cut = np.minimum((cw * G - 1e-12).astype(int), G - 1)
        lt = np.log(t)
        span = lt[-1] - lt[0]
        g_cut = (np.minimum(((lt - lt[0]) / span * G).astype(int), G - 1)
                 if span > 0 else np.zeros(t.size, int))
        key = q_cut * G + g_cut                  # nondecreasing along sorted t
        _, group = np.unique(key, return_inverse=True)
        gw = np.bincount(group, weights=w)
        gt = np.bincount(group, weights=w * t)
        return gt / gw, gw

    @cached_property
    def _tiny_radius(self) -> float:
        """Radius (internal units) below which ``z`` is treated as the limit ``z -> 0``.

        Only where the companion has an atom of mass ``a > 0`` at 0: then
        ``mt(z) = -a/z + r(z)`` and ``z mt(z) = -a + z r(z)`` with ``r`` analytic at 0,
        ``|r(0)| <= 1/edge`` (``edge`` the left end of the continuous support). For
        ``|z| <= 1e-17 a min(edge, t_min)`` the corrections ``z r`` and ``z / t_j`` are
        below double rounding, so ``z mt = -a`` and ``m(z)`` is its ``z -> 0`` limit
        exactly in floating point; the Newton continuation, whose answer
        ``|mt| ~ a/|z|`` is unbounded there, is not needed. 0 when there is no such atom.
        """
        a = self.companion_atom_mass
        if a <= 0.0 or self._t.size == 0 or not self._unit_support:
            return 0.0
        edge = min(lo for lo, _ in self._unit_support)
        if not edge > 0.0:
            return 0.0
        return 1e-17 * a * min(edge, float(self._t.min()))

    @cached_property
    def _g_slope(self) -> float:
        """``g'(0)`` of ``g(z) = z mt(z)`` (internal units) when the companion has an atom
        ``a > 0`` at 0: differentiating ``g = -1 + c sum_j w_j t_j g / (z + t_j g)`` at
        ``z = 0`` (where ``g = -a``) gives ``g'(0) = (c / a) sum_j w_j / t_j``."""
        a = self.companion_atom_mass
        return float(self.aspect_ratio / a * np.sum(self._w / self._t)) if a > 0 else 0.0

    def _g_small(self, z):
        """``z mt(z) = -a + g'(0) z`` for ``|z| <= _tiny_radius`` (internal units), exact
        to rounding there, so that ``Im m`` keeps its first-order term ``Im z m'(0)``."""
        return -self.companion_atom_mass + self._g_slope * z

    def _solve_companion(self, z: np.ndarray) -> SolveResult:
        """Companion transform at 1-D ``z`` (``Im z >= 0``) as a SolveResult:
        ``mt(z) = mt_unit(z / t_max) / t_max``."""
        z = np.asarray(z, dtype=complex)
        u = self.population_scale
        zu = z / u
        tiny = np.abs(zu) <= self._tiny_radius
        if np.any(tiny):   # the z -> 0 limit: mt = -a/z to rounding (_tiny_radius)
            res = self._solve_unit(np.where(tiny, 1j, zu))
            with np.errstate(all="ignore"):   # mt = g(z)/z = -a/z + g'(0) (overflow: inf)
                exact = -self.companion_atom_mass / z + self._g_slope / u
                value = np.where(tiny, exact, res.value / u)
            return SolveResult(value=value,
                               status=np.where(tiny, 0, res.status).astype(np.int8),
                               n_iter=res.n_iter,
                               residual=np.where(tiny, 0.0, res.residual), z=z)
        res = self._solve_unit(zu)
        with np.errstate(over="ignore"):
            value = res.value / u
        return SolveResult(value=value, status=res.status, n_iter=res.n_iter,
                           residual=res.residual, z=z)

    def _solve_unit(self, z: np.ndarray) -> SolveResult:
        """Companion transform of the unit population at 1-D ``z`` (``Im z >= 0``)."""
        c = self.aspect_ratio
        full = self._equation(self._t, self._w, c)
        if self._t.size <= _DIRECT_MAX_ATOMS:
            return solve_stieltjes(full, z, scale=self._scale, probability=True)
        tc, wc = self._coarse
        coarse = self._equation(tc, wc, c)
        # a start only (polished below): a short ladder to 1e-6 x the scale suffices
        first = solve_stieltjes(coarse, z, scale=self._scale, retry=False,
                                n_continuation=12, eta_floor=1e-6)
        start = first.value.copy()
        # On the real axis inside the support, the coarse value is often real (x in a
        # gap of the coarse law), and Newton from a real start stays real: lift the
        # start into the upper half-plane (Im >= 0.1 |m|). Measured on an MNIST
        # population (653 atoms, 39 intervals, 11622 points): polish failures
        # 5415 -> 0, so the full-continuation fallback is not needed.
        from ..core._stieltjes import in_support
        lift = (z.imag == 0) & in_support(z.real, self._unit_support)
        if np.any(lift):
            s = start[lift]
            start[lift] = s.real + 1j * np.maximum(s.imag, 0.1 * np.abs(s))
        return solve_stieltjes(full, z, scale=self._scale, initial=start, max_iter=30,
                               probability=True)

    def _stieltjes(self, z: np.ndarray):
        """p x p transform at 1-D ``z`` with ``Im z >= 0`` (boundary value on the axis):
        ``m(z) = m_unit(z / t_max) / t_max``."""
        z_in = np.asarray(z, dtype=complex)
        u = self.population_scale
        res = self._unit_stieltjes(z_in / u)
        with np.errstate(over="ignore", invalid="ignore"):   # an atom's -w0/z may overflow
            value = res.value / u
        return SolveResult(value=value, status=res.status, n_iter=res.n_iter,
                           residual=res.residual, z=z_in)

    def _unit_stieltjes(self, z: np.ndarray):
        z = np.asarray(z, dtype=complex)
        # z = 0 and |z| below _tiny_radius: the z -> 0 limit, handled below
        zero = (z == 0) | (np.abs(z) <= self._tiny_radius)
        zs = np.where(zero, 1j, z)
        res = self._solve_unit(zs)
        mt = res.value
        c = self.aspect_ratio
        # p x p transform from the companion: m = (mt + (1 - c)/z)/c (theory note
        # §3.1). This cancels near z = 0 where mt ~ -(atom)/z; there use the exact
        # m = -sum_j w_j / (z + t_j z mt) instead (one more pass over the atoms).
        with np.errstate(all="ignore"):
            m = (mt + (1.0 - c) / zs) / c
            cancel = (np.abs(mt) + abs(1.0 - c) / np.abs(zs)) > 1e3 * c * np.abs(m)
        cancel &= np.isfinite(mt)
        if np.any(cancel):
            m[cancel] = self._pxp_from_g(zs[cancel], zs[cancel] * mt[cancel])
        if np.any(zero):
            # z = 0 is allowed only without an atom at 0 (w0 = 0, c < 1); z mt -> -a
            # (companion atom mass a), exact to rounding for |z| <= _tiny_radius
            m[zero] = self._pxp_from_g(z[zero], self._g_small(z[zero]))
        status = np.where(zero, 0, res.status).astype(np.int8)
        return SolveResult(value=m, status=status, n_iter=res.n_iter,
                           residual=np.where(zero, 0.0, res.residual), z=z)

    def _pxp_from_g(self, z, g):
        t, w = self._t, self._w
        out = np.empty(z.size, complex)
        rows = max(1, _CHUNK_ELEMENTS // max(t.size, 1))
        with np.errstate(all="ignore"):
            for s in range(0, z.size, rows):
                sl = slice(s, s + rows)
                out[sl] = -((1.0 / (z[sl, None] + t * g[sl, None])) @ w)
            if self.zero_weight > 0:
                out -= self.zero_weight / z
        return out

    # ------------------------------------------------------------------ public extras
    def companion_stieltjes(self, z, *, on_failure: str = "raise") -> np.ndarray:
        r"""Stieltjes transform ``mt(z)`` of the ``n x n`` companion ``X X^T / n_samples``.

        Root with ``Im mt > 0`` of ``z = -1/mt + c int t/(1 + t mt) dH(t)`` (theory
        note linear.md §3.1); reflection for ``Im z < 0``; real ``z`` allowed off the
        support and off the companion's atom at 0 (mass ``max(0, 1 - c (1 - w0))``).
        """
        check_on_failure(on_failure)
        z = check_array(z, "z", self._owner, allow_complex=True).astype(complex)
        zf = z.ravel()
        real = zf.imag == 0
        if np.any(real):
            from ..core._stieltjes import in_support
            xr = zf.real[real]
            on = in_support(xr, self.support)
            if self.companion_atom_mass > 0:
                on |= xr == 0
            if np.any(on):
                raise ValueError(
                    f"`z` of SampleCovarianceLaw.companion_stieltjes must be off the "
                    f"support {self.support} and the companion atom for real z; got "
                    f"z = {_show(xr[on][0])}. Use Im z > 0")
        lower = zf.imag < 0
        zu = np.where(lower, np.conj(zf), zf)
        from ..core._solver import resolve_failures
        mt = resolve_failures(self._solve_companion(zu), on_failure,
                              what="the companion Stieltjes transform of "
                                   "SampleCovarianceLaw")
        mt = np.where(lower, np.conj(mt), mt)
        mt[real] = mt[real].real                      # real off the support
        return mt.reshape(z.shape)

    def delta(self, z, *, on_failure: str = "raise") -> np.ndarray:
        r"""``delta(z) = (1/n) tr C Qbar(z) = -1/(z mt(z)) - 1`` (theory note §3.1)."""
        z = check_array(z, "z", self._owner, allow_complex=True).astype(complex)
        mt = self.companion_stieltjes(z, on_failure=on_failure)
        return -1.0 / (z * mt) - 1.0

    def moment(self, k: int) -> float:
        r"""Moment ``M_k`` of the ``p x p`` law, exact (no quadrature).

        From the power series at infinity of the Silverstein equation
        ``z(mt) = -1/mt + c int t/(1 + t mt) dH`` in terms of the population moments
        ``h_j = int t^j dH`` (e.g. ``M_1 = h_1``, ``M_2 = h_2 + c h_1^2``); checked in
        the tests against quadrature of the pdf and the large-``|z|`` expansion.
        Computed for the population as given (no snapping) in units of its largest
        eigenvalue, times ``t_max^k`` (``inf`` if that exceeds the float range).
        """
        k = check_scalar(k, "k", "SampleCovarianceLaw.moment", low=0, low_inclusive=True,
                         integer=True)
        unit_moment = float(_gmp_moments(self._unit_values, self.population_weights,
                                         self.aspect_ratio, k)[k])
        with np.errstate(over="ignore", under="ignore"):
            return float(np.float64(unit_moment) * np.float64(self.population_scale) ** k)

    @property
    def var(self) -> float:
        """Variance, from the exact unit-population moments times ``t_max^2``
        (``inf`` beyond the float range, no overflow error)."""
        m = _gmp_moments(self._unit_values, self.population_weights, self.aspect_ratio, 2)
        with np.errstate(over="ignore", under="ignore"):
            return float(np.float64(m[2] - m[1] ** 2) * np.float64(self.population_scale) ** 2)

    # ------------------------------------------------------------------ twin
    def sample(self, n_features: int, seed=None) -> np.ndarray:
        """Eigenvalues of ``X.T @ X / n_samples`` with population covariance ``C``.

        ``C = diag(population values)``, each value repeated ``round(w_j n_features)``
        times by the largest-remainder rule (so the counts sum to ``n_features``);
        ``X = Z C^{1/2}`` with ``Z`` standard Gaussian of shape ``(n_samples,
        n_features)``, ``n_samples = round(n_features / aspect_ratio)``. Sorted.
        """
        p = check_scalar(n_features, "n_features", "SampleCovarianceLaw.sample", low=1,
                         low_inclusive=True, integer=True)
        rng = as_generator(seed)
        diag = population_diagonal(self._unit_values, self.population_weights, p)
        n = _n_samples_for(p, self.aspect_ratio)
        X = rng.standard_normal((n, p)) * np.sqrt(diag)
        with np.errstate(over="ignore"):
            return _gram_eigenvalues(X) * self.population_scale


def population_diagonal(values, weights, n_features: int) -> np.ndarray:
    """The ``n_features`` eigenvalues of a finite population drawn to represent the
    distribution ``sum_j weights[j] delta_{values[j]}``: its mid-quantiles
    ``F^{-1}((k + 1/2) / n_features)``, ``k = 0..n_features-1`` (sorted).

    Where ``n_features * weights[j]`` are integers this is exactly that many copies of
    each value; otherwise each value gets ``floor`` or ``ceil`` of it, and the result
    does not depend on the order of the atoms. (A largest-remainder rounding with ties
    broken by position gave, for 1000 equal weights on 1..10 and 200 features, the 200
    smallest values: mean 1.9 instead of 5.5, and a simulation 35 standard errors off
    its theory.) The same mid-quantile rule discretizes a law population
    (:func:`hdeq.models._population._quantile_atoms`).

    Examples
    --------
    >>> from hdeq.laws._sample_covariance import population_diagonal
    >>> population_diagonal([4.0, 1.0], [0.5, 0.5], 4).tolist()
    [1.0, 1.0, 4.0, 4.0]
    >>> population_diagonal(range(10, 0, -1), [0.1] * 10, 5).tolist()   # F^-1(0.1), ...
    [1.0, 3.0, 5.0, 7.0, 9.0]
    """
    values = np.asarray(values, float)
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(np.asarray(weights, float)[order])
    levels = (np.arange(n_features) + 0.5) / n_features * cum[-1]
    pick = np.minimum(np.searchsorted(cum, levels, side="left"), values.size - 1)
    return values[order][pick]


def _gmp_moments(values, weights, c, kmax):
    r"""Moments ``M_0..M_kmax`` of the ``p x p`` generalized MP law, exactly.

    Power series at infinity: with ``u = 1/z`` the companion transform is
    ``mt = -sum_k beta_k u^{k+1}`` (``beta_k`` its moments), and the Silverstein
    equation ``mt = -u / (1 - c u S(mt))``, ``S(mt) = int t/(1 + t mt) dH =
    sum_j (-1)^j h_{j+1} mt^j`` (``h_j`` population moments), is solved order by
    order by fixed-point iteration on truncated series (each pass fixes one more
    coefficient). The nonzero eigenvalues are shared, so ``M_k = beta_k / c`` for
    ``k >= 1`` (theory note linear.md §1-§3).
    """
    t = np.asarray(values, float)
    w = np.asarray(weights, float)
    h = np.array([np.sum(w * t ** j) for j in range(kmax + 2)])
    # Series in u = 1/z: mt(z) = -sum_k beta_k u^{k+1} (companion moments beta_k).
    # Silverstein: mt = -1/(z - c int t/(1 + t mt) dH)  =>  -1/mt = z - c sum_j (-1)^j h_{j+1} mt^j
    # Solve order by order with truncated power series in u.
    N = kmax + 2
    mt = np.zeros(N + 1)          # coefficients of u^0..u^N
    mt[1] = -1.0
    for _ in range(N + 1):
        # S = sum_j (-1)^j h_{j+1} mt^j
        S = np.zeros(N + 1)
        power = np.zeros(N + 1)
        power[0] = 1.0
        for j in range(N + 1):
            S += (-1) ** j * h[j + 1] * power if j + 1 < h.size else 0.0
            power = np.convolve(power, mt)[:N + 1]
        # mt = -1/(z - c S) = -u / (1 - c u S)
        denom = np.zeros(N + 1)
        denom[0] = 1.0
        denom[1:] -= c * S[:N]
        inv = _series_inverse(denom, N + 1)
        new = np.zeros(N + 1)
        new[1:] = -inv[:N]
        mt = new
    beta = -mt[1:]                 # companion moments beta_0, beta_1, ...
    # p x p moments: c M_k = beta_k for k >= 1 (nonzero eigenvalues are shared)
    M = np.empty(kmax + 1)
    M[0] = 1.0
    M[1:] = beta[1:kmax + 1] / c
    return M


def _series_inverse(a, n):
    out = np.zeros(n)
    out[0] = 1.0 / a[0]
    for k in range(1, n):
        out[k] = -np.dot(a[1:k + 1], out[k - 1::-1][:k]) / a[0]
    return out


def _discretize_law(law, n_atoms: int):
    """Discretize a law into atoms: its atoms, plus equal-mass bins of its
    continuous part (by quadrature of ``pdf`` on a fine cosine grid), each bin
    replaced by its mean."""
    from ..core._stieltjes import support_quadrature
    vals, wts = [], []
    for loc, mass in law.atoms:
        vals.append(np.array([float(loc)]))
        wts.append(np.array([float(mass)]))
    cont = 1.0 - sum(m for _, m in law.atoms)
    if cont > 1e-14 and law.support:
        xs, ws = [], []
        for a, b in law.support:
            # composite fine grid: 64 panels x 16 nodes in the cosine variable
            edges = a + (b - a) * (1 - np.cos(np.linspace(0, np.pi, 65))) / 2
            for lo, hi in zip(edges[:-1], edges[1:]):
                x, wq = support_quadrature(lo, hi, n_nodes=16)
                xs.append(x)
                ws.append(wq)
        x = np.concatenate(xs)
        wq = np.concatenate(ws) * law.pdf(np.concatenate(xs))
        order = np.argsort(x)
        x, wq = x[order], wq[order]
        wq *= cont / wq.sum()
        n_cont = max(1, n_atoms - len(vals))
        cum = np.cumsum(wq) / cont
        group = np.minimum((cum * n_cont - 1e-12).astype(int), n_cont - 1)
        gw = np.bincount(group, weights=wq, minlength=n_cont)
        gx = np.bincount(group, weights=wq * x, minlength=n_cont)
        keep = gw > 0
        vals.append(gx[keep] / gw[keep])
        wts.append(gw[keep])
    values = np.concatenate(vals)
    weights = np.concatenate(wts)
    if np.any(values < 0):
        raise ValueError("`population` of SampleCovarianceLaw must be supported on "
                         f"[0, inf); got a law with mass at {_show(values.min())}")
    weights = weights / weights.sum()
    return check_population((np.maximum(values, 0.0), weights), "population",
                            "SampleCovarianceLaw")
