r"""Free additive and multiplicative convolutions of spectral laws, by subordination.

Sources: Voiculescu (1986, 1987); Biane (1998), *Processes with free increments*;
Belinschi & Bercovici (2007), *A new approach to subordination results in free
probability*, J. Anal. Math. 101; Bercovici & Voiculescu (1998) for atoms; Mingo &
Speicher (2017), *Free Probability and Random Matrices*, ch. 3-4; Couillet & Liao
(2022), *Random Matrix Methods for Machine Learning*, ch. 2.

Convention (DESIGN.md): ``m(z) = \int d\mu(t) / (t - z)``. Free-probability texts use
the Cauchy transform ``G = -m``; every formula below is converted to ``m``. One helper
function appears in both convolutions,

.. math:: K_\mu(w) = w + 1/m_\mu(w) \qquad (= w\,\eta\text{-like}; \; K_\mu(w) \to
          \text{mean}(\mu) \text{ as } |w| \to \infty),

the negative of Belinschi-Bercovici's ``h_\mu(w) = F_\mu(w) - w`` with
``F_\mu = 1/G_\mu = -1/m_\mu``.
"""

from __future__ import annotations

import numbers
import warnings
from functools import cached_property

import numpy as np

from ..core._errors import ConvergenceError, ConvergenceWarning
from ..core._solver import CONVERGED, NOT_FINITE, WRONG_BRANCH, SolveResult, solve_stieltjes
from ..core._stieltjes import integrate_on_support, merge_intervals, support_quadrature
from ..core._validation import (_show, as_generator, check_array, check_on_failure,
                                check_scalar)
from ._base import SpectralLaw

__all__ = ["free_additive_convolution", "free_multiplicative_convolution",
           "FreeAdditiveConvolution", "FreeMultiplicativeConvolution"]

#: relative height ``eps`` above the real axis at which boundary values are taken
_EPS_REAL = 1e-13
#: number of grid points of the support scan
_SCAN_POINTS = 1500


# ------------------------------------------------------------------------ operands
class _AtomicLaw(SpectralLaw):
    """Finite sum of point masses ``sum_j w_j delta_{t_j}`` (operand given as numbers).

    Used when an operand of a free convolution is a scalar (a point mass), an array
    of eigenvalues (equal weights) or a pair ``(values, weights)``.
    """

    def __init__(self, values, weights):
        self.values = np.asarray(values, dtype=float)
        self.weights = np.asarray(weights, dtype=float)

    def __repr__(self) -> str:
        if self.values.size == 1:
            return f"point mass at {_show(self.values[0])}"
        return f"atomic law ({self.values.size} atoms)"

    @property
    def support(self):
        return ()

    @property
    def atoms(self):
        return tuple((float(t), float(w)) for t, w in zip(self.values, self.weights))

    def _stieltjes(self, z):
        z = np.asarray(z, dtype=complex)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.weights / (self.values - z[..., None])).sum(-1)

    def stieltjes_derivative(self, z):
        """``m'(z) = sum_j w_j / (t_j - z)^2``."""
        z = np.asarray(z, dtype=complex)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.weights / (self.values - z[..., None]) ** 2).sum(-1)

    def moment(self, k: int) -> float:
        k = check_scalar(k, "k", "moment", low=0, low_inclusive=True, integer=True)
        return float(np.sum(self.weights * self.values ** k))

    def ppf(self, q):
        cum = np.cumsum(self.weights)
        i = np.searchsorted(cum, np.asarray(q, dtype=float) * cum[-1], side="left")
        return self.values[np.minimum(i, self.values.size - 1)]

    def sample(self, n_features: int, seed=None) -> np.ndarray:
        """Deterministic: the ``(i + 1/2) / n_features`` quantiles."""
        n = check_scalar(n_features, "n_features", "sample", low=1, low_inclusive=True,
                         integer=True)
        return self.ppf((np.arange(n) + 0.5) / n)


def _as_law(operand, name: str, owner: str, *, nonnegative: bool):
    """A law object (anything with ``stieltjes``, ``support`` and ``atoms``), or a
    number / array of eigenvalues / ``(values, weights)`` turned into point masses."""
    if hasattr(operand, "stieltjes") and hasattr(operand, "support") \
            and hasattr(operand, "atoms"):
        if nonnegative:
            lo = _bounds(operand)[0]
            if lo < 0:
                raise ValueError(f"`{name}` of {owner} must be a law on [0, inf); got "
                                 f"{operand!r} with mass down to {lo!r}")
        return operand
    if isinstance(operand, numbers.Real) and not isinstance(operand, bool):
        operand = np.array([float(operand)])
    if isinstance(operand, tuple) and len(operand) == 2:
        values = check_array(operand[0], f"{name}[0] (values)", owner, ndim=1,
                             nonnegative=nonnegative)
        weights = check_array(operand[1], f"{name}[1] (weights)", owner, ndim=1,
                              nonnegative=True)
        if values.shape != weights.shape or values.size == 0:
            raise ValueError(f"`{name}` of {owner}: values and weights must be non-empty "
                             f"and of the same length; got {values.size} and "
                             f"{weights.size}")
        if abs(weights.sum() - 1.0) > 1e-10:
            raise ValueError(f"`{name}` of {owner}: weights must sum to one; got "
                             f"{_show(weights.sum())}")
    else:
        values = check_array(operand, name, owner, ndim=1, nonnegative=nonnegative)
        if values.size == 0:
            raise ValueError(f"`{name}` of {owner} must be a law, a number or a non-empty "
                             f"array of eigenvalues; got an empty array")
        weights = np.full(values.size, 1.0 / values.size)
    uniq, inverse = np.unique(values, return_inverse=True)
    merged = np.zeros(uniq.size)
    np.add.at(merged, inverse, weights)
    keep = merged > 0
    return _AtomicLaw(uniq[keep], merged[keep] / merged[keep].sum())


def _bounds(law) -> tuple[float, float]:
    """Smallest interval containing the support and the atoms of ``law``."""
    pts = [x for iv in law.support for x in iv] + [loc for loc, _ in law.atoms]
    return float(min(pts)), float(max(pts))


def _spread(law) -> float:
    lo, hi = _bounds(law)
    return max(abs(lo), abs(hi), hi - lo, 1e-300)


def _stieltjes_raw(law, w):
    """``m(w)`` for any complex ``w`` (reflection below the axis, boundary value on
    it), without validation; NaN where a component solver failed."""
    w = np.asarray(w, dtype=complex)
    lower = w.imag < 0
    wu = np.where(lower, np.conj(w), w)
    if isinstance(law, SpectralLaw):
        out = law._stieltjes(wu)
        if isinstance(out, SolveResult):
            out = np.where(out.status == CONVERGED, out.value, np.nan)
    else:  # a law that only offers the public surface
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                out = law.stieltjes(wu, on_failure="nan")
            except ValueError:
                out = law.stieltjes(wu + 1e-300j, on_failure="nan")
    out = np.asarray(out, dtype=complex)
    return np.where(lower, np.conj(out), out)


def _distance_to_spectrum(law, w):
    """Distance from complex ``w`` to the support intervals and atoms of ``law``."""
    dist = np.full(w.shape, np.inf)
    for a, b in law.support:
        dist = np.minimum(dist, np.abs(w - np.clip(w.real, a, b)))
    for loc, _ in law.atoms:
        dist = np.minimum(dist, np.abs(w - loc))
    return dist


