"""Linear equivalents of kernel matrices (El Karoui 2010; Couillet & Benaych-Georges 2016):
exact reductions, operator-norm error shrinking with size, bulk law and spikes vs
simulation."""

import math

import numpy as np
import pytest
from scipy.linalg import toeplitz

from hdeq.equivalents._kernels import KernelEquivalent, _derivatives, kernel_equivalent
from hdeq.laws import MarchenkoPastur


def opnorm(A):
    return float(np.linalg.norm(A, 2))


def centred(A):
    n = A.shape[0]
    P = np.eye(n) - 1.0 / n
    return P @ A @ P


# --------------------------------------------------------------------------- exact cases
@pytest.mark.parametrize("kind", ["inner_product", "distance"])
def test_affine_f_is_reproduced_exactly(kind):
    """f(t) = a + b t: the kernel is affine in G (and q), so K~ = K up to rounding."""
    keq = kernel_equivalent(lambda t: 0.3 + 1.7 * t, kind=kind, n_features=30, n_samples=40,
                            derivatives=(lambda t: 1.7 + 0 * t, lambda t: 0 * t))
    s = keq.sample(seed=0)
    np.testing.assert_allclose(s.equivalent, s.kernel, atol=1e-12)


def test_finite_difference_derivatives():
    f0, f1, f2 = _derivatives(np.exp, 0.7)
    assert (f0, f1, f2) == pytest.approx((np.exp(0.7),) * 3, rel=1e-9)
    keq_fd = kernel_equivalent(lambda t: np.exp(-t / 4), kind="distance", n_features=50,
                               n_samples=20)
    keq_ex = kernel_equivalent(lambda t: np.exp(-t / 4), kind="distance", n_features=50,
                               n_samples=20, derivatives=(lambda t: -np.exp(-t / 4) / 4,
                                                          lambda t: np.exp(-t / 4) / 16))
    for key, val in keq_ex.coefficients.items():
        assert keq_fd.coefficients[key] == pytest.approx(val, rel=1e-8, abs=1e-12)


def test_coefficients_closed_form():
    """Distance kernel exp(-t/2) on N(0, I): tau = 2, slope = -2 f'(2) = e^{-1},
    shift = f(0) - f(2) + 2 f'(2) = 1 - 2 e^{-1} (theory note §2.2)."""
    keq = kernel_equivalent(lambda t: np.exp(-t / 2), kind="distance", n_features=10,
                            n_samples=5)
    c = keq.coefficients
    assert c["tau"] == 2.0
    assert c["slope"] == pytest.approx(np.exp(-1), rel=1e-9)
    assert c["shift"] == pytest.approx(1 - 2 * np.exp(-1), rel=1e-9)


# --------------------------------------------------------------------------- operator norm
@pytest.mark.simulation
def test_inner_product_equivalent_error_shrinks():
    """El Karoui inner-product equivalent (theory note §2.1; oracle ||K - K~|| = 0.30 at
    p = 1000, n = 1200 for f = exp): the error decreases with p, and the equivalent
    without the identity term is worse by a wide margin (discriminative)."""
    errs, worse = [], []
    for p in (100, 200, 400):
        keq = kernel_equivalent(np.exp, kind="inner_product", n_features=p,
                                n_samples=int(1.2 * p))
        s = keq.sample(seed=p)
        errs.append(opnorm(s.kernel - s.equivalent))
        shift = keq.coefficients["shift"]
        worse.append(opnorm(s.kernel - s.equivalent + shift * np.eye(len(s.labels))))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.8                     # ||K|| ~ n f(0) = 480
    # without the identity term the error grows by about shift = e - 2 = 0.718
    assert all(w > e + 0.5 * shift for w, e in zip(worse, errs))


