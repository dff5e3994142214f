"""Activations: Gaussian moments, Hermite coefficients, Gaussian-equivalent parameters and
expected kernels E_w[s(wᵀx) s(wᵀy)], w ~ N(0, I).

Two tiers (theory note nonlinear.md §1):

* closed forms (linear, relu, leaky_relu, abs, sign, step, erf, quadratic, cubic, exp, sin,
  cos, gaussian): moments as functions of the variance (§1.2) and kernels from the squared
  norms and inner product (§1.3), exact to rounding;
* quadrature (tanh, sigmoid, gelu, swish, softplus and any user callable): one-dimensional
  Gauss-Legendre rules split at 0 for moments and Hermite coefficients (above variance 100
  with geometrically graded panels near 0 down to 1/√τ, where s(√τ ξ) changes: accurate
  from τ = 1e-12 to 1e12 and beyond for smooth activations), kernels by the Mehler
  (Hermite) expansion with a rigorous truncation bound (§1.4, option A; pairs too close
  to correlation ±1 for it by a nested Gauss-Legendre quadrature split at the kinks,
  option B, ``method="nested"``), or by direct two-dimensional Gauss-Hermite quadrature
  (``method="quadrature"``, §1.4 option C, smooth activations of moderate norm). The
  stated accuracy is ``QUADRATURE_RTOL`` relative to sqrt(E s²); a ``ValueError`` is raised
  when it cannot be reached (for instance a user callable with a kink away from 0), and
  when the integrand does not decay in the tail of the rule: the Gaussian moment does not
  exist (is infinite), e.g. E exp(a ξ²) for a >= 1/2 (then the rule's value would be a
  finite, meaningless number).
"""

from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import numpy as np
from scipy import special

from ..core._validation import _where, check_array, check_scalar

__all__ = ["Activation", "GaussianEquivalent", "activation", "QUADRATURE_RTOL",
           "ACTIVATION_NAMES"]

#: Stated accuracy of the quadrature tier, relative to sqrt(E s(√τ ξ)²).
QUADRATURE_RTOL = 1e-8

_SQRT2PI = math.sqrt(2.0 * math.pi)


class GaussianEquivalent(NamedTuple):
    """Gaussian-equivalent parameters of a random feature s(wᵀx) with ||x||² = τ.

    ``s(wᵀx) ≈ mu0 + mu1 · wᵀx + mu_star · z`` with z ~ N(0, 1) independent
    (theory note §1.1): mu0 = E s(√τ ξ), mu1 = E s'(√τ ξ), mu_star² = E s² − mu0² − τ mu1².
    At τ = 1 these are the (μ0, μ1, μ*) of Mei & Montanari (2019).
    """

    mu0: float | np.ndarray
    mu1: float | np.ndarray
    mu_star: float | np.ndarray


# --------------------------------------------------------------------------------------------
# one-dimensional quadrature: E[g(ξ)] with Gauss-Legendre rules on (-L, 0) ∪ (0, L)
# --------------------------------------------------------------------------------------------

#: variances above which the rules get graded panels near ξ = 0. There s(√τ ξ) changes on
#: the scale ξ ~ 1/√τ (tanh(√τ ξ) is a step of width 1/√τ): one Gauss-Legendre rule on
#: (0, L), whose first nodes lie ~L/n² apart, does not resolve it once τ >~ 1e4 (E tanh² was
#: off by 1e-6 at τ = 1e5 and by 8e-7, undetected, at τ = 1e12)
_GRADE_TAU = 100.0
#: the graded panels cover (0, _GRADE_TOP): [0, top r^-J], [top r^-J, top r^(1-J)], ...,
#: [top/r, top], r = _GRADE_RATIO, with J the least count such that top r^-J <= 1/√τ_max.
#: Past top the transition of s(√τ ξ) has decayed for every τ > _GRADE_TAU (1 − tanh(20)
#: ~ 1e-17, 1 − sigmoid(20) ~ 2e-9 and smooth), and the bulk rule on (top, L) takes the rest
_GRADE_TOP = 2.0
_GRADE_RATIO = 4.0
#: Gauss-Legendre nodes per graded panel, plus twice the bulk rule's density times the
#: panel's length (the Hermite factor h_k oscillates in the outer panels). A panel
#: [δ, 4δ] sees the nearest singularity of s(√τ ξ) (tanh: ±iπ/(2√τ)) at least 2/3 of its
#: half-length beyond its ends, so 12 nodes converge like 3^-24 ~ 4e-12 at worst (measured
#: over 1e-12 <= τ <= 1e12 for tanh, sigmoid, gelu, swish, softplus: 2e-13 of sqrt(E s²))
_GRADE_NODES = 12
#: variances above which a rule that misses the stated accuracy is blamed first on the
#: variance (the step of width 1/√τ) rather than on a kink of the activation
_LARGE_TAU = 100.0


class _RuleSpec(NamedTuple):
    """A symmetric rule on (−length, length), split at 0: Gauss-Legendre with ``n_nodes``
    nodes on (top, length) after ``n_panels`` graded panels on (0, top) (``n_panels = 0``:
    one rule of ``n_nodes`` on (0, length)), each with ``panel_nodes`` nodes plus the
    bulk density times twice its length."""

    n_nodes: int
    length: float
    n_panels: int = 0
    panel_nodes: int = _GRADE_NODES
    top: float = _GRADE_TOP

    def finer(self) -> "_RuleSpec":
        """The check rule: 1.5 times the nodes on a rule 4 longer and, where graded, the
        panel breakpoints moved by half a ratio (top·√r·r^-j) with one more panel below
        (its finest panel half the width of this rule's), so that no breakpoint is shared
        but 0."""
        if self.n_panels == 0:
            return _RuleSpec(int(1.5 * self.n_nodes) + 7, self.length + 4.0)
        return _RuleSpec(int(1.5 * self.n_nodes) + 7, self.length + 4.0, self.n_panels + 1,
                         int(1.5 * self.panel_nodes) + 3, self.top * math.sqrt(_GRADE_RATIO))


def _gauss_legendre(n_nodes: int, lo: float, hi: float):
    """Gauss-Legendre nodes and weights on (lo, hi)."""
    x, w = special.roots_legendre(n_nodes)
    half = 0.5 * (hi - lo)
    return lo + half * (x + 1.0), half * w


@functools.lru_cache(maxsize=64)
def _graded_panels(spec: _RuleSpec):
    """Nodes and weights of the graded panels on (0, spec.top) (empty when none)."""
    if spec.n_panels == 0:
        return np.zeros(0), np.zeros(0)
    edges = np.r_[0.0, spec.top * _GRADE_RATIO ** -np.arange(spec.n_panels, -1.0, -1.0)]
    density = spec.n_nodes / spec.length
    pieces = [_gauss_legendre(spec.panel_nodes + math.ceil(2.0 * (hi - lo) * density), lo, hi)
              for lo, hi in zip(edges[:-1], edges[1:])]
    x, w = (np.concatenate(v) for v in zip(*pieces))
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


@functools.lru_cache(maxsize=64)
def _half_rule(spec: _RuleSpec):
    """Nodes on (−L, L) and weights including the N(0, 1) density, for ``spec``."""
    start = spec.top if spec.n_panels else 0.0
    x, w = _gauss_legendre(spec.n_nodes, start, spec.length)
    gx, gw = _graded_panels(spec)
    x, w = np.r_[gx, x], np.r_[gw, w]
    nodes = np.concatenate([-x[::-1], x])
    weights = np.concatenate([w[::-1], w]) * np.exp(-0.5 * nodes ** 2) / _SQRT2PI
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


@functools.lru_cache(maxsize=16)
def _unit_rule(n_nodes: int):
    """Gauss-Legendre nodes and weights on (0, 1)."""
    x, w = _gauss_legendre(n_nodes, 0.0, 1.0)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


#: most activation evaluations the nested kernel quadrature may spend in one call (pairs
#: whose correlation is too close to ±1 for the Mehler series); beyond it a ValueError
_NESTED_BUDGET = 2e9


def _hermite_weighted(nodes: np.ndarray, weights: np.ndarray, order: int) -> np.ndarray:
    """``weights[i] h_k(nodes[i])`` for the normalized probabilists' Hermite polynomials
    h_k = He_k/sqrt(k!), k = 0..order, shape (order+1, n), for Gaussian-weighted rules
    (``weights`` carry the factor e^(−x²/2)).

    The three-term recurrence runs on the Hermite functions h_k(x) e^(−x²/4), bounded by
    1.09 (Cramér's inequality), and the weights are divided by e^(−x²/4): h_k alone
    overflows at the outer nodes once k >~ 450 (|x| ~ 60, h_k ~ e^(x²/4)), and inf times
    an underflowed weight gave NaN. Where e^(−x²/4) underflows the weighted value is below
    1e-300 and is set to 0."""
    with np.errstate(under="ignore"):
        g = np.exp(-0.25 * nodes * nodes)
        ws = np.divide(weights, g, out=np.zeros_like(weights), where=g > 0)
        H = np.empty((order + 1, nodes.size))
        H[0] = g
        if order >= 1:
            H[1] = nodes * g
        for k in range(1, order):
            H[k + 1] = (nodes * H[k] - math.sqrt(k) * H[k - 1]) / math.sqrt(k + 1)
    H *= ws
    return H


