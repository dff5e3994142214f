r"""Stieltjes-transform utilities: quadrature on a support, Silverstein-Choi edges,
the polynomial-root density of a discrete population, intervals and atoms.

Convention: ``m(z) = \int d\mu(t) / (t - z)`` (``Im m > 0`` for ``Im z > 0``).
"""

from __future__ import annotations

import numpy as np

from ._errors import ConvergenceError

__all__ = ["support_quadrature", "integrate_on_support", "sample_covariance_edges",
           "rounding_zero_rtol", "polynomial_density", "merge_intervals", "in_support"]

_GL_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _gauss_legendre(n: int):
    if n not in _GL_CACHE:
        _GL_CACHE[n] = np.polynomial.legendre.leggauss(n)
    return _GL_CACHE[n]


def support_quadrature(left: float, right: float, upper=None, n_nodes: int = 96):
    r"""Nodes and weights for :math:`\int_{left}^{upper} g(x)\,dx` on a support interval.

    Uses the substitution :math:`x = a + (b - a)(1 - \cos\theta)/2` (``a = left``,
    ``b = right``), which turns square-root edge behaviour :math:`\sqrt{x - a}` and
    even :math:`1/\sqrt{x - a}` into smooth integrands in :math:`\theta`, then
    Gauss-Legendre in :math:`\theta \in [0, \theta(upper)]`. Vectorized over
    ``upper`` (any shape): returns ``(x, w)`` of shape ``upper.shape + (n_nodes,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq.core import support_quadrature
    >>> x, w = support_quadrature(0.0, 4.0)
    >>> round(float(np.sum(w * np.sqrt(x * (4 - x)) / (2 * np.pi))), 12)
    1.0
    """
    a, b = float(left), float(right)
    if upper is None:
        upper = b
    upper = np.clip(np.asarray(upper, dtype=float), a, b)
    theta_u = np.arccos(np.clip(1.0 - 2.0 * (upper - a) / (b - a), -1.0, 1.0))
    u, wu = _gauss_legendre(n_nodes)
    theta = theta_u[..., None] * (u + 1.0) / 2.0
    x = a + (b - a) * (1.0 - np.cos(theta)) / 2.0
    w = wu * theta_u[..., None] / 2.0 * (b - a) * np.sin(theta) / 2.0
    return x, w


def _split(a: float, b: float) -> list[tuple[float, float]]:
    """Halve ``[a, b]``; geometrically when it spans decades above 0 (a density like
    ``1/x`` near a tiny left edge then needs a few splits, not one per factor 2)."""
    mid = np.sqrt(a * b) if a > 0 and b > 100 * a else 0.5 * (a + b)
    return [(a, mid), (mid, b)]


def adaptive_pieces(g, support, n_nodes: int = 96, *, rtol: float = 1e-11,
                    max_pieces: int = 512):
    """Adaptive partition of the intervals of ``support`` for ``int g``: a sorted tuple
    of ``(lo, hi, integral)`` whose integrals sum to the whole.

    Each piece is integrated with :func:`support_quadrature` using ``n_nodes`` and
    ``2 n_nodes`` nodes; where the two disagree by more than ``rtol`` times the total
    the piece is split (halved, or cut at the geometric mean when it spans decades
    above 0; the cosine substitution keeps square-root edges exact). All pending
    pieces are evaluated together, in one call of ``g`` per round (``g`` is
    vectorized over a 1-D array of nodes). The tolerance is relative to the integral
    of ``|g|``, so integrands whose integral cancels (odd moments of a symmetric law)
    are handled. A density with a deep narrow dip (two bulks that nearly touch) needs
    this: a fixed rule was seen to miss 2e-4 of the mean there. Raises
    :class:`~hdeq.core.ConvergenceError` if ``max_pieces`` pieces, plus 8 per interval
    of ``support``, do not reach ``rtol`` (a sample covariance law at a small aspect
    ratio has one bulk per well-separated population eigenvalue: hundreds of intervals).
    """
    pending = [(float(a), float(b)) for a, b in support if b > a]
    max_pieces = max_pieces + 8 * len(pending)
    accepted: list[tuple[float, float, float]] = []
    accepted_abs = 0.0  # integral of |g| over the accepted pieces
    while pending:
        xs, ws = zip(*(support_quadrature(a, b, n_nodes=2 * n_nodes) for a, b in pending))
        xc, wc = zip(*(support_quadrature(a, b, n_nodes=n_nodes) for a, b in pending))
        values = np.asarray(g(np.concatenate(xs + xc)), dtype=float)
        fine_v, coarse_v = np.split(values, [2 * n_nodes * len(pending)])
        fine = np.sum(np.stack(ws) * fine_v.reshape(len(pending), -1), axis=1)
        coarse = np.sum(np.stack(wc) * coarse_v.reshape(len(pending), -1), axis=1)
        fine_abs = np.sum(np.stack(ws) * np.abs(fine_v).reshape(len(pending), -1), axis=1)
        tol = rtol * max(accepted_abs + fine_abs.sum(), 1e-300)
        refine = []
        for (a, b), f, c, fa in zip(pending, fine, coarse, fine_abs):
            if abs(f - c) <= tol or (b - a) <= 1e-14 * max(1.0, abs(a)):
                accepted.append((a, b, float(f)))
                accepted_abs += fa
            else:
                refine.append((a, b, f, c))
        if len(accepted) + 2 * len(refine) > max_pieces:
            a, b, f, c = refine[0]
            raise ConvergenceError(
                f"adaptive quadrature on [{a:.6g}, {b:.6g}] did not reach rtol={rtol:g} "
                f"within {max_pieces} pieces (last two estimates {c!r}, {f!r})")
        pending = [half for a, b, _, _ in refine for half in _split(a, b)]
    return tuple(sorted(accepted))