@pytest.mark.simulation
def test_mixture_distance_kernel_equivalent():
    """Couillet & Benaych-Georges PKP form on the 3-class mixture of theory note §2.4
    (oracle at p = 1000, n = 1200: ||PKP|| = 1.53, error 0.035, 0.248 without f''):
    the error shrinks with p and dropping the f'' terms is clearly worse."""
    errs = []
    for p in (150, 300):
        e = np.eye(p)
        means = np.array([2 * e[0], 2 * e[1], 0 * e[0]])
        cov = np.array([np.eye(p), (1 + 4 / np.sqrt(p)) * np.eye(p),
                        toeplitz(0.4 ** np.arange(p))])
        keq = kernel_equivalent(lambda t: np.exp(-t / 4), kind="distance", means=means,
                                covariances=cov, n_samples=int(1.2 * p))
        no_curv = KernelEquivalent(lambda t: np.exp(-t / 4), "distance", means=means,
                                   covariances=cov, n_samples=int(1.2 * p),
                                   derivatives=(lambda t: -np.exp(-t / 4) / 4,
                                                lambda t: 0 * t))
        s = keq.sample(seed=11)
        K = centred(s.kernel)
        err = opnorm(K - centred(s.equivalent))
        err_no = opnorm(K - centred(no_curv.matrix(s.X, s.labels)))
        assert err < 0.1 * opnorm(K)
        assert err_no > 2 * err
        errs.append(err)
    assert errs[1] < errs[0]


# --------------------------------------------------------------------------- limits
def spike_model(p, kind="distance", f=lambda t: np.exp(-t / 2)):
    mu = np.zeros(p)
    mu[0] = np.sqrt(1.5)
    return kernel_equivalent(f, kind=kind, means=[mu, -mu], n_samples=2 * p)


def test_spike_formula_oracle():
    """Two classes +-mu, ||mu||^2 = 1.5, c0 = p/n = 0.5: Gram spike (1 + l)(1 + c0/l)/c0
    = 6.6667 and alignment (1 - c0/l^2)/(1 + 1/l) = 0.4667 (theory note §2.4/§2.5 oracle)."""
    sp = spike_model(100).spikes()
    assert sp["gram_eigenvalue"] == pytest.approx([20 / 3], rel=1e-12)
    assert sp["alignment"] == pytest.approx([0.46666667], rel=1e-7)
    keq = spike_model(100)
    c = keq.coefficients
    assert sp["eigenvalue"][0] == pytest.approx(c["slope"] * 20 / 3 + c["shift"], rel=1e-12)


def test_subcritical_means_give_no_spike():
    mu = np.zeros(100)
    mu[0] = 0.5                              # theta^2 = 0.25 < sqrt(c0) = 0.707
    keq = kernel_equivalent(lambda t: np.exp(-t / 2), means=[mu, -mu], n_samples=200)
    assert keq.spikes()["eigenvalue"].size == 0


@pytest.mark.parametrize("f, z, m_ref", [
    # theory note §2.1 oracle (n = 1200, p = 1000, Sigma = I), column "limit"
    (np.exp, -1.0, 0.41957), (np.exp, 1 + 0.5j, 0.12520 + 1.05744j),
    (lambda t: 1 / (1 + np.exp(-4 * t)), -1.0, 1.09349),
    (lambda t: 1 / (1 + np.exp(-4 * t)), 1 + 0.5j, -0.33040 + 0.56094j),
])
def test_inner_product_limit_oracle(f, z, m_ref):
    """Limiting Stieltjes transform of the El Karoui equivalent, m_MP((z - c0)/f'(0))/f'(0)
    with c0 = f(tau) - f(0) - tau f'(0), against the note's limit values (5 decimals)."""
    keq = kernel_equivalent(f, kind="inner_product", n_features=1000, n_samples=1200)
    m = complex(keq.spectrum().stieltjes(np.array([z], dtype=complex))[0])
    assert abs(m.real - m_ref.real) <= 6e-6 and abs(m.imag - complex(m_ref).imag) <= 6e-6


def test_linear_inner_product_spectrum_is_mp():
    keq = kernel_equivalent(lambda t: 2.0 * t, kind="inner_product", n_features=100,
                            n_samples=50, derivatives=(lambda t: 2.0 + 0 * t,
                                                       lambda t: 0 * t))
    law = keq.spectrum()
    z = np.array([1 + 1j, -0.3 + 0.1j, 5 + 0.01j])
    mp = MarchenkoPastur(0.5)
    np.testing.assert_allclose(law.stieltjes(z), mp.stieltjes(z / 2) / 2, atol=1e-12)


