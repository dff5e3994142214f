r"""Linear equivalents of kernel matrices in the proportional regime.

Inner-product kernels ``K_ij = f(x_i^T x_j / p)`` (El Karoui 2010, Ann. Statist. 38(1))
and Euclidean-distance kernels ``K_ij = f(||x_i - x_j||^2 / p)`` (El Karoui 2010;
Couillet & Benaych-Georges 2016, EJS 10(1)) on Gaussian data and Gaussian mixtures.
Theory note ``nonlinear.md`` §2.1, §2.2, §2.4 (formulas, oracle values, pitfalls).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core._validation import check_array, check_data, check_scalar
from ..data import gaussian_mixture
from ..laws import MarchenkoPastur, SpectralLaw

__all__ = ["KernelEquivalent", "KernelSample", "kernel_equivalent"]

_OWNER = "KernelEquivalent"
_KINDS = ("inner_product", "distance")


def _apply(f, t, name="f"):
    """``f(t)`` as a float array of ``t``'s shape; a ``ValueError`` saying that ``f`` must
    map arrays to arrays of the same shape (elementwise) if it fails or returns another
    shape (a constant ``lambda t: 1.0``, or ``math.exp`` / ``max(t, 0)``)."""
    t = np.asarray(t, dtype=float)
    hint = (f"`{name}` of {_OWNER} must be vectorized: map a float array to a float array "
            f"of the same shape, elementwise (e.g. lambda t: np.exp(-t), or "
            f"lambda t: np.ones_like(t) for a constant)")
    try:
        with np.errstate(all="ignore"):   # non-finite values are reported by the callers
            out = np.asarray(f(t), dtype=float)
    except Exception as exc:
        raise ValueError(f"{hint}; calling it on an array of shape {t.shape} raised "
                         f"{type(exc).__name__}: {exc}") from exc
    if out.shape != t.shape:
        raise ValueError(f"{hint}; got an output of shape {out.shape} for an input of shape "
                         f"{t.shape}")
    return out


_FD_RTOL = 1e-3      # agreement required between the step-h and step-2h estimates


def _stencil(f, t, h):
    """Values of ``f`` at ``t + h * (-2, -1, 0, 1, 2)`` and the 5-point central
    differences ``(f', f'')`` from them."""
    v = _apply(f, t + h * np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
    d1 = (v[0] - 8 * v[1] + 8 * v[3] - v[4]) / (12 * h)
    d2 = (-v[0] + 16 * v[1] - 30 * v[2] + 16 * v[3] - v[4]) / (12 * h * h)
    return v, np.array([d1, d2])


def _derivatives(f, t, where="t"):
    r"""(f, f', f'') at the scalar ``t`` by 5-point central differences with step
    ``h = 1e-3 max(1, |t|)`` (error ~1e-10 for smooth f; pass ``derivatives=`` for
    exact values).

    The same differences with step ``2h`` check the estimate: for ``f`` three times
    differentiable near ``t`` both agree to ``O(h^4)`` (plus rounding, at most
    ``~64 eps max|f| / h^k`` for the k-th derivative), whereas a kink or jump of
    ``f`` or ``f'`` at ``t`` (``abs``, relu, ``sign``, ``sqrt(|t|)``) makes them grow
    like a negative power of ``h`` and differ by a factor 2 or more. Disagreement
    beyond ``_FD_RTOL`` (relative) with the step-``h`` estimate the larger, or
    non-finite values, raise ``ValueError``: the linear equivalent needs ``f`` to be
    C^3 near ``t`` (``where`` names the point). An estimate that shrinks with the step
    (``t**8``: ``O(h^6)``; ``t * abs(t)``: ``f'(0) = 0`` to ``O(h)``) converges and
    is accepted.
    """
    h = 1e-3 * max(1.0, abs(t))
    v1, d_h = _stencil(f, t, h)
    v2, d_2h = _stencil(f, t, 2 * h)
    wanted = (f"`f` of {_OWNER} must be three times continuously differentiable (C^3) "
              f"near {where}, where the linear equivalent expands it")
    hint = ("; if f is smooth there, pass its exact derivatives as "
            "derivatives=(f', f'') (vectorized callables)")
    values = np.concatenate([v1, v2])
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(d_h))
            and np.all(np.isfinite(d_2h))):
        raise ValueError(f"{wanted}; got non-finite values of f within {2 * h:g} of it "
                         f"({', '.join(f'{x:.3g}' for x in v1)}){hint}")
    scale = float(np.max(np.abs(values)))
    eps = np.finfo(float).eps
    noise = 64 * eps * scale / np.array([h, h * h])
    gap = np.abs(d_h - d_2h)
    # unstable: the two disagree and the estimate grows as the step shrinks (an
    # estimate that shrinks, e.g. O(h^4) for t**8 or O(h) for t*abs(t), converges)
    bad = ((gap > _FD_RTOL * np.maximum(np.abs(d_h), np.abs(d_2h)) + noise)
           & (np.abs(d_h) > np.abs(d_2h)))
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        name = ("f'", "f''")[k]
        raise ValueError(
            f"{wanted}; its finite-difference {name} there is unstable: "
            f"{d_h[k]:.6g} with step {h:g} but {d_2h[k]:.6g} with step {2 * h:g} "
            f"(a kink or jump of f or f', as for abs, relu, sign or sqrt(|t|), makes "
            f"the equivalent meaningless){hint}")
    return float(v1[2]), float(d_h[0]), float(d_h[1])