def _stieltjes_and_derivative(law, w, scale):
    """``(m(w), m'(w))``: the law's own derivative if it has one, else a second-order
    one-sided difference away from the axis (stays where ``m`` is analytic),
    ``m' ~ (4 m(w + ih) - m(w + 2ih) - 3 m(w)) / (2ih)``, with ``h = 1e-4 * dist``
    (``dist`` = distance from ``w`` to the law's support and atoms; relative error
    about ``(h/dist)^2 = 1e-8``). Only Newton's step uses the derivative;
    convergence is judged on the recomputed residual."""
    m = _stieltjes_raw(law, w)
    if hasattr(law, "stieltjes_derivative"):
        with np.errstate(all="ignore"):
            return m, np.asarray(law.stieltjes_derivative(w), dtype=complex)
    dist = _distance_to_spectrum(law, w)
    h = np.where(np.isfinite(dist) & (dist > 0), 1e-4 * dist, 1e-8 * scale)
    h = np.minimum(h, 1e-4 * (np.abs(w) + scale))
    up = np.where(w.imag < 0, -1.0, 1.0)          # move away from the axis
    m1 = _stieltjes_raw(law, w + 1j * up * h)
    m2 = _stieltjes_raw(law, w + 2j * up * h)
    return m, (4 * m1 - m2 - 3 * m) / (2j * up * h)


_MOMENT_CACHE: dict[int, tuple] = {}


def _law_moments(law):
    """``(M1, M2, M3, spread)`` of ``law`` (cached by identity; laws are values)."""
    key = id(law)
    if key not in _MOMENT_CACHE or _MOMENT_CACHE[key][0] is not law:
        mom = tuple(float(law.moment(k)) for k in (1, 2, 3))
        _MOMENT_CACHE[key] = (law, mom + (_spread(law),))
    return _MOMENT_CACHE[key][1]


def _k_and_derivative(law, w, scale):
    """``K(w) = w + 1/m(w)`` and ``K'(w) = 1 - m'(w)/m(w)^2``.

    For ``|w| > 1e4 * spread`` (spread = largest |point| of the spectrum) the direct
    form cancels (``1/m ~ -w``); there the expansion
    ``K(w) = M1 + k2/w + k3/w^2 + O(spread^4/w^3)``, with ``k2 = M2 - M1^2`` and
    ``k3 = M3 - 2 M1 M2 + M1^3``, is used (from ``m(w) = -sum_k M_k / w^(k+1)``).
    """
    w = np.asarray(w, dtype=complex)
    m1, m2, m3, spread = _law_moments(law)
    far = np.abs(w) > 1e4 * spread
    k = np.empty(w.shape, dtype=complex)
    dk = np.empty(w.shape, dtype=complex)
    near = ~far
    if np.any(near):
        m, dm = _stieltjes_and_derivative(law, w[near], scale)
        with np.errstate(all="ignore"):
            k[near] = w[near] + 1.0 / m
            dk[near] = 1.0 - dm / (m * m)
    if np.any(far):
        wf = w[far]
        with np.errstate(all="ignore"):    # beyond the float range: NaN, a failed solve
            k2, k3 = m2 - m1 * m1, m3 - 2 * m1 * m2 + m1 ** 3
            k[far] = m1 + k2 / wf + k3 / wf ** 2
            dk[far] = -k2 / wf ** 2 - 2 * k3 / wf ** 3
    return k, dk


# ------------------------------------------------------------------ moment series
def _series_power_sums(x, coef, n):
    """``sum_{s>=1} coef[s] x(w)^s`` truncated after ``w^n``, for a series ``x``
    with ``x[0] = 0`` (all series are coefficient arrays of length ``n + 1``)."""
    out = np.zeros(n + 1)
    power = np.zeros(n + 1)
    power[0] = 1.0
    for s in range(1, n + 1):
        power = np.convolve(power, x)[:n + 1]
        out += coef[s] * power
    return out


def _moments_from_free_cumulants(kappa):
    r"""Moments ``M_0..M_n`` from free cumulants ``kappa_1..kappa_n`` (``kappa[0]``
    unused), by the functional form of the moment-cumulant formula on non-crossing
    partitions (Nica & Speicher 2006, Lecture 16, Prop. 16.10 / Thm. 11.16):
    ``M(w) = 1 + sum_s kappa_s w^s M(w)^s`` with ``M(w) = sum_k M_k w^k``, solved by
    fixed-point iteration on truncated series (each sweep fixes one more
    coefficient)."""
    n = len(kappa) - 1
    M = np.zeros(n + 1)
    M[0] = 1.0
    for _ in range(n):
        wM = np.concatenate([[0.0], M[:-1]])
        M = _series_power_sums(wM, kappa, n)
        M[0] = 1.0
    return M


def _free_cumulants_from_moments(M):
    """Inverse of :func:`_moments_from_free_cumulants`: ``[w^j]`` of
    ``sum_s kappa_s (w M(w))^s`` is ``kappa_j + (terms in kappa_s, s < j)``."""
    n = len(M) - 1
    wM = np.concatenate([[0.0], M[:-1]])
    powers = [np.eye(1, n + 1, 0).ravel()]
    for _ in range(n):
        powers.append(np.convolve(powers[-1], wM)[:n + 1])
    kappa = np.zeros(n + 1)
    for j in range(1, n + 1):
        kappa[j] = M[j] - sum(kappa[s] * powers[s][j] for s in range(1, j))
    return kappa


def _compositional_inverse(f):
    """Series ``g`` with ``f(g(w)) = w`` (``f[0] = 0``, ``f[1] != 0``), by the
    fixed point ``g = (w - sum_{k>=2} f_k g^k) / f_1`` (one coefficient per sweep)."""
    n = len(f) - 1
    g = np.zeros(n + 1)
    if n >= 1:
        g[1] = 1.0 / f[1]
    higher = np.concatenate([[0.0, 0.0], f[2:]])
    ident = np.eye(1, n + 1, 1).ravel() if n >= 1 else np.zeros(1)
    for _ in range(n):
        g = (ident - _series_power_sums(g, higher, n)) / f[1]
    return g


def _s_transform(M):
    """Coefficients ``S_0..S_{n-1}`` of Voiculescu's S-transform
    ``S(w) = chi(w) (1 + w) / w``, ``chi`` the inverse of
    ``psi(w) = sum_{k>=1} M_k w^k`` (needs ``M_1 != 0``)."""
    chi = _compositional_inverse(np.concatenate([[0.0], M[1:]]))
    over_w = chi[1:]                              # chi(w) / w
    return over_w + np.concatenate([[0.0], over_w[:-1]])


def _moments_from_s_transform(S):
    """Inverse of :func:`_s_transform`: ``chi(w) = S(w) w / (1 + w)``, ``psi`` its
    compositional inverse, ``M_k = [w^k] psi``."""
    n = len(S)
    geometric = (-1.0) ** np.arange(n)           # 1 / (1 + w)
    chi = np.concatenate([[0.0], np.convolve(S, geometric)[:n]])
    M = _compositional_inverse(chi)
    M[0] = 1.0
    return M