@pytest.mark.simulation
def test_spikes_bulk_and_alignment_vs_simulation():
    """PKP of the distance kernel on +-mu data: top eigenvalue, eigenvector alignment and
    the empirical Stieltjes transform of the bulk vs theory, |mean - theory| <= 4 stderr
    + C/sqrt(p) (C = 1 for eigenvalues and alignments, 0.3 for m(z)); the spike error
    shrinks from p = 100 to p = 300."""
    errors = []
    for p in (100, 300):
        keq = spike_model(p)
        sp = keq.spikes()
        law = keq.spectrum()
        z = np.array([1.0 + 0.3j, 2.0 + 0.3j])
        tops, aligns, ms = [], [], []
        for seed in range(4):
            s = keq.sample(seed=seed)
            ev, U = np.linalg.eigh(centred(s.kernel))
            v = np.eye(2)[s.labels] @ sp["directions"][:, 0]
            v -= v.mean()
            v /= np.linalg.norm(v)
            tops.append(ev[-1])
            aligns.append((U[:, -1] @ v) ** 2)
            ms.append(np.mean(1 / (ev[:-1, None] - z), axis=0))
        tops, aligns, ms = map(np.asarray, (tops, aligns, ms))
        se = lambda a: a.std(0, ddof=1) / np.sqrt(len(a))     # noqa: E731
        assert abs(tops.mean() - sp["eigenvalue"][0]) <= 4 * se(tops) + 1 / np.sqrt(p)
        assert abs(aligns.mean() - sp["alignment"][0]) <= 4 * se(aligns) + 1 / np.sqrt(p)
        assert np.all(np.abs(ms.mean(0) - law.stieltjes(z)) <= 4 * np.abs(se(ms))
                      + 0.3 / np.sqrt(p))
        errors.append(abs(tops.mean() - sp["eigenvalue"][0]))
    assert errors[1] < errors[0]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(f=np.exp, kind="gaussian", n_features=5, n_samples=5), "kind"),
    (dict(f=3.0, kind="distance", n_features=5, n_samples=5), "`f`"),
    (dict(f=np.exp, kind="distance", n_samples=5), "n_features"),
    (dict(f=np.exp, kind="distance", n_features=5, n_samples=0), "n_samples"),
    (dict(f=np.exp, kind="distance", means=[[0.0, np.nan]], n_samples=5), "means"),
    (dict(f=np.exp, kind="distance", means=[[0.0, 1.0]], priors=[0.5], n_samples=5),
     "priors"),
    (dict(f=np.exp, kind="distance", means=[[0.0, 1.0]], covariances=[[1.0, -1.0]],
          n_samples=5), "covariances"),
    (dict(f=np.log, kind="inner_product", n_features=5, n_samples=5), "finite"),
])
def test_bad_input(kwargs, match):
    with np.errstate(divide="ignore"), pytest.raises(ValueError, match=match):
        KernelEquivalent(**kwargs)


def test_bad_data_and_unsupported_limits():
    keq = kernel_equivalent(np.exp, kind="inner_product", n_features=4, n_samples=3)
    with pytest.raises(ValueError, match="X"):
        keq.matrix(np.full((3, 4), np.inf))
    with pytest.raises(ValueError, match="columns"):
        keq.matrix(np.ones((3, 5)))
    with pytest.raises(ValueError, match="labels"):
        keq.matrix(np.ones((3, 4)), labels=[0, 1, 0])
    general = kernel_equivalent(np.exp, kind="inner_product", means=np.zeros((1, 4)),
                                covariances=np.ones((1, 4)), n_samples=3)
    with pytest.raises(ValueError, match="identity covariances"):
        general.spikes()


# ------------------------------------------- f not smooth at the expansion point (user report)
@pytest.mark.parametrize("f", [np.abs, lambda t: np.maximum(t, 0.0), np.sign,
                               lambda t: np.sqrt(np.abs(t)), np.sqrt],
                         ids=["abs", "relu", "sign", "sqrt_abs", "sqrt"])
def test_kink_at_the_expansion_point_is_a_value_error(f):
    """Regression: kind="inner_product" with abs / relu / sign / sqrt|t| returned an
    equivalent 50-380x off (finite-difference f'' = 2333 for abs); sqrt gave NaN
    derivatives. Now a ValueError saying f must be C^3 near 0, with the way out."""
    with np.errstate(invalid="ignore"), pytest.raises(
            ValueError, match=r"`f` of KernelEquivalent must be .*C\^3.* near 0 "
                              r"\(kind='inner_product'\).*derivatives=\(f', f''\)"):
        kernel_equivalent(f, kind="inner_product", n_samples=30, n_features=60)
    # the same f expanded at tau = 2 (distance kernel), where it is smooth: fine
    with np.errstate(invalid="ignore"):
        kernel_equivalent(f, kind="distance", n_samples=30, n_features=60)


