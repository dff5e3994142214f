r"""Gradient flow and gradient descent on the least-squares loss: risks over time.

Setting (theory note linear.md §5.1 and §7a): rows ``x_i ~ N(0, Sigma)`` of the design
``X`` (n_samples x n_features), ``y = X beta + eps`` with ``eps ~ N(0, noise_var I)``,
loss ``L(w) = ||y - X w||^2 / (2 n)``, ``S = X^T X / n``, ``K = X X^T / n``, initial point
``w_0 ~ N(0, (init_var / p) I_p)`` independent of the data. Gradient flow
``dw/dt = -grad L`` gives

    w(t) - beta = e^{-tS} (w_0 - beta) + (I - e^{-tS}) S^+ X^T eps / n,
    y - X w(t)  = e^{-tK} (y - X w_0),

and gradient descent with learning rate ``eta`` after ``k`` steps is the same with
``e^{-ts}`` replaced by ``(1 - eta s)^k``. Conditional on ``X`` (expectation over the
noise and the initialisation):

    bias(t)     = beta^T e^{-tS} Sigma e^{-tS} beta + (init_var/p) tr Sigma e^{-2tS}
    variance(t) = (noise_var/n) tr Sigma (1 - e^{-tS})^2 S^+
    train(t)    = beta^T S e^{-2tS} beta + (init_var/p) tr S e^{-2tS}
                  + noise_var (1/n) tr e^{-2tK}
    test(t)     = noise_var + bias(t) + variance(t)          (fresh noisy label)

Each spectral function is a Cauchy integral of the resolvent ``Q(z) = (S - z)^{-1}``,
replaced by its deterministic equivalent (theory note §3.1, §3.5)

    Qbar(z) = -(1/z) (I + mt(z) Sigma)^{-1},      mt = companion Stieltjes transform,
    Q(z1) Sigma Q(z2)  <->  Qbar1 Sigma Qbar2 / (1 - Theta12),
    Theta12 = (1/n) tr(Sigma Qbar1 Sigma Qbar2) s1 s2,  s_i = -z_i mt(z_i),

so that ``bias`` is a double contour integral and the other terms single ones
(theory note §7a "General Sigma"). The contour is the log-ellipse plus a small circle at 0
of :func:`hdeq.core.spectral_contour`; the deterministic equivalent is evaluated once on
its nodes and every time point costs one row of a matrix product.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..core._contour import spectral_contour
from ..core._errors import ConvergenceError
from ..core._threads import small_matrix_blas
from ..core._validation import as_generator, check_array, check_scalar
from ..equivalents._ridge_equivalent import _unit_scale
from ._gcv import _svd
from ._population import HasLinearProblem, check_counts, check_trials, parse_population

__all__ = ["GradientFlow", "GradientDescent"]

_QUANTITIES = ("test_error", "train_error", "bias", "variance")


def _sample_covariance_law(values, weights, ratio):
    """The generalized Marchenko-Pastur law of the laws layer (imported lazily)."""
    from ..laws import SampleCovarianceLaw
    return SampleCovarianceLaw((values, weights), ratio)


def _law_edges(law) -> tuple[float, float]:
    """Smallest and largest edge of the non-zero part of the law's support."""
    intervals = [tuple(map(float, iv)) for iv in law.support]
    intervals = [iv for iv in intervals if iv[1] > 0]
    lo = min(max(iv[0], 0.0) for iv in intervals)
    hi = max(iv[1] for iv in intervals)
    return lo, hi


def _companion_on(law, z):
    """Companion Stieltjes transform on contour nodes, using ``mt(conj z) = conj mt(z)``."""
    upper = np.where(z.imag < 0, z.conj(), z)
    mt = np.asarray(law.companion_stieltjes(upper), dtype=complex)
    return np.where(z.imag < 0, mt.conj(), mt)


def _mass_error(contour, stieltjes_values):
    """``|int 1 dmu - 1|`` by the contour rule (the total mass of a probability law)."""
    mass = contour.spectral_integral(lambda s, z: np.ones_like(s * z), [0.0],
                                     stieltjes_values)[0]
    return abs(mass - 1.0), mass


def _check_total_mass(contour, stieltjes_values, owner, tol=1e-8, hint=None):
    """Built-in self-test (theory note §8 item 5): ``f = 1`` must integrate to the total
    mass 1 of the law whose Stieltjes transform is given on the nodes. ``hint`` (a
    callable, called only on failure) says what to change; default: more nodes."""
    err, mass = _mass_error(contour, stieltjes_values)
    if not err <= tol:
        advice = hint() if hint is not None else "increase `n_nodes`"
        raise ConvergenceError(f"{owner}: the contour integral of the Stieltjes transform "
                               f"gives total mass {mass.real:.12g} (expected 1, tolerance "
                               f"{tol:g}); the contour does not resolve the spectrum: "
                               f"{advice}")


#: Most contour nodes M (log-ellipse plus circle) a dynamics model uses: the two-point
#: bias kernel is two (M, M) complex arrays, 32 M^2 bytes (2 GiB at M = 8192), checked
#: before they are allocated.
MAX_CONTOUR_NODES = 8192