def _haar_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-distributed orthogonal matrix: QR of a Gaussian matrix with the signs of
    ``diag(R)`` moved into ``Q`` (Mezzadri 2007)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _quantiles(law, n: int) -> np.ndarray:
    """The ``(i + 1/2)/n`` quantiles of ``law`` (deterministic eigenvalues of the
    twin). Uses ``law.ppf`` if present, else inverts ``law.cdf`` by linear
    interpolation on a grid of 256 cosine-spaced points per support interval
    (atoms are exact jumps)."""
    q = (np.arange(n) + 0.5) / n
    if hasattr(law, "ppf"):
        return np.sort(np.asarray(law.ppf(q), dtype=float))
    xs = [loc for loc, _ in law.atoms]
    for a, b in law.support:
        xs.extend(a + (b - a) * (1 - np.cos(np.linspace(0, np.pi, 256))) / 2)
    xs = np.unique(np.asarray(xs, dtype=float))
    F = np.maximum.accumulate(np.asarray(law.cdf(xs), dtype=float))
    # left limits at each grid point: jumps (atoms) are flat steps of the inverse
    F_left = np.concatenate([[0.0], F[:-1]])
    grid_p = np.column_stack([F_left, F]).ravel()
    grid_x = np.repeat(xs, 2)
    # between consecutive grid points the cdf is interpolated linearly
    return np.interp(q, grid_p, grid_x)


