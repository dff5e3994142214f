"""Random-feature ridge regression conditioned on the data (Louart, Liao & Couillet 2018;
several blocks and random Fourier features: Liao, Couillet & Mahoney 2020).

Theory note nonlinear.md §3.1 (one block) and §3.2 (several blocks, random Fourier
features). The expectation is over the random weights only: the data are fixed, so the
predictions hold for real data sets.

Convention (the user's data matrices are (n_samples, n_features)):

* weights ``W`` of shape (N, p), ``N = n_random_features``, ``p = n_features``, i.i.d.
  N(0, weight_variance / p);
* features ``Σ = σ(W Xᵀ)`` of shape (N, n) (the setting of §3.1 with the data divided by
  sqrt(p / weight_variance));
* output weights ``β = argmin (1/n)||y − Σᵀβ||² + ridge ||β||²``;
* training error ``(1/n)||y − Σᵀβ||²``, test error ``(1/n̂)||ŷ − Σ̂ᵀβ||²``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
from scipy import linalg

from ..core._errors import ConvergenceError
from ..core._threads import small_matrix_blas
from ..core._validation import as_generator, check_array, check_data, check_scalar
from ..equivalents._activations import Activation, check_activation
from ..equivalents._ridge_equivalent import solve_effective_ridge, _finish
from ._population import check_counts, check_trials

__all__ = ["RandomFeaturesRidge"]

_OWNER = "RandomFeaturesRidge"


class RandomFeaturesRidge:
    r"""Random-feature ridge regression on fixed data: deterministic equivalent and twin.

    Weights ``W`` (n_random_features, n_features) with i.i.d. N(0, weight_variance /
    n_features) entries, features ``Σ = σ(W Xᵀ)``, output weights minimizing
    ``(1/n)||y − Σᵀβ||² + ridge·||β||²``. With the expected kernel
    ``Φ(A, B) = E_w[σ(Aw) σ(wᵀBᵀ)]`` (:meth:`hdeq.Activation.kernel` on the rescaled data)
    the resolvent ``Q = (ΣᵀΣ/n + ridge I)⁻¹`` has the deterministic equivalent
    (theory note nonlinear.md §3.1, Louart, Liao & Couillet 2018, Thm. 1)

    .. math::

        \bar Q = \Bigl(\frac{N}{n}\frac{\Phi}{1+\delta} + \gamma I\Bigr)^{-1},\qquad
        \delta = \frac1n \operatorname{tr} \Phi \bar Q ,

    and the training and test errors follow (§3.1, formulas for Ē_train and Ē_test).
    With ``κ = γ n (1+δ)/N`` the equation for δ is the effective-ridge equation
    ``γ n / N = κ (1 − (1/N) Σ_i λ_i/(λ_i + κ))`` over the eigenvalues λ_i of Φ, solved by a
    safeguarded Newton/bisection on ONE eigendecomposition of Φ
    (:func:`hdeq.equivalents.solve_effective_ridge`), vectorized over a grid of
    ``n_random_features`` and ``ridge``. The mean predictor is kernel ridge regression
    ``Φ(X̂, X)(Φ + κ I)⁻¹ y``; the rest of the test error is the variance due to finitely
    many features, which diverges at ``N = n`` when ``ridge → 0`` (double descent).

    Domain (Louart, Liao & Couillet 2018): the rescaled data must have a bounded operator
    norm, i.e. no direction shared by all rows that carries a fixed fraction of their
    energy. A large common mean breaks the concentration over W behind the equivalent:
    on Gaussian data plus a mean with ||m||²/p equal to the noise variance, at
    N = 2n and ridge 1e-3, the simulated training error sits ~23% above the prediction
    at n = 250, 500 and 1000 alike (within 1-3% once centred). Centre the columns of
    such data (uncentred MNIST pixels: ~15% at N = 2n, ridge 1e-3; test errors 2-3%).

    The training error far past interpolation (total width several times n, small ridge,
    training MSE ≪ 1) is the quantity most sensitive to structured data: it equals
    −γ² d/dγ (yᵀQ̄y)/n, and the derivative amplifies the equivalent's relative error on
    yᵀQy/n by 2-5x. Measured for two cos/sin blocks with independent weights,
    N = 2n per block, ridge 1e-3 (training MSE 3e-6 to 3e-5), 64 draws of W, simulated
    minus predicted training MSE relative to the prediction (the median over the draws
    agrees with the mean within 2 points: no heavy tail):

    * isotropic Gaussian rows, p = n/2: +0.8%, +1.0%, +0.8% at n = 200, 400, 800
      (within 1.2 s.e.);
    * Gaussian rows plus a common mean, ||m||²/p = 1: +5.5%, +4.5%, +3.0% (shrinking);
    * MNIST (:func:`hdeq.data.mnist`, weight variance n_features / mean ||x||²):
      +4.9%, +4.9%, +5.1%, and +7.2% at n = 1600; centred pixels +3.3%, +4.7%, +4.0%.
      With p = 784 fixed a larger n does not approach the proportional limit, so the gap
      need not shrink; 8x8 digits (p = 64, training MSE 3e-4 to 2e-3, 16 draws):
      +17%, +18%, +10%.

    Not a property of the block formula: one cos block with 4n features gives the same
    on MNIST (+7%, +6%, +5%, 16 draws), and the implemented training error equals the
    ridge derivative above to 1e-8. At ridge 0.1 the MNIST gaps fall to about +2%; the
    test errors agree within about 3% throughout.

    Several blocks (``activation`` a tuple, §3.2): block j has ``n_random_features`` rows
    with activation σ_j and its own weights (or shared weights when the cross-kernels
    vanish, as for the cos/sin pair of random Fourier features, :meth:`fourier`); then
    ``Q̄ = (Σ_j (N/n) K_j/(1+δ_j) + γ I)⁻¹`` with J coupled δ_j, solved by Newton in log δ
    with the exact Jacobian (one Cholesky factorization per step and grid point). The
    shared-weight model of :meth:`fourier` is invariant under a common shift of all rows,
    the two-δ formula is not: it is evaluated on the rows centred by the training mean
    (on Gaussian rows plus a mean with ||m||²/p = 1 at n = 800, the formula on the raw rows
    was off the simulated training MSE by up to 4.9%, 5.4 s.e.; centred: <= 0.6%).

    Cost of several blocks. One block costs one eigendecomposition of Φ for the whole
    grid of ``(n_random_features, ridge)``; several blocks cost, at every grid point, a
    Newton solve whose every step inverts an ``n x n`` matrix (Cholesky) and forms the J
    products ``K_j Q̄`` (a few ``n³`` flops each), often 10-30 steps, more when the solve
    falls back on continuation in the ridge: about 1-10 s per grid point at ``n = 1000``,
    growing like ``n³``. Measured at ``n_samples = 1000`` (Gaussian rows, p = 200, a 2-core
    CPU): one block (relu), a 3 x 2 grid in 3 s in all; three blocks (relu, tanh, erf),
    the same grid in 36-56 s (6-9 s per point) and 1-10 s for a single point; the cos/sin
    pair of :meth:`fourier`, about 1 s per point; reported on MNIST with ``n = 1000``:
    three blocks on a 6 x 10 grid, 93 s. Budget about ``(grid points) x (n/1000)³ x 10``
    seconds for three blocks on a small machine before asking for a large grid: nothing
    is printed or warned while it runs (split the grid to follow its progress).

    Parameters
    ----------
    X_train : array of shape (n_samples, n_features)
    y_train : array of shape (n_samples,)
    X_test : array of shape (n_test, n_features)
    y_test : array of shape (n_test,)
    activation : str, callable, Activation, or a tuple of them (one per block)
    n_random_features : int or array of ints
        Rows of W per block (a grid is allowed; results broadcast against ``ridge``).
    ridge : float or array of floats > 0
    weight_variance : float > 0
        Variance of the entries of W times n_features (default 1).

    Examples
    --------
    Test error at N = n (the interpolation peak) and N = 8n, beside 10 draws of W:

    >>> import numpy as np, hdeq
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((400, 100)); y = np.sign(X[:, 0])
    >>> model = hdeq.RandomFeaturesRidge(X[:200], y[:200], X[200:], y[200:],
    ...                                  activation="relu", n_random_features=[200, 1600],
    ...                                  ridge=1e-3)
    >>> model.test_error().round(3)
    array([3.616, 0.679])
    >>> sim = model.simulate(trials=10, seed=1)
    >>> for r in sim[sim.quantity == "test_error"].itertuples():
    ...     print(f"N = {r.n_random_features}: theory {r.theory:.2f}, "
    ...           f"simulation {r.empirical:.2f} ± {r.stderr:.2f}")
    N = 200: theory 3.62, simulation 3.73 ± 0.13
    N = 1600: theory 0.68, simulation 0.67 ± 0.01
    """

    def __init__(self, X_train, y_train, X_test, y_test, *, activation="relu",
                 n_random_features, ridge, weight_variance: float = 1.0):
        X_train, y_train = check_data(X_train, "X_train", _OWNER, y=y_train,
                                      y_name="y_train")
        X_test, y_test = check_data(X_test, "X_test", _OWNER, y=y_test, y_name="y_test")
        if X_test.shape[1] != X_train.shape[1]:
            raise ValueError(f"`X_test` of {_OWNER} must have {X_train.shape[1]} columns "
                             f"(as X_train); got {X_test.shape[1]}")
        several = isinstance(activation, (tuple, list))
        acts = activation if several else (activation,)
        if len(acts) == 0:
            raise ValueError(f"`activation` of {_OWNER} must be an activation or a non-empty "
                             f"tuple of activations; got an empty tuple")
        self.activations = tuple(
            check_activation(a, f"activation[{j}]" if several else "activation", _OWNER)
            for j, a in enumerate(acts))
        N = check_counts(n_random_features, "n_random_features", _OWNER)
        ridge_arr = check_array(ridge, "ridge", _OWNER, positive=True)
        self.weight_variance = check_scalar(weight_variance, "weight_variance", _OWNER, low=0)
        self._grid_args = (N.astype(int), ridge_arr)
        try:
            self.n_random_features, self.ridge = np.broadcast_arrays(N.astype(int), ridge_arr)
        except ValueError:
            raise ValueError(f"`n_random_features` and `ridge` of {_OWNER} must broadcast "
                             f"together (e.g. a grid: ridge[:, None] against "
                             f"n_random_features[None, :]); got shapes {N.shape} and "
                             f"{ridge_arr.shape}") from None
        self.shape = self.ridge.shape
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test
        self.n_samples, self.n_features = X_train.shape
        self.n_test = X_test.shape[0]
        self.shared_weights = False   # True only for the cos/sin pair of :meth:`fourier`
        self._cache = {}
        self._check_kernel_nonzero()

    def _check_kernel_nonzero(self):
        """The equivalent needs an expected kernel Φ(X, X) with a positive eigenvalue; Φ is
        PSD, so it is zero exactly when its diagonal E σ(wᵀx_i)² (an O(n) computation) is."""
        Xs = self._scaled(self.X_train)
        sq = np.einsum("ij,ij->i", Xs, Xs)
        diag = sum(act._second_moment_or_zero(sq) for act in self.activations)
        if np.any(diag > 0):
            return
        names = ", ".join(a.name for a in self.activations)
        if not np.any(sq > 0):
            raise ValueError(
                f"`X_train` of {_OWNER} must have a non-zero row: the expected kernel "
                f"Φ(X, X) = E_w[σ(Xw) σ(wᵀXᵀ)] must be non-zero, and with all "
                f"{self.n_samples} rows zero every feature is σ(0) = 0 for activation "
                f"{names}; got an all-zero X_train (an activation with σ(0) ≠ 0, such as "
                f"cos, gives a constant non-zero kernel)")
        raise ValueError(
            f"`activation` of {_OWNER} must give a non-zero expected kernel on X_train; got "
            f"{names}, with E σ(wᵀx)² = 0 on every row of X_train")

    # -- construction helpers ------------------------------------------------------------------
    @classmethod
    def fourier(cls, X_train, y_train, X_test, y_test, *, n_random_features, ridge,
                weight_variance: float = 1.0) -> "RandomFeaturesRidge":
        """Random Fourier features ``[cos(W Xᵀ); sin(W Xᵀ)]`` (2·n_random_features features
        sharing W), theory note §3.2 (Liao, Couillet & Mahoney 2020). Their kernels sum to
        the Gaussian kernel exp(−||x − y||² weight_variance/(2p)), but at N ~ n the two
        blocks keep separate δ's; the interpolation peak sits at 2N = n.

        The model depends on the rows only through their differences (a common shift m
        rotates each cos/sin pair by wᵀm); the theory is evaluated on the rows centred by
        the training mean, where the two-δ equivalent holds (class docstring).

        Examples
        --------
        Test error at 2N/n = 0.5, 1 (the peak) and 4, and the two δ's (cos, sin) per width:

        >>> import numpy as np, hdeq
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((400, 100)); y = np.sign(X[:, 0])
        >>> model = hdeq.RandomFeaturesRidge.fourier(X[:200], y[:200], X[200:], y[200:],
        ...                                          n_random_features=[50, 100, 400],
        ...                                          ridge=1e-3)
        >>> model.test_error().round(2)
        array([1.5 , 4.55, 0.77])
        >>> model.delta().round(1).tolist()
        [[98.6, 145.4], [13.3, 13.5], [0.3, 0.3]]
        """
        model = cls(X_train, y_train, X_test, y_test, activation=("cos", "sin"),
                    n_random_features=n_random_features, ridge=ridge,
                    weight_variance=weight_variance)
        model.shared_weights = True
        return model

    def replace(self, **changes) -> "RandomFeaturesRidge":
        """A model on the same data and activations with another grid of
        ``n_random_features`` and/or ``ridge`` (the only valid names: ValueError for any
        other); the expected kernels and their eigendecomposition are shared (not
        recomputed)."""
        unknown = sorted(set(changes) - {"n_random_features", "ridge"})
        if unknown:
            raise ValueError(f"arguments of {_OWNER}.replace must be among "
                             f"n_random_features, ridge; got {', '.join(map(repr, unknown))}")
        n_random_features = changes.get("n_random_features")
        ridge = changes.get("ridge")
        new = RandomFeaturesRidge(
            self.X_train, self.y_train, self.X_test, self.y_test,
            activation=self.activations,
            n_random_features=(self._grid_args[0] if n_random_features is None
                               else n_random_features),
            ridge=self._grid_args[1] if ridge is None else ridge,
            weight_variance=self.weight_variance)
        new.shared_weights = self.shared_weights
        new._cache = {k: v for k, v in self._cache.items() if k in ("kernels", "eig")}
        return new

    def __repr__(self) -> str:
        acts = ", ".join(a.name for a in self.activations)
        return (f"RandomFeaturesRidge(activation=({acts}), n_samples={self.n_samples}, "
                f"n_features={self.n_features}, n_test={self.n_test}, grid={self.shape})")

    @property
    def width_ratio(self):
        """Total number of features divided by n_samples (J·N/n)."""
        return len(self.activations) * self.n_random_features / self.n_samples

    # -- kernels --------------------------------------------------------------------------------
    def _scaled(self, X):
        return X * math.sqrt(self.weight_variance / self.n_features)

    def _kernels(self):
        """Per block: K(X, X), K(X̂, X), diag K(X̂, X̂) on the rescaled data (cached).

        Shared-weight Fourier features: on the data centred by the training mean. The model
        is invariant under a common shift m of all rows (the pair cos/sin of one w rotates
        by the angle wᵀm, which leaves every Gram matrix unchanged), the two-δ equivalent is
        not; centring puts it on the translate with the smallest norm, the domain of the
        equivalent (see the class docstring)."""
        if "kernels" not in self._cache:
            X, X_test = self.X_train, self.X_test
            if self.shared_weights:
                shift = X.mean(axis=0)
                X, X_test = X - shift, X_test - shift
            Xs, Xt = self._scaled(X), self._scaled(X_test)
            sq_t = np.einsum("ij,ij->i", Xt, Xt)
            out = []
            for act in self.activations:
                K = act.kernel(Xs)
                Kt = act.kernel(Xt, Xs)
                dt = act._second_moment_or_zero(sq_t)
                out.append((K, Kt, dt))
            self._cache["kernels"] = out
        return self._cache["kernels"]

    def expected_kernel(self) -> np.ndarray:
        """Φ(X, X) = E_w[σ(W Xᵀ)ᵀ σ(W Xᵀ)]/N (one block; the sum over blocks otherwise)."""
        return sum(K for K, _, _ in self._kernels())

    # -- theory ------------------------------------------------------------------------------
    def _theory(self):
        if "theory" not in self._cache:
            if len(self.activations) == 1:
                self._cache["theory"] = self._theory_one_block()
            else:
                self._cache["theory"] = self._theory_blocks()
        return self._cache["theory"]

    def _theory_one_block(self):
        (K, Kt, dt), = self._kernels()
        n, n_test = self.n_samples, self.n_test
        if "eig" not in self._cache:
            lam, U = linalg.eigh(K)
            lam = np.maximum(lam, 0.0)
            # Φ(X̂, X) and y in the eigenbasis of Φ
            self._cache["eig"] = (lam, U.T @ self.y_train, Kt @ U)
        lam, y_t, F = self._cache["eig"]
        N = self.n_random_features.astype(float).ravel()
        gamma = self.ridge.ravel()
        res = solve_effective_ridge(gamma * n / N, lam, None, N)
        kappa = res.value
        kappa = _finish(kappa, res.converged,
                        lambda i: f"n_random_features={N[i]:g}, ridge={gamma[i]:g}",
                        "raise", f"{_OWNER} (δ equation)", res.residual)
        # spectral sums at every grid point, (grid, n)
        inv = 1.0 / (lam[None, :] + kappa[:, None])
        df2 = (lam[None, :] ** 2 * inv ** 2).sum(1)
        theta = df2 / N                  # Θ = (1/N) tr(ΨQ̄ΨQ̄)
        one_minus = 1.0 - theta
        if np.any(one_minus <= 0):
            raise ConvergenceError(f"{_OWNER}: Θ >= 1 at some grid point (the equivalent is "
                                   f"not defined); increase ridge")
        # κ² enters the training error only through the ratios q_i = κ/(λ_i + κ) ∈ (0, 1]:
        # κ² ||R y||² = Σ y_i² q_i² and κ² a r2lam = (κ a)(κ r2lam); forming κ² itself
        # overflows for κ > 1e154 (huge ridge) while inv² underflows
        q = kappa[:, None] * inv                  # κ/(λ+κ)
        a_coef = (lam[None, :] * inv ** 2).sum(1) / N
        r2lam = (y_t[None, :] ** 2 * lam[None, :] * inv ** 2).sum(1)   # yᵀRΦRy
        k_r2 = (y_t[None, :] ** 2 * q ** 2).sum(1)                      # κ² ||R y||²
        k_a = (lam[None, :] * inv * q).sum(1) / N                       # κ a
        k_r2lam = (y_t[None, :] ** 2 * lam[None, :] * inv * q).sum(1)   # κ r2lam
        train = (k_r2 + k_a / one_minus * k_r2lam) / n
        pred = (F * y_t[None, :]) @ inv.T                    # (n_test, grid)
        bias = ((self.y_test[:, None] - pred) ** 2).mean(0)
        col2 = (F ** 2).sum(0)                               # ||Φ̂ u_i||²
        bracket = (dt.sum() - inv @ col2 - (inv * q) @ col2) / n_test
        variance = r2lam / N / one_minus * bracket
        delta = kappa * N / (gamma * n) - 1.0
        shape = self.shape
        return {"train": train.reshape(shape), "test": (bias + variance).reshape(shape),
                "bias": bias.reshape(shape), "variance": variance.reshape(shape),
                "delta": delta.reshape(shape + (1,)), "kappa": kappa.reshape(shape)}

    def _theory_blocks(self):
        kernels = self._kernels()
        J = len(kernels)
        n, n_test = self.n_samples, self.n_test
        y, y_test = self.y_train, self.y_test
        N_flat = self.n_random_features.astype(float).ravel()
        g_flat = self.ridge.ravel()
        out = {k: np.empty(N_flat.size) for k in ("train", "test", "bias", "variance")}
        deltas = np.empty((N_flat.size, J))
        order = np.lexsort((-g_flat, N_flat))      # warm starts: large ridge first
        start = None
        Ks = [K for K, _, _ in kernels]
        for idx in order:
            N, gam = N_flat[idx], g_flat[idx]
            delta, Qbar, KQ = _solve_deltas(Ks, N, gam, n, start)
            start = gam * (1.0 + delta)                # v = γ(1+δ) varies slowly
            w = (N / n) / (1 + delta)                       # (J,)
            M = np.array([[(N / n ** 2) / (1 + delta[j]) ** 2 * np.sum(KQ[j] * KQ[l].T)
                           for j in range(J)] for l in range(J)])
            inv_IM = np.linalg.inv(np.eye(J) - M)
            Qy = Qbar @ y
            quad = np.array([Qy @ (Ks[j] @ Qy) for j in range(J)])   # (Q̄y)ᵀK_j(Q̄y)
            yTy = inv_IM @ quad                                       # yᵀ T_l y
            a = np.array([(N / n ** 2) / (1 + delta[l]) ** 2 * np.sum(KQ[l] * Qbar)
                          for l in range(J)])
            # γ² (Q̄y·Q̄y + a·yTy) with γ² split over the factors (γ² alone overflows for
            # γ > 1e154 while Q̄y·Q̄y underflows): γQ̄y = R y, (γ a)·(γ yTy)
            Ry = gam * Qy
            out["train"][idx] = (Ry @ Ry + (gam * a) @ (gam * yTy)) / n
            Psi_t = sum(w[j] * kernels[j][1] for j in range(J))       # Ψ̄(X̂, X)
            PQ = Psi_t @ Qbar
            bias = np.mean((y_test - PQ @ y) ** 2)
            c = np.empty(J)
            for l in range(J):
                Kt_l = kernels[l][1]
                t1 = kernels[l][2].sum()
                t2 = np.sum(PQ * Kt_l)                                # tr(Ψ̄Q̄K_l(X,X̂))
                t3 = np.sum((PQ @ Ks[l]) * PQ)                        # tr(Ψ̄Q̄K_lQ̄Ψ̄ᵀ)
                c[l] = (N / n ** 2) / (1 + delta[l]) ** 2 * (t1 - 2 * t2 + t3)
            var = c @ yTy / n_test
            out["bias"][idx], out["variance"][idx] = bias, var
            out["test"][idx] = bias + var
            deltas[idx] = delta
        shape = self.shape
        res = {k: v.reshape(shape) for k, v in out.items()}
        res["delta"] = deltas.reshape(shape + (J,))
        return res

    def train_error(self):
        """Predicted training MSE E_W (1/n)||y − Σᵀβ||² (§3.1 Ē_train; §3.2 for blocks),
        shape of the (n_random_features, ridge) grid."""
        return self._out(self._theory()["train"])

    def test_error(self, kind: str = "total"):
        """Predicted test MSE E_W (1/n̂)||ŷ − Σ̂ᵀβ||² (§3.1 Ē_test; §3.2 for blocks).

        ``kind="bias"``: error of the mean predictor (kernel ridge with the effective
        kernel); ``"variance"``: the extra error due to finitely many features;
        ``"total"``: their sum.
        """
        if kind not in ("total", "bias", "variance"):
            raise ValueError(f"`kind` of {_OWNER}.test_error must be 'total', 'bias' or "
                             f"'variance'; got {kind!r}")
        return self._out(self._theory()["test" if kind == "total" else kind])

    def delta(self):
        """The δ of the deterministic equivalent, shape grid + (n_blocks,)."""
        d = self._theory()["delta"]
        return d

    @staticmethod
    def _out(values):
        return float(values) if np.ndim(values) == 0 else values

    # -- simulation twin ------------------------------------------------------------------------
    def simulate(self, trials: int = 10, seed=None) -> pd.DataFrame:
        """Draw W ``trials`` times, fit the output layer, measure training and test MSE.

        For each trial one W with max(n_random_features) rows per block is drawn and its
        first N rows are used for every N of the grid (nested features: each grid point
        has the exact distribution, points are correlated across N). Ridge solves use a
        Cholesky factorization of the smaller of the two Gram matrices.

        Returns
        -------
        DataFrame with columns n_random_features, ridge, quantity ('train_error' or
        'test_error'), theory, empirical, stderr, trials.
        """
        trials = check_trials(trials, f"{_OWNER}.simulate")
        rng = as_generator(seed)
        N_flat = self.n_random_features.ravel()
        g_flat = self.ridge.ravel()
        N_values = np.unique(N_flat)
        N_max = int(N_values.max())
        J = len(self.activations)
        Xs, Xt = self._scaled(self.X_train), self._scaled(self.X_test)
        n = self.n_samples
        train = np.empty((trials, N_flat.size))
        test = np.empty((trials, N_flat.size))
        with small_matrix_blas(min(n, J * N_max)):
            for t in range(trials):
                n_draws = 1 if self.shared_weights else J
                Ws = [rng.standard_normal((N_max, self.n_features)) for _ in range(n_draws)]
                feats, feats_t = [], []
                for j, act in enumerate(self.activations):
                    W = Ws[0 if self.shared_weights else j]
                    feats.append(act(W @ Xs.T))
                    feats_t.append(act(W @ Xt.T))
                for N in N_values:
                    S = np.concatenate([f[:N] for f in feats], axis=0)       # (J N, n)
                    St = np.concatenate([f[:N] for f in feats_t], axis=0)
                    cols = np.flatnonzero(N_flat == N)
                    tr, te = _fit_errors(S, St, self.y_train, self.y_test, g_flat[cols], n)
                    train[t, cols], test[t, cols] = tr, te
        theory_train = np.ravel(self._theory()["train"])
        theory_test = np.ravel(self._theory()["test"])
        rows = []
        for quantity, emp, th in (("train_error", train, theory_train),
                                  ("test_error", test, theory_test)):
            mean = emp.mean(0)
            se = emp.std(0, ddof=1) / math.sqrt(trials)
            for i in range(N_flat.size):
                rows.append({"n_random_features": int(N_flat[i]), "ridge": float(g_flat[i]),
                             "quantity": quantity, "theory": float(th[i]),
                             "empirical": float(mean[i]), "stderr": float(se[i]),
                             "trials": trials})
        return pd.DataFrame(rows)


def _fit_errors(S, St, y, y_test, ridges, n):
    """Training and test MSE of RF ridge for one feature draw and several ridges.

    S (P, n) training features, St (P, n_test) test features; β = (SSᵀ/n + γ)⁻¹ S y/n.
    """
    P = S.shape[0]
    tr, te = np.empty(ridges.size), np.empty(ridges.size)
    if P <= n:
        G = S @ S.T / n
        b = S @ y / n
        for k, gam in enumerate(ridges):
            beta = linalg.solve(G + gam * np.eye(P), b, assume_a="pos")
            tr[k] = np.mean((y - S.T @ beta) ** 2)
            te[k] = np.mean((y_test - St.T @ beta) ** 2)
    else:
        G = S.T @ S / n                          # (n, n)
        C = St.T @ S / n                         # (n_test, n)
        for k, gam in enumerate(ridges):
            alpha = linalg.solve(G + gam * np.eye(n), y, assume_a="pos")   # β = S α / n
            tr[k] = np.mean((y - G @ alpha) ** 2)
            te[k] = np.mean((y_test - C @ alpha) ** 2)
    return tr, te


def _inverse_pd(A):
    """Inverse of a symmetric positive-definite matrix by Cholesky (LAPACK potrf/potri)."""
    c, info = linalg.lapack.dpotrf(A, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("matrix is not positive definite")
    inv, info = linalg.lapack.dpotri(c, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError("inversion failed")
    inv = np.tril(inv)
    inv += np.tril(inv, -1).T
    return inv


def _solve_deltas(Ks, N, gamma, n, start=None, tol=1e-11, max_iter=60):
    """Solve δ_j = (1/n) tr K_j Q̄, Q̄ = (Σ_j (N/n) K_j/(1+δ_j) + γ I)⁻¹ (theory note §3.2)
    by Newton in log γ(1+δ) with the exact Jacobian and backtracking; when that fails from
    the given start, by continuation in the ridge (from 4¹⁰γ down to γ, warm-started).

    Returns δ, Q̄ and the products K_j Q̄. Raises ConvergenceError when the residual
    max_j |log((γ + (1/n) tr K_j R)/v_j)| (v_j = γ(1+δ_j), R = γ Q̄) does not fall below
    ``tol``.
    """
    try:
        return _newton_deltas(Ks, N, gamma, n, start, tol, max_iter)
    except ConvergenceError:
        pass
    current = None
    for g in gamma * 4.0 ** np.arange(10, 0, -1):
        current = g * (1.0 + _newton_deltas(Ks, N, g, n, current, tol, max_iter)[0])
    return _newton_deltas(Ks, N, gamma, n, current, tol, max_iter)


def _newton_deltas(Ks, N, gamma, n, start, tol, max_iter):
    """Newton in log v, v_j = γ(1+δ_j): v_j = γ + (1/n) tr K_j R(v),
    R(v) = (Σ_l (N/n) K_l/v_l + I)⁻¹ = γ Q̄. Unlike δ (which grows like 1/γ when the
    features cannot interpolate), v stays finite as γ → 0 and the Jacobian stays regular
    (for one block, v = κN/n with κ the effective ridge)."""
    J = len(Ks)
    eye = np.eye(n)

    def evaluate(v):
        R = _inverse_pd(sum((N / n) / v[j] * Ks[j] for j in range(J)) + eye)
        T = gamma + np.array([np.sum(K * R) / n for K in Ks])   # K_j, R symmetric
        return T, R

    if start is None:
        # one-block guess with the averaged kernel: v = κ N/n
        lam = np.maximum(np.linalg.eigvalsh(sum(Ks)) / J, 0.0)
        res = solve_effective_ridge(gamma * n / (J * N), lam, None, J * N)
        v = np.full(J, float(res.value) * J * N / n)
    else:
        v = np.array(start, dtype=float)          # warm start: v of a nearby problem
    T, R = evaluate(v)

    def merit(v_, t_):
        return np.max(np.abs(np.log(t_ / v_)))

    resid = merit(v, T)
    for _ in range(max_iter):
        if resid <= tol:
            break
        KR = [K @ R for K in Ks]
        dH = np.array([[(N / n ** 2) / v[l] / v[l] * np.sum(KR[j] * KR[l].T)
                        for l in range(J)] for j in range(J)])
        Jac = (np.eye(J) - dH) * v[None, :]
        step = np.linalg.solve(Jac, -(v - T))
        step *= min(1.0, 2.0 / max(np.max(np.abs(step)), 1e-300))    # at most a factor e²
        u = np.log(v)
        t = 1.0
        while True:
            new = np.exp(u + t * step)
            T_new, R_new = evaluate(new)
            r_new = merit(new, T_new)
            if r_new < resid or t < 1e-4:
                break
            t *= 0.5
        v, T, R, resid = new, T_new, R_new, r_new
    if not resid <= tol:
        raise ConvergenceError(f"{_OWNER}: the δ system of the block equivalent did not "
                               f"converge (residual {resid:.3g} at "
                               f"n_random_features={N:g}, ridge={gamma:g}); increase ridge")
    delta = v / gamma - 1.0
    Q = R / gamma
    return delta, Q, [K @ Q for K in Ks]