#: cap on the widening of the rule past the peak of s(√τ ξ)² φ(ξ) (growth like exp(√τ ξ)
#: shifts the integrand's mass to ξ ≈ √τ); beyond it the tail and two-rule checks decide (a
#: ValueError, never a rule of millions of nodes: τ = 1e16 once asked for 2e9 of them)
_MAX_SHIFT = 60


def _rule_size(order: int, tau_max: float, peak: float = 0.0) -> _RuleSpec:
    """The rule for Hermite coefficients up to ``order`` at variances up to ``tau_max``.

    Its length is 12 + 2 sqrt(order+1) (h_k e^(−ξ²/4) lives in |ξ| < 2√k) past ``peak``,
    where the integrand's envelope |s(√τ_max ξ)|^p φ(ξ) is largest
    (:meth:`Activation._peak`; p = 1 for Hermite coefficients, 2 for E s² and kernels):
    a bounded or polynomially growing s needs no widening with τ, which the rule once
    took as √τ for every s. Up to ``_GRADE_TAU`` it also reaches past √τ (the rule of
    earlier versions, kept where it was measured); beyond it, graded panels resolve the
    scale 1/√τ_max near ξ = 0."""
    root = math.sqrt(max(tau_max, 0.0))
    graded = tau_max > _GRADE_TAU
    shift = min(math.ceil(max(peak, 0.0 if graded else root)), _MAX_SHIFT)
    length = 12.0 + 2.0 * math.sqrt(order + 1.0) + shift
    if not graded:
        return _RuleSpec(int(60 + 3 * order + 6 * length), length)
    # the bulk rule on (top, L) no longer resolves the step at 0: half the density does
    # (measured: the same accuracy, 1e-13 of sqrt(E s²), at 2/3 of the nodes of order 0,
    # which the nested kernel rule pays squared)
    n_panels = math.ceil(math.log(_GRADE_TOP * root) / math.log(_GRADE_RATIO))
    return _RuleSpec(int(20 + 3 * order + 3 * length), length, n_panels)


# --------------------------------------------------------------------------------------------
# the Activation object
# --------------------------------------------------------------------------------------------