class KernelSample(NamedTuple):
    """One draw: data ``X`` (n_samples, n_features), ``labels``, the kernel matrix ``K``
    and its linear equivalent ``K_tilde`` computed on the same data."""

    X: np.ndarray
    labels: np.ndarray
    kernel: np.ndarray
    equivalent: np.ndarray


class _AffineLaw(SpectralLaw):
    """Law of ``a T + b`` for ``T ~ base`` (``a != 0``): ``m(z) = m_T((z - b)/a) / a``."""

    def __init__(self, base, a, b):
        self.base, self.a, self.b = base, float(a), float(b)

    def __repr__(self):
        return f"{self.a!r} * {self.base!r} + {self.b!r}"

    @property
    def support(self):
        out = [tuple(sorted((self.a * lo + self.b, self.a * hi + self.b)))
               for lo, hi in self.base.support]
        return tuple(sorted(out))

    @property
    def atoms(self):
        return tuple((self.a * loc + self.b, w) for loc, w in self.base.atoms)

    def _stieltjes(self, z):
        w = (z - self.b) / self.a
        lower = w.imag < 0
        wu = np.where(lower, np.conj(w), w)
        m = self.base._call_stieltjes(wu, "raise", "the Stieltjes transform")
        m = np.where(lower, np.conj(m), m)
        return m / self.a

    def sample(self, n_features, seed=None):
        return np.sort(self.a * self.base.sample(n_features, seed) + self.b)


