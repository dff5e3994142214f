"""Contours for Cauchy-integral functional calculus around a spectrum in (0, inf).

For a probability measure ``mu`` with Stieltjes transform ``m(z) = int dmu(x)/(x - z)``
and a function ``f`` analytic on and inside a counter-clockwise contour ``Gamma`` that
encloses the support of ``mu``,

    int f dmu = -(1/(2 pi i)) \\oint_Gamma f(z) m(z) dz,

and, for a Hermitian matrix ``A`` with resolvent ``Q(z) = (A - z I)^{-1}``,
``f(A) = -(1/(2 pi i)) \\oint f(z) Q(z) dz`` (theory note linear.md §0). Replacing the
random resolvent by its deterministic equivalent gives the spectral functionals used
by the dynamics and scaling-law models.

The contour here is the *log-ellipse* of theory note linear.md §7a (pitfall and recipe)
and Appendix A: ``z = exp(w)``, ``w = c0 + A cos(theta) + i B sin(theta)``, which stays in
``Re z > 0`` (so ``|exp(-t z)| <= 1`` for every ``t >= 0``) and resolves spectra spread
over several orders of magnitude, plus, optionally, a small circle around ``z = 0`` for
an atom (a simple pole) at the origin.

The nodes do not depend on the function being integrated: a deterministic equivalent
is evaluated *once* on the nodes, and every value of a parameter (a time ``t``, a step
count ``k``) costs one row of a matrix product. On the small circle around 0 the
filter ``f(param, z)`` is replaced by ``f(param, 0)``: this is exact whenever the other
factor has at most a simple pole at 0 (``f(z) - f(0)`` cancels it), and it keeps
``exp(-t z)`` from growing like ``exp(t * radius)`` on the circle at large ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_bool, check_scalar

__all__ = ["Contour", "log_contour", "circle_contour", "spectral_contour"]


@dataclass(frozen=True)
class Contour:
    """A discretized closed counter-clockwise contour.

    ``(1/(2 pi i)) \\oint h(z) dz ~= sum_j weights[j] * h(nodes[j])`` (periodic trapezoid
    rule, exponentially accurate for ``h`` analytic near the contour).

    Attributes
    ----------
    nodes : complex ndarray, shape (M,)
    weights : complex ndarray, shape (M,)
        ``dz / (2 pi i)`` at each node (the ``1/(2 pi i)`` is included).
    at_zero : bool ndarray, shape (M,)
        True for the nodes of the small circle around the origin (see module notes).

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq.core import spectral_contour
    >>> c = spectral_contour(0.5, 2.0, include_zero=False)
    >>> m = lambda z: 1.0 / (1.0 - z)          # Stieltjes transform of a unit atom at 1
    >>> got = c.spectral_integral(lambda t, z: np.exp(-t * z), [0.0, 1.0], m(c.nodes))
    >>> round(float(got.real[1]), 12)           # exp(-1)
    0.367879441171
    """

    nodes: np.ndarray
    weights: np.ndarray
    at_zero: np.ndarray

    def __add__(self, other: "Contour") -> "Contour":
        if not isinstance(other, Contour):
            return NotImplemented
        return Contour(np.concatenate([self.nodes, other.nodes]),
                       np.concatenate([self.weights, other.weights]),
                       np.concatenate([self.at_zero, other.at_zero]))

    @property
    def size(self) -> int:
        return int(self.nodes.size)

    def integrate(self, values) -> np.ndarray:
        """``(1/(2 pi i)) \\oint h dz`` from the values of ``h`` on the nodes (last axis)."""
        return np.asarray(values) @ self.weights

    def filter_matrix(self, func, params) -> np.ndarray:
        """Values ``func(param, z)`` for every param (rows) and node (columns).

        ``func(params[:, None], z[None, :])`` must broadcast. On the nodes of the circle
        around 0 the value is ``func(param, 0)`` (see the module notes), so ``func`` must
        be finite at ``z = 0``.
        """
        params = np.atleast_1d(np.asarray(params, dtype=float))
        out = np.empty((params.size, self.size), dtype=complex)
        main = ~self.at_zero
        if main.any():
            out[:, main] = func(params[:, None], self.nodes[None, main])
        if self.at_zero.any():
            zero = np.asarray(func(params[:, None], np.zeros((1, 1), dtype=complex)))
            out[:, self.at_zero] = np.broadcast_to(zero, (params.size, 1))
        return out

    def spectral_integral(self, func, params, values) -> np.ndarray:
        """``-(1/(2 pi i)) \\oint func(param, z) g(z) dz`` for every param.

        Parameters
        ----------
        func : callable ``(param, z) -> value``, broadcasting, analytic in ``z`` inside
            the contour and finite at 0.
        params : array_like, shape (P,)
        values : array_like, shape (M,) or (M, ...)
            ``g`` on the nodes (for instance a Stieltjes transform or a diagonal of a
            deterministic equivalent), computed once.

        Returns
        -------
        complex ndarray, shape (P,) + values.shape[1:]
            Equals ``int func(param, x) dmu(x)`` when ``g`` is the Stieltjes transform of
            ``mu`` and the contour encloses its support. Imaginary parts are round-off.
        """
        values = np.asarray(values)
        fw = self.filter_matrix(func, params) * self.weights[None, :]
        flat = values.reshape(self.size, -1)
        return -(fw @ flat).reshape((fw.shape[0],) + values.shape[1:])

    def double_integral(self, func, params, kernel) -> np.ndarray:
        """``(1/(2 pi i))^2 \\oint\\oint func(param, z1) func(param, z2) K(z1, z2) dz1 dz2``.

        ``kernel`` is the (M, M) matrix ``K(nodes[j], nodes[k])``; ``K`` may have a simple
        pole at 0 in each variable. Returns a complex array of shape (P,).
        """
        fw = self.filter_matrix(func, params) * self.weights[None, :]
        return np.einsum("pj,jk,pk->p", fw, np.asarray(kernel), fw, optimize=True)


def log_contour(lower: float, upper: float, *, n_nodes: int = 300,
                height: float = 1.0) -> Contour:
    """Log-ellipse through ``lower`` and ``upper`` on the positive real axis.

    ``z = exp(w)``, ``w = c0 + A cos(theta) + i * height * sin(theta)`` with
    ``c0 -+ A = log(lower), log(upper)`` and ``theta_j = 2 pi (j + 1/2) / M``, traversed
    counter-clockwise (theory note linear.md Appendix A). Since ``|arg z| <= height < pi/2``,
    the whole curve lies in ``Re z > 0`` and does not wind around 0. It encloses every
    point of ``(lower, upper)`` and of a neighbourhood of that interval.

    Examples
    --------
    >>> from hdeq.core import log_contour
    >>> c = log_contour(0.1, 10.0, n_nodes=200)
    >>> bool(abs(c.integrate(1.0 / (c.nodes - 1.0)) - 1.0) < 1e-12)   # winds once around 1
    True
    """
    lower = check_scalar(lower, "lower", "log_contour", low=0.0)
    upper = check_scalar(upper, "upper", "log_contour", low=lower)
    n_nodes = check_scalar(n_nodes, "n_nodes", "log_contour", low=4, low_inclusive=True,
                           integer=True)
    height = check_scalar(height, "height", "log_contour", low=0.0, high=np.pi / 2)
    theta = 2.0 * np.pi * (np.arange(n_nodes) + 0.5) / n_nodes
    c0 = 0.5 * (np.log(lower) + np.log(upper))
    a = 0.5 * (np.log(upper) - np.log(lower))
    w = c0 + a * np.cos(theta) + 1j * height * np.sin(theta)
    z = np.exp(w)
    dz = z * (-a * np.sin(theta) + 1j * height * np.cos(theta)) * (2.0 * np.pi / n_nodes)
    return Contour(z, dz / (2j * np.pi), np.zeros(n_nodes, dtype=bool))


def circle_contour(center: complex, radius: float, *, n_nodes: int = 64,
                   at_zero: bool = False) -> Contour:
    """Counter-clockwise circle ``center + radius * exp(i theta)``, trapezoid rule.

    ``at_zero=True`` marks the nodes as the small circle around the origin used for an
    atom at 0 (see :class:`Contour`); it requires ``center == 0``.
    """
    at_zero = check_bool(at_zero, "at_zero", "circle_contour")
    radius = check_scalar(radius, "radius", "circle_contour", low=0.0)
    n_nodes = check_scalar(n_nodes, "n_nodes", "circle_contour", low=4, low_inclusive=True,
                           integer=True)
    if at_zero and center != 0:
        raise ValueError(f"`center` of circle_contour must be 0 when at_zero=True; "
                         f"got {center!r}")
    theta = 2.0 * np.pi * (np.arange(n_nodes) + 0.5) / n_nodes
    e = np.exp(1j * theta)
    z = center + radius * e
    dz = 1j * radius * e * (2.0 * np.pi / n_nodes)
    return Contour(z, dz / (2j * np.pi), np.full(n_nodes, bool(at_zero)))


def spectral_contour(lower: float, upper: float, *, include_zero: bool = True,
                     n_nodes: int = 300, n_zero_nodes: int = 64, height: float = 1.0,
                     step: float | None = None) -> Contour:
    """Contour around a spectrum whose non-zero part lies in ``[lower, upper]``, ``lower > 0``.

    The recipe of theory note linear.md §7a: the log-ellipse through ``lower/2`` and
    ``1.2 * upper`` (:func:`log_contour`) and, when ``include_zero``, a circle of radius
    ``lower/4`` around the origin (for an atom at 0, or a simple pole of the integrand
    there; its contribution does not depend on the radius).

    Parameters
    ----------
    lower, upper : float
        Edges of the non-zero part of the spectrum (every eigenvalue or isolated
        eigenvalue to be enclosed), ``0 < lower <= upper``. At ``lower = 0`` (e.g. a
        Marchenko-Pastur law with ratio 1) no such contour exists.
    include_zero : bool
        Add the circle around 0.
    n_nodes, n_zero_nodes : int
        Trapezoid nodes on the log-ellipse and on the circle.
    height : float in (0, pi/2)
        Largest ``|arg z|`` on the log-ellipse.
    step : float, optional
        If given, the contour is made to satisfy ``|1 - step * z| <= 1`` at every node of
        the log-ellipse, so that the polynomial filters ``(1 - step z)^k`` stay bounded for
        all ``k`` (discrete gradient descent): the right end moves to
        ``min(1.2 upper, (upper + 2/step)/2)`` and ``height`` is halved until the bound
        holds. Requires ``step * upper < 2``.

    Examples
    --------
    >>> from hdeq.core import spectral_contour
    >>> c = spectral_contour(0.2, 3.0)          # atom at 0 + bulk in [0.2, 3]
    >>> m = lambda z: 0.5 / (0.0 - z) + 0.5 / (1.0 - z)
    >>> float(c.spectral_integral(lambda t, z: 1.0 + 0 * z, [0.0], m(c.nodes)).real[0])
    1.0
    """
    include_zero = check_bool(include_zero, "include_zero", "spectral_contour")
    lower = check_scalar(lower, "lower", "spectral_contour", low=0.0)
    upper = check_scalar(upper, "upper", "spectral_contour", low=lower, low_inclusive=True)
    left = 0.5 * lower
    right = 1.2 * upper
    if step is not None:
        step = check_scalar(step, "step", "spectral_contour", low=0.0)
        if step * upper >= 2.0:
            raise ValueError(f"`step` of spectral_contour must be below 2/upper = "
                             f"{2.0 / upper!r} (|1 - step x| < 1 on the spectrum); got {step!r}")
        right = min(right, 0.5 * (upper + 2.0 / step))
    main = log_contour(left, right, n_nodes=n_nodes, height=height)
    if step is not None:
        h = height
        while np.max(np.abs(1.0 - step * main.nodes)) > 1.0:
            h *= 0.5
            if h < 1e-3:  # pragma: no cover - cannot happen for step * upper < 2
                raise ValueError("no log-ellipse keeps |1 - step z| <= 1; reduce `step`")
            main = log_contour(left, right, n_nodes=n_nodes, height=h)
    if include_zero:
        main = main + circle_contour(0.0, 0.25 * lower, n_nodes=n_zero_nodes, at_zero=True)
    return main