# ------------------------------------------------------------------------ base class
class _FreeConvolution(SpectralLaw):
    """Shared machinery: the subordination solve, boundary values, support scan."""

    _owner_name = "FreeConvolution"

    # subclass: _residual(w_a, z) -> (F, dF/dw_a, w_b); _start(z); _w_a_from(u);
    # _m_from(w_a, z); _bounds

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.a!r}, {self.b!r})"

    @cached_property
    def _scale(self) -> float:
        lo, hi = self._bounds
        return max(abs(lo), abs(hi), hi - lo, 1e-300)

    def _fun(self, order):
        first, second = (self.a, self.b) if order == 0 else (self.b, self.a)
        mean2 = self._means[1 - order]

        def fun(u, z, idx):
            w1 = self._w_from_u(u, mean2)
            F, dF, _ = self._residual(first, second, w1, z)
            # chain rule: dw1/du
            return F, dF * self._dw_du(u, mean2)
        return fun

    def _solve(self, z):
        """Solve the subordination equation at 1-D complex ``z`` (``Im z > 0``).

        Newton with continuation from large ``Im z`` (:func:`hdeq.core.solve_stieltjes`)
        on a reparametrized unknown ``u`` with ``Im u > 0`` (so the core solver's
        Herglotz safeguards apply); after the solve, the second subordination
        function must also lie in the upper half-plane (else WRONG_BRANCH). Points
        that fail are solved again with the roles of the two operands exchanged
        (the same law; the equations are symmetric), and the remaining ones by the
        Belinschi-Bercovici fixed-point iteration (:meth:`_fixed_point`; needed e.g.
        where ``m(x)`` crosses 0 in a gap, so that one subordination function is
        huge), before being reported.
        Returns ``(m, w_a, w_b, SolveResult)``.
        """
        m = np.full(z.shape, np.nan + 0j)
        w_a = np.full(z.shape, np.nan + 0j)
        w_b = np.full(z.shape, np.nan + 0j)
        status = np.full(z.shape, 1, dtype=np.int8)
        n_iter = np.zeros(z.shape, dtype=np.int64)
        residual = np.full(z.shape, np.inf)
        todo = np.arange(z.size)
        for order in (0, 1):
            if todo.size == 0:
                break
            zs = z[todo]
            res = solve_stieltjes(self._fun(order), zs, scale=self._scale)
            first, second = (self.a, self.b) if order == 0 else (self.b, self.a)
            w1 = self._w_from_u(res.value, self._means[1 - order])
            conv = res.status == CONVERGED
            if np.any(conv):
                w1[conv] = self._polish(first, second, w1[conv], zs[conv])
            _, _, w2 = self._residual(first, second, w1, zs)
            st = res.status.copy()
            with np.errstate(invalid="ignore"):
                st[(st == CONVERGED) & ~(w2.imag > 0)] = WRONG_BRANCH
            ok = st == CONVERGED
            n_iter[todo] += res.n_iter
            better = ok | (res.residual < residual[todo])
            sel = todo[better]
            status[sel] = st[better]
            residual[sel] = res.residual[better]
            wa_, wb_ = (w1, w2) if order == 0 else (w2, w1)
            w_a[sel], w_b[sel] = wa_[better], wb_[better]
            m[sel] = self._m_from(wa_[better], zs[better])
            todo = todo[~ok]
        for order in (0, 1):   # last resort: the Belinschi-Bercovici iteration
            if todo.size == 0:
                break
            w1, w2, res, its, ok = self._fixed_point(z[todo], order)
            if np.any(ok):
                first, second = (self.a, self.b) if order == 0 else (self.b, self.a)
                w1[ok] = self._polish(first, second, w1[ok], z[todo][ok])
                w2[ok] = self._residual(first, second, w1[ok], z[todo][ok])[2]
            n_iter[todo] += its
            sel = todo[ok]
            wa_, wb_ = (w1, w2) if order == 0 else (w2, w1)
            status[sel] = CONVERGED
            residual[sel] = res[ok]
            w_a[sel], w_b[sel] = wa_[ok], wb_[ok]
            m[sel] = self._m_from(wa_[ok], z[sel])
            todo = todo[~ok]
        result = SolveResult(value=m, status=status, n_iter=n_iter, residual=residual, z=z)
        return m, w_a, w_b, result

    def _polish(self, first, second, w1, z, max_steps: int = 6):
        """A few plain Newton steps on the first subordination function, each kept
        only where it lowers ``|F|`` and stays in the upper half-plane.

        Why: the core solver stops at a residual ``|F| <= 1e-13 (|z| + |1/u|)``,
        i.e. an *absolute* accuracy ``~1e-13 * scale`` of ``F``; where ``|z|`` is
        tiny (``a ⊠ b`` near an atom at 0, where the density can blow up like
        ``x^(-1/2)``) that leaves ``m`` wrong in its leading digits. Newton from
        there converges quadratically to machine precision (measured:
        ``MP(2) ⊠ MP(2)`` at ``x = 1e-12``, relative error of the density
        ``4e-3 -> 3e-12``).
        """
        w1 = w1.copy()
        F, dF, _ = self._residual(first, second, w1, z)
        size = np.where(np.isfinite(F), np.abs(F), np.inf)
        # where |F| is already at the rounding level of its terms, a step would
        # only amplify rounding by 1/|F'| (e.g. at the symmetric point x = 1 of
        # the arcsine law, where F' ~ 0: a step there moves m by 1e-8)
        active = np.flatnonzero(np.isfinite(size) & (size > self._noise(w1, z, F)))
        for _ in range(max_steps):
            if active.size == 0:
                break
            with np.errstate(all="ignore"):
                new = w1[active] - F[active] / dF[active]
            Fn, dFn, _ = self._residual(first, second, new, z[active])
            with np.errstate(invalid="ignore"):
                an = np.abs(Fn)
                better = np.isfinite(an) & (an < size[active]) & (new.imag > 0)
            idx = active[better]
            w1[idx], F[idx], dF[idx], size[idx] = new[better], Fn[better], \
                dFn[better], an[better]
            active = idx[an[better] > self._noise(w1[idx], z[idx], F[idx])]
        return w1

    def _fixed_point(self, z, order, max_iter: int = 2000, tol: float = 1e-10):
        """Belinschi-Bercovici fixed-point iteration for the first subordination
        function (``w <- z - K_b(z - K_a(w))``, resp. ``w <- zeta / K_b(zeta / K_a(w))``),
        an analytic self-map of the upper half-plane whose iterates converge to the
        subordination function for every start in it (Denjoy-Wolff; Belinschi &
        Bercovici 2007, Thm. 4.1). Slow near the real axis (linear rate), so only a
        fallback for the points where Newton failed. Returns ``(w1, w2, residual,
        n_iter, converged)``; converged means residual ``|F| / (|z| + |w1| + scale)
        <= tol`` and both functions in the upper half-plane."""
        first, second = (self.a, self.b) if order == 0 else (self.b, self.a)
        w = self._fixed_point_start(z, self._means[1 - order])
        its = np.zeros(z.size, dtype=np.int64)
        active = np.arange(z.size)
        for _ in range(max_iter):
            if active.size == 0:
                break
            F, _, _ = self._residual(first, second, w[active], z[active])
            new = self._fixed_point_step(w[active], F, z[active])
            its[active] += 1
            with np.errstate(invalid="ignore"):
                done = ~np.isfinite(new) | (np.abs(new - w[active])
                                            <= 1e-15 * (np.abs(new) + self._scale))
            w[active] = np.where(np.isfinite(new), new, w[active])
            active = active[~done]
        F, _, w2 = self._residual(first, second, w, z)
        with np.errstate(invalid="ignore"):
            res = np.abs(F) / (np.abs(z) + np.abs(w) + self._scale)
            ok = (res <= tol) & (w.imag > 0) & (w2.imag > 0)
        return w, w2, np.where(np.isfinite(res), res, np.inf), its, ok

    def _heights(self, x):
        """Height ``eps(x)`` above the real point ``x`` at which boundary values are
        taken: ``1e-13 * scale``, but ``1e-13 * d`` within ``d < scale`` of an
        anchor (an atom or a bound of the support, :attr:`_anchors`; floored at
        ``1e-9 * scale``), so that a density that blows up there (``x^(-1/2)`` for
        ``MP(2) ⊠ MP(2)`` at 0) is resolved.
        """
        d = np.min(np.abs(x[..., None] - self._anchors), axis=-1)
        return _EPS_REAL * np.clip(d, 1e-9 * self._scale, self._scale)

    @cached_property
    def _anchors(self) -> np.ndarray:
        """Points where the density may blow up at an edge: the atoms and the two
        a-priori bounds of the support (e.g. ``MP(1) ⊠ MP(1)`` ~ ``x^(-2/3)`` at
        ``0 = lo_a lo_b``; ``(δ_0 + δ_1)/2 ⊞ (δ_0 + δ_1)/2``, the arcsine law,
        ``~ x^(-1/2)`` at both bounds)."""
        return np.unique(np.concatenate([self._atom_locations, self._bounds]))

    def _atom_part(self, z):
        """``sum_j w_j / (t_j - z)`` over the atoms of the convolution."""
        if not self.atoms:
            return np.zeros(z.shape, dtype=complex)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self._atom_masses / (self._atom_locations - z[..., None])).sum(-1)

    def _boundary_values(self, z):
        """``(m, SolveResult)`` at 1-D ``z`` (``Im z >= 0``); real ``z``: the boundary
        value at height ``eps`` (:meth:`_heights`), with the atoms' share taken on the
        axis exactly: at height eps an atom of mass w adds a spurious density
        ``w eps / (pi (x - t)^2)`` to the continuous part, whose integral over
        ``|x - t| > delta`` is ``w eps / (pi delta)`` (2.4e-5 of missing mass for
        MP(2) ⊠ MP(2) before this correction)."""
        real = z.imag == 0
        zz = np.where(real, z + 1j * self._heights(z.real), z)
        m, _, _, result = self._solve(zz)
        if np.any(real):
            zr = zz[real]
            m[real] = m[real] - self._atom_part(zr) + self._atom_part(zr.real + 0j).real
        return m, result

    def _stieltjes(self, z):
        z = np.asarray(z, dtype=complex)
        if self._point_mass is not None:
            return self._exact_stieltjes(z)
        m, result = self._boundary_values(z)
        real = z.imag == 0
        if np.any(real):          # real z outside the support: m is real
            from ..core._stieltjes import in_support
            outside = real & ~in_support(z.real, self.support)
            m = np.where(outside, m.real + 0j, m)
        return SolveResult(value=m, status=result.status, n_iter=result.n_iter,
                           residual=result.residual, z=z)

    def subordination(self, z):
        r"""Subordination functions ``(omega_a(z), omega_b(z))`` at ``Im z > 0``.

        Returns two complex arrays of the shape of ``z``; raises
        :class:`~hdeq.core.ConvergenceError` where the solve failed.
        """
        z = check_array(z, "z", f"{self._owner}.subordination", allow_complex=True)
        z = z.astype(complex)
        if np.any(z.imag <= 0):
            raise ValueError(f"`z` of {self._owner}.subordination must have Im z > 0; "
                             f"got min Im z = {_show(z.imag.min())}")
        from ..core._solver import resolve_failures
        if self._point_mass is not None:
            shift, _, s_is_a = self._point_mass
            m = resolve_failures(self._exact_stieltjes(z.ravel()), "raise",
                                 what=f"the Stieltjes transform of {self._owner}")
            w_other, w_point = self._exact_subordination(z.ravel(), m, shift)
            w_a, w_b = (w_point, w_other) if s_is_a else (w_other, w_point)
            return w_a.reshape(z.shape), w_b.reshape(z.shape)
        _, w_a, w_b, result = self._solve(z.ravel())
        resolve_failures(result, "raise", what=f"the subordination of {self._owner}")
        return w_a.reshape(z.shape), w_b.reshape(z.shape)

    # ---------------------------------------------------------------- point-mass operand
    @cached_property
    def _point_mass(self):
        """``(s, other, s_is_a)`` when an operand is one point mass ``delta_s``, else None.

        ``other ⊞ delta_s`` is ``other`` shifted by ``s`` and ``other ⊠ delta_s`` is
        ``other`` scaled by ``s`` (``m(z) = m_o(z - s)``, resp. ``m_o(z / s) / s``):
        computed exactly from ``other``. (The subordination solve works at the scale
        of the joint bounds: for ``Semicircle(1) ⊞ delta_1e15`` its heights ``1e-13 *
        scale = 100`` smeared the density 0.2% low, at ``1e20`` the bounds' width
        rounded to 0, a ZeroDivisionError.)"""
        for op, other, first in ((self.a, self.b, True), (self.b, self.a, False)):
            if isinstance(op, _AtomicLaw) and op.values.size == 1:
                return float(op.values[0]), other, first
        return None

    def _exact_stieltjes(self, z):
        """``m(z)`` from the other operand's transform at ``_to_other(z)`` (Im >= 0)."""
        shift, other, _ = self._point_mass
        w = self._to_other(z, shift)
        if isinstance(other, SpectralLaw):
            out = other._stieltjes(w)
        else:
            out = _stieltjes_raw(other, w)
        if isinstance(out, SolveResult):
            value, status, residual, n_iter = out.value, out.status, out.residual, out.n_iter
        else:
            value = np.asarray(out, dtype=complex)
            status = np.where(np.isfinite(value), CONVERGED, NOT_FINITE).astype(np.int8)
            residual, n_iter = np.zeros(z.shape), np.zeros(z.shape, dtype=np.int64)
        with np.errstate(over="ignore", invalid="ignore"):
            value = value * self._jacobian(shift)
        return SolveResult(value=value, status=status, n_iter=n_iter, residual=residual,
                           z=z)

    def pdf(self, x, *, on_failure: str = "raise") -> np.ndarray:
        """Density; with a point-mass operand, the other operand's density mapped
        exactly (:attr:`_point_mass`)."""
        pm = self._point_mass
        if pm is None or not isinstance(pm[1], SpectralLaw):
            return super().pdf(x, on_failure=on_failure)
        check_on_failure(on_failure)
        x = check_array(x, "x", self._owner, allow_infinite=True)
        with np.errstate(over="ignore", invalid="ignore"):
            dens = pm[1].pdf(self._to_other(x, pm[0]), on_failure=on_failure)
            return np.asarray(dens, dtype=float) * self._jacobian(pm[0])

    def cdf(self, x, *, rtol: float = 1e-11, on_failure: str = "raise") -> np.ndarray:
        """Distribution function; with a point-mass operand, the other operand's cdf
        at the mapped points (:attr:`_point_mass`)."""
        pm = self._point_mass
        if pm is None or not isinstance(pm[1], SpectralLaw):
            return super().cdf(x, rtol=rtol, on_failure=on_failure)
        check_on_failure(on_failure)
        x = check_array(x, "x", self._owner, allow_infinite=True)
        rtol = check_scalar(rtol, "rtol", f"{self._owner}.cdf", low=0.0, high=1e-2,
                            high_inclusive=True)
        with np.errstate(over="ignore", invalid="ignore"):
            return pm[1].cdf(self._to_other(x, pm[0]), rtol=rtol, on_failure=on_failure)

    @property
    def var(self) -> float:
        """Variance; exact from the other operand's with a point-mass operand (no
        cancellation of ``M_2 - M_1^2`` for a far point mass)."""
        pm = self._point_mass
        if pm is None:
            return super().var
        with np.errstate(over="ignore"):
            return float(np.float64(pm[1].var) * self._variance_factor(pm[0]))

    # ---------------------------------------------------------------- support
    def _inside(self, x):
        """Boolean mask: ``x`` lies in the support of the continuous part.

        Criterion: at heights ``eps`` and ``2 eps`` above ``x`` (``eps = 1e-13 *
        scale``), ``Im m`` is the same (``pi * density``) inside the support, but
        proportional to the height outside it (where ``m`` is real-analytic, atoms
        included), so ``x`` is inside iff ``Im m(x + 2i eps) < 1.5 Im m(x + i eps)``
        and ``Im m(x + i eps) / pi > 1e-12 / width``. The transition is ``O(eps)``
        wide, so edges are located to ``O(eps)``.
        """
        x = np.asarray(x, dtype=float)
        eps = self._heights(x)
        z = np.concatenate([x + 1j * eps, x + 2j * eps])
        m, _, _, result = self._solve(z)
        m = m - self._atom_part(z)                   # the continuous part only
        im1, im2 = m.imag[:x.size], m.imag[x.size:]
        lo, hi = self._bounds
        failed = ~(result.converged[:x.size] & result.converged[x.size:])
        inside = (im2 < 1.5 * im1) & (im1 / np.pi > 1e-12 / (hi - lo))
        return inside, failed, result

    @staticmethod
    def _scan_error(law, x, failed, result):
        from ..core._errors import ConvergenceError
        bad = ~result.converged
        return ConvergenceError(
            f"support of {law!r}: the subordination solve failed at {int(failed.sum())} "
            f"of {failed.size} scan points (e.g. x = {x[failed][0]!r}, residual "
            f"{np.max(result.residual[bad]):.3g}); use stieltjes at Im z > 0 instead")

    @cached_property
    def support(self) -> tuple[tuple[float, float], ...]:
        r"""Intervals carrying the continuous part, found numerically.

        How: the criterion of ``_inside`` (``Im m`` at heights ``eps`` and ``2 eps``
        above the axis, ``eps = 1e-13 * scale``: the same inside the support,
        proportional to the height outside) is evaluated on 1500 points spanning the
        a-priori bound of the support (``[lo_a + lo_b, hi_a + hi_b]`` for ``a ⊞ b``,
        ``[lo_a lo_b, hi_a hi_b]`` for ``a ⊠ b``). Each change between neighbouring
        points brackets an edge, refined by 9 rounds of 16-point sections (the
        bracket shrinks 17-fold per round, below ``1e-13 * scale``). Where the solve
        stalls right at an edge (the subordination equation has a double root there)
        the bracket stops shrinking; the edge is then accepted if known to
        ``1e-6 * scale`` (else ``ConvergenceError``). Components or gaps narrower than
        the grid spacing (width / 1500) can be missed: the intervals found must carry
        the continuous mass (light quadrature, to 1e-5), else ``ConvergenceError``
        (operands whose components lie ~1e4 widths apart). With a point-mass operand
        the other operand's support is shifted (scaled) exactly.
        """
        if self.continuous_mass <= 1e-12:
            return ()
        if self._point_mass is not None:
            shift, other, _ = self._point_mass
            return tuple(tuple(sorted((float(self._from_other(a, shift)),
                                       float(self._from_other(b, shift)))))
                         for a, b in other.support)
        lo, hi = self._bounds
        x = np.linspace(lo, hi, _SCAN_POINTS)[1:-1]
        pos, failed, result = self._inside(x)
        if np.any(failed):
            raise self._scan_error(self, x, failed, result)
        if not np.any(pos):
            self._check_mass(())
            return ()
        # each change of ``pos`` between consecutive scan points (the bounds count as
        # outside) brackets an edge
        xs = np.concatenate([[lo], x, [hi]])
        ps = np.concatenate([[False], pos, [False]])
        changes = np.flatnonzero(ps[1:] != ps[:-1])
        a_ = xs[changes].copy()
        b_ = xs[changes + 1].copy()
        right_in = ps[changes + 1]                 # the state at b_
        frozen = np.zeros(a_.size, dtype=bool)     # the solve stalled inside the bracket
        k = 16
        frac = np.arange(1, k + 1) / (k + 1)
        rows = np.arange(a_.size)
        for _ in range(9):
            if np.all(frozen | (b_ - a_ <= 1e-13 * self._scale)):
                break
            pts = a_[:, None] + (b_ - a_)[:, None] * frac[None, :]
            ins, bad, _ = self._inside(pts.ravel())
            ins, bad = ins.reshape(pts.shape), bad.reshape(pts.shape)
            # first section point whose state equals the state at b_
            same = ins == right_in[:, None]
            first = np.where(same.any(axis=1), same.argmax(axis=1), k)
            new_b = np.where(first < k, pts[rows, np.minimum(first, k - 1)], b_)
            new_a = np.where(first > 0, pts[rows, np.maximum(first - 1, 0)], a_)
            # a bracket whose section points did not all converge keeps its last
            # trustworthy value (only converged points moved it before)
            stalled = bad.any(axis=1)
            a_ = np.where(frozen | stalled, a_, new_a)
            b_ = np.where(frozen | stalled, b_, new_b)
            frozen |= stalled
        if np.any(frozen & (b_ - a_ > 1e-6 * self._scale)):
            raise ConvergenceError(
                f"support of {self!r}: the subordination solve failed near the edges "
                f"{(0.5 * (a_ + b_))[frozen].tolist()} before they were located to "
                f"1e-6 * scale")
        edges = self._snap_to_anchors(0.5 * (a_ + b_), right_in)
        pairs = [(float(edges[i]), float(edges[i + 1])) for i in range(0, edges.size, 2)]
        support = merge_intervals(pairs)
        self._check_mass(support)
        return support

    def _check_mass(self, support):
        """The intervals found must carry the continuous mass ``1 - atoms`` (light
        quadrature of the boundary density, 1e-7): a component narrower than the scan
        spacing (operands whose parts lie many widths apart, e.g.
        ``Semicircle(1) ⊞ (delta_0 + delta_1e4)/2``: bumps of width 4 on a bound of
        width 1e4) would otherwise be lost without a word."""
        def density(x):
            m, result = self._boundary_values(np.asarray(x, dtype=float) + 0j)
            return np.where(result.converged, np.maximum(m.imag, 0.0) / np.pi, np.nan)
        want = self.continuous_mass
        try:
            found = integrate_on_support(density, support, n_nodes=24, rtol=1e-7) \
                if support else 0.0
        except ConvergenceError:
            found = np.nan
        if not abs(found - want) <= 1e-5 * want:
            lo, hi = self._bounds
            raise ConvergenceError(
                f"support of {self!r}: the intervals found, {support}, carry mass "
                f"{found:.6g} of the continuous part's {want:.6g}: parts of the law "
                f"narrower than the scan spacing (hi - lo) / {_SCAN_POINTS} = "
                f"{(hi - lo) / _SCAN_POINTS:.3g} (bounds [{lo:.6g}, {hi:.6g}]) are not "
                f"resolved; the operands' components lie too far apart for one "
                f"convolution (compute the parts separately, or use stieltjes at "
                f"Im z > 0)")

    def _snap_to_anchors(self, edges, right_in):
        """Move an edge onto an anchor ``t`` (an atom or a bound of the support)
        lying on its outside within ``1e-9 * scale`` when the continuous part
        reaches it: the points ``t + (e - t) 10^-k``, ``k = 1..4``, are all inside.
        (The scan locates edges only to ``1e-13 * scale``; where the density blows
        up at ``t``, e.g. like ``x^(-1/2)`` for ``MP(2) ⊠ MP(2)`` at 0, the sliver
        left out would carry ``~ sqrt(1e-13 * scale)`` of mass.)"""
        edges = edges.copy()
        for i, e in enumerate(edges):
            for t in self._anchors:
                gap = e - t if right_in[i] else t - e       # >= 0: atom outside
                if not 0 < gap <= 1e-9 * self._scale:
                    continue
                probes = t + (e - t) * 10.0 ** -np.arange(1.0, 5.0)
                ins, bad, _ = self._inside(probes)
                if np.all(ins & ~bad):
                    edges[i] = t
        return edges

    # ---------------------------------------------------------------- moments
    def _operand_moments(self, law, n):
        """``M_0..M_n`` of an operand (cached; the operand's own ``moment``)."""
        cache = self.__dict__.setdefault("_operand_moment_cache", {})
        key = id(law)
        have = cache.get(key, np.ones(1))
        if have.size < n + 1:
            more = [float(law.moment(k)) for k in range(have.size, n + 1)]
            have = np.concatenate([have, more])
            cache[key] = have
        return have[:n + 1]

    def moment(self, k: int) -> float:
        r"""Moment :math:`M_k = \int t^k d\mu(t)`, exactly from the operands'
        moments ``M_1..M_k`` (no quadrature of the density): see
        :meth:`_moments`. Rounding grows with ``k`` (the series mix moments of
        different sizes): measured agreement with quadrature of the density to
        ``~1e-12`` relative for ``k <= 8``."""
        k = check_scalar(k, "k", f"{self._owner}.moment", low=0, low_inclusive=True,
                         integer=True)
        if k == 0:
            return 1.0
        if self._point_mass is not None:
            shift, other, _ = self._point_mass
            with np.errstate(over="ignore", invalid="ignore"):
                return float(self._exact_moment(k, shift, self._operand_moments(other, k)))
        return float(self._moments(k)[k])

    # ---------------------------------------------------------------- twin
    def _operand_quantiles(self, n):
        return _quantiles(self.a, n), _quantiles(self.b, n)