class Activation:
    """An activation s with its Gaussian moments and expected kernels.

    Construct with :func:`activation`. All moments are Gaussian expectations for a
    pre-activation u = √τ ξ, ξ ~ N(0, 1), with the variance τ > 0 passed as ``variance``
    (scalars or arrays; the result has the shape of ``variance``).

    Attributes
    ----------
    name : str
    closed_form : bool
        True when moments and kernels are exact closed forms (theory note §1.2-1.3);
        False when they come from quadrature with accuracy ``QUADRATURE_RTOL``.
    """

    closed_form = False

    def __init__(self, name: str, func: Callable[[np.ndarray], np.ndarray]):
        self.name = name
        self._func = func

    def __repr__(self) -> str:
        tier = "closed form" if self.closed_form else "quadrature"
        return f"Activation({self.name!r}, {tier})"

    # -- evaluation ------------------------------------------------------------------------
    def __call__(self, t):
        """Evaluate s(t) elementwise."""
        t = np.asarray(t, dtype=float)
        with np.errstate(all="ignore"):   # non-finite output is reported by the callers
            out = np.asarray(self._func(t), dtype=float)
        return out

    def _eval_checked(self, t: np.ndarray, what: str) -> np.ndarray:
        out = self(t)
        if out.shape != t.shape:
            raise ValueError(f"activation {self.name!r} must return an array of the input's "
                             f"shape; got shape {out.shape} for input shape {t.shape}")
        if not np.all(np.isfinite(out)):
            raise ValueError(f"activation {self.name!r} returned non-finite values "
                             f"{what}; it must be finite on the real line")
        return out

    # -- validation helpers ----------------------------------------------------------------
    def _variance(self, variance) -> np.ndarray:
        return check_array(variance, "variance", f"Activation {self.name!r}", positive=True)

    @staticmethod
    def _shape_out(value: np.ndarray, like: np.ndarray):
        value = np.reshape(value, like.shape)
        return float(value) if value.ndim == 0 else value

    def _finite(self, value, what: str, scale, scale_name: str = "variance τ"):
        """``value`` if finite, else a ValueError: the closed form overflows (e.g.
        E exp(√τ ξ) = exp(τ/2) beyond τ ≈ 1419) and inf would be a wrong number."""
        if not np.all(np.isfinite(value)):
            bad = np.asarray(scale, dtype=float)
            raise ValueError(
                f"{what} of activation {self.name!r} exceeds the floating-point range "
                f"(overflow to inf) at {scale_name} up to {float(np.max(bad)):.6g}; "
                f"rescale the inputs (smaller variance, e.g. a smaller weight_variance)")
        return value

    # -- moments ---------------------------------------------------------------------------
    def mean(self, variance=1.0):
        """E s(√τ ξ), ξ ~ N(0, 1) (theory note §1.1, a0(τ)).

        Examples
        --------
        >>> import hdeq
        >>> round(hdeq.activation("relu").mean(1.0), 6)   # 1/sqrt(2π)
        0.398942
        """
        tau = self._variance(variance)
        with np.errstate(over="ignore"):
            value = self._mean(tau.ravel())
        return self._shape_out(self._finite(value, "E s(√τ ξ)", tau), tau)

    def second_moment(self, variance=1.0):
        """E s(√τ ξ)² (theory note §1.1, m2(τ))."""
        tau = self._variance(variance)
        with np.errstate(over="ignore"):
            value = self._second_moment(tau.ravel())
        return self._shape_out(self._finite(value, "E s(√τ ξ)²", tau), tau)

    def derivative_mean(self, variance=1.0, order: int = 1):
        """E s^(k)(√τ ξ) for k = ``order`` ≥ 1 (derivative in the distribution sense).

        Computed by Stein's identity E s^(k)(√τ ξ) = E[He_k(ξ) s(√τ ξ)] / τ^(k/2)
        (theory note §1.1), so it is defined for kinks and jumps (relu, sign, step).
        """
        order = check_scalar(order, "order", f"Activation {self.name!r}", low=1,
                             low_inclusive=True, integer=True)
        tau = self._variance(variance)
        flat = tau.ravel()
        with np.errstate(over="ignore"):
            closed = self._derivative_mean(flat, order)
        if closed is None:
            coef = self._hermite_quad(flat, order)[:, order]
            closed = coef * math.sqrt(math.factorial(order)) / flat ** (order / 2)
        return self._shape_out(self._finite(closed, f"E s^({order})(√τ ξ)", tau), tau)

    def hermite_coefficients(self, order: int, variance=1.0) -> np.ndarray:
        """Normalized Hermite coefficients c_k(τ) = E[s(√τ ξ) h_k(ξ)], k = 0..order.

        h_k = He_k/sqrt(k!) (probabilists'), so s(√τ ·) = Σ c_k h_k in L²(N(0,1)) and
        Σ c_k² = E s(√τ ξ)² (theory note §1.1). Returns shape ``variance.shape + (order+1,)``.
        Computed by Gauss-Legendre quadrature split at 0 (exact kinks of the named
        activations sit at 0), with panels graded geometrically towards 0 at large τ;
        accuracy ``QUADRATURE_RTOL`` relative to sqrt(E s²), checked by a second rule.

        Examples
        --------
        >>> import hdeq
        >>> hdeq.activation("relu").hermite_coefficients(2).round(6)
        array([0.398942, 0.5     , 0.282095])
        """
        order = check_scalar(order, "order", f"Activation {self.name!r}", low=0,
                             low_inclusive=True, integer=True)
        tau = self._variance(variance)
        coef = self._hermite_quad(tau.ravel(), order)
        return coef.reshape(tau.shape + (order + 1,))

    def gaussian_equivalent(self, variance=1.0) -> GaussianEquivalent:
        """(mu0, mu1, mu_star) at pre-activation variance τ (theory note §1.1, §3.5).

        mu0 = E s(√τ ξ), mu1 = E s'(√τ ξ), mu_star = sqrt(E s² − mu0² − τ mu1²) so that
        s(wᵀx) ≈ mu0 + mu1 wᵀx + mu_star z for ||x||² = τ.

        Examples
        --------
        >>> import hdeq
        >>> ge = hdeq.activation("relu").gaussian_equivalent()
        >>> round(ge.mu_star ** 2, 6)   # 1/4 - 1/(2π)
        0.090845
        """
        tau = self._variance(variance)
        flat = tau.ravel()
        with np.errstate(over="ignore", invalid="ignore"):
            mu0 = self._mean(flat)
            mu1 = self._derivative_mean(flat, 1)
            if mu1 is None:
                mu1 = self._hermite_quad(flat, 1)[:, 1] / np.sqrt(flat)
            scale = self._second_moment(flat)
            rest = scale - mu0 ** 2 - flat * mu1 ** 2
        self._finite(rest, "the Gaussian-equivalent parameters (E s, E s', E s²)", tau)
        # mu_star² >= 0 exactly (it is the Hermite tail sum); a negative value beyond the
        # rounding of its terms (closed forms) or the stated quadrature accuracy would be a
        # wrong number, not something to clamp
        tol = (1e-12 if self.closed_form else 10 * QUADRATURE_RTOL) * scale
        if np.any(rest < -tol):
            i = int(np.argmin(rest + tol))
            raise ValueError(
                f"the Gaussian-equivalent parameters of activation {self.name!r} at variance "
                f"τ = {float(flat[i]):.6g} are inconsistent: E s² − mu0² − τ mu1² = "
                f"{float(rest[i]):.3g} < 0 beyond the accuracy of E s² = {float(scale[i]):.6g}; "
                f"the activation's moments could not be resolved there (try a variance closer "
                f"to 1)")
        mu_star = np.sqrt(np.maximum(rest, 0.0))
        return GaussianEquivalent(self._shape_out(mu0, tau), self._shape_out(mu1, tau),
                                  self._shape_out(mu_star, tau))

    # -- kernels ---------------------------------------------------------------------------
    def kernel(self, A, B=None, method: str = "auto") -> np.ndarray:
        """Expected kernel K_ij = E_w[s(wᵀa_i) s(wᵀb_j)], w ~ N(0, I_p).

        Parameters
        ----------
        A : array of shape (n_a, p)
            Rows are points.
        B : array of shape (n_b, p), optional
            Rows are points; ``None`` means ``B = A`` (then the diagonal is computed with the
            dedicated formula E s(√a ξ)², theory note §1.4 pitfall iii).
        method : {"auto", "closed_form", "hermite", "quadrature"}
            ``closed_form`` (theory note §1.3; only for closed-form activations),
            ``hermite``: Mehler expansion K = Σ_k c_k(|a_i|) c_k(|b_j|) ρ_ijᵏ with the order
            chosen so the rigorous tail bound sqrt(t_i t_j)|ρ|^(K+1) is below
            ``QUADRATURE_RTOL`` · max sqrt(E s²) (t_i = E s² − Σ_{k≤K} c_k²); pairs with
            |ρ| too close to 1 for 120 terms (duplicated or negated rows, near-duplicates
            at large norms) are computed by the nested quadrature of
            :meth:`kernel_from_gram` (``method="nested"``) instead,
            ``quadrature``: two-dimensional Gauss-Hermite on the Cholesky factor of the
            2×2 covariance (smooth activations only). ``auto``: closed form when available,
            else hermite.

        Returns
        -------
        ndarray of shape (n_a, n_b)

        Examples
        --------
        >>> import numpy as np, hdeq
        >>> x = np.array([[1.0, 0.0], [0.6, 0.8]])
        >>> hdeq.activation("sign").kernel(x).round(4)   # (2/π) arcsin ρ
        array([[1.    , 0.4097],
               [0.4097, 1.    ]])
        """
        owner = f"Activation {self.name!r}"
        A = check_array(A, "A", owner, ndim=2)
        same = B is None
        B = A if same else check_array(B, "B", owner, ndim=2)
        if A.shape[1] != B.shape[1]:
            raise ValueError(f"`A` and `B` of {owner} must have the same number of columns; "
                             f"got {A.shape[1]} and {B.shape[1]}")
        if method not in ("auto", "closed_form", "hermite", "quadrature"):
            raise ValueError(f"`method` of {owner} must be 'auto', 'closed_form', 'hermite' "
                             f"or 'quadrature'; got {method!r}")
        if method == "auto":
            method = "closed_form" if self.closed_form else "hermite"
        if method == "closed_form" and not self.closed_form:
            raise ValueError(f"`method` of {owner} must be 'hermite' or 'quadrature' (no "
                             f"closed-form kernel); got 'closed_form'")
        a = np.einsum("ij,ij->i", A, A)
        b = a if same else np.einsum("ij,ij->i", B, B)
        if method == "hermite":
            K = self._kernel_hermite(a, b, A @ B.T, same)
        elif method == "quadrature":
            K = self.kernel_from_gram(a[:, None], b[None, :], A @ B.T, method=method)
        else:
            with np.errstate(over="ignore"):     # overflow: reported just below
                K = self._kernel_matrix(A, B, a, b, same)
                if K is None:   # generic route: Gram, then the (a, b, c) closed form
                    a2, b2 = a[:, None], b[None, :]
                    inner = A @ B.T
                    K = self._kernel(a2, b2, inner, _rho(a2, b2, inner))
                s0 = float(self(np.zeros(())))
                K[a == 0, :] = s0 * self._mean_or_zero(b)[None, :]
                K[:, b == 0] = s0 * self._mean_or_zero(a)[:, None]
        if same:
            with np.errstate(over="ignore"):
                np.fill_diagonal(K, self._second_moment_or_zero(a))
        self._finite(K, "the expected kernel", np.r_[a, b, 0.0],
                     "squared row norm ||x||²")
        return K

    def kernel_from_gram(self, sq_norm_a, sq_norm_b, inner, method: str = "auto"):
        """Expected kernel from squared norms a = ||x||², b = ||y||² and inner product
        c = xᵀy, elementwise with broadcasting (theory note §1.3 notation).

        The correlation ρ = c/sqrt(ab) is clipped to [-1, 1]; a zero-norm input gives
        s(0) · E s(√b ξ). ``method``: ``"closed_form"`` (closed-form activations),
        ``"quadrature"`` (two-dimensional Gauss-Hermite, smooth activations),
        ``"nested"`` (nested Gauss-Legendre rules split at the kinks: any activation of
        the quadrature tier, also at correlation ±1 and at large norms, where the
        Gauss-Hermite nodes cannot resolve a steep s(√a ξ)) or ``"auto"``: closed form
        when available, else nested. Accuracy of both rules: ``QUADRATURE_RTOL``
        relative to sqrt(E s(u)² E s(v)²), checked by a finer rule (a ``ValueError``
        when it is not reached).

        Examples
        --------
        >>> import hdeq
        >>> round(float(hdeq.activation("relu").kernel_from_gram(1.3, 0.7, 0.4)), 6)
        0.265378
        """
        owner = f"Activation {self.name!r}"
        a = check_array(sq_norm_a, "sq_norm_a", owner, nonnegative=True)
        b = check_array(sq_norm_b, "sq_norm_b", owner, nonnegative=True)
        c = check_array(inner, "inner", owner)
        a, b, c = np.broadcast_arrays(a, b, c)
        shape = a.shape
        a, b, c = (np.array(v, dtype=float, ndmin=1) for v in (a, b, c))
        if method == "auto":
            method = "closed_form" if self.closed_form else "nested"
        if method == "closed_form":
            if not self.closed_form:
                raise ValueError(f"`method` of {owner} must be 'quadrature' (no closed-form "
                                 f"kernel); got 'closed_form'")
            with np.errstate(over="ignore"):      # overflow: reported below
                out = self._kernel(a, b, c, _rho(a, b, c))
        elif method in ("quadrature", "nested"):
            af, bf, cf = a.ravel(), b.ravel(), c.ravel()
            pos = (af > 0) & (bf > 0)              # zero norms: filled in below
            out = np.zeros(af.shape)
            if method == "quadrature":
                out[pos] = self._kernel_gh2d(af[pos], bf[pos], cf[pos])
            else:
                out[pos] = self._kernel_nested(af[pos], bf[pos],
                                               _rho(af[pos], bf[pos], cf[pos]))
            out = out.reshape(a.shape)
        else:
            raise ValueError(f"`method` of {owner} must be 'auto', 'closed_form', "
                             f"'quadrature' or 'nested'; got {method!r}")
        zero = (a == 0) | (b == 0)
        if np.any(zero):
            s0 = float(self(np.zeros(())))
            with np.errstate(over="ignore"):
                out = np.where(zero, s0 * self._mean_or_zero(np.where(a == 0, b, a)), out)
        self._finite(out, "the expected kernel", np.r_[a.ravel(), b.ravel(), 0.0],
                     "squared norm")
        out = out.reshape(shape)
        return float(out) if out.ndim == 0 else out

    # -- private: tiers --------------------------------------------------------------------
    def _mean_or_zero(self, tau):
        tau = np.asarray(tau, dtype=float)
        out = np.full(tau.shape, float(self(np.zeros(()))))
        pos = tau > 0
        if np.any(pos):
            out[pos] = self._mean(tau[pos])
        return out

    def _second_moment_or_zero(self, tau):
        tau = np.asarray(tau, dtype=float)
        out = np.full(tau.shape, float(self(np.zeros(()))) ** 2)
        pos = tau > 0
        if np.any(pos):
            out[pos] = self._second_moment(tau[pos])
        return out

    def _mean(self, tau):
        return self._hermite_quad(tau, 0)[:, 0]

    def _second_moment(self, tau):
        return self._quad_second_moment(tau)

    def _derivative_mean(self, tau, order):
        return None

    def _kernel(self, a, b, c, rho):  # pragma: no cover - closed-form subclasses override
        raise NotImplementedError

    # quadrature ---------------------------------------------------------------------------
    def _quad_values(self, tau: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        t = np.sqrt(tau)[:, None] * nodes[None, :]
        out = self(t)
        if out.shape == t.shape and np.any(np.isinf(out)) and not np.any(np.isnan(out)):
            # overflow where the Gaussian weight is still representable: growth at least
            # like exp(t²/(2τ)) up to float range, so the moment is infinite or out of range
            i, j = np.unravel_index(int(np.argmax(np.isinf(out) * np.abs(nodes)[None, :])),
                                    out.shape)
            raise ValueError(
                f"the Gaussian moment E s(√τ ξ)^k of activation {self.name!r} does not exist "
                f"(is infinite) or exceeds floating-point range at variance τ = "
                f"{tau[i]:.6g}: s returns non-finite values (overflow to inf) at the "
                f"quadrature nodes, e.g. t = {t[i, j]:.4g} (ξ = {nodes[j]:.3g}). "
                f"Gaussian moments need growth slower than exp(t²/(2τ)) (e.g. exp(a t²) "
                f"needs a < 1/(2τ) for the mean, a < 1/(4τ) for E s²)")
        return self._eval_checked(t, "at the quadrature nodes")

    def _check_tails(self, tau, nodes2, length, G, ref, what):
        """Raise if the quadrature integrand does not decay: ``G`` (probe, ..., n2) are the
        per-node contributions of the longer rule (nodes ``nodes2`` on (-length-4,
        length+4)); the part beyond ``|ξ| > length`` (which the returned rule on
        (-length, length) leaves out) must be below ``0.1 QUADRATURE_RTOL * ref``. A
        Gaussian integral of polynomial or sub-Gaussian growth has a tail ~exp(-length²/2)
        there (length >= 14); a divergent moment (growth like exp(a t²), a >= 1/(2τ)) has a
        tail as large as the rest. Returns the inner part's absolute sum."""
        outer = np.abs(nodes2) > length
        A = np.abs(G)
        with np.errstate(over="ignore", invalid="ignore"):
            tail = A[..., outer].sum(axis=-1)
            inner = A[..., ~outer].sum(axis=-1)
            if ref is None:
                ref = inner
            # overflow (inf) counts as divergence, like a tail above the tolerance
            bad = ~(tail <= 0.1 * QUADRATURE_RTOL * ref) | ~np.isfinite(inner)
        if np.any(bad):
            i = int(np.nonzero(bad.reshape(bad.shape[0], -1).any(axis=1))[0][0])
            with np.errstate(all="ignore"):
                rel = float(np.max(tail[i] / np.maximum(ref[i], 1e-300)))
            raise ValueError(
                f"the Gaussian moment {what} of activation {self.name!r} does not exist "
                f"(is infinite) at variance τ = {tau[i]:.6g}, or its integrand decays too "
                f"slowly for quadrature: the integrand does not decay in the tail (the part "
                f"with {length:.3g} < |ξ| < {length + 4:.3g} is {rel:.2e} of the rest, "
                f"stated accuracy {QUADRATURE_RTOL:g}). Gaussian moments need growth "
                f"slower than exp(t²/(2τ)) (e.g. exp(a t²) needs a < 1/(2τ) for the mean, "
                f"a < 1/(4τ) for E s²)")
        return inner

    def _peak(self, tau_max: float, base: float, power: int) -> float:
        """|ξ| where |s(√τ_max ξ)|^power φ(ξ) is largest, on a grid of step 1/4 in
        |ξ| <= base + _MAX_SHIFT (each sign): how far past the usual length the rule must
        reach (exp(a t) puts the mass of E s at ξ ≈ a√τ, of E s² at 2a√τ; bounded and
        polynomially growing activations need no more than a few). 0 where the envelope
        still grows where the grid or the float range ends (a divergent moment, such as
        E exp(a τ ξ²) for a τ >= 1/2, is then reported by the tail or overflow checks of
        the usual rule, as a misbehaving callable is by the quadrature that follows)."""
        xi = np.arange(0.0, base + _MAX_SHIFT + 0.25, 0.25)
        root = math.sqrt(tau_max)
        peak = 0.0
        for sign in (1.0, -1.0):
            out = self(sign * root * xi)
            if out.shape != xi.shape:
                return 0.0
            with np.errstate(all="ignore"):
                env = power * np.log(np.abs(out)) - 0.5 * xi * xi
            env[np.isnan(env)] = -np.inf
            over = np.nonzero(env == np.inf)[0]
            end = int(over[0]) if over.size else xi.size
            if end == 0 or not np.any(env[:end] > -np.inf):
                continue
            j = int(np.argmax(env[:end]))
            if j == end - 1 and end > 1:
                return 0.0
            peak = max(peak, float(xi[j]))
        return peak

    def _rule_spec(self, tau: np.ndarray, order: int, power: int = 1) -> _RuleSpec:
        tau_max = float(tau.max()) if tau.size else 1.0
        base = 12.0 + 2.0 * math.sqrt(order + 1.0)
        return _rule_size(order, tau_max, self._peak(tau_max, base, power))

    def _hermite_quad(self, tau: np.ndarray, order: int, check: bool = True) -> np.ndarray:
        """c_k(τ), k ≤ order, shape (len(tau), order+1), with an accuracy check."""
        tau = np.asarray(tau, dtype=float).ravel()
        spec = self._rule_spec(tau, order)
        nodes, weights = _half_rule(spec)
        S = self._quad_values(tau, nodes)
        coef = S @ _hermite_weighted(nodes, weights, order).T
        if check and tau.size:
            self._check_rule(tau, order, coef, spec)
        return coef

    def _quad_second_moment(self, tau):
        tau = np.asarray(tau, dtype=float).ravel()
        spec = self._rule_spec(tau, 2, power=2)
        nodes, weights = _half_rule(spec)
        S = self._quad_values(tau, nodes)
        # s² may overflow where s² φ does not (exp(t) at τ = 100: s² ~ e^710 at ξ = 35.5,
        # E s² = e^200): such rows are summed as (s √w)²; a true overflow of E s² is
        # reported by _check_tails below
        with np.errstate(over="ignore", invalid="ignore"):
            m2 = (S ** 2) @ weights
            big = ~np.isfinite(m2)
            if np.any(big):
                m2[big] = ((S[big] * np.sqrt(weights)) ** 2).sum(axis=-1)
            nodes2, weights2 = _half_rule(spec.finer())
            probe = self._probe(tau)
            G2 = (self._quad_values(tau[probe], nodes2) * np.sqrt(weights2)) ** 2
        self._check_tails(tau[probe], nodes2, spec.length, G2, None, "E s(√τ ξ)²")
        m2b = G2.sum(axis=-1)
        err = np.abs(m2b - m2[probe]) / np.maximum(m2b, 1e-300)
        self._raise_if_inaccurate(err, "E s²", tau[probe], float(tau.max()))
        return m2

    @staticmethod
    def _probe(tau):
        """The indices of the smallest, median and largest variances and of the decades
        between (geometric midpoints up to 13 in all): the rule must hold over the whole
        range, and the scale of s(√τ ξ) moves with τ."""
        order = np.argsort(tau)
        picks = [order[0], order[len(order) // 2], order[-1]]
        lo, hi = tau[order[0]], tau[order[-1]]
        if lo > 0 and hi > 100 * lo:
            targets = np.geomspace(lo, hi, min(11, int(np.log10(hi / lo)) + 1))[1:-1]
            picks.extend(order[np.clip(np.searchsorted(tau[order], targets), 0,
                                       len(order) - 1)])
        return np.unique(picks)

    def _check_rule(self, tau, order, coef, spec):
        probe = self._probe(tau)
        nodes2, weights2 = _half_rule(spec.finer())
        length = spec.length
        S2 = self._quad_values(tau[probe], nodes2)
        H2 = _hermite_weighted(nodes2, weights2, order)
        coef2 = S2 @ H2.T
        # tails: each coefficient's integrand s h_k φ must decay (its own L¹ size is the
        # reference); E s² is the accuracy scale only where it exists (its tail decays)
        what = ("E s(√τ ξ)" if order == 0 else
                f"E s(√τ ξ) h_k(ξ), k <= {order} (Hermite coefficients)")
        with np.errstate(over="ignore", invalid="ignore"):   # inf: reported as divergence
            G = S2[:, None, :] * H2[None, :, :]
            l1 = self._check_tails(tau[probe], nodes2, length, G, None, what)
            G2 = (S2 * np.sqrt(weights2)) ** 2
            outer = np.abs(nodes2) > length
            m2_tail, m2_inner = G2[:, outer].sum(axis=-1), G2[:, ~outer].sum(axis=-1)
            m2_ok = (m2_tail <= 0.1 * QUADRATURE_RTOL * m2_inner) & np.isfinite(m2_inner)
            scale = np.where(m2_ok[:, None], np.sqrt(G2.sum(axis=-1))[:, None], l1)
        err = np.max(np.abs(coef2 - coef[probe]) / np.maximum(scale, 1e-300), axis=1)
        self._raise_if_inaccurate(err, "Hermite coefficients", tau[probe], float(tau.max()))

    def _raise_if_inaccurate(self, err, what, tau=None, tau_max=None):
        """Raise where the two rules' difference ``err`` (per probed variance ``tau``, or a
        scalar) exceeds ``QUADRATURE_RTOL``; the message names the variance and, beyond
        ``_LARGE_TAU``, puts it first among the likely causes."""
        err = np.atleast_1d(np.asarray(err, dtype=float))
        bad = ~(err <= QUADRATURE_RTOL)
        if not np.any(bad):
            return
        i = int(np.argmax(np.where(np.isnan(err), np.inf, err)))
        head = (f"quadrature for activation {self.name!r} cannot reach the stated accuracy "
                f"{QUADRATURE_RTOL:g} (relative to sqrt(E s²)) for {what}")
        smooth = (f"kinks are handled only at 0 in 1-D rules, nowhere in 2-D rules; use a "
                  f"closed-form name ({', '.join(_CLOSED_FORMS)}) or a smooth function")
        if tau is None:
            raise ValueError(f"{head}: two rules differ by {err[i]:.2e}. The activation is "
                             f"probably not smooth ({smooth}).")
        t = float(np.atleast_1d(tau)[i])
        at = f" at variance τ = {t:.6g}"
        if tau_max is not None and tau_max > t:
            at += f" (largest variance in the call {tau_max:.6g})"
        standardize = ("standardize the inputs so that pre-activation variances are O(1): "
                       "center the feature columns and scale them to unit variance (for "
                       "`hdeq predict`, drop --no-center) or use a smaller weight_variance")
        if t > _LARGE_TAU:
            raise ValueError(
                f"{head}{at}: two rules differ by {err[i]:.2e}. The variance is probably "
                f"too large: s(√τ ξ) changes on the scale ξ ~ 1/√τ = {t ** -0.5:.2g} near "
                f"ξ = 0; {standardize}. If the activation is not smooth, that is another "
                f"possible cause ({smooth}).")
        raise ValueError(f"{head}{at}: two rules differ by {err[i]:.2e}. The activation is "
                         f"probably not smooth ({smooth}).")

    def _kernel_hermite(self, a, b, inner, same):
        """Mehler expansion with an adaptive order and a rigorous truncation bound."""
        norms_a, norms_b = np.sqrt(a), np.sqrt(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = inner / np.outer(norms_a, norms_b)
        rho[~np.isfinite(rho)] = 0.0
        np.clip(rho, -1.0, 1.0, out=rho)
        if same:
            np.fill_diagonal(rho, 0.0)
        rho_max = float(np.max(np.abs(rho))) if rho.size else 0.0
        pos_a, pos_b = a > 0, b > 0
        m2a = self._second_moment_or_zero(a)
        m2b = m2a if same else self._second_moment_or_zero(b)
        scale = float(np.sqrt(max(m2a.max(), m2b.max(), 1e-300)))
        order_max = 120
        Ca = np.zeros((a.size, order_max + 1))
        Ca[:, 0] = np.where(pos_a, 0.0, float(self(np.zeros(()))))
        if np.any(pos_a):
            Ca[pos_a] = self._hermite_quad(a[pos_a], order_max)
        if same:
            Cb = Ca
        else:
            Cb = np.zeros((b.size, order_max + 1))
            Cb[:, 0] = np.where(pos_b, 0.0, float(self(np.zeros(()))))
            if np.any(pos_b):
                Cb[pos_b] = self._hermite_quad(b[pos_b], order_max)
        tail_a = np.maximum(m2a[:, None] - np.cumsum(Ca ** 2, axis=1), 0.0)
        tail_b = np.maximum(m2b[:, None] - np.cumsum(Cb ** 2, axis=1), 0.0)
        tails = np.sqrt(tail_a.max(axis=0) * tail_b.max(axis=0))
        tol = QUADRATURE_RTOL * scale
        # pairs with |ρ| above rho_cut (duplicated or negated rows, near-duplicates at large
        # norms) are beyond the series at order_max: the nested quadrature takes them
        rho_cut = 1.0 if tails[-1] <= tol else (tol / tails[-1]) ** (1.0 / (order_max + 1))
        direct = np.abs(rho) > rho_cut
        if np.any(direct):
            rho_max = float(np.max(np.abs(rho), where=~direct, initial=0.0))
        if same:
            direct = np.triu(direct, 1)        # K is symmetric: compute i < j, mirror
        bound = tails * rho_max ** np.arange(1, order_max + 2)
        # rounding in the tail t_i = E s² - Σ c_k² is ~1e-15 E s²; ignore below that
        ok = np.nonzero(bound <= tol)[0]
        # every |ρ| <= rho_cut meets the bound at order_max (up to rounding at ρ = rho_cut)
        order = int(ok[0]) if ok.size else order_max
        K = np.multiply.outer(Ca[:, order], Cb[:, order])
        for k in range(order - 1, -1, -1):  # Horner in ρ
            K *= rho
            K += np.multiply.outer(Ca[:, k], Cb[:, k])
        if np.any(direct):
            i, j = np.nonzero(direct)
            K[i, j] = self._kernel_nested(a[i], b[j], rho[i, j], rho_cut=rho_cut)
            if same:
                K[j, i] = K[i, j]
        return K

    def _kernel_nested(self, a, b, rho, rho_cut=None):
        """E[s(u) s(v)] for u = √a ξ, v = √b (ρ ξ + sqrt(1 − ρ²) η), ξ, η ~ N(0, 1)
        independent (flat arrays, a, b > 0), as the nested integral
        E_ξ[s(√a ξ) E_η s(v)] (theory note §1.4 option B) with Gauss-Legendre rules split
        at the kinks: at ξ = 0 outside, at η = −ρξ/sqrt(1 − ρ²) (where v crosses 0)
        inside, both graded towards the kink beyond squared norm 100 (as the 1-D rules);
        at ρ = ±1 the inner integral is s(±√b ξ) itself. Accuracy
        ``QUADRATURE_RTOL`` relative to sqrt(E s(u)² E s(v)²), checked by a longer, finer
        rule on the extreme pairs (norms, correlation)."""
        if a.size == 0:
            return np.zeros(0)
        tau_max = float(max(a.max(), b.max()))
        spec = self._rule_spec(np.array([tau_max]), 0, power=2)
        n_outer = _half_rule(spec)[0].size
        cost = a.size * n_outer ** 2
        if cost > _NESTED_BUDGET:
            where = "" if rho_cut is None else f" (|ρ| > {rho_cut:.6f})"
            raise ValueError(
                f"the expected kernel of activation {self.name!r} has {a.size} pairs of rows "
                f"too correlated{where} for its Hermite expansion to reach the stated accuracy "
                f"{QUADRATURE_RTOL:g} at squared norms up to "
                f"{tau_max:.4g}, and the nested quadrature for them "
                f"would need {cost:.2g} evaluations; use rows of smaller norm (e.g. a smaller "
                f"weight_variance), fewer near-duplicate rows, or a closed-form activation")
        out = self._nested(a, b, rho, spec)
        r = np.sqrt(np.maximum((1.0 - rho) * (1.0 + rho), 0.0))
        probe = [np.argsort(a)[[0, -1]], np.argsort(b)[[0, -1]], np.argsort(r)[[0, -1]]]
        if np.any(r > 0):
            probe.append([int(np.argmin(np.where(r > 0, r, np.inf)))])
        idx = np.unique(np.concatenate(probe))
        fine = self._nested(a[idx], b[idx], rho[idx], spec.finer())
        scale = np.sqrt(self._second_moment_or_zero(a[idx]) *
                        self._second_moment_or_zero(b[idx]))
        err = np.abs(fine - out[idx]) / np.maximum(scale, 1e-300)
        self._raise_if_inaccurate(err, "the nested kernel quadrature (correlation near ±1)",
                                  np.maximum(a[idx], b[idx]), tau_max)
        return out

    def _nested(self, a, b, rho, spec):
        """The nested rule of :meth:`_kernel_nested` for ``spec``: the outer rule is
        ``_half_rule(spec)``; each side of the inner kink (length ℓ) gets the graded
        panels of ``spec`` on (0, min(top, ℓ)) (shrunk with ℓ) and the bulk rule on the
        rest, so that s(√b sqrt(1 − ρ²)(η − kink)) is resolved at the kink as s(√τ ξ) is
        at 0."""
        length = spec.length
        x, wx = _half_rule(spec)                      # weights include the N(0, 1) density
        u, wu = _unit_rule(spec.n_nodes)
        gx, gw = _graded_panels(spec)
        top = spec.top if spec.n_panels else 0.0
        n_side = gx.size + u.size
        r = np.sqrt(np.maximum((1.0 - rho) * (1.0 + rho), 0.0))
        sa, sb = np.sqrt(a), np.sqrt(b)
        out = np.empty(a.size)
        chunk = max(1, 2_000_000 // (x.size * 2 * n_side))

        def side(span):
            """Offsets from the kink and weights on (0, span), span of shape (m, 2n)."""
            t = np.minimum(span, top)[..., None]
            rest = span[..., None] - t
            g = t / top if top else t
            return (np.concatenate([g * gx, t + rest * u], axis=-1),
                    np.concatenate([g * gw, rest * wu], axis=-1))

        for start in range(0, a.size, chunk):
            sl = slice(start, start + chunk)
            su = self._eval_checked(sa[sl, None] * x[None, :], "at the quadrature nodes")
            rs, rh = r[sl, None], rho[sl, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                kink = np.where(rs > 0, -rh * x[None, :] / rs, 0.0)
            np.clip(kink, -length, length, out=kink)              # (m, 2n)
            (ol, wl), (orr, wr) = side(kink + length), side(length - kink)
            eta = np.concatenate([kink[..., None] - ol, kink[..., None] + orr], axis=-1)
            w = np.concatenate([wl, wr], axis=-1)
            w *= np.exp(-0.5 * eta ** 2) / _SQRT2PI
            arg = sb[sl, None, None] * (rh[..., None] * x[None, :, None] + rs[..., None] * eta)
            sv = self._eval_checked(arg, "at the quadrature nodes")
            inner = np.einsum("mij,mij->mi", sv, w)                # E[s(v) | ξ]
            out[sl] = (su * inner) @ wx
        return out

    def _kernel_gh2d(self, a, b, c) -> np.ndarray:
        """E[s(u)s(v)], (u, v) ~ N(0, [[a, c], [c, b]]), by a tensor Gauss-Hermite rule on the
        Cholesky factor (theory note §1.4 option C). The number of nodes (96 to 324) is the
        first whose one-dimensional marginal reproduces E s(√τ ξ)² (split Gauss-Legendre
        rule) at the extreme variances to ``0.1 QUADRATURE_RTOL``; the kernel is then
        checked against a finer rule and that marginal error. (Two Gauss-Hermite rules
        can agree with each other and both be wrong when s(√τ ξ) is steep between their
        nodes: tanh at τ = 1e4.)"""
        if a.size == 0:
            return np.zeros(0)
        idx = np.unique(np.concatenate([np.argsort(a)[[0, -1]], np.argsort(b)[[0, -1]],
                                        np.argsort(np.abs(c))[[0, -1]]]))
        taus = np.unique(np.r_[a[idx], b[idx]])
        m2 = self._second_moment_or_zero(taus)
        for n_nodes in (96, 144, 216, 324):
            x, w = special.roots_hermitenorm(n_nodes)
            w = w / w.sum()
            gh = self._eval_checked(np.sqrt(taus)[:, None] * x[None, :],
                                    "at the quadrature nodes") ** 2 @ w
            marginal = np.abs(gh - m2) / np.maximum(m2, 1e-300)
            if np.max(marginal) <= 0.1 * QUADRATURE_RTOL:
                break
        out = self._gh2d(a, b, c, n_nodes)
        fine = self._gh2d(a[idx], b[idx], c[idx], int(1.5 * n_nodes))
        scale = np.sqrt(self._second_moment_or_zero(a[idx]) *
                        self._second_moment_or_zero(b[idx]))
        err = np.abs(fine - out[idx]) / np.maximum(scale, 1e-300)
        self._raise_if_inaccurate(np.r_[err, marginal], "the two-dimensional Gauss-Hermite "
                                  "kernel (method='nested' handles steep activations)",
                                  np.r_[np.maximum(a[idx], b[idx]), taus], float(taus.max()))
        return out

    def _gh2d(self, a, b, c, n_nodes):
        x, w = special.roots_hermitenorm(n_nodes)
        w = w / w.sum()
        sa, sb = np.sqrt(a), np.sqrt(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(sa * sb > 0, c / (sa * sb), 0.0)
        rho = np.clip(rho, -1.0, 1.0)
        comp = np.sqrt(np.maximum(1.0 - rho ** 2, 0.0))
        out = np.empty(a.shape)
        chunk = max(1, 200_000 // (n_nodes * n_nodes))
        for start in range(0, a.size, chunk):
            sl = slice(start, start + chunk)
            su = self._eval_checked(sa[sl, None] * x[None, :], "at the quadrature nodes")
            arg = sb[sl, None, None] * (rho[sl, None, None] * x[None, :, None]
                                        + comp[sl, None, None] * x[None, None, :])
            sv = self._eval_checked(arg, "at the quadrature nodes")
            out[sl] = np.einsum("ti,tij,i,j->t", su, sv, w, w)
        return out


# --------------------------------------------------------------------------------------------
# closed forms (theory note §1.2 and §1.3); a, b squared norms, c inner product
# --------------------------------------------------------------------------------------------

def _rho(a, b, c):
    """Correlation c/sqrt(ab) clipped to [-1, 1], 0 where a or b is 0 (a, b broadcast
    against c)."""
    with np.errstate(divide="ignore"):
        ia = np.where(a > 0, 1.0 / np.sqrt(a), 0.0)
        ib = np.where(b > 0, 1.0 / np.sqrt(b), 0.0)
    r = c * ia
    r *= ib
    return np.clip(r, -1.0, 1.0, out=r)


def _sqrt_det(a, b, rho):
    """sqrt(ab − c²) = sqrt(ab) sqrt(1 − ρ²), computed from the clipped ρ (never NaN)."""
    out = rho * rho
    np.subtract(1.0, out, out=out)
    np.maximum(out, 0.0, out=out)
    np.sqrt(out, out=out)
    out *= np.sqrt(a * b)
    return out


def _gram(A, B, same, scale_a=None, scale_b=None):
    """(diag(scale_a) A)(diag(scale_b) B)ᵀ in one BLAS call (syrk-like when ``same``; a
    scale of None means no scaling)."""
    As = A if scale_a is None else A * scale_a[:, None]
    if same:
        return As @ As.T
    return As @ (B if scale_b is None else B * scale_b[:, None]).T


def _inv_sqrt(a):
    """1/sqrt(a), 0 where a == 0."""
    out = np.zeros_like(a)
    pos = a > 0
    out[pos] = 1.0 / np.sqrt(a[pos])
    return out


#: rows per block of the in-place elementwise passes (temporaries stay in cache)
_BLOCK_ELEMS = 1 << 16


def _arc_cosine_rho(R, na, nb, slope):
    """In place on the correlation matrix R (clipped to [-1, 1]): the leaky-ReLU kernel
    sqrt(ab)/(2π) [(1−α)² (sqrt(1−ρ²) − ρ arccos ρ) + (1+α²) π ρ] (theory note §1.3; α = 0
    is the arc-cosine kernel of ReLU, α = −1 is |t|, α = 1 is the linear kernel).

    One arccos per entry; sqrt(1−ρ²) as sqrt((1−ρ)(1+ρ)) (no cancellation near |ρ| = 1);
    the work runs over blocks of rows so that the temporaries stay in cache.
    """
    c_sq = (1.0 - slope) ** 2
    c_lin = (1.0 + slope ** 2) * np.pi
    col = nb / (2 * np.pi)
    rows = max(1, _BLOCK_ELEMS // max(R.shape[1], 1))
    shape = (min(rows, R.shape[0]), R.shape[1])
    buf1, buf2, buf3 = np.empty(shape), np.empty(shape), np.empty(shape)
    for i in range(0, R.shape[0], rows):
        r = R[i:i + rows]
        m = r.shape[0]
        th, sq, tmp = buf1[:m], buf2[:m], buf3[:m]
        np.arccos(r, out=th)
        th *= r                               # ρ arccos ρ
        np.subtract(1.0, r, out=sq)
        np.add(1.0, r, out=tmp)
        sq *= tmp
        np.sqrt(sq, out=sq)                   # sqrt(1 − ρ²)
        sq -= th
        if c_sq != 1.0:
            sq *= c_sq
        r *= c_lin
        r += sq
        r *= na[i:i + m, None]
        r *= col
    return R


def _correlation(A, B, a, b, same):
    """Correlation matrix ρ_ij = a_iᵀb_j/(|a_i||b_j|) from the normalized rows (one BLAS
    product, no elementwise division), clipped to [-1, 1] in place; 0 for zero rows."""
    ia = _inv_sqrt(a)
    R = _gram(A, B, same, ia, None if same else _inv_sqrt(b))
    np.clip(R, -1.0, 1.0, out=R)
    return R


_CLOSED_FORM_NOTE = """

    An :class:`Activation` of the closed-form tier, built by :func:`hdeq.activation`: its
    moments and expected kernels are exact to rounding (theory note nonlinear.md
    §1.2-1.3). Moments are Gaussian expectations for a pre-activation u = √τ ξ,
    ξ ~ N(0, 1), τ = ``variance``; the kernel is K(x, y) = E_w[s(wᵀx) s(wᵀy)],
    w ~ N(0, I), written with a = ||x||², b = ||y||², c = xᵀy, ρ = c/sqrt(ab). Calling
    the object evaluates s elementwise; the methods ``mean``, ``second_moment``,
    ``derivative_mean``, ``hermite_coefficients``, ``gaussian_equivalent``, ``kernel`` and
    ``kernel_from_gram`` are those of :class:`Activation` (``help(hdeq.Activation)``).
    """


class _ClosedForm(Activation):
    """An :class:`Activation` whose moments and kernels are closed forms (§1.2-1.3)."""

    closed_form = True
    # dictionaries order -> function(tau) of E s^(order)
    _dmeans: dict = {}

    def __init_subclass__(cls, **kwargs):
        # help(hdeq.activation("relu")) shows the subclass: its own line (the function and
        # its moments) followed by what every closed-form activation offers
        super().__init_subclass__(**kwargs)
        cls.__doc__ = (cls.__doc__ or "").rstrip() + _CLOSED_FORM_NOTE

    def _derivative_mean(self, tau, order):
        f = self._dmeans.get(order)
        return None if f is None else np.broadcast_to(f(self, tau), tau.shape).astype(float)

    def _kernel_matrix(self, A, B, a, b, same):
        """Fast kernel matrix straight from the data (None: use the generic route)."""
        return None


class _Linear(_ClosedForm):
    """Linear activation s(t) = t (names "linear", "identity").

    E s = 0, E s² = τ; kernel K = c."""

    def _mean(self, tau):
        return np.zeros_like(tau)

    def _second_moment(self, tau):
        return tau.copy()

    _dmeans = {1: lambda s, t: 1.0, 2: lambda s, t: 0.0, 3: lambda s, t: 0.0}

    def _kernel(self, a, b, c, rho):
        return np.array(c, dtype=float)


def _relu_kernel(a, b, c, rho):
    out = np.arccos(rho)
    np.subtract(np.pi, out, out=out)
    out *= c
    out += _sqrt_det(a, b, rho)
    out /= 2 * np.pi
    return out


def _relu_cross(a, b, c, rho):
    """E[relu(u) relu(−v)]."""
    out = np.arccos(rho)
    out *= c
    np.subtract(_sqrt_det(a, b, rho), out, out=out)
    out /= 2 * np.pi
    return out


class _LeakyReLU(_ClosedForm):
    """Leaky ReLU s(t) = t for t > 0, α·t otherwise (α = ``slope``): "relu" (α = 0) and
    "leaky_relu" (α = ``negative_slope``, default 0.01).

    E s = (1 − α) sqrt(τ/(2π)), E s² = (1 + α²) τ/2; kernel: the arc-cosine kernel,
    for relu (c(π − arccos ρ) + sqrt(ab − c²))/(2π) (Cho & Saul 2009)."""

    def __init__(self, name, negative_slope):
        self.slope = negative_slope
        alpha = negative_slope
        super().__init__(name, lambda t: np.where(t > 0, t, alpha * t))
        self._dmeans = {1: lambda s, t: (1 + s.slope) / 2,
                        2: lambda s, t: (1 - s.slope) / np.sqrt(2 * np.pi * t)}

    def _mean(self, tau):
        return (1 - self.slope) * np.sqrt(tau / (2 * np.pi))

    def _second_moment(self, tau):
        return (1 + self.slope ** 2) * tau / 2

    def _kernel_matrix(self, A, B, a, b, same):
        na = np.sqrt(a)
        return _arc_cosine_rho(_correlation(A, B, a, b, same), na,
                               na if same else np.sqrt(b), self.slope)

    def _kernel(self, a, b, c, rho):
        al = self.slope
        out = _relu_kernel(a, b, c, rho)
        if al != 0.0:
            out *= 1 + al ** 2
            out -= 2 * al * _relu_cross(a, b, c, rho)
        return out


class _Abs(_ClosedForm):
    """Absolute value s(t) = |t| ("abs").

    E s = sqrt(2τ/π), E s² = τ; kernel (2/π)(c arcsin ρ + sqrt(ab − c²))."""

    _dmeans = {1: lambda s, t: 0.0, 2: lambda s, t: np.sqrt(2 / (np.pi * t))}

    def _mean(self, tau):
        return np.sqrt(2 * tau / np.pi)

    def _second_moment(self, tau):
        return tau.copy()

    def _kernel_matrix(self, A, B, a, b, same):
        # |t| = leaky ReLU with slope −1: (2/π) sqrt(ab) (ρ arcsin ρ + sqrt(1 − ρ²))
        na = np.sqrt(a)
        return _arc_cosine_rho(_correlation(A, B, a, b, same), na,
                               na if same else np.sqrt(b), -1.0)

    def _kernel(self, a, b, c, rho):
        out = np.arcsin(rho)
        out *= c
        out += _sqrt_det(a, b, rho)
        out *= 2 / np.pi
        return out


class _Sign(_ClosedForm):
    """Sign s(t) = sign(t), with sign(0) = 0 ("sign").

    E s = 0, E s² = 1 (τ > 0); kernel (2/π) arcsin ρ."""

    _dmeans = {1: lambda s, t: np.sqrt(2 / (np.pi * t)), 2: lambda s, t: 0.0}

    def _mean(self, tau):
        return np.zeros_like(tau)

    def _second_moment(self, tau):
        return np.ones_like(tau)

    def _kernel_matrix(self, A, B, a, b, same):
        R = _correlation(A, B, a, b, same)
        np.arcsin(R, out=R)
        R *= 2 / np.pi
        return R

    def _kernel(self, a, b, c, rho):
        out = np.arcsin(rho)
        out *= 2 / np.pi
        return out


class _Step(_ClosedForm):
    """Heaviside step s(t) = 1 for t > 0, else 0 (names "step", "heaviside").

    E s = E s² = 1/2 (τ > 0); kernel (π − arccos ρ)/(2π)."""

    _dmeans = {1: lambda s, t: 1 / np.sqrt(2 * np.pi * t), 2: lambda s, t: 0.0}

    def _mean(self, tau):
        return np.full_like(tau, 0.5)

    def _second_moment(self, tau):
        return np.full_like(tau, 0.5)

    def _kernel_matrix(self, A, B, a, b, same):
        R = _correlation(A, B, a, b, same)
        np.arccos(R, out=R)
        np.subtract(np.pi, R, out=R)
        R /= 2 * np.pi
        return R

    def _kernel(self, a, b, c, rho):
        out = np.arccos(rho)
        np.subtract(np.pi, out, out=out)
        out /= 2 * np.pi
        return out


class _Erf(_ClosedForm):
    """Error function s(t) = erf(t) ("erf").

    E s = 0, E s² = (2/π) arcsin(2τ/(1 + 2τ)); kernel
    (2/π) arcsin(2c/sqrt((1 + 2a)(1 + 2b)))."""

    _dmeans = {1: lambda s, t: 2 / np.sqrt(np.pi) / np.sqrt(1 + 2 * t), 2: lambda s, t: 0.0}

    def _mean(self, tau):
        return np.zeros_like(tau)

    def _second_moment(self, tau):
        return 2 / np.pi * np.arcsin(2 * tau / (1 + 2 * tau))

    def _kernel_matrix(self, A, B, a, b, same):
        # (2/π) arcsin(2c / sqrt((1+2a)(1+2b))): the scaling goes onto the rows
        sa = np.sqrt(2.0 / (1.0 + 2.0 * a))
        R = _gram(A, B, same, sa, None if same else np.sqrt(2.0 / (1.0 + 2.0 * b)))
        np.clip(R, -1.0, 1.0, out=R)
        np.arcsin(R, out=R)
        R *= 2 / np.pi
        return R

    def _kernel(self, a, b, c, rho):
        out = c * (2 / np.sqrt(1 + 2 * a))
        out /= np.sqrt(1 + 2 * b)
        np.clip(out, -1.0, 1.0, out=out)
        np.arcsin(out, out=out)
        out *= 2 / np.pi
        return out


class _Quadratic(_ClosedForm):
    """Quadratic s(t) = t² (names "quadratic", "square").

    E s = τ, E s² = 3τ²; kernel ab + 2c²."""

    _dmeans = {1: lambda s, t: 0.0, 2: lambda s, t: 2.0, 3: lambda s, t: 0.0}

    def _mean(self, tau):
        return tau.copy()

    def _second_moment(self, tau):
        return 3 * tau ** 2

    def _kernel(self, a, b, c, rho):
        return a * b + 2 * c * c


class _Cubic(_ClosedForm):
    """Cubic s(t) = t³ ("cubic").

    E s = 0, E s² = 15τ³; kernel 9abc + 6c³."""

    _dmeans = {1: lambda s, t: 3 * t, 2: lambda s, t: 0.0, 3: lambda s, t: 6.0}

    def _mean(self, tau):
        return np.zeros_like(tau)

    def _second_moment(self, tau):
        return 15 * tau ** 3

    def _kernel(self, a, b, c, rho):
        return 9 * a * b * c + 6 * c ** 3


class _Exp(_ClosedForm):
    """Exponential s(t) = exp(t) ("exp").

    E s = exp(τ/2), E s² = exp(2τ) (ValueError where these overflow); kernel
    exp((a + b + 2c)/2)."""

    _dmeans = {k: (lambda s, t: np.exp(t / 2)) for k in (1, 2, 3)}

    def _mean(self, tau):
        return np.exp(tau / 2)

    def _second_moment(self, tau):
        return np.exp(2 * tau)

    def _kernel(self, a, b, c, rho):
        return np.exp((a + b + 2 * c) / 2)


def _hyperbolic_kernel(fun, A, B, a, b, same):
    """exp(−a/2) exp(−b/2) fun(c) with fun = cosh (cos kernel) or sinh (sin kernel), in place
    on the Gram matrix; None (generic route) when a norm is so large that fun(c) could
    overflow (|c| <= sqrt(ab) <= max norm²)."""
    if max(a.max(initial=0.0), b.max(initial=0.0)) > 700.0:
        return None
    ea = np.exp(-a / 2)
    G = _gram(A, B, same)
    fun(G, out=G)
    G *= ea[:, None]
    G *= ea[None, :] if same else np.exp(-b / 2)[None, :]
    return G


class _Sin(_ClosedForm):
    """Sine s(t) = sin(t) ("sin"; with cos, the random Fourier features).

    E s = 0, E s² = (1 − exp(−2τ))/2; kernel exp(−(a + b)/2) sinh(c)."""

    _dmeans = {1: lambda s, t: np.exp(-t / 2), 2: lambda s, t: 0.0,
               3: lambda s, t: -np.exp(-t / 2)}

    def _mean(self, tau):
        return np.zeros_like(tau)

    def _second_moment(self, tau):
        return -np.expm1(-2 * tau) / 2

    def _kernel_matrix(self, A, B, a, b, same):
        return _hyperbolic_kernel(np.sinh, A, B, a, b, same)

    def _kernel(self, a, b, c, rho):
        # exp(-(a+b)/2) sinh(c), written so that no factor overflows (|c| <= (a+b)/2)
        h = (a + b) / 2
        return 0.5 * (np.exp(c - h) - np.exp(-c - h))


class _Cos(_ClosedForm):
    """Cosine s(t) = cos(t) ("cos"; with sin, the random Fourier features).

    E s = exp(−τ/2), E s² = (1 + exp(−2τ))/2; kernel exp(−(a + b)/2) cosh(c) (cos + sin
    kernels: the Gaussian kernel exp(−||x − y||²/2))."""

    _dmeans = {1: lambda s, t: 0.0, 2: lambda s, t: -np.exp(-t / 2), 3: lambda s, t: 0.0}

    def _mean(self, tau):
        return np.exp(-tau / 2)

    def _second_moment(self, tau):
        return (1 + np.exp(-2 * tau)) / 2

    def _kernel_matrix(self, A, B, a, b, same):
        return _hyperbolic_kernel(np.cosh, A, B, a, b, same)

    def _kernel(self, a, b, c, rho):
        h = (a + b) / 2
        return 0.5 * (np.exp(c - h) + np.exp(-c - h))


class _Gaussian(_ClosedForm):
    """Gaussian bump s(t) = exp(−t²/2) ("gaussian").

    E s = 1/sqrt(1 + τ), E s² = 1/sqrt(1 + 2τ); kernel 1/sqrt((1 + a)(1 + b) − c²)."""

    _dmeans = {1: lambda s, t: 0.0, 2: lambda s, t: -(1 + t) ** -1.5, 3: lambda s, t: 0.0}

    def _mean(self, tau):
        return 1 / np.sqrt(1 + tau)

    def _second_moment(self, tau):
        return 1 / np.sqrt(1 + 2 * tau)

    def _kernel(self, a, b, c, rho):
        # (1+a)(1+b) − c² = 1 + a + b + (ab − c²) with ab − c² >= 0 (Cauchy-Schwarz) clamped
        # at 0: expanding the product cancels catastrophically (inf or NaN at ρ = ±1 once
        # ab reaches ~1e16), the clamped form is accurate and never below 1 + a + b
        det = a * b - c * c
        np.maximum(det, 0.0, out=det)
        det += 1.0 + a + b
        return 1 / np.sqrt(det)


def _sigmoid(t):
    return special.expit(t)


_CLOSED_FORMS: dict[str, Callable[[], Activation]] = {
    "linear": lambda: _Linear("linear", lambda t: t),
    "relu": lambda: _LeakyReLU("relu", 0.0),
    "leaky_relu": None,  # parametrized, built in activation()
    "abs": lambda: _Abs("abs", np.abs),
    "sign": lambda: _Sign("sign", np.sign),
    "step": lambda: _Step("step", lambda t: (t > 0).astype(float)),
    "erf": lambda: _Erf("erf", special.erf),
    "quadratic": lambda: _Quadratic("quadratic", np.square),
    "cubic": lambda: _Cubic("cubic", lambda t: t ** 3),
    "exp": lambda: _Exp("exp", np.exp),
    "sin": lambda: _Sin("sin", np.sin),
    "cos": lambda: _Cos("cos", np.cos),
    "gaussian": lambda: _Gaussian("gaussian", lambda t: np.exp(-0.5 * t * t)),
}

_QUADRATURE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "gelu": lambda t: t * special.ndtr(t),
    "swish": lambda t: t * special.expit(t),
    "softplus": lambda t: np.logaddexp(0.0, t),
}

_ALIASES = {"identity": "linear", "heaviside": "step", "silu": "swish", "square": "quadratic"}

#: All activation names accepted by :func:`activation` (aliases excluded).
ACTIVATION_NAMES = tuple(_CLOSED_FORMS) + tuple(_QUADRATURE)


def activation(name_or_callable, *, negative_slope: float | None = None,
               name: str | None = None) -> Activation:
    """Build an :class:`Activation` from a name or a vectorized callable.

    Parameters
    ----------
    name_or_callable : str, callable or Activation
        One of ``ACTIVATION_NAMES`` (closed forms: linear, relu, leaky_relu, abs, sign, step,
        erf, quadratic (t²), cubic (t³), exp, sin, cos, gaussian (exp(−t²/2)); quadrature:
        tanh, sigmoid, gelu (tΦ(t)), swish (t·sigmoid(t)), softplus), or a function mapping
        a float array to a float array of the same shape (quadrature tier; it must be
        smooth except possibly at 0, else a ``ValueError`` says the stated accuracy
        ``QUADRATURE_RTOL`` cannot be reached; a moment that does not exist, such as
        E exp(a τ ξ²) with a τ >= 1/2, raises a ``ValueError`` saying so).
    negative_slope : float, optional
        Slope for t < 0 of ``leaky_relu`` (s(t) = t for t > 0, ``negative_slope``·t else);
        default 0.01. Given with any other activation it is an error.
    name : str, optional
        Name of a callable activation (defaults to its ``__name__``).

    Examples
    --------
    >>> import hdeq
    >>> round(hdeq.activation("erf").derivative_mean(1.0), 6)   # 2/sqrt(3π)
    0.65147
    >>> round(hdeq.activation(lambda t: t * t).mean(2.0), 12)   # quadrature: E (√2 ξ)² = 2
    2.0
    """
    return _build(name_or_callable, negative_slope, name, "`name_or_callable` of activation")


def check_activation(value, name: str, owner: str) -> Activation:
    """``activation(value)`` for an argument of a public caller, with messages of the form
    "`name` of Owner must be one of ...; got ..." (``name`` the caller's parameter, e.g.
    "activation", ``owner`` the caller, e.g. "RandomFeaturesRidge"), as
    :func:`hdeq.core.check_scalar` writes them."""
    return _build(value, None, None, _where(name, owner))


def _build(name_or_callable, negative_slope, name, where) -> Activation:
    """:func:`activation`; ``where`` names the argument in messages."""
    if isinstance(name_or_callable, Activation):
        return name_or_callable
    key = (_ALIASES.get(name_or_callable.lower(), name_or_callable.lower())
           if isinstance(name_or_callable, str) else None)
    if negative_slope is not None and key != "leaky_relu":
        raise ValueError(f"`negative_slope` of activation applies to 'leaky_relu' only; got it "
                         f"with {name_or_callable!r}")
    if isinstance(name_or_callable, str):
        if key == "leaky_relu":
            slope = check_scalar(0.01 if negative_slope is None else negative_slope,
                                 "negative_slope", "activation")
            return _LeakyReLU("leaky_relu", slope)
        if key in _CLOSED_FORMS:
            return _CLOSED_FORMS[key]()
        if key in _QUADRATURE:
            return Activation(key, _QUADRATURE[key])
        raise ValueError(f"{where} must be one of {', '.join(ACTIVATION_NAMES)} or a "
                         f"callable; got {name_or_callable!r}")
    if callable(name_or_callable):
        label = name or getattr(name_or_callable, "__name__", "callable")
        act = Activation(label, name_or_callable)
        probe = np.linspace(-3.0, 3.0, 7).reshape(7, 1) * np.ones((1, 2))
        try:
            act(probe)
        except Exception as exc:
            raise ValueError(f"activation callable {label!r} failed on a float array of shape "
                             f"(7, 2): {exc}. It must be vectorized: map a numpy array to an "
                             f"array of the same shape (e.g. np.maximum(t, 0), not "
                             f"max(t, 0))") from exc
        act._eval_checked(probe, "on a probe grid")
        return act
    raise ValueError(f"{where} must be a name ({', '.join(ACTIVATION_NAMES)}), a callable "
                     f"or an Activation; got {name_or_callable!r}")
