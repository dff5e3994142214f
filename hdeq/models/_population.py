r"""One parser for the population and target of every linear model.

All linear models of :mod:`hdeq.models` (ridge, gradient flow / descent, linear random
projections) see the data through the same two objects (theory note linear.md §5.1):
the spectrum of the population covariance ``Sigma`` and the energy of the target
``beta`` along each eigenvalue, ``b_k^2`` with ``b = V^T beta``. :func:`parse_population`
turns every accepted form of ``(population, target | signal_var)`` into a
:class:`LinearProblem` holding both, so that a model accepts the same forms as every other.

One rule for tiny eigenvalues, shared by every linear model and by its simulation twin:
population eigenvalues ``<= n_features * eps * max`` (float64 ``eps = 2.2e-16``; the
rounding level of the eigenvalues of an ``n_features x n_features`` covariance, the
default tolerance of ``numpy.linalg.matrix_rank`` and of
:class:`hdeq.laws.SampleCovarianceLaw`, :func:`hdeq.core.rounding_zero_rtol`) are
**exact zeros**, in the theory (they enter no spectral sum; their
target energy is ``null_energy``) and in the draws of the twin (those columns of ``X``
are 0); ``LinearProblem.snapped_weight`` (and the models' ``snapped_weight``) is the
fraction of the ``n_features`` eigenvalues that were positive and set to 0. The twins
then take the numerical rank of each drawn design by the ``matrix_rank`` tolerance of its
SVD, which every kept direction clears by orders of magnitude.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..core._stieltjes import rounding_zero_rtol
from ..core._validation import _show, check_array, check_covariance, check_scalar
from ..equivalents._ridge_equivalent import merge_atoms
from ..laws._sample_covariance import population_diagonal

__all__ = ["LinearProblem", "HasLinearProblem", "parse_population", "check_trials",
           "check_counts"]

#: Fewest Monte-Carlo draws a linear model's simulation twin accepts: with two or more the
#: standard error of the mean (``std(ddof=1) / sqrt(trials)``) exists; one rule for all.
MIN_TRIALS = 2


#: Largest size or count accepted: every integer up to it converts to a float below 2^63
#: (the int64 range), so the check on floats and the one on integers agree.
MAX_COUNT = 2 ** 62


def check_counts(value, name: str, owner: str, *, low: int = 1, high: int | None = None,
                 high_note: str = "", ndim=None) -> np.ndarray:
    """Sizes or counts (``n_samples``, ``n_random_features``, ``steps``): an array of
    whole numbers in ``[low, high]`` (default ``high``: ``2^62``), returned as float;
    ``high_note`` says what ``high`` is; ``ndim`` as in ``check_array``. Booleans are
    rejected (``True`` is not a size). Python (or numpy) integers are compared exactly,
    before any conversion to float, so ``2**63 - 1`` and ``10**20`` (beyond int64: an
    object array for numpy) are reported as too large with the value as given. The
    message shows the first offending value as given."""
    top = MAX_COUNT if high is None else high
    span = f"[{low}, 2^62]" if high is None else f"[{low}, {high}]"

    def fail(first, size, too_large):
        among = f" (among {size} values)" if size > 1 else ""
        # the default top is a float-rounding limit, so say that a value is above it
        why = ": too large (beyond 2^62)" if too_large and high is None else ""
        raise ValueError(f"`{name}` of {owner} must be integers in {span}{high_note}; got "
                         f"{first}{among}{why}")

    try:
        raw = np.asarray(value)
    except Exception:          # ragged: check_array below says what is wrong
        raw = None
    if raw is not None and raw.dtype.kind in "iuO":
        flat = raw.reshape(-1)
        for v in flat:
            if (isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
                    and not low <= int(v) <= top):
                fail(repr(int(v)), flat.size, int(v) > top)
    arr = check_array(value, name, owner, ndim=ndim, allow_bool=False)
    bad = (arr < low) | (arr != np.round(arr)) | (arr > top)
    if np.any(bad):
        i = np.flatnonzero(bad.reshape(-1))[0]
        fail(_show(np.asarray(value).reshape(-1)[i]), arr.size, arr.reshape(-1)[i] > top)
    return arr


def check_trials(trials, owner: str) -> int:
    """``trials`` of a linear model's simulation twin, an integer ``>= MIN_TRIALS``
    (ValueError naming ``owner`` and saying why otherwise)."""
    try:
        return check_scalar(trials, "trials", owner, low=MIN_TRIALS, low_inclusive=True,
                            integer=True)
    except ValueError as exc:
        raise ValueError(f"{exc} (the standard error of the mean needs at least "
                         f"{MIN_TRIALS} draws)") from None


def _quantile_atoms(law, n_atoms):
    """Mid-quantiles ``F^{-1}((j + 1/2)/K)`` of a spectral law, by vectorized bisection
    of its cdf (atoms of the law are hit exactly by the jump of the cdf)."""
    levels = (np.arange(n_atoms) + 0.5) / n_atoms
    ends = [x for iv in law.support for x in iv] + [loc for loc, _ in law.atoms]
    lo = np.full(n_atoms, min(ends))
    hi = np.full(n_atoms, max(ends))
    for _ in range(52):
        mid = 0.5 * (lo + hi)
        below = law.cdf(mid) < levels
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.maximum(hi, 0.0)


@dataclass(frozen=True, eq=False)
class LinearProblem:
    r"""A population covariance and a target, as the linear models consume them.

    Built by :func:`parse_population`; read-only.

    Attributes
    ----------
    kind : {"eigenvalues", "spectrum", "matrix", "law"}
        Which form the population was given in.
    n_features : int
        Dimension ``p``.
    eigenvalues : ndarray of shape (n_features,)
        The ``p`` eigenvalues the simulation twins draw with (``X = Z diag(sqrt(s))`` in the
        eigenbasis): the given ones; those of the matrix; the ``p`` mid-quantiles of the
        distribution for ``(values, weights)`` (``p * weights[j]`` copies of ``values[j]``
        where that is an integer; sorted); the mid-quantile atoms for a law.
    coefficients : ndarray of shape (n_features,) or None
        ``b = V^T beta`` in the order of ``eigenvalues``, or None for an isotropic random
        target (``signal_var``).
    signal_var : float or None
        ``E ||beta||^2`` of the isotropic random target ``beta ~ N(0, signal_var/p I)``.
    basis : ndarray of shape (n_features, n_features) or None
        Eigenvectors ``V`` (columns) when a matrix was given.
    atoms, multiplicities, energy : ndarray of shape (K,)
        The distinct **positive** eigenvalues ``t_k`` (sorted), their multiplicities
        ``m_k`` (``p * weight`` for ``(values, weights)``, exact, not rounded) and the target
        energy ``e_k = sum of b_j^2 over eigenvalues equal to t_k`` (``m_k signal_var / p``
        for the isotropic target): every spectral sum of theory note §5.2 is
        ``sum_k m_k f(t_k)`` or ``sum_k e_k g(t_k)``.
    null_energy : float
        Target energy on the zero eigenvalues (including the snapped ones); it never enters
        a risk (``Sigma`` kills it).
    snapped_weight : float
        Fraction of the ``n_features`` eigenvalues that were positive but ``<= n_features
        * eps`` times the largest and were set to exactly 0 (module notes), by theory and twin alike.
    """

    kind: str
    n_features: int
    eigenvalues: np.ndarray
    coefficients: np.ndarray | None
    signal_var: float | None
    basis: np.ndarray | None
    atoms: np.ndarray
    multiplicities: np.ndarray
    energy: np.ndarray
    null_energy: float
    snapped_weight: float = 0.0

    @property
    def rank(self) -> float:
        """``sum_k m_k``: the number of positive eigenvalues (not an integer for a
        ``(values, weights)`` spectrum whose counts ``p * weight`` are not)."""
        return float(np.sum(self.multiplicities))

    @property
    def weights(self) -> np.ndarray:
        """``m_k / rank``: the spectral distribution of the positive part of ``Sigma``."""
        return self.multiplicities / self.rank

    def draw_target(self, rng) -> np.ndarray:
        """``b`` for one simulation draw: the given coefficients, or a fresh isotropic
        ``N(0, signal_var/p I)`` draw."""
        if self.coefficients is not None:
            return self.coefficients
        p = self.n_features
        return rng.standard_normal(p) * np.sqrt(self.signal_var / p)


class HasLinearProblem:
    """Mixin of the linear models: the parsed problem (``self._problem``, a
    :class:`LinearProblem`) seen through the same three attributes in every model."""

    _problem: LinearProblem

    @property
    def population(self) -> np.ndarray:
        """The ``n_features`` eigenvalues of ``Sigma`` the simulation twin draws with."""
        return self._problem.eigenvalues

    @property
    def target(self) -> np.ndarray | None:
        """``b = V^T beta`` in the order of :attr:`population`; None for ``signal_var``."""
        return self._problem.coefficients

    @property
    def signal_var(self) -> float | None:
        """``E ||beta||^2`` of the isotropic random target; None for a given target."""
        return self._problem.signal_var

    @property
    def snapped_weight(self) -> float:
        """Fraction of the eigenvalues of ``Sigma`` that were positive but at most
        ``n_features * eps`` times the largest, and are treated as exact zeros by the theory and the twin
        (:mod:`hdeq.models._population`)."""
        return self._problem.snapped_weight


def _law_eigenvalues(law, n_features, owner):
    if n_features is None:
        raise ValueError(f"`n_features` of {owner} must be given when `population` is a "
                         f"spectral law; got None")
    p = check_scalar(n_features, "n_features", owner, low=1, low_inclusive=True, integer=True)
    eig = _quantile_atoms(law, p)
    return eig, eig, np.ones(p)


def _spectrum_eigenvalues(population, n_features, owner):
    if n_features is None:
        raise ValueError(f"`n_features` of {owner} must be given when `population` is "
                         f"(values, weights); got None")
    p = check_scalar(n_features, "n_features", owner, low=1, low_inclusive=True, integer=True)
    values = check_array(population[0], "population[0] (values)", owner, ndim=1,
                         nonnegative=True)
    weights = check_array(population[1], "population[1] (weights)", owner, ndim=1,
                          nonnegative=True)
    if values.shape != weights.shape:
        raise ValueError(f"`population` of {owner}: values and weights must have the same "
                         f"length; got {values.size} and {weights.size}")
    if abs(weights.sum() - 1) > 1e-10:
        raise ValueError(f"`population` of {owner}: weights must sum to one; got "
                         f"{_show(weights.sum())}")
    return population_diagonal(values, weights, p), values, p * weights




def parse_population(population, target=None, signal_var=None, n_features=None, *,
                     owner) -> LinearProblem:
    r"""Validate a population covariance and a target, in any accepted form, once.

    The linear models (:class:`hdeq.RidgeRegression`, :class:`hdeq.GradientFlow`,
    :class:`hdeq.GradientDescent`, :class:`hdeq.RandomProjectionRegression`) all call this
    function, so they accept the same forms. Setting (theory note linear.md §5.1): rows
    ``x ~ N(0, Sigma)``, ``y = x^T beta + noise``; the risks depend on ``Sigma`` and ``beta``
    only through the eigenvalues ``s_j`` of ``Sigma`` and the energies ``b_j^2`` of
    ``b = V^T beta`` (§5.2), which is what the returned :class:`LinearProblem` holds.

    Parameters
    ----------
    population : array_like or tuple or law
        ``Sigma``, as one of

        * 1-D array of its ``n_features`` eigenvalues ``>= 0`` (the eigenbasis is the
          standard one);
        * ``(values, weights)`` of two 1-D arrays: a spectral distribution (weights sum to
          one) with ``n_features`` given: ``n_features * weights[j]`` eigenvalues equal
          ``values[j]`` (exact in the theory; rounded by largest remainders for simulation);
        * a ``(p, p)`` symmetric positive semi-definite matrix;
        * a spectral law (an object with ``cdf``, ``support``, ``atoms``, e.g. from
          :mod:`hdeq.laws`) with ``n_features`` given: discretized into ``n_features``
          mid-quantile atoms ``F^{-1}((j + 1/2)/p)``, used by theory and simulation alike.

        At least one eigenvalue must be positive. Eigenvalues ``<= n_features * eps``
        times the largest are set to exactly 0, for the theory and the simulation twin alike (module
        notes; ``snapped_weight`` of the result says how many).
    target : array_like of shape (n_features,), optional
        ``b = V^T beta`` in the eigenbasis (in the order of the given eigenvalues) when
        ``population`` is eigenvalues, ``beta`` itself when it is a matrix. Not accepted
        with ``(values, weights)`` or a law, whose eigenbasis is not fixed.
    signal_var : float, optional
        Isotropic random target ``beta ~ N(0, (signal_var/p) I_p)``: the theory uses
        ``b_j^2 -> signal_var/p`` (exact in expectation). Give exactly one of ``target`` and
        ``signal_var``.
    n_features : int, optional
        Required for ``(values, weights)`` and a law; checked against the size otherwise.
    owner : str
        Name of the calling model, used in error messages.

    Returns
    -------
    LinearProblem

    Raises
    ------
    ValueError
        Naming the parameter, what was expected and what was received.

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq.models._population import parse_population
    >>> prob = parse_population(([1.0, 4.0], [0.25, 0.75]), signal_var=2.0, n_features=8,
    ...                         owner="demo")
    >>> prob.atoms, prob.multiplicities, prob.energy
    (array([1., 4.]), array([2., 6.]), array([0.5, 1.5]))
    >>> prob.eigenvalues
    array([1., 1., 4., 4., 4., 4., 4., 4.])
    >>> parse_population(np.diag([2.0, 0.0]), [3.0, 1.0], owner="demo").null_energy
    1.0
    """
    if (target is None) == (signal_var is None):
        raise ValueError(f"exactly one of `target` and `signal_var` of {owner} must be given; "
                         f"got {'both' if target is not None else 'neither'}")
    basis = None
    exact = None                                    # (values, multiplicities) if not ones
    if hasattr(population, "cdf") and hasattr(population, "support"):
        kind = "law"
        eig, *_ = _law_eigenvalues(population, n_features, owner)
    elif (isinstance(population, tuple) and len(population) == 2
          and all(np.ndim(part) == 1 for part in population)):
        kind = "spectrum"
        eig, *exact = _spectrum_eigenvalues(population, n_features, owner)
    else:
        eig, basis = check_covariance(population, "population", owner)
        kind = "eigenvalues" if basis is None else "matrix"
        if n_features is not None and check_scalar(
                n_features, "n_features", owner, integer=True) != eig.size:
            raise ValueError(f"`n_features` of {owner} must match the population size "
                             f"{eig.size}; got {_show(n_features)}")
    if eig.size == 0:
        raise ValueError(f"`population` of {owner} must contain at least one eigenvalue; got "
                         f"none")
    if not np.any(eig > 0):
        raise ValueError(f"`population` of {owner} must have a positive eigenvalue; got all "
                         f"zero")
    p = int(eig.size)
    # one rule for tiny eigenvalues (module notes): exact zeros for theory and twin
    cut = rounding_zero_rtol(p) * float(np.max(eig))
    snap = (eig > 0) & (eig <= cut)
    eig = np.where(snap, 0.0, eig)
    values, mult = exact if exact is not None else (eig, np.ones(p))
    values = np.where(values <= cut, 0.0, values)
    if signal_var is not None:
        signal_var = check_scalar(signal_var, "signal_var", owner, low=0, low_inclusive=True)
        coef = None
        energy = mult * signal_var / p
    else:
        if kind in ("spectrum", "law"):
            raise ValueError(f"`target` of {owner} cannot be an array when `population` is "
                             f"(values, weights) or a law; pass `signal_var` (isotropic "
                             f"random target) or give the eigenvalues explicitly")
        beta = check_array(target, "target", owner, ndim=1)
        if beta.size != p:
            raise ValueError(f"`target` of {owner} must have length n_features = {p} "
                             f"(one coefficient per population eigenvalue); got {beta.size}")
        coef = beta if basis is None else basis.T @ beta
        energy = coef ** 2
    t, m, (e,) = merge_atoms(values, mult, energy)
    keep = (t > 0) & (m > 0)
    return LinearProblem(kind=kind, n_features=p, eigenvalues=eig, coefficients=coef,
                         signal_var=signal_var, basis=basis, atoms=t[keep],
                         multiplicities=m[keep], energy=e[keep],
                         null_energy=float(np.sum(e[t == 0])),
                         snapped_weight=float(np.sum(snap)) / p)