class KernelEquivalent:
    r"""Kernel matrix on Gaussian(-mixture) data and its linear equivalent.

    Data (Couillet & Benaych-Georges 2016 growth regime): rows
    ``x_i = mu_a + z_i``, ``z_i ~ N(0, C_a)`` for ``i`` in class ``a``; ``p = n_features``;
    ``C° = sum_a c_a C_a``, ``T_ab = tr(C_a C_b)``, ``G = X X^T / p``, ``J`` the
    (n_samples x k) class indicator.

    ``kind="inner_product"``, ``K_ij = f(x_i^T x_j / p)``, ``tau = tr C° / p``
    (El Karoui 2010, theory note §2.1; the ``J T J^T`` form for mixtures is the same
    Taylor argument, checked by simulation in the tests)::

        K~ = f(0) 1 1^T + f'(0) G + f''(0)/(2 p^2) J T J^T + (f(tau) - f(0) - tau f'(0)) I

    ``kind="distance"``, ``K_ij = f(||x_i - x_j||^2 / p)``, ``tau = 2 tr C° / p``,
    ``q_i = ||x_i||^2 / p - tau / 2`` (El Karoui 2010; Couillet & Benaych-Georges 2016;
    theory note §2.2, §2.4)::

        K~ = f(tau) 1 1^T + f'(tau) [q 1^T + 1 q^T - 2 G]
             + f''(tau)/2 [(q∘q) 1^T + 1 (q∘q)^T + 2 q q^T + (4/p^2) J T J^T]
             + (f(0) - f(tau) + tau f'(tau)) I

    ``||K - K~|| -> 0`` in operator norm (slowly, ~ sqrt(log n / p); large ``f''``
    converges slowest, §2.2 pitfall). Consequences used here (identity covariances):
    after centring ``P = I - 1 1^T / n`` the bulk of ``P K P`` is the affine image
    ``slope * MP(n/p) + shift`` of the Marchenko-Pastur law of ``G`` (:meth:`spectrum`),
    and the class means create isolated eigenvalues with known eigenvector alignment
    (:meth:`spikes`, §2.4).

    Parameters
    ----------
    f : callable
        Vectorized kernel function of one real argument, C^3 near the expansion point
        (0 for ``"inner_product"``, ``tau`` for ``"distance"``). Checked: finite
        differences with steps ``h`` and ``2h`` that disagree and grow as the step
        shrinks (a kink or jump there: ``abs``, relu, ``sign``, ``sqrt(|t|)`` at 0), or
        non-finite values near the point, raise ``ValueError``.
    kind : {"inner_product", "distance"}
    n_samples : int
    means : array of shape (k, n_features), optional
        Class means (default: one class with mean 0; then ``n_features`` is required).
    covariances : None, (k, n_features) diagonals, or (k, n_features, n_features)
        Default: identity for every class.
    priors : array of shape (k,), optional
        Class probabilities (default uniform).
    n_features : int, optional
        Needed when ``means`` is not given.
    derivatives : tuple of two callables, optional
        ``(f', f'')`` (vectorized), used as given; default: 5-point finite
        differences, checked as above.

    Examples
    --------
    >>> import numpy as np
    >>> from hdeq import kernel_equivalent
    >>> keq = kernel_equivalent(lambda t: np.exp(-t / 2), kind="distance",
    ...                         means=[[2.0] + [0.0] * 99, [-2.0] + [0.0] * 99],
    ...                         n_samples=200)
    >>> s = keq.sample(seed=0)
    >>> bool(np.linalg.norm(s.kernel - s.equivalent, 2) < 0.1 * np.linalg.norm(s.kernel, 2))
    True
    """

    def __init__(self, f, kind="distance", *, n_samples, means=None, covariances=None,
                 priors=None, n_features=None, derivatives=None):
        if not callable(f):
            raise ValueError(f"`f` of {_OWNER} must be a callable kernel function; got {f!r}")
        if kind not in _KINDS:
            raise ValueError(f"`kind` of {_OWNER} must be one of {_KINDS}; got {kind!r}")
        self.f, self.kind = f, kind
        self.n_samples = check_scalar(n_samples, "n_samples", _OWNER, low=1,
                                      low_inclusive=True, integer=True)
        if means is None:
            if n_features is None:
                raise ValueError(f"`n_features` of {_OWNER} is required when `means` is "
                                 "not given; got None")
            p = check_scalar(n_features, "n_features", _OWNER, low=1, low_inclusive=True,
                             integer=True)
            means = np.zeros((1, p))
        self.means = check_array(means, "means", _OWNER, ndim=2)
        k, p = self.means.shape
        if n_features is not None and int(n_features) != p:
            raise ValueError(f"`n_features` of {_OWNER} must equal means.shape[1] = {p}; "
                             f"got {n_features!r}")
        self.n_features = p
        if priors is None:
            priors = np.full(k, 1.0 / k)
        self.priors = check_array(priors, "priors", _OWNER, ndim=1, nonnegative=True)
        if self.priors.shape != (k,) or abs(self.priors.sum() - 1) > 1e-10:
            raise ValueError(f"`priors` of {_OWNER} must have {k} non-negative entries "
                             f"summing to one; got {priors!r}")
        self.identity = covariances is None
        if covariances is None:
            cov = np.ones((k, p))
        else:
            cov = check_array(covariances, "covariances", _OWNER, ndim=(2, 3))
            if cov.shape not in ((k, p), (k, p, p)):
                raise ValueError(f"`covariances` of {_OWNER} must have shape ({k}, {p}) or "
                                 f"({k}, {p}, {p}); got {cov.shape}")
            if cov.ndim == 2 and np.any(cov < 0):
                raise ValueError(f"`covariances` of {_OWNER} (diagonals) must be "
                                 "non-negative")
        self.covariances = cov
        # T_ab = tr(C_a C_b); tr C° / p
        if cov.ndim == 2:
            self._T = cov @ cov.T
            trace_c = cov.sum(axis=1)
        else:
            self._T = np.einsum("aij,bji->ab", cov, cov)
            trace_c = np.trace(cov, axis1=1, axis2=2)
        mean_trace = float(self.priors @ trace_c) / p
        self.tau = (2.0 if kind == "distance" else 1.0) * mean_trace
        _apply(f, np.full((2, 3), self.tau))          # vectorized, same shape (2-D too)
        for name, val in (("f", _apply(f, np.array([0.0, self.tau]))),):
            if not np.all(np.isfinite(val)):
                raise ValueError(f"`{name}` of {_OWNER} must be finite at 0 and at tau = "
                                 f"{self.tau!r}; got {val!r}")
        if derivatives is None:
            at = self.tau if kind == "distance" else 0.0
            where = (f"tau = {self.tau:.6g} (kind='distance')" if kind == "distance"
                     else "0 (kind='inner_product')")
            self._f_at = _derivatives(f, at, where)
        else:
            d1, d2 = derivatives
            at = self.tau if kind == "distance" else 0.0
            self._f_at = (float(_apply(f, at)), float(_apply(d1, at, "derivatives")),
                          float(_apply(d2, at, "derivatives")))
        self._f0 = float(_apply(f, 0.0))
        self._ftau = float(_apply(f, self.tau))

    def __repr__(self):
        return (f"KernelEquivalent(kind={self.kind!r}, n_samples={self.n_samples}, "
                f"n_features={self.n_features}, classes={self.means.shape[0]})")

    # ------------------------------------------------------------------ coefficients
    @property
    def coefficients(self) -> dict:
        """The scalars of the equivalent: ``tau``, ``f``, ``f'``, ``f''`` at the expansion
        point (0 for inner product, tau for distance), the identity coefficient
        ``shift`` and the slope of ``G`` (``f'(0)`` or ``-2 f'(tau)``)."""
        fa, d1, d2 = self._f_at
        if self.kind == "inner_product":
            shift = self._ftau - self._f0 - self.tau * d1
            slope = d1
        else:
            shift = self._f0 - self._ftau + self.tau * d1
            slope = -2.0 * d1
        return dict(tau=self.tau, f=fa, f1=d1, f2=d2, shift=shift, slope=slope)

    # ------------------------------------------------------------------ matrices
    def _check_X(self, X, labels):
        X = check_data(X, "X", _OWNER)
        if X.shape[1] != self.n_features:
            raise ValueError(f"`X` of {_OWNER} must have {self.n_features} columns; got "
                             f"shape {X.shape}")
        if labels is None:
            labels = np.zeros(X.shape[0], dtype=int)
        labels = np.asarray(labels)
        if labels.shape != (X.shape[0],) or not np.issubdtype(labels.dtype, np.integer) \
                or labels.min() < 0 or labels.max() >= self.means.shape[0]:
            raise ValueError(f"`labels` of {_OWNER} must be integers in 0..{self.means.shape[0] - 1}"
                             f" of length {X.shape[0]}; got {labels!r}")
        return X, labels

    def kernel(self, X) -> np.ndarray:
        """The kernel matrix itself (rows of ``X`` are samples; ``X`` is validated as in
        :meth:`matrix`: ``n_features`` columns)."""
        X, _ = self._check_X(X, None)
        p = X.shape[1]
        G = X @ X.T / p
        if self.kind == "inner_product":
            return _apply(self.f, G)
        sq = np.diag(G)
        D = np.maximum(sq[:, None] + sq[None, :] - 2.0 * G, 0.0)
        np.fill_diagonal(D, 0.0)
        return _apply(self.f, D)

    def matrix(self, X, labels=None) -> np.ndarray:
        """The linear equivalent ``K~`` for this data draw (formulas in the class doc)."""
        X, labels = self._check_X(X, labels)
        n, p = X.shape
        G = X @ X.T / p
        c = self.coefficients
        JTJ = self._T[np.ix_(labels, labels)] / p ** 2
        ones = np.ones(n)
        if self.kind == "inner_product":
            K = self._f0 * np.ones((n, n)) + c["f1"] * G + 0.5 * c["f2"] * JTJ
        else:
            q = np.diag(G) - self.tau / 2.0
            qq = q * q
            K = (self._ftau * np.ones((n, n))
                 + c["f1"] * (q[:, None] + q[None, :] - 2.0 * G)
                 + 0.5 * c["f2"] * (qq[:, None] * ones + ones[:, None] * qq
                                    + 2.0 * np.outer(q, q) + 4.0 * JTJ))
        K[np.diag_indices(n)] += c["shift"]
        return K

    def sample(self, seed=None) -> KernelSample:
        """Draw one data set (``hdeq.data.gaussian_mixture``) and return the kernel and its
        equivalent on it (rows sorted by class)."""
        X, labels = gaussian_mixture(self.n_samples, self.means,
                                     None if self.identity else self.covariances,
                                     self.priors, seed=seed)
        order = np.argsort(labels, kind="stable")
        X, labels = X[order], labels[order]
        return KernelSample(X, labels, self.kernel(X), self.matrix(X, labels))

    # ------------------------------------------------------------------ limits
    def _need_identity(self, what):
        if not self.identity:
            raise ValueError(f"{_OWNER}.{what} is implemented for identity covariances "
                             "(covariances=None); got general covariances. Compare "
                             "matrix(X) with kernel(X) instead")

    def spectrum(self) -> SpectralLaw:
        r"""Limiting bulk law of ``P K P`` (identity covariances): ``slope * MP(n/p) +
        shift`` (the MP law of ``Z Z^T / p`` for the n x n Gram, ratio ``n/p``, with its
        atom at 0 when ``n > p`` mapped to ``shift``). The O(1) isolated eigenvalues of
        :meth:`spikes` sit outside it."""
        self._need_identity("spectrum")
        c = self.coefficients
        if c["slope"] == 0.0:
            raise ValueError(f"{_OWNER}.spectrum needs a non-zero slope (f'(0) for inner "
                             "product, f'(tau) for distance); the bulk is then a point mass")
        return _AffineLaw(MarchenkoPastur(self.n_samples / self.n_features), c["slope"],
                          c["shift"])

    def spikes(self):
        r"""Isolated eigenvalues of ``P K P`` created by the class means, and eigenvector
        alignments (identity covariances; §2.4, spiked information-plus-noise model).

        With ``c0 = p / n`` and ``theta^2`` the eigenvalues of ``M (D_c - c c^T) M^T``
        (``M`` the p x k matrix of means, ``c`` the priors), each ``theta^2 > sqrt(c0)``
        gives a Gram eigenvalue ``lambda_G = (1 + theta^2)(c0 + theta^2) / (c0 theta^2)``,
        a kernel eigenvalue ``slope * lambda_G + shift`` and an eigenvector ``u`` with
        ``|<u, v>|^2 = (theta^4 - c0) / (theta^2 (theta^2 + 1))`` where ``v`` is the unit
        vector ``P J M^T w`` (``w`` the eigenvector of ``theta^2``).

        Returns a dict of arrays ``theta2``, ``eigenvalue``, ``gram_eigenvalue``,
        ``alignment`` (largest first; only the supercritical ones) and the matrix
        ``directions`` (k x r) such that ``v ∝ P J directions``.
        """
        self._need_identity("spikes")
        c0 = self.n_features / self.n_samples
        Dc = np.diag(self.priors) - np.outer(self.priors, self.priors)
        # eigen-decomposition of the k x k matrix Dc^{1/2} M M^T Dc^{1/2}
        w, V = np.linalg.eigh(Dc)
        half = V @ np.diag(np.sqrt(np.maximum(w, 0.0))) @ V.T
        small = half @ self.means @ self.means.T @ half
        theta2, U = np.linalg.eigh(small)
        order = np.argsort(theta2)[::-1]
        theta2, U = theta2[order], U[:, order]
        keep = theta2 > np.sqrt(c0)
        theta2, U = theta2[keep], U[:, keep]
        gram = (1 + theta2) * (c0 + theta2) / (c0 * theta2)
        coef = self.coefficients
        # v ∝ P J M^T u with u ∝ M Dc^{1/2} w: class weights (M^T M) Dc^{1/2} w
        directions = self.means @ self.means.T @ half @ U
        return dict(theta2=theta2, gram_eigenvalue=gram,
                    eigenvalue=coef["slope"] * gram + coef["shift"],
                    alignment=(theta2 ** 2 - c0) / (theta2 * (theta2 + 1)),
                    directions=directions)


