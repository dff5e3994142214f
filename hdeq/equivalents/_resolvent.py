r"""Deterministic equivalent of the resolvent of a sample covariance matrix.

For ``X`` of shape ``(n_samples, n_features)`` with i.i.d. rows ``x_i ~ N(0, C)``,
``n = n_samples``, ``p = n_features``, the resolvent

.. math:: Q(z) = (X^T X / n - z I_p)^{-1}

has the deterministic equivalent (Silverstein & Bai 1995; Couillet & Liao 2022, ch. 2;
theory note linear.md §3.1)

.. math:: \bar Q(z) = \Big(\frac{C}{1 + \delta(z)} - z I_p\Big)^{-1},
          \qquad \delta(z) = \frac1n \operatorname{tr} C \bar Q(z),

in the sense that ``(1/p) tr A (Q - Qbar) -> 0`` (error ``O(1/n)``) and
``a^T (Q - Qbar) b -> 0`` (error ``O(1/sqrt(n))``) for bounded ``A`` and unit ``a, b``.
The scalar ``delta`` is read from the companion Stieltjes transform ``mt(z)`` of
``X X^T / n`` computed by :class:`hdeq.laws.SampleCovarianceLaw`:
``delta = -1 / (z mt) - 1``, so that ``Qbar = -(1/z) (I + mt C)^{-1}`` (theory note §3.1).
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import pandas as pd

from ..core._errors import ConvergenceError
from ..core._threads import small_matrix_blas
from ..core._validation import (as_generator, check_array, check_covariance, check_on_failure,
                                check_scalar)

__all__ = ["ResolventEquivalent", "resolvent_equivalent"]

_OWNER = "resolvent_equivalent"


def _check_z(z) -> complex | float:
    """A non-zero finite complex scalar; returned as float when real."""
    if isinstance(z, np.ndarray) and z.ndim == 0:
        z = z.item()
    if isinstance(z, (bool, np.bool_)) or not isinstance(z, numbers.Number):
        raise ValueError(f"`z` of {_OWNER} must be a complex scalar (or a real one outside the "
                         f"support); got {z!r}")
    z = complex(z)
    if not (np.isfinite(z.real) and np.isfinite(z.imag)) or z == 0:
        raise ValueError(f"`z` of {_OWNER} must be a finite non-zero complex scalar; got {z!r}")
    return z.real if z.imag == 0 else z


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


class ResolventEquivalent:
    r"""The deterministic equivalent ``Qbar(z)`` of ``Q(z) = (X^T X/n - z I)^{-1}``.

    .. math:: \bar Q(z) = \Big(\frac{C}{1 + \delta(z)} - z I_p\Big)^{-1}
              = -\frac1z\,(I_p + \tilde m(z)\, C)^{-1},\qquad
              \delta(z) = \frac1n \operatorname{tr} C \bar Q(z) = -\frac{1}{z\tilde m(z)} - 1

    for ``X`` of shape ``(n_samples, n_features)`` with i.i.d. rows ``N(0, C)``, where
    ``mt`` is the companion Stieltjes transform of ``X X^T / n`` (Silverstein & Bai 1995;
    Couillet & Liao 2022, Thm. 2.6; theory note linear.md §3.1). Build it with
    :func:`resolvent_equivalent`. A value object: everything is computed at construction
    from the eigendecomposition ``C = V diag(lambda) V^T`` (done once), in which ``Qbar``
    is diagonal with eigenvalues
    ``q_k = 1 / (lambda_k / (1 + delta) - z) = -1 / (z (1 + lambda_k mt))``.

    Theory and simulation share one call surface: :meth:`functionals` returns the
    theoretical values of the functionals named by ``A``, ``a``, ``b``, and
    :meth:`simulate` (same keywords) returns the same table with the Monte-Carlo
    columns added.

    Attributes
    ----------
    z : complex or float
        The spectral argument (a float when real).
    n_samples, n_features : int
        ``n`` and ``p``.
    aspect_ratio : float
        ``p / n``.
    companion_stieltjes : complex or float
        ``mt(z)``, Stieltjes transform of the limiting spectrum of ``X X^T / n``.
    delta : complex or float
        ``delta(z) = (1/n) tr C Qbar(z) = -1/(z mt) - 1``.
    covariance_eigenvalues : ndarray of shape (p,)
        ``lambda`` (read-only).
    eigenvectors : ndarray of shape (p, p) or None
        ``V`` (read-only); None when the covariance was given by its eigenvalues
        (``C`` diagonal in the standard basis).
    eigenvalues : ndarray of shape (p,)
        The eigenvalues ``q_k`` of ``Qbar`` (read-only).

    Examples
    --------
    With ``C = I`` the equivalent is ``m(z) I``, ``m`` the Marchenko-Pastur Stieltjes
    transform at ratio ``c = p/n``, ``m(z) = (1 - c - z + sqrt(z - l_-) sqrt(z - l_+)) /
    (2 c z)`` with edges ``l_-+ = (1 -+ sqrt c)^2`` (theory note §2); here ``c = 1/2``,
    ``z = -1``:

    >>> import numpy as np
    >>> from hdeq import resolvent_equivalent
    >>> eq = resolvent_equivalent(np.ones(200), 400, -1.0)
    >>> c, z = 0.5, -1.0
    >>> lo, hi = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    >>> m = ((1 - c - z + np.sqrt(z - lo + 0j) * np.sqrt(z - hi + 0j)) / (2 * c * z)).real
    >>> round(float(m), 6), round(float(eq.trace()), 6), bool(np.allclose(eq.eigenvalues, m))
    (0.561553, 0.561553, True)

    The Monte-Carlo twin measures the same functionals on drawn matrices: the trace
    ``(1/p) tr Q`` and the bilinear form ``a^T Q a`` for a unit ``a`` (``a^T Qbar a = m``):

    >>> table = eq.simulate(10, seed=0, a=np.ones(200) / np.sqrt(200))
    >>> table[["functional", "theory", "empirical", "stderr"]].round(4)
      functional  theory  empirical  stderr
    0      trace  0.5616     0.5616  0.0004
    1   bilinear  0.5616     0.5657  0.0082
    """

    def __init__(self, eigenvalues: np.ndarray, eigenvectors: np.ndarray | None,
                 n_samples: int, z, companion_stieltjes):
        self.covariance_eigenvalues = _readonly(np.asarray(eigenvalues, dtype=float))
        self.eigenvectors = None if eigenvectors is None else _readonly(eigenvectors)
        self.n_samples = int(n_samples)
        self.n_features = int(self.covariance_eigenvalues.size)
        self.aspect_ratio = self.n_features / self.n_samples
        self.z = z
        mt = complex(companion_stieltjes)
        real = isinstance(z, float)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = -1.0 / (z * (1.0 + self.covariance_eigenvalues * mt))
            delta = -1.0 / (z * mt) - 1.0
        if real:
            # real z outside the support: mt, delta and Qbar are real
            mt, delta, q = mt.real, delta.real, q.real
        self.companion_stieltjes = mt
        self.delta = delta
        self.eigenvalues = _readonly(np.asarray(q))

    def __repr__(self) -> str:
        return (f"ResolventEquivalent(n_features={self.n_features}, "
                f"n_samples={self.n_samples}, z={self.z!r}, delta={self.delta!r})")

    # -- the matrix and its functionals ------------------------------------------------
    @functools.cached_property
    def matrix(self) -> np.ndarray:
        """``Qbar(z)`` as a dense ``(p, p)`` array (read-only; complex unless z is real)."""
        q = self.eigenvalues
        if self.eigenvectors is None:
            return _readonly(np.diag(q))
        V = self.eigenvectors
        return _readonly((V * q) @ V.T)

    @property
    def stieltjes(self):
        """``m(z) = (1/p) tr Qbar(z)``: the Stieltjes transform of the ``p x p`` spectrum."""
        return self.trace()

    def _rotate_vectors(self, v, name: str) -> np.ndarray:
        v = check_array(v, name, "ResolventEquivalent", ndim=(1, 2))
        if v.shape[-1] != self.n_features:
            raise ValueError(f"`{name}` of ResolventEquivalent must have last dimension "
                             f"n_features = {self.n_features}; got shape {v.shape}")
        return v if self.eigenvectors is None else v @ self.eigenvectors

    def _rotated_diag(self, A, name: str) -> np.ndarray:
        """Diagonal of ``V^T A V`` (all a trace against a diagonal matrix needs)."""
        A = check_array(A, name, "ResolventEquivalent", ndim=(1, 2))
        p = self.n_features
        if A.shape not in ((p,), (p, p)):
            raise ValueError(f"`{name}` of ResolventEquivalent must have shape (n_features,) "
                             f"(its diagonal) or (n_features, n_features) = ({p}, {p}); "
                             f"got {A.shape}")
        V = self.eigenvectors
        if A.ndim == 1:
            return A if V is None else (V * V).T @ A
        return np.diagonal(A).copy() if V is None else np.einsum("ik,ik->k", V, A @ V)

    def trace(self, A=None):
        r"""Normalized trace ``(1/p) tr A Qbar(z)``.

        Parameters
        ----------
        A : array_like of shape (p, p) or (p,), optional
            Deterministic matrix (a 1-D array is the diagonal of a diagonal ``A`` in the
            standard basis). Default: the identity, giving ``m(z)``.

        Returns
        -------
        complex or float
            Equals ``lim (1/p) tr A Q(z)``; finite-size error ``O(1/n)`` (theory note §3.1).
        """
        q = self.eigenvalues
        if A is None:
            return q.mean()[()]
        return (self._rotated_diag(A, "A") @ q / self.n_features)[()]

    def bilinear(self, a, b=None):
        r"""Bilinear form ``a^T Qbar(z) b`` (no complex conjugation).

        Parameters
        ----------
        a : array_like of shape (p,) or (k, p)
            Deterministic vector(s); a 2-D array gives ``k`` forms ``a_i^T Qbar b_i``.
        b : array_like, optional
            Same shape as ``a``; default ``a``.

        Returns
        -------
        complex or float, or ndarray of shape (k,)
            Equals ``lim a^T Q(z) b``; finite-size error ``O(1/sqrt(n))`` for unit
            vectors (theory note §3.1).
        """
        ra = self._rotate_vectors(a, "a")
        rb = ra if b is None else self._rotate_vectors(b, "b")
        if ra.shape != rb.shape:
            raise ValueError(f"`a` and `b` of ResolventEquivalent must have the same shape; "
                             f"got {ra.shape} and {rb.shape}")
        return ((ra * rb) @ self.eigenvalues)[()]

    # -- one call surface for theory and simulation --------------------------------------
    def _specs(self, A, a, b):
        """Normalize the functionals asked for into ``[(name, kind, payload)]`` with the
        payload already expressed in the eigenbasis of ``C``."""
        specs = [("trace", "trace", None)]
        if A is not None:
            items = A.items() if isinstance(A, dict) else [(None, A)]
            for key, Ak in items:
                name = "trace_A" if key is None else f"trace_A[{key}]"
                specs.append((name, "trace", self._rotated_diag(Ak, "A" if key is None
                                                                else f"A[{key!r}]")))
        if a is not None:
            ra = self._rotate_vectors(a, "a")
            rb = ra if b is None else self._rotate_vectors(b, "b")
            if ra.shape != rb.shape:
                raise ValueError(f"`a` and `b` of ResolventEquivalent must have the same "
                                 f"shape; got {ra.shape} and {rb.shape}")
            if ra.ndim == 1:
                specs.append(("bilinear", "bilinear", (ra, rb)))
            else:
                specs.extend((f"bilinear[{i}]", "bilinear", (ra[i], rb[i]))
                             for i in range(ra.shape[0]))
        elif b is not None:
            raise ValueError("`b` of ResolventEquivalent needs `a`; got b without a")
        return specs

    @staticmethod
    def _evaluate(specs, q, U=None):
        """Values of the functionals for a matrix ``U diag(q) U^T`` (``U = I`` if None),
        everything in the eigenbasis of ``C``."""
        out = []
        for _, kind, payload in specs:
            if kind == "trace":
                if payload is None:
                    out.append(q.mean())
                else:
                    w = payload if U is None else (U * U).T @ payload
                    out.append(w @ q / q.size)
            else:
                ra, rb = payload
                if U is not None:
                    ra, rb = ra @ U, rb @ U
                out.append((ra * rb) @ q)
        return np.array(out)

    def _frame(self, specs) -> pd.DataFrame:
        return pd.DataFrame({
            "functional": [s[0] for s in specs],
            "theory": self._evaluate(specs, self.eigenvalues),
            "z": self.z, "n_features": self.n_features, "n_samples": self.n_samples,
        })

    def functionals(self, *, A=None, a=None, b=None) -> pd.DataFrame:
        """Theoretical values of the functionals named by ``A``, ``a``, ``b``.

        Parameters
        ----------
        A : array_like or dict of array_like, optional
            Matrices (or diagonals) ``A`` for the traces ``(1/p) tr A Qbar``; a dict
            names several (rows ``trace_A[key]``), a single one gives row ``trace_A``.
        a, b : array_like of shape (p,) or (k, p), optional
            Vectors for the bilinear forms ``a^T Qbar b`` (``b`` defaults to ``a``);
            rows ``bilinear`` or ``bilinear[i]``.

        Returns
        -------
        pandas.DataFrame
            One row per functional: ``functional``, ``theory``, ``z``, ``n_features``,
            ``n_samples``. The row ``trace`` (``(1/p) tr Qbar = m(z)``) is always present.
        """
        return self._frame(self._specs(A, a, b))

    def simulate(self, trials: int, seed=None, *, A=None, a=None,
                 b=None) -> pd.DataFrame:
        r"""Monte-Carlo twin: draw ``X``, form ``Q(z)`` and measure the same functionals.

        Each trial draws ``X`` with i.i.d. rows ``N(0, C)`` (``n_samples`` rows),
        diagonalizes ``X^T X / n = U diag(s) U^T`` and evaluates ``(1/p) tr Q``,
        ``(1/p) tr A Q`` and ``a^T Q b`` with ``Q = U diag(1/(s - z)) U^T``. The draw is
        made directly in the eigenbasis of ``C`` (``X = Z diag(sqrt(lambda)) V^T`` with
        ``Z`` standard Gaussian, and ``A``, ``a``, ``b`` rotated by ``V`` once), which is
        the same distribution as drawing in the standard basis and saves a rotation
        per trial. For ``p < 600`` BLAS runs single-threaded inside this loop
        (threadpoolctl), which is faster for small matrices.

        Parameters
        ----------
        trials : int
            Number of independent draws (>= 1; the standard error needs >= 2).
        seed : int, numpy.random.Generator or None
            Source of randomness.
        A, a, b
            As in :meth:`functionals`.

        Returns
        -------
        pandas.DataFrame
            The table of :meth:`functionals` plus ``empirical`` (mean over trials),
            ``stderr`` (``sqrt(sum |v_t - mean|^2 / (trials - 1) / trials)``, the
            standard error of the complex mean; NaN for one trial), ``rmse``
            (``sqrt(mean_t |v_t - theory|^2)``: the typical error of a single draw,
            which shrinks like ``1/n`` for traces and ``1/sqrt(n)`` for bilinear forms)
            and ``trials``.

        Examples
        --------
        >>> import numpy as np
        >>> from hdeq import resolvent_equivalent
        >>> eq = resolvent_equivalent([1.0] * 50 + [4.0] * 50, 300, -1.0)
        >>> table = eq.simulate(4, seed=0, a=np.ones(100) / 10)
        >>> list(table["functional"])
        ['trace', 'bilinear']
        """
        trials = check_scalar(trials, "trials", "ResolventEquivalent.simulate", low=1,
                              low_inclusive=True, integer=True)
        specs = self._specs(A, a, b)
        table = self._frame(specs)
        rng = as_generator(seed)
        n, p = self.n_samples, self.n_features
        root = np.sqrt(self.covariance_eigenvalues)
        values = np.empty((trials, len(specs)), dtype=complex)
        with small_matrix_blas(p):
            for t in range(trials):
                Y = rng.standard_normal((n, p)) * root
                s, U = np.linalg.eigh(Y.T @ Y / n)
                values[t] = self._evaluate(specs, 1.0 / (s - self.z), U)
        if isinstance(self.z, float):
            values = values.real
        mean = values.mean(axis=0)
        if trials > 1:
            stderr = np.sqrt(np.sum(np.abs(values - mean) ** 2, axis=0) / (trials - 1) / trials)
        else:
            stderr = np.full(len(specs), np.nan)
        table["empirical"] = mean
        table["stderr"] = stderr
        table["rmse"] = np.sqrt(np.mean(np.abs(values - table["theory"].to_numpy()) ** 2,
                                        axis=0))
        table["trials"] = trials
        return table


def resolvent_equivalent(covariance, n_samples, z, *, on_failure: str = "raise"):
    r"""Deterministic equivalent ``Qbar(z)`` of ``Q(z) = (X^T X / n - z I)^{-1}``.

    ``X`` has shape ``(n_samples, n_features)`` with i.i.d. rows ``N(0, C)`` (or, by
    universality, ``C^{1/2} z`` with standardized entries). Then

    .. math:: \bar Q(z) = (C/(1 + \delta) - z I)^{-1}, \qquad
              \delta = \frac1n \operatorname{tr} C \bar Q(z)

    (Silverstein & Bai 1995; Couillet & Liao 2022, Thm. 2.6; theory note linear.md
    §3.1), with ``delta = -1/(z mt(z)) - 1`` taken from the companion Stieltjes
    transform of :class:`hdeq.laws.SampleCovarianceLaw` (population = eigenvalues of
    ``C``, ``aspect_ratio = n_features / n_samples``).

    Parameters
    ----------
    covariance : array_like
        A 1-D array of the ``n_features`` eigenvalues of ``C`` (then ``C`` and ``Qbar``
        are diagonal in the standard basis) or a symmetric PSD ``(p, p)`` matrix
        (eigendecomposed once).
    n_samples : int
        ``n >= 1``.
    z : complex
        Spectral argument, non-zero; real values must lie outside the limiting support
        (otherwise ``ValueError`` from the law: use ``Im z > 0``).
    on_failure : {"raise", "nan"}
        What the law's solver does if it does not converge (``ConvergenceError`` or NaN
        plus one ``ConvergenceWarning``).

    Returns
    -------
    ResolventEquivalent
        With ``.matrix``, ``.delta``, ``.trace(A)``, ``.bilinear(a, b)``,
        ``.functionals(...)`` and the Monte-Carlo twin ``.simulate(trials, seed, ...)``.

    Examples
    --------
    Theory note §3.6: ``C = diag(1 x 600, 3 x 360, 10 x 240)``, ``n = 4000``:

    >>> import numpy as np
    >>> from hdeq import resolvent_equivalent
    >>> c = np.repeat([1.0, 3.0, 10.0], [600, 360, 240])
    >>> eq = resolvent_equivalent(c, 4000, -2.0)
    >>> round(float(eq.delta), 6), round(float(eq.trace()), 5)
    (0.168466, 0.25971)

    ``delta`` solves its defining equation ``delta = (1/n) tr C Qbar``, and ``Qbar`` is
    ``(C / (1 + delta) - z I)^{-1}``:

    >>> bool(np.isclose(eq.delta, np.sum(c * eq.eigenvalues) / 4000, rtol=1e-12))
    True
    >>> bool(np.allclose(eq.eigenvalues, 1 / (c / (1 + eq.delta) + 2.0), rtol=1e-12))
    True
    """
    from ..laws import SampleCovarianceLaw

    check_on_failure(on_failure)
    evals, evecs = check_covariance(covariance, "covariance", _OWNER)
    n = check_scalar(n_samples, "n_samples", _OWNER, low=1, low_inclusive=True, integer=True)
    z = _check_z(z)
    if not np.any(evals > 0):
        raise ValueError(f"`covariance` of {_OWNER} must have at least one positive "
                         f"eigenvalue; got all zero")
    law = SampleCovarianceLaw(evals, evals.size / n)
    if isinstance(z, float):
        from ..core._stieltjes import in_support
        if in_support(np.array([z]), law.support)[0]:
            support = " ∪ ".join(f"[{a:.6g}, {b:.6g}]" for a, b in law.support)
            raise ValueError(
                f"`z` of {_OWNER} must be off the limiting support {support} of X^T X / n "
                f"(n_features / n_samples = {evals.size}/{n}) when real; got z = {z!r}. "
                f"Use a complex z (Im z > 0), e.g. z = {z!r} + 1e-3j")
    try:
        mt = law.companion_stieltjes(np.asarray(z), on_failure=on_failure)
    except ConvergenceError as exc:
        raise ConvergenceError(f"{_OWNER} at z = {z!r}: {exc}") from exc
    return ResolventEquivalent(evals, evecs, n, z, np.asarray(mt).item())