class FreeAdditiveConvolution(_FreeConvolution):
    r"""Free additive convolution ``a ⊞ b``: the limit spectrum of ``A + U B U^T``.

    ``A``, ``B`` symmetric ``p x p`` with spectra ``a`` and ``b``, ``U`` Haar
    orthogonal, ``p -> inf`` (Voiculescu 1991: ``A`` and ``U B U^T`` are
    asymptotically free). Build it with :func:`free_additive_convolution`.

    **Subordination** (Biane 1998; Belinschi & Bercovici 2007, Thm. 4.1), in our
    convention ``m(z) = \int d\mu/(t - z)`` (physics ``G = -m``): there are analytic
    ``omega_a, omega_b`` from the upper half-plane to itself, with
    ``Im omega >= Im z``, such that

    .. math::  m(z) = m_a(\omega_a(z)) = m_b(\omega_b(z)), \qquad
               \omega_a(z) + \omega_b(z) = z - 1/m(z).

    With ``K(w) = w + 1/m(w)`` this is ``omega_b = z - K_a(omega_a)`` and
    ``omega_a = z - K_b(omega_b)``: ``omega_a`` is the fixed point of
    ``w -> z - K_b(z - K_a(w))``, an analytic self-map of the upper half-plane whose
    iterates converge (Belinschi-Bercovici). We solve
    ``F(w) = w + K_b(z - K_a(w)) - z = 0`` by Newton with continuation from large
    ``Im z`` (the core solver, on ``u = -1/(w + mean_b)``, ``u ~ -1/z`` at infinity),
    check ``Im omega_a, Im omega_b > 0`` afterwards and retry failures with ``a``
    and ``b`` exchanged.

    Real axis: boundary values are taken at ``x + i eps``, ``eps = 1e-13 * scale``
    (error ``O(eps)`` in the bulk), ``eps = 1e-13 * d`` within ``d`` of an atom or
    a bound of the support (:meth:`_heights`), with the atoms' share taken on
    the axis exactly, and polished to machine precision (:meth:`_polish`); an
    edge found within ``1e-9 * scale`` of an atom or bound is moved onto it when
    the density reaches it (:meth:`_snap_to_anchors`). Moments: exact from the
    operands' (:meth:`_moments`). Atoms (Bercovici & Voiculescu 1998): ``a ⊞ b``
    has an atom at ``s + t`` iff ``a({s}) + b({t}) > 1``, of mass
    ``a({s}) + b({t}) - 1``; there are no others. Support: see :attr:`support`.
    A point-mass operand ``delta_s`` is an exact shift, ``m(z) = m_a(z - s)``, computed
    from the other operand (any ``s``, e.g. ``1e300``; no subordination solve).

    **Limitation: cusps.** Where the density vanishes inside the support like
    ``|x - x0|^(1/3)`` (e.g. ``Semicircle(1) ⊞ (δ_{-1} + δ_1)/2`` at ``x0 = 0``:
    ``m`` solves ``m (z + m)^2 + z = 0``, so ``m(0) = 0`` and ``omega_a = -1/m -
    m`` is infinite there), the subordination equation has a triple root at
    ``x0`` and the solve does not converge within about ``1e-8 * scale`` of it:
    :meth:`pdf` (and :meth:`cdf`, whose quadrature samples the density there)
    raise :class:`~hdeq.core.ConvergenceError` rather than return a wrong number.
    Nearby, the boundary value at height ``eps`` carries a relative error
    ``~ eps / (3 |x - x0|)`` (measured for that example: ``5e-6`` at
    ``x = 1e-8``, ``6e-8`` at ``1e-6``, ``6e-10`` at ``1e-4``, against the cubic).
    :meth:`moment` is exact (free cumulants) and unaffected.

    :meth:`sample` returns the eigenvalues of ``diag(q_a) + U diag(q_b) U^T`` with
    ``q_a``, ``q_b`` the ``(i + 1/2)/p`` quantiles of ``a`` and ``b`` and ``U`` Haar
    (QR of a Gaussian matrix with sign correction).

    Examples
    --------
    >>> from hdeq.laws import Semicircle, free_additive_convolution
    >>> law = free_additive_convolution(Semicircle(0.6), Semicircle(0.8))
    >>> complex(law.stieltjes(1j)).imag                    # doctest: +ELLIPSIS
    0.61803...
    """

    def __init__(self, a, b):
        owner = "free_additive_convolution"
        self.a = _as_law(a, "a", owner, nonnegative=False)
        self.b = _as_law(b, "b", owner, nonnegative=False)
        la, ha = _bounds(self.a)
        lb, hb = _bounds(self.b)
        self._bounds = (la + lb, ha + hb)
        self._means = (float(self.a.mean), float(self.b.mean))

    @staticmethod
    def _w_from_u(u, mean_other):
        return -1.0 / u - mean_other

    @staticmethod
    def _dw_du(u, mean_other):
        return 1.0 / (u * u)

    def _residual(self, first, second, w1, z):
        k1, dk1 = _k_and_derivative(first, w1, self._scale)
        w2 = z - k1
        k2, dk2 = _k_and_derivative(second, w2, self._scale)
        return w1 + k2 - z, 1.0 - dk2 * dk1, w2

    # point-mass operand delta_s (exact): the law of other + s
    @staticmethod
    def _to_other(z, shift):
        return z - shift

    @staticmethod
    def _from_other(x, shift):
        return x + shift

    @staticmethod
    def _jacobian(shift):
        return 1.0

    @staticmethod
    def _variance_factor(shift):
        return 1.0

    @staticmethod
    def _exact_subordination(z, m, shift):
        """``omega_other = z - s`` and ``omega_point = s - 1/m`` (``m_delta(w) =
        1/(s - w)``); they add up to ``z - 1/m``."""
        with np.errstate(all="ignore"):
            return z - shift, shift - 1.0 / m

    @staticmethod
    def _exact_moment(k, shift, M):
        """``E (X + s)^k = sum_j C(k, j) s^(k - j) M_j`` (``inf`` beyond the float range)."""
        from math import comb
        return sum(comb(k, j) * np.float64(shift) ** (k - j) * M[j] for j in range(k + 1))

    def _m_from(self, w_a, z):
        return _stieltjes_raw(self.a, w_a)

    @staticmethod
    def _noise(w1, z, F):
        """Rounding level of ``F = w1 + K_b - z``: ``1e-15 (|w1| + |z| + |K_b|)``."""
        return 1e-15 * (np.abs(w1) + np.abs(z) + np.abs(F - w1 + z))

    def _fixed_point_start(self, z, mean_other):
        return z + 1j * self._scale - mean_other

    @staticmethod
    def _fixed_point_step(w1, F, z):
        return w1 - F                                  # = z - K_b(z - K_a(w1))

    def _moments(self, n):
        r"""``M_0..M_n`` of ``a ⊞ b``: free cumulants add (Voiculescu's R-transform
        linearizes ⊞; Nica & Speicher 2006, Lecture 12),
        ``kappa_j(a ⊞ b) = kappa_j(a) + kappa_j(b)``, converted to and from moments
        by the moment-cumulant formula on non-crossing partitions, in its series
        form ``M(w) = 1 + sum_j kappa_j (w M(w))^j`` (Lecture 16). E.g.
        ``var(a ⊞ b) = var(a) + var(b)``."""
        ka = _free_cumulants_from_moments(self._operand_moments(self.a, n))
        kb = _free_cumulants_from_moments(self._operand_moments(self.b, n))
        return _moments_from_free_cumulants(ka + kb)

    @cached_property
    def atoms(self) -> tuple[tuple[float, float], ...]:
        """``(s + t, a({s}) + b({t}) - 1)`` for every pair with positive mass."""
        out = []
        for s, p in self.a.atoms:
            for t, q in self.b.atoms:
                if p + q > 1.0 + 1e-14:
                    out.append((float(s + t), float(p + q - 1.0)))
        return tuple(sorted(out))

    def sample(self, n_features: int, seed=None) -> np.ndarray:
        """Sorted eigenvalues of ``diag(q_a) + U diag(q_b) U^T`` (``p = n_features``)."""
        p = check_scalar(n_features, "n_features", f"{self._owner}.sample", low=1,
                         low_inclusive=True, integer=True)
        rng = as_generator(seed)
        qa, qb = self._operand_quantiles(p)
        u = _haar_orthogonal(p, rng)
        mat = (u * qb) @ u.T
        mat[np.diag_indices(p)] += qa
        return np.linalg.eigvalsh(0.5 * (mat + mat.T))