def kernel_equivalent(f, kind="distance", **kwargs) -> KernelEquivalent:
    r"""Linear equivalent of a kernel matrix on Gaussian(-mixture) data.

    Returns a :class:`KernelEquivalent` (same arguments, documented there): for
    ``kind="inner_product"`` the kernel ``K_ij = f(x_i^T x_j / p)`` (El Karoui 2010,
    Ann. Statist. 38(1), Thm. 2.1; theory note nonlinear.md §2.1), for ``kind="distance"``
    ``K_ij = f(||x_i - x_j||^2 / p)`` (El Karoui 2010 Thm. 2.2; Couillet &
    Benaych-Georges 2016, EJS 10(1), Thm. 1; §2.2, §2.4). ``K`` and its equivalent ``K~``
    differ by o(1) in operator norm, so they share the limiting spectrum (``.spectrum()``)
    and the isolated eigenvalues and eigenvector alignments created by the class means
    (``.spikes()``); ``.sample(seed)`` draws data, the kernel and ``K~`` on the same rows.

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> keq = hdeq.kernel_equivalent(lambda t: np.exp(-t / 2), kind="distance",
    ...                              n_samples=400, n_features=200)
    >>> s = keq.sample(seed=0)
    >>> err = np.linalg.norm(s.kernel - s.equivalent, 2) / np.linalg.norm(s.kernel, 2)
    >>> bool(err < 0.05)
    True
    """
    return KernelEquivalent(f, kind, **kwargs)