def integrate_on_support(g, support, n_nodes: int = 96, *, rtol: float = 1e-11,
                         max_pieces: int = 512) -> float:
    """``sum over intervals of int g(x) dx`` by :func:`adaptive_pieces`."""
    return float(sum(piece[2] for piece in adaptive_pieces(
        g, support, n_nodes, rtol=rtol, max_pieces=max_pieces)))


def merge_intervals(intervals, gap: float = 0.0):
    """Sort ``(left, right)`` pairs and merge those closer than ``gap``."""
    out: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in intervals):
        if out and a <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def in_support(x, support) -> np.ndarray:
    """Boolean mask: ``x`` lies in one of the closed intervals of ``support``."""
    x = np.asarray(x, dtype=float)
    mask = np.zeros(x.shape, dtype=bool)
    for a, b in support:
        mask |= (x >= a) & (x <= b)
    return mask


def _bisect(f, lo, hi, n_steps=80):
    """Vectorized bisection of sign changes of ``f`` on ``[lo, hi]`` (arrays);
    ``f(lo) > 0 > f(hi)`` or the reverse, given by the sign at ``lo``."""
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    s_lo = np.sign(f(lo))
    for _ in range(n_steps):
        mid = 0.5 * (lo + hi)
        same = np.sign(f(mid)) == s_lo
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
        if np.all(hi - lo <= 4e-16 * np.maximum(np.abs(lo), np.abs(hi))):
            break
    return 0.5 * (lo + hi)


def _bisect_offset(f, pole, direction, s_lo, s_hi, n_steps=200):
    """Vectorized bisection of ``g(s) = f(pole + direction * s)`` over the offset
    ``s`` in ``[s_lo, s_hi]`` (positive arrays, sign change between the ends, the
    sign at ``s_lo`` is taken as the left sign).

    The midpoint is geometric while ``s_hi > 4 s_lo`` and arithmetic after, so a root
    at any distance from the pole (from ``1e-15 |pole|`` to decades away) is found
    to a relative accuracy of a few ulp *in the offset* within ~120 steps. Returns
    ``(u, s)``: the root ``pole + direction * s`` and its offset ``s``.
    """
    pole = np.asarray(pole, dtype=float)
    sgn = np.asarray(direction, dtype=float)
    lo = np.array(s_lo, dtype=float)
    hi = np.array(s_hi, dtype=float)
    g = lambda s: f(pole + sgn * s)  # noqa: E731
    left_sign = np.sign(g(lo))
    for _ in range(n_steps):
        mid = np.where(hi > 4.0 * lo, np.sqrt(lo * hi), 0.5 * (lo + hi))
        same = np.sign(g(mid)) == left_sign
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
        if np.all(hi - lo <= 4e-16 * hi):
            break
    s = 0.5 * (lo + hi)
    return pole + sgn * s, s


def _psi_derivs(u, t, wc, chunk=256):
    """``psi'(u) = 1 - c sum w t^2/(u - t)^2`` and ``psi''(u) = 2 c sum w t^2/(u - t)^3``
    for a 1-D array ``u``; ``wc = c * w``."""
    u = np.asarray(u, dtype=float)
    d1 = np.empty(u.shape)
    d2 = np.empty(u.shape)
    wt2 = wc * t * t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for s in range(0, u.size, chunk):
            r = 1.0 / (u[s:s + chunk, None] - t[None, :])
            r2 = r * r
            d1[s:s + chunk] = 1.0 - r2 @ wt2
            d2[s:s + chunk] = 2.0 * (r2 * r) @ wt2
    return d1, d2