@functools.lru_cache(maxsize=4)
def _gauss_legendre(n_points):
    from scipy.special import roots_legendre
    return roots_legendre(n_points)


def _nonnegative(values):
    """A sum of non-negative spectral integrals, evaluated on a contour: its absolute
    rounding (about 1e-14, up to 1e-11 for gradient descent near the largest stable step,
    relative to the O(1) integrands) can leave a value that vanishes, such as the training
    error of an interpolator at large t, a hair below 0; that rounding is set to 0."""
    return np.maximum(values, 0.0)


def _as_output(values, arg):
    values = np.asarray(values, dtype=float)
    return float(values.reshape(-1)[0]) if np.ndim(arg) == 0 else values.reshape(np.shape(arg))


#: Largest time the gradient-flow filters are evaluated at: on the contours (``Re z >= lower/2
#: > 0`` off the circle at 0) ``e^{-t z}`` is 0 in floating point long before, so every value
#: is its ``t -> inf`` limit there, and ``t z`` stays finite for any finite ``t``.
MAX_TIME = 1e300


def _tidy_table(arg_name, params, draws, theory, **columns) -> pd.DataFrame:
    """Tidy simulation table: one row per (quantity, parameter value) with the theory, the
    mean of ``draws[quantity]`` (shape ``(trials, params.size)``) over the trials and its
    standard error (``trials >= 2``, :func:`check_trials`), then ``columns`` and
    ``trials``. No parameter values give the same columns and no rows."""
    names = [arg_name, "quantity", "theory", "empirical", "stderr", *columns, "trials"]
    rows = []
    for q, values in draws.items():
        trials = values.shape[0]
        mean = values.mean(axis=0)
        se = values.std(axis=0, ddof=1) / np.sqrt(trials)
        for j, x in enumerate(params):
            rows.append({arg_name: x, "quantity": q, "theory": theory[q][j],
                         "empirical": mean[j], "stderr": se[j], **columns, "trials": trials})
    return pd.DataFrame(rows, columns=names)


