r"""Random-features ridge regression on the sphere: Mei & Montanari (2019) test error.

S. Mei, A. Montanari, *The generalization error of random features regression: precise
asymptotics and double descent curve*, CPAM 75(4), 2022 (arXiv 1908.05355), Thm. 1 and
the definitions of E0, E1, E2 there. Theory note ``nonlinear.md`` §3.3 (formulas, scaling
of the ridge, oracle values) and §3.5 (Gaussian equivalence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core._errors import ConvergenceError
from ..core._threads import small_matrix_blas
from ..core._validation import as_generator, check_array, check_on_failure, check_scalar
from ..equivalents._activations import check_activation
from ._population import check_trials

__all__ = ["MeiMontanari"]

_OWNER = "MeiMontanari"


def _solve_nu(zeta, psi1, psi2, y, *, tol=1e-13, max_iter=200):
    r"""Solve the (nu1, nu2) system at xi = i y (y > 0), vectorized.

    At purely imaginary xi the solution is nu_k = i a_k with a_k > 0 solving
    ``a1 (y + a2 + zeta^2 a2 / D) = psi1``, ``a2 (y + a1 + zeta^2 a1 / D) = psi2``,
    ``D = 1 + zeta^2 a1 a2`` (the paper's system with nu = i a). Damped fixed point
    (1/2 old + 1/2 new, theory note §3.3) to get close, then Newton in log coordinates.
    Returns ``(a1, a2, residual)``; residual is the relative residual of both equations.
    """
    z2 = zeta ** 2
    a1 = psi1 / (1.0 + y)
    a2 = psi2 / (1.0 + y)
    for _ in range(300):
        D = 1.0 + z2 * a1 * a2
        n1 = psi1 / (y + a2 + z2 * a2 / D)
        n2 = psi2 / (y + a1 + z2 * a1 / D)
        a1, a2 = 0.5 * (a1 + n1), 0.5 * (a2 + n2)

    def residual(a1, a2):
        D = 1.0 + z2 * a1 * a2
        g1 = y + a2 + z2 * a2 / D
        g2 = y + a1 + z2 * a1 / D
        return a1 * g1 - psi1, a2 * g2 - psi2, g1, g2, D

    for _ in range(max_iter):
        F1, F2, g1, g2, D = residual(a1, a2)
        dg1_da1 = -(z2 * a2) ** 2 / D ** 2
        dg1_da2 = 1.0 + z2 / D - z2 * a2 * z2 * a1 / D ** 2
        dg2_da2 = -(z2 * a1) ** 2 / D ** 2
        dg2_da1 = 1.0 + z2 / D - z2 * a1 * z2 * a2 / D ** 2
        # derivatives with respect to s_k = log a_k
        J11 = (g1 + a1 * dg1_da1) * a1
        J12 = a1 * dg1_da2 * a2
        J21 = a2 * dg2_da1 * a1
        J22 = (g2 + a2 * dg2_da2) * a2
        det = J11 * J22 - J12 * J21
        ds1 = (J22 * F1 - J12 * F2) / det
        ds2 = (J11 * F2 - J21 * F1) / det
        ds1 = np.clip(ds1, -1.0, 1.0)
        ds2 = np.clip(ds2, -1.0, 1.0)
        a1, a2 = a1 * np.exp(-ds1), a2 * np.exp(-ds2)
        if np.all(np.abs(ds1) + np.abs(ds2) < tol):
            break
    F1, F2, *_ = residual(a1, a2)
    res = np.maximum(np.abs(F1) / psi1, np.abs(F2) / psi2)
    return a1, a2, res


def bias_variance(zeta, psi1, psi2, ridge_bar, *, on_failure: str = "raise"):
    r"""The Mei-Montanari functions ``(chi, B, V)`` (broadcast over all arguments).

    ``chi = nu1 nu2`` at ``xi = i sqrt(psi1 psi2 ridge_bar)``, ``B = E1/E0``,
    ``V = E2/E0`` with the polynomials E0, E1, E2 of Mei & Montanari (2019), Thm. 1
    (theory note §3.3); ``ridge_bar = ridge / mu_star^2``, ``zeta = mu1 / mu_star``.

    Examples
    --------
    >>> from hdeq.models._mei_montanari import bias_variance
    >>> chi, B, V = bias_variance(1.0, 2.0, 1.0, 1e-9)      # theory note §3.3 row 1
    >>> round(float(chi), 6), round(float(B), 6), round(float(V), 6)
    (-0.618034, 1.065248, 1.17082)
    """
    check_on_failure(on_failure)
    zeta, psi1, psi2, lam = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (zeta, psi1, psi2, ridge_bar)))
    y = np.sqrt(psi1 * psi2 * lam)
    with np.errstate(all="ignore"):
        a1, a2, res = _solve_nu(zeta, psi1, psi2, y)
    chi = -a1 * a2
    z2, z4, z6 = zeta ** 2, zeta ** 4, zeta ** 6
    p12 = psi1 * psi2
    c2, c3, c4, c5 = chi ** 2, chi ** 3, chi ** 4, chi ** 5
    E0 = (-c5 * z6 + 3 * c4 * z4 + (p12 - psi2 - psi1 + 1) * c3 * z6 - 2 * c3 * z4
          - 3 * c3 * z2 + (psi1 + psi2 - 3 * p12 + 1) * c2 * z4 + 2 * c2 * z2 + c2
          + 3 * p12 * chi * z2 - p12)
    E1 = psi2 * c3 * z4 - psi2 * c2 * z2 + p12 * chi * z2 - p12
    E2 = (c5 * z6 - 3 * c4 * z4 + (psi1 - 1) * c3 * z6 + 2 * c3 * z4 + 3 * c3 * z2
          + (-psi1 - 1) * c2 * z4 - 2 * c2 * z2 - c2)
    with np.errstate(all="ignore"):
        B, V = E1 / E0, E2 / E0
    ok = np.isfinite(B) & np.isfinite(V) & (res < 1e-9) & (E0 != 0)
    if not np.all(ok):
        k = int(np.argmax(~ok.ravel()))
        msg = (f"the (nu1, nu2) equations of {_OWNER} did not converge at "
               f"{int((~ok).sum())} of {ok.size} point(s), e.g. psi1 = "
               f"{psi1.ravel()[k]!r}, psi2 = {psi2.ravel()[k]!r}, ridge_bar = "
               f"{lam.ravel()[k]!r} (residual {res.ravel()[k]:.2e}); a larger ridge or "
               "psi1 away from psi2 helps")
        if on_failure == "raise":
            raise ConvergenceError(msg)
        import warnings

        from ..core._errors import ConvergenceWarning
        warnings.warn(msg + ". These points are NaN.", ConvergenceWarning, stacklevel=2)
        chi, B, V = (np.where(ok, v, np.nan) for v in (chi, B, V))
    return chi, B, V


def _sphere(rng, n, d):
    g = rng.standard_normal((n, d))
    return np.sqrt(d) * g / np.linalg.norm(g, axis=1, keepdims=True)


class MeiMontanari:
    r"""Test error of random-features ridge regression on the sphere (Mei & Montanari 2019).

    Data ``x ~ Unif(sqrt(d) S^{d-1})`` (``d = n_features``), weights
    ``theta_a ~ Unif(sqrt(d) S^{d-1})``, ``a = 1..N`` (``N = n_random_features``),
    features ``sigma(<theta_a, x> / sqrt(d))``, target
    ``y = <beta_1, x> + f_NL(x) + eps`` with ``||beta_1||^2 = signal_var`` (F1^2),
    ``E f_NL^2 = nonlinear_var`` (F*^2, orthogonal to polynomials of degree <= 1) and
    ``Var eps = noise_var`` (tau^2). The ridge estimator, with the paper's scaling,

    .. math:: \hat a = \arg\min_a \frac1n \sum_i (y_i - a^T z_i)^2 + \frac{N\lambda}{d}\|a\|^2,

    ``lambda = ridge``, has test error against the clean target (Thm. 1; §3.3)

    .. math:: R \to F_1^2 B(\zeta,\psi_1,\psi_2,\bar\lambda)
              + (\tau^2 + F_*^2) V(\zeta,\psi_1,\psi_2,\bar\lambda) + F_*^2,

    ``psi1 = N/d``, ``psi2 = n/d`` (the paper's ratios: ``psi2 = 1/aspect_ratio``,
    ``psi1/psi2 = width_ratio``), ``zeta = mu1/mu_star``, ``lambda_bar = ridge/mu_star^2``
    with the Gaussian-equivalent constants of the activation at unit variance.

    Parameters
    ----------
    activation : str, callable or hdeq.Activation
        Nonlinear activation (``mu_star > 0``), e.g. ``"relu"``, ``"tanh"``.
    psi1, psi2 : float or array
        ``N/d`` and ``n/d`` in (0, inf) (defaults for :meth:`test_error`).
    ridge : float
        ``lambda > 0`` in the scaling above.
    signal_var, nonlinear_var, noise_var : float
        ``F1^2 >= 0``, ``F*^2 >= 0``, ``tau^2 >= 0``.

    Examples
    --------
    >>> from hdeq import MeiMontanari
    >>> mm = MeiMontanari("relu", psi1=3.0, psi2=1.5, ridge=0.1, nonlinear_var=0.25,
    ...                   noise_var=0.09)
    >>> round(float(mm.test_error()), 5)          # theory note §3.3 statistical oracle
    0.77797
    """

    def __init__(self, activation="relu", *, psi1=1.0, psi2=1.0, ridge=1e-3,
                 signal_var=1.0, nonlinear_var=0.0, noise_var=0.0):
        self.activation = check_activation(activation, "activation", _OWNER)
        mu0, mu1, mu_star = self.activation.gaussian_equivalent(1.0)
        if not mu_star > 1e-8 * max(1.0, abs(mu1)):
            raise ValueError(f"`activation` of {_OWNER} must be nonlinear (mu_star > 0, "
                             f"Mei-Montanari needs zeta = mu1/mu_star finite); got "
                             f"{self.activation!r} with mu_star = {mu_star!r}")
        self.mu0, self.mu1, self.mu_star = float(mu0), float(mu1), float(mu_star)
        self.psi1 = check_array(psi1, "psi1", _OWNER, positive=True)
        self.psi2 = check_array(psi2, "psi2", _OWNER, positive=True)
        self.ridge = check_scalar(ridge, "ridge", _OWNER, low=0.0)
        self.signal_var = check_scalar(signal_var, "signal_var", _OWNER, low=0.0,
                                       low_inclusive=True)
        self.nonlinear_var = check_scalar(nonlinear_var, "nonlinear_var", _OWNER, low=0.0,
                                          low_inclusive=True)
        self.noise_var = check_scalar(noise_var, "noise_var", _OWNER, low=0.0,
                                      low_inclusive=True)

    @classmethod
    def from_sizes(cls, activation, n_samples, n_features, n_random_features, **kwargs):
        """Model with ``psi1 = n_random_features / n_features``, ``psi2 = n_samples /
        n_features``."""
        n = check_scalar(n_samples, "n_samples", _OWNER, low=0, integer=True)
        d = check_scalar(n_features, "n_features", _OWNER, low=0, integer=True)
        N = check_scalar(n_random_features, "n_random_features", _OWNER, low=0,
                         integer=True)
        return cls(activation, psi1=N / d, psi2=n / d, **kwargs)

    def __repr__(self):
        return (f"MeiMontanari({self.activation.name!r}, psi1={self.psi1!r}, "
                f"psi2={self.psi2!r}, ridge={self.ridge!r})")

    @property
    def zeta(self) -> float:
        """``mu1 / mu_star``."""
        return self.mu1 / self.mu_star

    def _grid(self, psi1, psi2, ridge):
        psi1 = self.psi1 if psi1 is None else check_array(psi1, "psi1", _OWNER, positive=True)
        psi2 = self.psi2 if psi2 is None else check_array(psi2, "psi2", _OWNER, positive=True)
        ridge = (self.ridge if ridge is None
                 else check_array(ridge, "ridge", _OWNER, positive=True))
        return psi1, psi2, ridge

    def bias_variance(self, psi1=None, psi2=None, ridge=None, *, on_failure="raise"):
        r"""The Mei-Montanari functions ``(chi, B, V)``, broadcast over ``psi1``, ``psi2``,
        ``ridge`` (defaults: the model's).

        ``B`` and ``V`` are the bias and variance factors of the limiting test error,
        ``test_error = F1^2 B + (tau^2 + F*^2) V + F*^2`` (:meth:`test_error`;
        ``F1^2 = signal_var``, ``tau^2 = noise_var``, ``F*^2 = nonlinear_var``), and
        ``chi = nu1 nu2`` is the product of the two Stieltjes-type unknowns at
        ``xi = i sqrt(psi1 psi2 ridge_bar)``: ``B = E1/E0``, ``V = E2/E0`` with the
        polynomials ``E0, E1, E2`` in ``chi`` of Mei & Montanari (2019), Thm. 1 (theory
        note §3.3), evaluated at ``zeta = mu1 / mu_star`` and
        ``ridge_bar = ridge / mu_star^2`` of the model's activation.

        Returns three arrays of the broadcast shape. ``on_failure`` as in
        :meth:`test_error` (the ``(nu1, nu2)`` equations: ``ConvergenceError``, or NaN
        with one ``ConvergenceWarning``).

        Examples
        --------
        >>> import numpy as np
        >>> from hdeq import MeiMontanari
        >>> mm = MeiMontanari("relu", psi2=2.0, ridge=1e-3)
        >>> chi, B, V = mm.bias_variance(psi1=0.5)
        >>> bool(np.isclose(mm.signal_var * B + (mm.noise_var + mm.nonlinear_var) * V
        ...                 + mm.nonlinear_var, mm.test_error(psi1=0.5)))
        True
        """
        psi1, psi2, ridge = self._grid(psi1, psi2, ridge)
        return bias_variance(self.zeta, psi1, psi2, np.asarray(ridge) / self.mu_star ** 2,
                             on_failure=on_failure)

    def test_error(self, psi1=None, psi2=None, ridge=None, *, on_failure="raise"):
        r"""Limiting test error ``F1^2 B + (tau^2 + F*^2) V + F*^2`` (broadcast).

        Examples
        --------
        >>> from hdeq import MeiMontanari
        >>> mm = MeiMontanari("relu", psi2=2.0, ridge=1e-3)
        >>> mm.test_error(psi1=[0.5, 4.0]).round(4)      # first: theory note §3.3
        array([0.8984, 0.2918])
        """
        _, B, V = self.bias_variance(psi1, psi2, ridge, on_failure=on_failure)
        out = (self.signal_var * B + (self.noise_var + self.nonlinear_var) * V
               + self.nonlinear_var)
        return out[()] if out.ndim == 0 else out

    def simulate(self, n_features: int, trials: int = 10, seed=None, *, psi1=None,
                 n_test: int = 2000) -> pd.DataFrame:
        """Monte-Carlo twin: the test error of the finite system, beside the theory.

        For each ``psi1`` (default: the model's, may be an array) and each of ``trials``
        replicates: new ``theta``, training set, ``beta_1`` (uniform direction, norm
        ``sqrt(signal_var)``), nonlinear part ``f_NL(x) = F* c_d (<u, x>^2 - 1)`` (``u``
        a uniform unit vector, ``c_d = sqrt((d + 2) / (2 (d - 1)))`` so that
        ``E f_NL^2 = F*^2`` exactly on the sphere), noise; the test error is averaged
        over ``n_test`` fresh points (theory note §3.3 statistical oracle).

        Returns a tidy DataFrame: ``psi1, psi2, ridge, n_features, n_random_features,
        n_samples, theory, empirical, stderr``.
        """
        d = check_scalar(n_features, "n_features", f"{_OWNER}.simulate", low=1,
                         integer=True)
        trials = check_trials(trials, f"{_OWNER}.simulate")
        n_test = check_scalar(n_test, "n_test", f"{_OWNER}.simulate", low=1,
                              low_inclusive=True, integer=True)
        if np.ndim(self.psi2) != 0:
            raise ValueError(f"`psi2` of {_OWNER} must be a scalar to simulate; got an "
                             f"array of shape {np.shape(self.psi2)}")
        psi1 = np.atleast_1d(self.psi1 if psi1 is None
                             else check_array(psi1, "psi1", _OWNER, positive=True)).ravel()
        psi2 = float(self.psi2)
        rng = as_generator(seed)
        children = rng.bit_generator.seed_seq.spawn(psi1.size) if hasattr(
            rng.bit_generator, "seed_seq") else None
        theory = self.test_error(psi1=psi1)
        rows = []
        largest = int(min(np.max(psi1), psi2) * d)      # the largest min(N, n) of the loop
        with small_matrix_blas(largest):
            for k, p1 in enumerate(psi1):
                child = (np.random.default_rng(children[k]) if children is not None
                         else np.random.default_rng(rng.integers(2 ** 63)))
                N = max(1, int(round(p1 * d)))
                n = max(1, int(round(psi2 * d)))
                errors = [self._one_trial(child, d, N, n, n_test) for _ in range(trials)]
                errors = np.asarray(errors)
                rows.append(dict(psi1=float(p1), psi2=psi2, ridge=self.ridge, n_features=d,
                                 n_random_features=N, n_samples=n,
                                 theory=float(np.atleast_1d(theory)[k]),
                                 empirical=float(errors.mean()),
                                 stderr=float(errors.std(ddof=1) / np.sqrt(trials))))
        return pd.DataFrame(rows)

    def _one_trial(self, rng, d, N, n, n_test) -> float:
        theta = _sphere(rng, N, d)
        beta = rng.standard_normal(d)
        beta *= np.sqrt(self.signal_var) / np.linalg.norm(beta)
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        c_d = np.sqrt((d + 2.0) / (2.0 * (d - 1.0))) if d > 1 else 0.0
        F_star = np.sqrt(self.nonlinear_var)

        def target(X):
            return X @ beta + F_star * c_d * ((X @ u) ** 2 - 1.0)

        X = _sphere(rng, n, d)
        y = target(X) + np.sqrt(self.noise_var) * rng.standard_normal(n)
        Z = self.activation(X @ theta.T / np.sqrt(d))
        A = Z.T @ Z / n + (N * self.ridge / d) * np.eye(N)
        a = np.linalg.solve(A, Z.T @ y / n)
        Xt = _sphere(rng, n_test, d)
        pred = self.activation(Xt @ theta.T / np.sqrt(d)) @ a
        return float(np.mean((target(Xt) - pred) ** 2))