def _psi(u, t, wc, chunk=256):
    u = np.asarray(u, dtype=float)
    out = np.empty(u.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for s in range(0, u.size, chunk):
            uu = u[s:s + chunk, None]
            out[s:s + chunk] = u[s:s + chunk] * (1.0 + (1.0 / (uu - t[None, :])) @ (wc * t))
    return out


def rounding_zero_rtol(n_values: int) -> float:
    """Default relative threshold below which population eigenvalues are zeros:
    ``n_values * eps`` (float64 ``eps = 2.2e-16``), the rounding level of the
    eigenvalues of an ``n_values x n_values`` symmetric matrix relative to its largest
    (the default tolerance of ``numpy.linalg.matrix_rank``). Used by
    :func:`sample_covariance_edges` and :class:`hdeq.laws.SampleCovarianceLaw`."""
    return max(int(n_values), 1) * float(np.finfo(float).eps)


def sample_covariance_edges(values, weights, aspect_ratio, *, zero_rtol=None):
    r"""Support edges of the generalized Marchenko-Pastur law (Silverstein & Choi 1995).

    Population spectrum :math:`H = \sum_j w_j \delta_{t_j}`, ratio
    ``c = aspect_ratio = p/n``. With :math:`u = -1/\tilde m`, the inverse of the
    companion transform is :math:`x = \psi(u) = u\,(1 + c \sum_j w_j t_j/(u - t_j))`
    and a real point is outside the support iff :math:`\psi'(u) > 0` (theory note
    linear.md §3.4, §4). Since :math:`\psi''' < 0` between poles, :math:`\psi'` is
    concave there: each gap interval ``(t_j, t_{j+1})`` holds zero or two critical
    points (found from the maximum of :math:`\psi'`), ``(-inf, t_1)`` one (the left
    edge; it lies at ``u < 0`` when ``c (1 - w_0) > 1``) and ``(t_K, inf)`` one (the
    right edge). Gaps are pre-screened with the bound
    :math:`\psi' \le 1 - c(a/d_1^2 + b/d_2^2) \le 1 - c(a^{1/3} + b^{1/3})^3/L^2`
    (neighbours only), so dense populations of 10^4 atoms cost O(K) plus the few
    candidates.

    Scale and spread: the law of ``s H`` is the law of ``H`` scaled by ``s``, so the
    computation runs on ``t / max t`` (no overflow for ``max t = 1e300``, no
    underflow for ``1e-300``) and the edges are scaled back. Every critical point
    is located by bisection in its *offset from the nearest pole* with a geometric
    midpoint (:func:`_bisect_offset`), so bulks many decades below the largest
    eigenvalue get edges accurate to a few ulp. Population eigenvalues
    ``<= zero_rtol * max t`` (default :func:`rounding_zero_rtol` of the number of
    values, ``K * eps``: float64 rounding of a ``K x K`` covariance matrix) are
    treated as exact zeros: they only add to the atom at 0. Pass ``zero_rtol=0`` to
    keep them all.

    Zero population eigenvalues do not enter (they only add to the atom at 0).
    Returns a sorted tuple of ``(left, right)`` intervals of the continuous part
    of the sample spectrum (both the ``p x p`` law and its companion).

    Examples
    --------
    >>> from hdeq.core import sample_covariance_edges
    >>> [tuple(float(f"{e:.4g}") for e in iv)
    ...  for iv in sample_covariance_edges([1e-10, 1.0], [0.5, 0.5], 0.5)]
    [(1.34e-11, 1.866e-10), (0.25, 2.25)]
    >>> sample_covariance_edges([1e-16, 1.0], [0.5, 0.5], 0.5)   # <= 2 eps: a zero
    ((0.25, 2.25),)
    """
    t = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = t > 0
    t, w = t[keep], w[keep]
    if t.size == 0:
        return ()
    unit = float(t.max())
    t = t / unit
    if zero_rtol is None:
        zero_rtol = rounding_zero_rtol(np.size(values))
    keep = t > zero_rtol
    t, w = t[keep], w[keep]
    order = np.argsort(t)
    t, w = t[order], w[order]
    c = float(aspect_ratio)
    wc = c * w
    d1 = lambda u: _psi_derivs(u, t, wc)[0]  # noqa: E731
    d2 = lambda u: _psi_derivs(u, t, wc)[1]  # noqa: E731
    tiny = 1e-15       # smallest offset from a pole, relative to it (> 1 ulp, so the
                       # pole itself, where 1/(u - t) has the wrong sign, is never hit)
    one = np.ones(1)
    crit = []
    # (-inf, t_1): psi' decreasing from 1 to -inf; offset to the left of t_1
    span = 1.0 + c + 1.0
    s_hi = t[0] + span
    while d1(np.array([t[0] - s_hi]))[0] <= 0:
        s_hi *= 2.0
    crit.append(_bisect_offset(d1, t[:1], -one, tiny * t[:1], np.array([s_hi]))[0][0])
    # (t_K, inf): psi' increasing from -inf to 1; offset to the right of t_K = 1
    s_hi = span
    while d1(np.array([t[-1] + s_hi]))[0] <= 0:
        s_hi *= 2.0
    right = _bisect_offset(d1, t[-1:], one, tiny * t[-1:], np.array([s_hi]))[0][0]
    # gaps: screen, then locate the maximum of psi' (zero of decreasing psi'')
    if t.size > 1:
        a = wc[:-1] * t[:-1] ** 2
        b = wc[1:] * t[1:] ** 2
        L = np.diff(t)
        cand = np.flatnonzero((np.cbrt(a) + np.cbrt(b)) ** 3 < L ** 2)
        if cand.size:
            lo_c, hi_c, Lc = t[cand], t[cand + 1], L[cand]
            # the zero of psi'' lies in the half where psi'' changes sign; bisect
            # from the pole at that end, geometrically in the offset
            mid = lo_c + 0.5 * Lc
            from_lo = d2(mid) < 0
            pole = np.where(from_lo, lo_c, hi_c)
            sgn = np.where(from_lo, 1.0, -1.0)
            umax, _ = _bisect_offset(d2, pole, sgn, tiny * pole, 0.5 * Lc)
            has = d1(umax) > 0
            if np.any(has):
                lo_h, hi_h, um = lo_c[has], hi_c[has], umax[has]
                ul, _ = _bisect_offset(d1, lo_h, np.ones(lo_h.size), tiny * lo_h, um - lo_h)
                ur, _ = _bisect_offset(d1, hi_h, -np.ones(hi_h.size), tiny * hi_h, hi_h - um)
                crit.extend(np.ravel(np.column_stack([ul, ur])))
    crit.append(right)
    xs = _psi(np.array(crit), t, wc)
    # crit are ordered by u; x(u) is increasing along the support boundaries
    pairs = [(xs[2 * i], xs[2 * i + 1]) for i in range(len(xs) // 2)]
    lo0 = pairs[0][0]
    if lo0 < 0 and abs(lo0) < 1e-12 * pairs[-1][1]:
        pairs[0] = (0.0, pairs[0][1])
    return tuple((float(a) * unit, float(b) * unit) for a, b in sorted(pairs))


def polynomial_density(x, values, weights, aspect_ratio):
    r"""Density of the generalized MP law on the real axis by polynomial roots.

    For a discrete population ``H = sum_j w_j delta_{t_j}`` (K atoms) the
    Silverstein-Choi equation multiplied out is a polynomial of degree K+1 in the
    companion transform ``mt``:
    :math:`x\,\tilde m P + P - c\,\tilde m \sum_j w_j t_j \prod_{l\ne j}(1 + t_l \tilde m) = 0`,
    :math:`P = \prod_j (1 + t_j \tilde m)`. The root with the largest imaginary part is
    ``mt(x + i0)``; the ``p x p`` density is ``Im((mt + (1 - c)/x)/c)/pi`` (theory note
    linear.md §3.3). Exact and branch-free, but ill-conditioned beyond ~20 atoms: an
    independent check of the Newton route, not the main route. ``x`` 1-D, nonzero.
    """
    t = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    c = float(aspect_ratio)
    P = np.polynomial.polynomial
    prodP = np.array([1.0])
    for tj in t:
        prodP = P.polymul(prodP, [1.0, tj])
    S = np.zeros(1)
    for j in range(t.size):
        q = np.array([1.0])
        for l, tl in enumerate(t):
            if l != j:
                q = P.polymul(q, [1.0, tl])
        S = P.polyadd(S, w[j] * t[j] * q)
    mS = P.polymul([0.0, c], S)
    out = np.empty(np.shape(x))
    for i, xi in enumerate(np.ravel(x)):
        coef = P.polysub(P.polyadd(P.polymul([0.0, xi], prodP), prodP), mS)
        roots = P.polyroots(coef)
        r = roots[np.argmax(roots.imag)]
        if r.imag < 1e-10 * max(1.0, abs(r)):
            out.flat[i] = 0.0
        else:
            out.flat[i] = ((r + (1 - c) / xi) / c).imag / np.pi
    return out