class _LeastSquaresDynamics(HasLinearProblem):
    """Shared machinery of :class:`GradientFlow` and :class:`GradientDescent`."""

    _owner = "GradientFlow"
    _arg_name = "times"
    _mass_target = 1e-8     # total-mass error at which a node count is accepted

    def __init__(self, population, target, signal_var, noise_var, n_samples, init_var,
                 n_nodes, n_features):
        owner = self._owner
        self._problem = prob = parse_population(population, target, signal_var, n_features,
                                                owner=owner)
        self.noise_var = check_scalar(noise_var, "noise_var", owner, low=0.0,
                                      low_inclusive=True)
        self.n_samples = check_scalar(n_samples, "n_samples", owner, low=1,
                                      low_inclusive=True, integer=True)
        self.init_var = check_scalar(init_var, "init_var", owner, low=0.0, low_inclusive=True)
        self.n_nodes = check_scalar(n_nodes, "n_nodes", owner, low=16, low_inclusive=True,
                                    integer=True)
        self.n_features = prob.n_features
        rank = prob.rank
        if abs(rank - self.n_samples) < 1e-9:
            raise ValueError(f"`n_samples` of {owner} must differ from the number of positive "
                             f"population eigenvalues {rank:g} (n_features = "
                             f"{self.n_features}; at aspect ratio 1 the spectrum of S touches 0 "
                             f"and the variance diverges as t -> inf); got {self.n_samples}")
        self.aspect_ratio = self.n_features / self.n_samples
        # zero eigenvalues of Sigma carry no data and enter no risk: the theory runs on the
        # positive part (rank r, ratio r/n); w_0 puts init_var * r/p of its energy there
        self._ratio = rank / self.n_samples
        self._init_on_range = self.init_var * rank / self.n_features
        # the theory runs on Sigma / unit (unit a power of two: exact), with times (GF) or
        # the learning rate (GD) multiplied by unit, and bias / training signal scaled back:
        # the risks are homogeneous (S -> c S, t -> t / c), and the node values (products
        # like t^2 q q) stay in floating-point range for a population of any scale
        self._unit = _unit_scale(prob.atoms)
        self._atoms = prob.atoms / self._unit
        self._weights, self._energy = prob.weights, prob.energy
        self._cache = None

    # ---------------------------------------------------------------- filters (override)
    def _decay(self, s, z):
        raise NotImplementedError

    def _check_arg(self, arg):
        raise NotImplementedError

    def _contour_step(self):
        return None

    def _scaled(self, arg):
        """The filter parameter on the unit population: times ``t * unit`` (GF)."""
        return arg

    def _contour_options(self, lo, hi):
        """Keyword arguments of :func:`spectral_contour` and the node counts to try."""
        return {}, [self.n_nodes]

    # ---------------------------------------------------------------- node values
    def _law(self):
        law = _sample_covariance_law(self._atoms, self._weights, self._ratio)
        lo, hi = _law_edges(law)
        if not lo > 0:
            raise ValueError(f"the spectrum of S touches 0 for this population and "
                             f"n_samples = {self.n_samples}; {self._owner} needs its lower "
                             f"edge > 0")
        return law, lo, hi

    def _contour(self, lo, hi, n_nodes, options):
        return spectral_contour(lo, hi, n_nodes=n_nodes, step=self._contour_step(), **options)

    def _node_counts(self, lo, hi, options, counts):
        """The node counts to try, cut to :data:`MAX_CONTOUR_NODES` (ValueError naming
        ``n_nodes`` when even the first exceeds it: the bias kernel would not fit)."""
        extra = self._contour(lo, hi, 16, options).size - 16      # nodes of the 0-circle
        fits = [k for k in counts if k + extra <= MAX_CONTOUR_NODES]
        if not fits:
            size = counts[0] + extra
            raise ValueError(f"`n_nodes` of {self._owner} must be at most "
                             f"{MAX_CONTOUR_NODES - extra} (the bias kernel takes 32 M^2 "
                             f"bytes for a contour of M nodes, at most {MAX_CONTOUR_NODES} "
                             f"nodes = 2 GiB); got {self.n_nodes}, M = {size}, which would "
                             f"take {32 * size ** 2 / 2 ** 30:.3g} GiB")
        return fits

    def _unresolved_hint(self, lo, hi, options, counts):
        """What to change when the total-mass self-test fails (see GradientDescent)."""
        top = MAX_CONTOUR_NODES - (self._contour(lo, hi, 16, options).size - 16)
        return (f"increase `n_nodes` (tried up to {counts[-1]}; at most {top}, the memory "
                f"bound of the bias kernel)")

    def _nodes(self):
        if self._cache is not None:
            return self._cache
        t, w, a = self._atoms, self._weights, self._energy
        gamma = self._ratio
        law, lo, hi = self._law()
        options, counts = self._contour_options(lo, hi)
        counts = self._node_counts(lo, hi, options, counts)
        for n_nodes in counts:     # the total-mass self-test decides (cheap: M x K)
            contour = self._contour(lo, hi, n_nodes, options)
            z = contour.nodes
            mt = _companion_on(law, z)
            q = -1.0 / (z[:, None] * (1.0 + mt[:, None] * t[None, :]))  # diag of Qbar, (M, K)
            trace_q = q @ w
            if _mass_error(contour, trace_q)[0] <= self._mass_target:
                break
        s = -z * mt
        cache = {
            "contour": contour, "lower": lo, "upper": hi, "n_nodes": int(n_nodes),
            "trace_sigma_q": q @ (w * t),     # (1/p) tr Sigma Qbar
            "trace_q": trace_q,               # (1/p) tr Qbar  = m(z)
            "beta_q_beta": q @ a,             # beta^T Qbar beta
        }
        _check_total_mass(contour, cache["trace_q"], self._owner, tol=self._mass_target,
                          hint=lambda: self._unresolved_hint(lo, hi, options, counts))
        # two (M, M) complex arrays at most (MAX_CONTOUR_NODES): the kernel is formed in
        # place, numerator / (1 - Theta)
        kernel = (q * (a * t)[None, :]) @ q.T
        theta = (q * (w * t * t)[None, :]) @ q.T
        theta *= gamma * s[:, None]
        theta *= s[None, :]
        np.subtract(1.0, theta, out=theta)
        np.divide(kernel, theta, out=kernel)
        del theta
        cache["bias_kernel"] = kernel
        self._cache = cache
        return cache

    # ---------------------------------------------------------------- filters on nodes
    def _decay2(self, s, z):
        return self._decay(s, z) ** 2

    def _fit_filter(self, s, z):
        # (1 - d)^2 / z, analytic at 0 with value 0
        z = np.asarray(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (1.0 - self._decay(s, z)) ** 2 / z
        return np.where(z == 0, 0.0, out)

    def _z_decay2(self, s, z):
        return z * self._decay(s, z) ** 2

    # ---------------------------------------------------------------- public theory
    def bias(self, arg, *, method="contour"):
        """Bias ``beta^T e^{-tS} Sigma e^{-tS} beta + (init_var/p) tr Sigma e^{-2tS}``.

        Expectation over the noise and ``w_0`` given the design; a double contour integral
        of the two-point equivalent (theory note linear.md §3.5, §7a). ``method`` is
        ``"contour"`` (any population) or ``"quadrature"`` (isotropic population only:
        Gauss-Legendre quadrature of the Marchenko-Pastur density, an independent route).
        """
        arg = self._check_arg(arg)
        if self._use_quadrature(method):
            return _as_output(self._quadrature(arg)["bias"], arg)
        c = self._nodes()
        cont = c["contour"]
        flat = self._scaled(np.reshape(arg, -1))
        out = cont.double_integral(self._decay, flat, c["bias_kernel"]).real
        if self.init_var > 0:
            out = out + self._init_on_range * cont.spectral_integral(
                self._decay2, flat, c["trace_sigma_q"]).real
        return _as_output(_nonnegative(out) * self._unit, arg)

    def variance(self, arg, *, method="contour"):
        """Variance ``(noise_var/n) tr Sigma (1 - e^{-tS})^2 S^+`` (theory note §7a).

        ``method`` as in :meth:`bias`.
        """
        arg = self._check_arg(arg)
        if self._use_quadrature(method):
            return _as_output(self._quadrature(arg)["variance"], arg)
        c = self._nodes()
        out = self.noise_var * self._ratio * c["contour"].spectral_integral(
            self._fit_filter, self._scaled(np.reshape(arg, -1)), c["trace_sigma_q"]).real
        return _as_output(_nonnegative(out), arg)

    def test_error(self, arg, *, method="contour"):
        """Test error with a fresh noisy label: ``noise_var + bias + variance``."""
        return _as_output(self.noise_var + np.asarray(self.bias(arg, method=method))
                          + np.asarray(self.variance(arg, method=method)), arg)

    def excess_error(self, arg, *, method="contour"):
        """Excess test error ``bias + variance``."""
        return _as_output(np.asarray(self.bias(arg, method=method))
                          + np.asarray(self.variance(arg, method=method)), arg)

    def train_error(self, arg, *, method="contour"):
        """Training mean squared error ``||y - X w||^2 / n`` (theory note §7a).

        ``beta^T S e^{-2tS} beta + (init_var/p) tr S e^{-2tS} + noise_var (1/n) tr e^{-2tK}``
        with ``(1/n) tr e^{-2tK} = 1 - gamma + gamma int e^{-2tx} dmu(x)``, ``gamma = r/n``
        the ratio of the positive part of ``Sigma`` (rank ``r``). ``method`` as in
        :meth:`bias`.
        """
        arg = self._check_arg(arg)
        if self._use_quadrature(method):
            return _as_output(self._quadrature(arg)["train"], arg)
        c = self._nodes()
        cont = c["contour"]
        flat = self._scaled(np.reshape(arg, -1))
        g = self._ratio
        signal = cont.spectral_integral(self._z_decay2, flat,
                                        c["beta_q_beta"] + self._init_on_range * c["trace_q"]).real
        noise = 1.0 - g + g * cont.spectral_integral(self._decay2, flat, c["trace_q"]).real
        return _as_output(_nonnegative(signal) * self._unit
                          + self.noise_var * _nonnegative(noise), arg)

    # ---------------------------------------------------------------- isotropic route
    def _use_quadrature(self, method):
        if method == "contour":
            return False
        if method != "quadrature":
            raise ValueError(f"`method` of {self._owner} must be 'contour' or 'quadrature'; "
                             f"got {method!r}")
        if self._atoms.size != 1:
            raise ValueError(f"`method` of {self._owner} may be 'quadrature' only for an "
                             f"isotropic population (one distinct eigenvalue); got "
                             f"{self._atoms.size} distinct eigenvalues")
        return True

    def _quadrature(self, arg, n_points=1000):
        """Isotropic closed route (theory note §7a, "Isotropic"): Marchenko-Pastur integrals.

        With ``Sigma = s0 I`` the eigenvalues of ``S`` are ``s0 x``, ``x ~ MP(gamma)`` (with
        its atom ``(1 - 1/gamma)_+`` at 0); every quantity is an integral against the MP
        density, computed by Gauss-Legendre in ``theta`` after ``x = (a+b)/2 + (b-a)/2
        cos(theta)``, which removes the square-root edges.
        """
        g = self._ratio
        s0 = float(self._atoms[0])
        r2 = float(self._energy[0])
        i2 = self._init_on_range
        a, b = (1 - np.sqrt(g)) ** 2, (1 + np.sqrt(g)) ** 2
        nodes, wts = _gauss_legendre(n_points)
        theta = 0.5 * np.pi * (nodes + 1.0)
        x = 0.5 * (a + b) + 0.5 * (b - a) * np.cos(theta)
        dens = (0.5 * (b - a) * np.sin(theta)) ** 2 / (2 * np.pi * g * x) * (0.5 * np.pi * wts)
        atom = max(1.0 - 1.0 / g, 0.0)
        flat = self._scaled(np.reshape(arg, -1))
        d = self._decay(flat[:, None], s0 * x[None, :]).real
        d0 = self._decay(flat, 0.0).real if atom > 0 else np.zeros(flat.size)
        int_d2 = (d ** 2) @ dens + atom * d0 ** 2
        bias = (r2 + i2) * s0 * int_d2 * self._unit
        variance = self.noise_var * g * (((1.0 - d) ** 2) @ (dens / x))
        train = ((r2 + i2) * ((d ** 2) @ (dens * s0 * x)) * self._unit
                 + self.noise_var * (1.0 - g + g * int_d2))
        return {"bias": bias, "variance": variance, "train": train}

    # ---------------------------------------------------------------- simulation
    def _draw(self, rng):
        n, p = self.n_samples, self.n_features
        X = rng.standard_normal((n, p)) * np.sqrt(self.population)[None, :]
        eps = np.sqrt(self.noise_var) * rng.standard_normal(n)
        w0 = np.sqrt(self.init_var / p) * rng.standard_normal(p)
        return X, eps, w0, self._problem.draw_target(rng)

    @staticmethod
    def _decompose(X):
        """Thin SVD ``X / sqrt(n) = U diag(sv) Vt`` of the non-zero part, with the numerical
        rank of :func:`hdeq.models._gcv._svd` (the ``matrix_rank`` tolerance), as the ridge
        twin. The eigenvalues ``sv^2`` of ``S`` are then accurate to ~1e-9 relative down to
        ``p * eps`` of the largest, where the population rule (:mod:`._population`) puts its
        zeros; the Gram ``eigh`` used before lost them below ~1e-10 and dropped them, while
        the theory kept smaller population eigenvalues (30 standard errors apart
        at t = 1e11 for eigenvalues 1e-10)."""
        n, _ = X.shape
        U, d, Vt = _svd(X / np.sqrt(n))
        return U, d, Vt, d * d

    def _conditional(self, X, beta, params, svd):
        """Exact conditional bias and variance given X (expectation over noise and w_0)."""
        n, p = X.shape
        sig = self.population
        U, sv, Vt, lam = svd
        # the filters take the unit-scale convention of the theory (times t * unit)
        d = self._decay(self._scaled(params)[:, None], lam[None, :] / self._unit).real
        vb = Vt @ beta                                                   # (r,)
        eb = beta[None, :] + ((d - 1.0) * vb[None, :]) @ Vt              # (P, p) e^{-tS} beta
        bias = (eb ** 2) @ sig
        vsv = (Vt ** 2) @ sig                                            # v_j^T Sigma v_j
        if self.init_var > 0:
            bias = bias + self.init_var / p * (sig.sum() + (d ** 2 - 1.0) @ vsv)
        variance = self.noise_var / n * (((1.0 - d) ** 2 / lam[None, :]) @ vsv)
        return bias, variance

    def _simulate_table(self, params, trials, seed, runner):
        params = np.asarray(params, dtype=float).reshape(-1)
        trials = check_trials(trials, f"{self._owner}.simulate")
        rng = as_generator(seed)
        draws = {q: np.empty((trials, params.size)) for q in _QUANTITIES}
        with small_matrix_blas(min(self.n_samples, self.n_features)):
            for i in range(trials):
                X, eps, w0, beta = self._draw(rng)
                svd = self._decompose(X)
                test, train = runner(X, eps, w0, beta, params, svd)
                bias, variance = self._conditional(X, beta, params, svd)
                draws["test_error"][i], draws["train_error"][i] = test, train
                draws["bias"][i], draws["variance"][i] = bias, variance
        theory = {"test_error": self.test_error(params), "train_error": self.train_error(params),
                  "bias": self.bias(params), "variance": self.variance(params)}
        return _tidy_table(self._arg_name, params, draws, theory, n_samples=self.n_samples,
                           n_features=self.n_features)


class GradientFlow(_LeastSquaresDynamics):
    r"""Gradient flow on least squares: test, train, bias and variance over time.

    Deterministic equivalent of the risks of ``w(t)`` solving ``dw/dt = -grad L(w)``,
    ``L(w) = ||y - X w||^2/(2n)``, from ``w_0 ~ N(0, init_var/p I)``, for any population
    spectrum and target (theory note linear.md §7a; Advani & Saxe 2020 for the isotropic
    case, Ali, Kolter & Tibshirani 2019 for the continuous-time view):

    .. math::
        B(t) = \frac{1}{(2\pi i)^2}\oint\oint e^{-t z_1} e^{-t z_2}
               \frac{\beta^\top \bar Q_1 \Sigma \bar Q_2 \beta}{1 - \Theta_{12}} dz_1 dz_2
               + \sigma_0^2 \int e^{-2tx}\, d\nu_\Sigma(x),
        \qquad
        V(t) = -\frac{\sigma^2}{n}\frac{1}{2\pi i}\oint \frac{(1 - e^{-tz})^2}{z}
               \operatorname{tr}\Sigma \bar Q(z)\, dz,

    (see the module docstring for the train error). Time is in units of the learning
    rate times the number of steps.

    Parameters
    ----------
    population : array_like or tuple or law
        The population covariance ``Sigma``, in any form :class:`hdeq.RidgeRegression`
        accepts (:func:`hdeq.models._population.parse_population`): eigenvalues ``>= 0``,
        ``(values, weights)`` or a spectral law (both with ``n_features``), or a ``(p, p)``
        matrix. Zero eigenvalues are allowed: those directions carry no data and enter no
        risk, so the theory runs on the positive part (rank ``r``, ratio ``r/n``).
        Eigenvalues ``<= n_features * eps`` times the largest are such zeros, for the theory and the
        twin alike (the rule of every linear model; ``snapped_weight``), so that ``t ->
        inf`` gives exactly :class:`hdeq.RidgeRegression` at ridge 0.
    target : array_like of shape (n_features,), optional
        Coefficients of ``beta`` in the eigenbasis of ``Sigma`` (same order), or ``beta``
        itself when ``population`` is a matrix. Give exactly one of ``target`` and
        ``signal_var``.
    signal_var : float, optional
        Isotropic random target ``beta ~ N(0, signal_var/p I)`` (theory: ``b_k^2 =
        signal_var/p``; the simulation draws a fresh ``beta`` per trial), as in
        :class:`hdeq.RidgeRegression`.
    noise_var : float
        Label noise variance ``sigma^2 >= 0``.
    n_samples : int
        Number of training samples ``n``; must differ from the number ``r`` of positive
        eigenvalues of ``Sigma`` (ValueError: at ``r = n`` the spectrum of ``S`` touches 0
        and the variance diverges as ``t -> inf``).
    init_var : float
        ``E ||w_0||^2``; ``w_0 ~ N(0, init_var/p I)``.
    n_nodes : int
        Nodes of the log-ellipse contour (300 gives ~1e-12 on spectra spanning 4 decades).
    n_features : int, optional
        Required when ``population`` is ``(values, weights)`` or a law; checked otherwise.

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> beta = np.zeros(1000); beta[0] = 1.0
    >>> gf = hdeq.GradientFlow(np.ones(1000), beta, noise_var=0.5, n_samples=2000)
    >>> np.round(gf.variance([0.5, 2.0]), 6)       # theory note §7a oracle table
    array([0.03279 , 0.160894])
    """

    _owner = "GradientFlow"
    _arg_name = "time"

    def __init__(self, population, target=None, *, signal_var=None, noise_var, n_samples,
                 init_var=0.0, n_nodes=300, n_features=None):
        super().__init__(population, target, signal_var, noise_var, n_samples, init_var,
                         n_nodes, n_features)

    def _decay(self, s, z):
        return np.exp(-s * z)

    def _scaled(self, times):
        # t * unit; beyond MAX_TIME every filter e^{-t z} (Re z > 0 on the contour) is 0
        with np.errstate(over="ignore"):
            return np.minimum(np.asarray(times, float) * self._unit, MAX_TIME)

    def _check_arg(self, times):
        return check_array(times, "times", self._owner, nonnegative=True)

    def simulate(self, times, trials=8, seed=None) -> pd.DataFrame:
        """Monte-Carlo twin: exact gradient flow through the SVD of each drawn design.

        Each trial draws ``X``, the noise and ``w_0``, computes ``w(t)`` exactly (spectral
        formula above), and records the realized test error (exact expectation over a fresh
        test point: ``noise_var + (w - beta)^T Sigma (w - beta)``) and training error; the
        ``bias`` and ``variance`` rows are the exact conditional expectations given ``X``.
        ``trials >= 2`` independent draws (so that the standard error exists).

        Returns
        -------
        pandas.DataFrame
            Tidy: ``time, quantity, theory, empirical, stderr, n_samples, n_features,
            trials`` with ``quantity`` in test_error / train_error / bias / variance.
        """
        times = self._check_arg(times)
        return self._simulate_table(times, trials, seed, self._run_flow)

    def _run_flow(self, X, eps, w0, beta, times, svd):
        n = X.shape[0]
        U, sv, Vt, lam = svd
        d = np.exp(-times[:, None] * lam[None, :])                    # (T, r)
        d0 = w0 - beta
        e = U.T @ eps / np.sqrt(n)
        coef = (d - 1.0) * (Vt @ d0)[None, :] + (1.0 - d) / sv[None, :] * e[None, :]
        delta = d0[None, :] + coef @ Vt                                # (T, p) = w(t) - beta
        test = self.noise_var + (delta ** 2) @ self.population
        r0 = X @ (beta - w0) + eps
        ur = U.T @ r0
        train = (r0 @ r0 - ur @ ur + (d ** 2) @ (ur ** 2)) / n
        # r0 @ r0 - ur @ ur cancels where the fit interpolates (p >= n): a mean of squares
        # is >= 0, so a rounding floor like -7e-16 is clipped (it broke log axes)
        return test, np.maximum(train, 0.0)


class GradientDescent(_LeastSquaresDynamics):
    r"""Gradient descent with a fixed learning rate: risks as functions of the step count.

    Same model and formulas as :class:`GradientFlow` with the gradient-flow filter
    ``e^{-ts}`` replaced by ``(1 - eta s)^k`` after ``k`` steps of
    ``w <- w - eta X^T (X w - y)/n`` (theory note linear.md §7a). The contour is chosen
    with ``|1 - eta z| <= 1`` on it (:func:`hdeq.core.spectral_contour` with ``step``),
    which requires ``eta < 2 / upper edge`` of the limiting spectrum of ``S``.

    Parameters
    ----------
    population, target, signal_var, noise_var, n_samples, init_var, n_nodes, n_features
        As in :class:`GradientFlow`.
    learning_rate : float
        Step size ``eta > 0``, below ``2 / (upper edge of the limiting spectrum of S)``
        (ValueError printing that limit). Near the limit the contour height shrinks like
        ``sqrt(1 - eta edge / 2)`` and the node count is doubled up to four times (from
        ``n_nodes`` to at most ``16 n_nodes``, and at most ``MAX_CONTOUR_NODES = 8192`` in
        all: the bias kernel takes ``32 M^2`` bytes) until the total-mass self-test is met
        to 1e-12. With the default ``n_nodes = 300`` this reaches ``1 - eta edge / 2`` of
        about 1e-4 to 1e-5 (depending on the spectrum); closer to the limit the
        ConvergenceError gives the largest learning rate that works. :meth:`simulate`
        raises a ValueError naming the draw's top eigenvalue when a finite design exceeds
        ``2/eta`` (GD diverges there).

    The step counts ``k`` the methods take (``steps``) are whole numbers in ``[0, 2^62]``
    (integers or integral floats, not booleans); a larger one, e.g.
    ``2**63 - 1`` or a Python int beyond int64 such as ``10**20``, is a ValueError saying
    it is too large.

    Examples
    --------
    >>> import numpy as np, hdeq
    >>> beta = np.zeros(200); beta[0] = 1.0
    >>> gd = hdeq.GradientDescent(np.ones(200), beta, noise_var=0.5, n_samples=400,
    ...                           learning_rate=0.1)
    >>> gf = hdeq.GradientFlow(np.ones(200), beta, noise_var=0.5, n_samples=400)
    >>> bool(abs(gd.test_error(200) - gf.test_error(20.0)) < 0.01)   # t ~ eta k
    True
    """

    _owner = "GradientDescent"
    _arg_name = "steps"
    # stricter than the 1e-8 self-test: near eta * edge = 2 the filters (1 - eta z)^k
    # are harder to integrate than f = 1 (at mass error 1e-9 the risk at k = 1000 was off
    # by 2e-6; at <= 1e-12 every checked k agreed with the quadrature route to 1e-12)
    _mass_target = 1e-12

    def __init__(self, population, target=None, *, signal_var=None, noise_var, n_samples,
                 learning_rate, init_var=0.0, n_nodes=300, n_features=None):
        self.learning_rate = check_scalar(learning_rate, "learning_rate", self._owner, low=0.0)
        super().__init__(population, target, signal_var, noise_var, n_samples, init_var,
                         n_nodes, n_features)
        self._eta = self.learning_rate * self._unit     # on the unit population

    def _contour_step(self):
        return self._eta

    def _contour_options(self, lo, hi):
        """Contour squeezed between the spectrum and ``2/eta``: with ``c = 1 - eta hi/2``
        the gap between the upper edge and the disc ``|1 - eta z| <= 1`` is ``~ 2 c hi``, and
        a log-ellipse of height ``h`` resolves it with ``~ h/c`` nodes while the bulk needs
        ``~ 1/h``: the height ``min(1, 2 sqrt(c))`` balances both (measured: the total-mass
        self-test then passes with <= 600 nodes for ``eta hi / 2`` up to 0.9995 on a
        Marchenko-Pastur bulk, where height 1 needs 300 nodes at 0.95 and 4800 at 0.995).
        The node count doubles from ``n_nodes`` up to four times (at most ``16 n_nodes``)
        until the total-mass error is below 1e-12."""
        c = 1.0 - 0.5 * self._eta * hi
        height = float(min(1.0, 2.0 * np.sqrt(max(c, 0.0))))
        return {"height": height}, [self.n_nodes * 2 ** i for i in range(5)]

    def _unresolved_hint(self, lo, hi, options, counts):
        """Near the stability limit more nodes help only slowly (about ``1/sqrt(c)``, ``c
        = 1 - eta edge/2``) and cost memory (``32 M^2`` bytes): say how close to the limit
        the learning rate is, and the largest learning rate that passes the self-test with
        these node counts (bisection in ``log c`` on the cheap total-mass test at the
        largest count)."""
        c_now = 1.0 - 0.5 * self._eta * hi
        more = super()._unresolved_hint(lo, hi, options, counts)
        if not c_now < 0.05:
            return more
        law = self._law()[0]
        t, w = self._atoms, self._weights

        def passes(c):
            eta = 2.0 * (1.0 - c) / hi
            contour = spectral_contour(lo, hi, n_nodes=counts[-1], step=eta,
                                       height=float(min(1.0, 2.0 * np.sqrt(c))))
            z = contour.nodes
            mt = _companion_on(law, z)
            q = -1.0 / (z[:, None] * (1.0 + mt[:, None] * t[None, :]))
            return _mass_error(contour, q @ w)[0] <= self._mass_target

        bad, good = np.log(c_now), np.log(0.05)
        if not passes(0.05):
            return more
        for _ in range(8):
            mid = 0.5 * (bad + good)
            bad, good = (bad, mid) if passes(np.exp(mid)) else (mid, good)
        c_ok = float(np.exp(good))
        edge = hi * self._unit
        eta_ok = np.floor(2.0 * (1.0 - c_ok) / edge * 1e6) / 1e6
        return (f"learning_rate = {self.learning_rate:.9g} is within 1 - learning_rate * "
                f"edge / 2 = {c_now:.3g} of the stability limit 2 / edge = {2.0 / edge:.9g} "
                f"(upper edge {edge:.6g}), too close for contours of up to {counts[-1]} "
                f"nodes. The largest learning rate that works with n_nodes = "
                f"{self.n_nodes} is about {eta_ok:.6g} (1 - learning_rate * edge / 2 >= "
                f"{c_ok:.2g}): use a learning rate at most that. (More nodes help only "
                f"slowly, about 1/sqrt(1 - learning_rate * edge / 2), and the contour is "
                f"capped at {MAX_CONTOUR_NODES} nodes, the 2 GiB memory bound of the bias "
                f"kernel.)")

    def _nodes(self):
        if self._cache is None:
            _, lo, hi = self._law()
            if not self._eta * hi < 2.0:
                edge = hi * self._unit
                raise ValueError(f"`learning_rate` of GradientDescent must be below 2 / "
                                 f"(upper edge of the limiting spectrum of S) = "
                                 f"{2.0 / edge:.6g} (upper edge {edge:.6g}); got "
                                 f"{self.learning_rate!r}")
        return super()._nodes()

    def _decay(self, k, z):
        # (1 - eta z)^k for integer k >= 0, vectorized (exact complex power)
        return (1.0 - self._eta * z) ** k

    def _check_arg(self, steps):
        return check_counts(steps, "steps", self._owner, low=0)   # [0, 2^62]

    def simulate(self, steps, trials=8, seed=None, *, max_flops=1e12) -> pd.DataFrame:
        """Monte-Carlo twin running the actual gradient-descent loop.

        Each trial draws ``X``, noise and ``w_0`` and iterates ``w <- w - eta X^T(Xw - y)/n``
        up to ``max(steps)``, recording the realized test error (exact over a fresh test
        point) and training error at the requested step counts; ``bias`` and ``variance``
        are the exact conditional expectations given ``X`` (spectral formula with the GD
        filter). Columns as in :meth:`GradientFlow.simulate`, with ``steps``;
        ``trials >= 2`` independent draws (so that the standard error exists).

        Cost: the loop is real gradient descent, one step after the other, so it grows
        linearly in ``max(steps)``: ``trials * max(steps) * (2 min(p^2, 2 n p) + 2e4)``
        operations (a step is one product with ``X^T X / n`` when ``p <= 2n``, else with
        ``X`` and ``X^T``; 2e4 stands for the ~2 microseconds of Python per step), at
        roughly 1e10 per second: about 1 s per 10^5 steps and trial at ``n = 400, p = 200``.
        Above ``max_flops`` (default 1e12, a minute or two) it raises a ValueError with the
        estimate instead of starting; pass ``max_flops=float("inf")`` to run anyway. The
        theory (:meth:`test_error` etc.) costs the same at any step count.
        """
        steps = self._check_arg(steps)
        trials_ = check_trials(trials, f"{self._owner}.simulate")
        flops = self._loop_flops(steps, trials_)
        limit = check_scalar(max_flops, "max_flops", f"{self._owner}.simulate", low=0.0) \
            if np.isfinite(max_flops) else np.inf
        if flops > limit:
            raise ValueError(
                f"`steps` of {self._owner}.simulate: max(steps) = {int(steps.max())} runs that "
                f"many actual gradient-descent steps per trial, about {flops:.3g} "
                f"operations for {trials_} trials (n = {self.n_samples}, p = "
                f"{self.n_features}; roughly {flops / 1e10:.3g} s at 1e10 per second), above "
                f"max_flops = {limit:.3g}; use fewer steps or trials, or pass "
                f"max_flops=float('inf') to run it anyway (the theory needs no simulation "
                f"at any step count)")
        return self._simulate_table(steps, trials_, seed, self._run_loop)

    def _loop_flops(self, steps, trials):
        n, p = self.n_samples, self.n_features
        per_step = 2.0 * min(p * p, 2 * n * p) + 2e4     # products + Python overhead
        return float(trials) * float(np.max(steps, initial=0)) * per_step

    def _run_loop(self, X, eps, w0, beta, steps, svd):
        n = X.shape[0]
        if svd is None:
            svd = self._decompose(X)
        top = float(svd[3].max())
        eta = self.learning_rate
        if steps.size and steps.max() > 0 and eta * top > 2.0:
            # |1 - eta s| > 1 on the top eigen-direction: the iterates grow like
            # |1 - eta s|^k, and the limiting theory (edge < 2/eta) does not describe it
            raise ValueError(
                f"`learning_rate` of GradientDescent.simulate is too large for a drawn "
                f"design: the largest eigenvalue of X^T X/n in this draw is {top:.6g} > "
                f"2/learning_rate = {2.0 / eta:.6g}, so gradient descent diverges on it "
                f"(the limiting upper edge is {self._law()[2] * self._unit:.6g}, finite draws "
                f"exceed it by "
                f"O(n^(-2/3))); use learning_rate < {2.0 / top:.6g} or a larger n_samples")
        y = X @ beta + eps
        order = np.argsort(steps, kind="stable")
        wanted = steps[order].astype(int)
        test = np.empty(steps.size)
        train = np.empty(steps.size)
        w = w0.copy()
        k = 0
        p = X.shape[1]
        gram = p <= 2 * n                # grad = S w - X^T y/n: one p x p product per step
        if gram:
            S = X.T @ X / n
            c = X.T @ y / n
        try:
            with np.errstate(over="raise", invalid="raise"):
                for idx, target_k in zip(order, wanted):
                    while k < target_k:
                        if gram:
                            w -= eta * (S @ w - c)
                        else:
                            w -= eta * (X.T @ (X @ w - y)) / n
                        k += 1
                    delta = w - beta
                    test[idx] = self.noise_var + delta ** 2 @ self.population
                    r = y - X @ w
                    train[idx] = r @ r / n
        except FloatingPointError:   # pragma: no cover - the eigenvalue check comes first
            raise ValueError(f"`learning_rate` of GradientDescent.simulate: the iterates "
                             f"overflowed after {k} steps (top eigenvalue of the draw "
                             f"{top:.6g}, 2/learning_rate = {2.0 / eta:.6g}); use a smaller "
                             f"learning_rate") from None
        return test, train