class FreeMultiplicativeConvolution(_FreeConvolution):
    r"""Free multiplicative convolution ``a ⊠ b`` of two laws on ``[0, inf)``: the
    limit spectrum of ``A^{1/2} U B U^T A^{1/2}``.

    Build it with :func:`free_multiplicative_convolution`. Example: the sample
    covariance law of a population ``H`` at ``aspect_ratio = c`` is
    ``H ⊠ MarchenkoPastur(c)``.

    **Subordination** (Biane 1998; Belinschi & Bercovici 2007, Thm. 4.1). With
    ``psi(z) = \int z t/(1 - z t) d\mu``, ``eta = psi/(1 + psi)``, there are
    ``omega_1, omega_2`` with ``eta_{a⊠b}(z) = eta_a(omega_1) = eta_b(omega_2)``
    and ``omega_1 omega_2 = z eta_{a⊠b}(z)``.

    *Derivation in our convention.* ``int 1/(1 - z t) d\mu = -(1/z) m(1/z)``, so
    ``psi(z) = -m(1/z)/z - 1`` and ``eta(z) = 1 + z/m(1/z)``. Put ``zeta = 1/z`` (the
    resolvent variable) and ``Omega_i = 1/omega_i``. Then
    ``eta(1/zeta) = 1 + 1/(zeta m(zeta)) = K(zeta)/zeta`` with
    ``K(w) = w + 1/m(w)`` as in the additive case, and the equations become

    .. math::  \zeta\, m(\zeta) = \Omega_a m_a(\Omega_a) = \Omega_b m_b(\Omega_b),
               \qquad \Omega_a\,K_b(\Omega_b) = \zeta = \Omega_b\,K_a(\Omega_a),

    i.e. ``Omega_a`` is the fixed point of ``w -> zeta / K_b(zeta / K_a(w))`` (the
    Belinschi-Bercovici iteration conjugated by ``w -> 1/w``), and
    ``m(zeta) = Omega_a m_a(Omega_a) / zeta``. Check: ``b = delta_s`` gives
    ``K_b = s``, ``Omega_a = zeta/s`` and ``m(zeta) = m_a(zeta/s)/s``, the law of
    ``s A``. For ``Im zeta > 0`` both ``Omega`` lie in the upper half-plane.
    We solve ``F(w) = w K_b(zeta / K_a(w)) - zeta = 0`` by Newton with continuation
    (core solver, on ``u = -1/(mean_b w)``, ``u ~ -1/zeta`` at infinity), then check
    ``Im Omega_b > 0``, and retry failures with ``a`` and ``b`` exchanged.

    Atoms (Belinschi 2003; Bercovici & Voiculescu 1998): at 0 with mass
    ``max(a({0}), b({0}))``; at ``s t`` (``s, t > 0``) with mass
    ``a({s}) + b({t}) - 1`` when positive. Real axis and support as for
    :class:`FreeAdditiveConvolution`; a point-mass operand ``delta_s`` is an exact
    scaling, ``m(z) = m_a(z / s) / s``.

    :meth:`sample` returns the eigenvalues of ``D_a^{1/2} U D_b U^T D_a^{1/2}`` with
    ``D`` the diagonal matrices of the ``(i + 1/2)/p`` quantiles and ``U`` Haar.

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq.laws import free_multiplicative_convolution
    >>> law = free_multiplicative_convolution(2.0, (np.array([1.0, 3.0]), np.array([.5, .5])))
    >>> [loc for loc, _ in law.atoms]
    [2.0, 6.0]
    """

    def __init__(self, a, b):
        owner = "free_multiplicative_convolution"
        self.a = _as_law(a, "a", owner, nonnegative=True)
        self.b = _as_law(b, "b", owner, nonnegative=True)
        la, ha = _bounds(self.a)
        lb, hb = _bounds(self.b)
        if ha <= 0 or hb <= 0:
            raise ValueError(f"`a` and `b` of {owner} must not be the point mass at 0; "
                             f"got {self.a!r} and {self.b!r}")
        self._bounds = (la * lb, ha * hb)
        self._means = (float(self.a.mean), float(self.b.mean))

    @staticmethod
    def _w_from_u(u, mean_other):
        return -1.0 / (u * mean_other)

    @staticmethod
    def _dw_du(u, mean_other):
        return 1.0 / (u * u * mean_other)

    def _residual(self, first, second, w1, z):
        k1, dk1 = _k_and_derivative(first, w1, self._scale)
        with np.errstate(all="ignore"):
            w2 = z / k1
            k2, dk2 = _k_and_derivative(second, w2, self._scale)
            F = w1 * k2 - z
            dF = k2 - w1 * w2 * dk2 * dk1 / k1
        return F, dF, w2

    def _m_from(self, w_a, z):
        return w_a * _stieltjes_raw(self.a, w_a) / z

    # point-mass operand delta_s, s > 0 (exact): the law of s * other
    @staticmethod
    def _to_other(z, shift):
        return z / shift

    @staticmethod
    def _from_other(x, shift):
        return x * shift

    @staticmethod
    def _jacobian(shift):
        return 1.0 / shift

    @staticmethod
    def _variance_factor(shift):
        return np.float64(shift) ** 2

    @staticmethod
    def _exact_subordination(z, m, shift):
        """In the resolvent variable ``zeta = z``: ``Omega_other = zeta / s`` and
        ``Omega_point = s zeta m / (1 + zeta m)`` (``Omega m_delta(Omega) = zeta m``)."""
        with np.errstate(all="ignore"):
            zm = z * m
            return z / shift, shift * (zm / (1.0 + zm))

    @staticmethod
    def _exact_moment(k, shift, M):
        """``E (s X)^k = s^k M_k``."""
        return np.float64(shift) ** k * M[k]

    @staticmethod
    def _noise(w1, z, F):
        """Rounding level of ``F = w1 K_b - z``: ``1e-15 (|z| + |w1 K_b|)``."""
        return 1e-15 * (np.abs(z) + np.abs(F + z))

    def _fixed_point_start(self, z, mean_other):
        return (z + 1j * self._scale) / mean_other

    @staticmethod
    def _fixed_point_step(w1, F, z):
        with np.errstate(all="ignore"):
            return w1 * z / (F + z)                    # = zeta / K_b(zeta / K_a(w1))

    def _moments(self, n):
        r"""``M_0..M_n`` of ``a ⊠ b``: Voiculescu's S-transform is multiplicative,
        ``S_{a⊠b} = S_a S_b`` (Nica & Speicher 2006, Lecture 18; Mingo & Speicher
        2017, ch. 3), with ``S(w) = chi(w) (1 + w) / w`` and ``chi`` the inverse of
        ``psi(w) = sum_{k>=1} M_k w^k``, all as truncated power series. Each
        operand is first scaled to mean 1 (``M_k / M_1^k``; ``M_k(s a ⊠ b) = s^k
        M_k(a ⊠ b)``). Gives ``M_1 = M_1(a) M_1(b)`` and
        ``M_2 = M_2(a) M_1(b)^2 + M_1(a)^2 M_2(b) - M_1(a)^2 M_1(b)^2``."""
        ma = self._operand_moments(self.a, n)
        mb = self._operand_moments(self.b, n)
        pw = np.arange(n + 1)
        sa, sb = ma[1], mb[1]
        S = np.convolve(_s_transform(ma / sa ** pw), _s_transform(mb / sb ** pw))[:n]
        return _moments_from_s_transform(S) * (sa * sb) ** pw

    @cached_property
    def atoms(self) -> tuple[tuple[float, float], ...]:
        """Zero atom ``max(a({0}), b({0}))``; ``(s t, a({s}) + b({t}) - 1)`` for
        ``s, t > 0`` with positive mass."""
        out = []
        za = dict(self.a.atoms).get(0.0, 0.0)
        zb = dict(self.b.atoms).get(0.0, 0.0)
        if max(za, zb) > 0:
            out.append((0.0, float(max(za, zb))))
        for s, p in self.a.atoms:
            for t, q in self.b.atoms:
                if s > 0 and t > 0 and p + q > 1.0 + 1e-14:
                    out.append((float(s * t), float(p + q - 1.0)))
        return tuple(sorted(out))

    def sample(self, n_features: int, seed=None) -> np.ndarray:
        """Sorted eigenvalues of ``D_a^{1/2} U D_b U^T D_a^{1/2}`` (``p = n_features``)."""
        p = check_scalar(n_features, "n_features", f"{self._owner}.sample", low=1,
                         low_inclusive=True, integer=True)
        rng = as_generator(seed)
        qa, qb = self._operand_quantiles(p)
        u = _haar_orthogonal(p, rng)
        r = np.sqrt(np.maximum(qa, 0.0))
        mat = r[:, None] * ((u * qb) @ u.T) * r[None, :]
        return np.linalg.eigvalsh(0.5 * (mat + mat.T))