def test_kink_at_tau_of_a_distance_kernel_is_a_value_error():
    with pytest.raises(ValueError, match=r"C\^3.* near tau = 2 \(kind='distance'\)"):
        kernel_equivalent(lambda t: np.abs(t - 2.0), kind="distance", n_samples=30,
                          n_features=60)


@pytest.mark.parametrize("f, d1, d2, atol", [
    (np.exp, 1.0, 1.0, 1e-9), (np.cos, 0.0, -1.0, 1e-9), (np.tanh, 1.0, 0.0, 1e-9),
    (lambda t: np.exp(-t ** 2 / 2), 0.0, -1.0, 1e-9),
    (lambda t: 1 - 2 * t + 3 * t ** 2 - t ** 3, -2.0, 6.0, 1e-9),
    (lambda t: 1 / (1 + np.exp(-t)), 0.25, 0.0, 1e-9), (lambda t: np.sin(5 * t), 5.0, 0.0, 1e-7),
    (lambda t: 1e10 * np.exp(t), 1e10, 1e10, 1e1), (lambda t: 1e-300 * np.exp(t), 1e-300, 1e-300,
                                                     1e-309),
    (lambda t: 1e6 + t, 1.0, 0.0, 1e-4),             # rounding of 1e6 / h^2
    (lambda t: t ** 8, 0.0, 0.0, 1e-15),
    (lambda t: t * np.abs(t), 0.0, 0.0, 1e-2),      # C^1 only: f'(0) = 0 to O(h)
], ids=["exp", "cos", "tanh", "gaussian", "cubic", "sigmoid", "sin 5t", "1e10 exp",
        "1e-300 exp", "1e6 + t", "t^8", "t|t|"])
def test_smooth_f_has_accurate_derivatives_and_no_false_alarm(f, d1, d2, atol):
    """No false alarm for smooth f at any amplitude, nor for estimates that converge as
    the step shrinks (t^8, t|t|); the step-h estimates are the ones used."""
    c = kernel_equivalent(f, kind="inner_product", n_samples=10, n_features=20).coefficients
    assert c["f1"] == pytest.approx(d1, rel=1e-9, abs=atol)
    assert c["f2"] == pytest.approx(d2, rel=1e-8, abs=atol)


def test_exact_derivatives_bypass_the_finite_differences():
    """The way out the message names: exact derivatives are used as given."""
    keq = kernel_equivalent(lambda t: np.exp(t) + 1e-9 * np.abs(t), kind="inner_product",
                            n_samples=10, n_features=20, derivatives=(np.exp, np.exp))
    assert keq.coefficients["f2"] == 1.0


# ------------------------------------------- non-vectorized f, X columns (tester defect)
@pytest.mark.parametrize("f", [lambda t: 1.0, math.exp, lambda t: max(t, 0.0),
                               lambda t: np.sum(t)], ids=["constant", "math.exp", "max",
                                                          "reducing"])
@pytest.mark.parametrize("kind", ["distance", "inner_product"])
def test_non_vectorized_f_is_a_clear_value_error(f, kind):
    """A constant or scalar-only f raised a bare IndexError in the derivative stencil."""
    with pytest.raises(ValueError, match=r"`f` of KernelEquivalent must be vectorized.*"
                                         r"same shape"):
        kernel_equivalent(f, kind=kind, n_samples=100, n_features=200)


def test_vectorized_constant_kernel_is_exact():
    """f = 1 (written np.ones_like) gives K = 1 1^T and the equivalent reproduces it."""
    keq = kernel_equivalent(np.ones_like, kind="distance", n_samples=4, n_features=6)
    X = np.random.default_rng(0).standard_normal((4, 6))
    np.testing.assert_array_equal(keq.kernel(X), np.ones((4, 4)))
    np.testing.assert_allclose(keq.matrix(X), np.ones((4, 4)), atol=1e-12)


@pytest.mark.parametrize("kind", ["distance", "inner_product"])
def test_kernel_and_matrix_validate_X_alike(kind):
    keq = kernel_equivalent(np.exp, kind=kind, n_features=4, n_samples=3)
    for bad, match in ((np.ones((3, 5)), "4 columns"), (np.full((3, 4), np.inf), "X"),
                       (np.ones(4), "X")):
        with pytest.raises(ValueError, match=match):
            keq.matrix(bad)
        with pytest.raises(ValueError, match=match):
            keq.kernel(bad)