def free_additive_convolution(a, b) -> FreeAdditiveConvolution:
    r"""The free additive convolution ``a ⊞ b`` (law of ``A + U B U^T``, ``U`` Haar).

    Parameters
    ----------
    a, b : law, float, array of eigenvalues, or ``(values, weights)``
        A spectral law (anything with ``stieltjes``, ``support``, ``atoms``), a point
        mass (a float), or a discrete law. See :class:`FreeAdditiveConvolution` for
        the subordination equations, sources and numerical method.

    Examples
    --------
    Two semicircles of scales ``s1, s2`` give the semicircle of scale
    ``sqrt(s1^2 + s2^2)``:

    >>> from hdeq.laws import Semicircle, free_additive_convolution
    >>> law = free_additive_convolution(Semicircle(0.6), Semicircle(0.8))
    >>> [round(e, 6) for e in law.support[0]]
    [-2.0, 2.0]
    """
    return FreeAdditiveConvolution(a, b)


def free_multiplicative_convolution(a, b) -> FreeMultiplicativeConvolution:
    r"""The free multiplicative convolution ``a ⊠ b`` of two laws on ``[0, inf)``
    (law of ``A^{1/2} U B U^T A^{1/2}``, ``U`` Haar).

    Parameters
    ----------
    a, b : law on [0, inf), non-negative float, array of eigenvalues, or ``(values, weights)``
        See :class:`FreeMultiplicativeConvolution` for the equations (derived in
        our sign convention), sources and numerical method.

    Examples
    --------
    ``H ⊠ MarchenkoPastur(c)`` is the sample-covariance (generalized MP) law:

    >>> from hdeq.laws import MarchenkoPastur, SampleCovarianceLaw, free_multiplicative_convolution
    >>> H = ([1.0, 3.0], [0.5, 0.5])
    >>> law = free_multiplicative_convolution(H, MarchenkoPastur(0.3))
    >>> bool(abs(law.stieltjes(-1.0) - SampleCovarianceLaw(H, 0.3).stieltjes(-1.0)) < 1e-12)
    True
    """
    return FreeMultiplicativeConvolution(a, b)
