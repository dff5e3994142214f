"""Tests of hdeq.activation: Gaussian moments, Hermite coefficients, expected kernels.

Reference values: theory note nonlinear.md §1.2 (moments, 6 printed digits, so abs. tol
1e-6), §1.3 (kernels at (a, b, c) = (1.3, 0.7, 0.4)) and the mpmath script
tests/reference/activation_reference.py (30 digits; stored in activation_reference.json).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import hdeq
from hdeq import activation
from hdeq.equivalents._activations import ACTIVATION_NAMES, QUADRATURE_RTOL

_REF_PATH = Path(__file__).parents[1] / "reference" / "activation_reference.json"
REFERENCE = json.loads(_REF_PATH.read_text()) if _REF_PATH.exists() else {}

# theory note §1.2: (μ0, μ1 = E s', E s², μ*², c2, c3, E s'') at unit variance
TABLE_1_2 = {
    "relu": (0.398942, 0.5, 0.5, 0.090845, 0.282095, 0, 0.398942),
    "abs": (0.797885, 0, 1, 0.363380, 0.564190, 0, 0.797885),
    "sign": (0, 0.797885, 1, 0.363380, 0, -0.325735, 0),
    "step": (0.5, 0.398942, 0.5, 0.090845, 0, -0.162868, 0),
    "erf": (0, 0.651470, 0.464559, 0.040146, 0, -0.177308, 0),
    "tanh": (0, 0.605706, 0.394294, 0.027415, 0, -0.148437, 0),
    "sigmoid": (0.5, 0.206621, 0.293379, 0.000687, 0, -0.025473, 0),
    "gelu": (0.282095, 0.5, 0.425221, 0.095644, 0.299207, 0, 0.423142),
    "swish": (0.206621, 0.5, 0.355776, 0.063083, 0.248085, 0, 0.350845),
    "quadratic": (1, 0, 3, 2, 1.414214, 0, 2),
    "cubic": (0, 3, 15, 6, 0, 2.449490, 0),
    "exp": (1.648721, 1.648721, 7.389056, 1.952492, 1.165822, 0.673088, 1.648721),
    "sin": (0, 0.606531, 0.432332, 0.064453, 0, -0.247615, 0),
    "cos": (0.606531, 0, 0.567668, 0.199788, -0.428882, 0, -0.606531),
    "gaussian": (0.707107, 0, 0.577350, 0.077350, -0.25, 0, -0.353553),
}

# theory note §1.3, closed forms at (a, b, c) = (1.3, 0.7, 0.4)
TABLE_1_3 = {"relu": 0.265378, "abs": 0.661512, "sign": 0.275459, "step": 0.318865,
             "erf": 0.175480, "quadratic": 1.23, "cubic": 3.66, "exp": 4.055200,
             "sin": 0.151107, "cos": 0.397704, "gaussian": 0.516398}

CLOSED = [n for n in ACTIVATION_NAMES if activation(n).closed_form]
QUAD = [n for n in ACTIVATION_NAMES if not activation(n).closed_form]


def _slope(name, value):
    """negative_slope applies to leaky_relu only."""
    return {"negative_slope": value} if name == "leaky_relu" else {}


def _data(rng, n=60, p=40):
    X = rng.standard_normal((n, p)) / np.sqrt(p) * rng.uniform(0.5, 1.5, (n, 1))
    return X


@pytest.mark.parametrize("name", sorted(TABLE_1_2))
def test_unit_variance_table(name):
    mu0, mu1, m2, mustar2, c2, c3, e2 = TABLE_1_2[name]
    act = activation(name)
    coef = act.hermite_coefficients(3)
    ge = act.gaussian_equivalent(1.0)
    np.testing.assert_allclose(
        [act.mean(), act.derivative_mean(), act.second_moment(), ge.mu_star ** 2,
         coef[2], coef[3], act.derivative_mean(1.0, order=2)],
        [mu0, mu1, m2, mustar2, c2, c3, e2], atol=1.5e-6)
    assert ge.mu0 == pytest.approx(mu0, abs=1e-6) and ge.mu1 == pytest.approx(mu1, abs=1e-6)


def test_leaky_relu_table():
    act = activation("leaky_relu", negative_slope=0.1)     # theory note §1.2 row 2
    np.testing.assert_allclose(
        [act.mean(), act.derivative_mean(), act.second_moment(),
         act.gaussian_equivalent().mu_star ** 2, act.hermite_coefficients(2)[2]],
        [0.359048, 0.55, 0.505, 0.073584, 0.253885], atol=1e-6)


def test_exact_constants():
    """Closed forms of the §1.2 table that have exact expressions, to 1e-12."""
    relu, erf = activation("relu"), activation("erf")
    assert relu.mean() == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-14)
    assert relu.gaussian_equivalent().mu_star ** 2 == pytest.approx(0.25 - 1 / (2 * math.pi),
                                                                   abs=1e-14)
    assert erf.derivative_mean() == pytest.approx(2 / math.sqrt(3 * math.pi), abs=1e-14)
    assert erf.second_moment() == pytest.approx(2 / math.pi * math.asin(2 / 3), abs=1e-14)
    assert activation("gelu").second_moment() == pytest.approx(
        1 / 3 + 1 / (2 * math.pi * math.sqrt(3)), abs=1e-12)
    assert activation("gelu").derivative_mean(1.0, 2) == pytest.approx(
        3 / (4 * math.sqrt(math.pi)), abs=1e-12)


@pytest.mark.parametrize("name", CLOSED)
def test_closed_form_moments_equal_quadrature(name):
    """Closed forms in τ (theory note §1.2 second table) against the quadrature tier
    applied to the same function given as a plain callable (two routes, 1e-10)."""
    closed = activation(name, **_slope(name, 0.2))
    plain = activation(closed._func, name=f"plain {name}")
    assert not plain.closed_form
    tau = np.array([0.3, 1.0422, 2.0, 4.0])
    for order in (1, 2, 3):
        np.testing.assert_allclose(closed.derivative_mean(tau, order),
                                   plain.derivative_mean(tau, order), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(closed.mean(tau), plain.mean(tau), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(closed.second_moment(tau), plain.second_moment(tau),
                               rtol=1e-10)


@pytest.mark.parametrize("name", ["relu", "erf", "gelu", "cos", "gaussian"])
def test_heat_equation_rule(name):
    """d/dτ E s(√τ ξ) = E s''(√τ ξ)/2 (theory note §1.2), central differences."""
    act, tau, h = activation(name), 1.3, 1e-4
    slope = (act.mean(tau + h) - act.mean(tau - h)) / (2 * h)
    assert slope == pytest.approx(act.derivative_mean(tau, 2) / 2, abs=1e-7)


def test_relu_hermite_coefficients_closed_form():
    """ReLU: c_k = He_{k-2}(0)/(sqrt(2π) sqrt(k!)) for k ≥ 2 (Stein twice), c_k = 0 for odd
    k ≥ 3; checked up to order 40 at 1e-10."""
    coef = activation("relu").hermite_coefficients(40)
    for k in range(2, 41):
        m = k - 2
        he0 = 0.0 if m % 2 else (-1) ** (m // 2) * float(np.prod(np.arange(m - 1.0, 0.0, -2.0)))
        expected = he0 / math.sqrt(2 * math.pi) / math.sqrt(math.factorial(k))
        assert coef[k] == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("name", ["tanh", "erf", "sin", "gelu", "exp"])
def test_hermite_parseval(name):
    """Σ c_k(τ)² = E s(√τ ξ)² (smooth activations; 120 terms)."""
    act = activation(name)
    for tau in (0.5, 2.0):
        coef = act.hermite_coefficients(120, tau)
        assert np.sum(coef ** 2) == pytest.approx(act.second_moment(tau), rel=1e-9)


def test_hermite_shape_and_scaling():
    act = activation("cubic")
    tau = np.array([[0.5, 1.0], [2.0, 3.0]])
    coef = act.hermite_coefficients(4, tau)
    assert coef.shape == (2, 2, 5)
    # (√τ ξ)³ = τ^{3/2}(He_3 + 3 He_1): c_1 = 3 τ^{3/2}, c_3 = sqrt(6) τ^{3/2}
    np.testing.assert_allclose(coef[..., 1], 3 * tau ** 1.5, rtol=1e-12)
    np.testing.assert_allclose(coef[..., 3], math.sqrt(6) * tau ** 1.5, rtol=1e-12)
    np.testing.assert_allclose(coef[..., [0, 2, 4]], 0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_quadrature_tier_against_mpmath(name):
    """Quadrature tier against 30-digit mpmath values (tests/reference)."""
    act, ref = activation(name), REFERENCE[name]
    for tau, vals in ref["moments"].items():
        tau = float(tau)
        coef = act.hermite_coefficients(3, tau)
        got = [act.mean(tau), act.derivative_mean(tau), act.second_moment(tau),
               coef[2], coef[3]]
        want = [vals[k] for k in ("mean", "derivative_mean", "second_moment", "c2", "c3")]
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)
    for a, b, c, value in ref["kernel"]:
        assert act.kernel_from_gram(a, b, c) == pytest.approx(value, rel=1e-8)
        # Mehler route: two points with the given norms and inner product
        x = np.array([[math.sqrt(a), 0.0]])
        y = np.array([[c / math.sqrt(a), math.sqrt(b - c * c / a)]])
        assert act.kernel(x, y)[0, 0] == pytest.approx(value, rel=1e-8)


@pytest.mark.parametrize("name", sorted(TABLE_1_3))
def test_kernel_table(name):
    assert activation(name).kernel_from_gram(1.3, 0.7, 0.4) == pytest.approx(
        TABLE_1_3[name], abs=1e-6)


def test_leaky_relu_kernel_table():
    act = activation("leaky_relu", negative_slope=0.1)
    assert act.kernel_from_gram(1.3, 0.7, 0.4) == pytest.approx(0.254956, abs=1e-6)


def test_random_fourier_identity(rng):
    """K_cos + K_sin = exp(-||x − y||²/2) (theory note §1.3), exactly."""
    A, B = _data(rng, 30, 10) * 3, _data(rng, 20, 10) * 3
    total = activation("cos").kernel(A, B) + activation("sin").kernel(A, B)
    dist2 = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(total, np.exp(-dist2 / 2), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", CLOSED)
def test_kernel_closed_form_equals_mehler(rng, name):
    """Two routes: closed form (§1.3) and the Mehler expansion with quadrature Hermite
    coefficients (§1.4 option A), 1e-8 relative to the diagonal scale."""
    act = activation(name, **_slope(name, 0.3))
    A, B = _data(rng), _data(rng, 50)
    K = act.kernel(A, B)
    K_h = act.kernel(A, B, method="hermite")
    scale = np.sqrt(act.second_moment(1.5 ** 2))
    assert np.max(np.abs(K - K_h)) <= 10 * QUADRATURE_RTOL * scale


@pytest.mark.parametrize("name", QUAD + ["erf", "cos", "exp"])
def test_kernel_mehler_equals_gauss_hermite_2d(rng, name):
    """Two routes for smooth activations: Mehler expansion and 2-D Gauss-Hermite."""
    act = activation(name)
    A, B = _data(rng, 12), _data(rng, 9)
    K_h = act.kernel(A, B, method="hermite")
    K_q = act.kernel(A, B, method="quadrature")
    assert np.max(np.abs(K_h - K_q)) <= 10 * QUADRATURE_RTOL * np.sqrt(act.second_moment(2.25))


@pytest.mark.parametrize("name", CLOSED + QUAD)
def test_kernel_edge_cases(name):
    """Correlation ±1 (duplicated and negated rows), a zero row, symmetric output, diagonal
    E s(√a ξ)², no NaN and no warning (warnings are errors in this test run)."""
    act = activation(name)
    rng = np.random.default_rng(0)
    X = _data(rng, 8, 5)
    X[1] = X[0]
    X[2] = -X[0]
    X[3] = 0.0
    K = act.kernel(X, method="auto" if act.closed_form else "quadrature")
    assert np.all(np.isfinite(K))
    np.testing.assert_allclose(K, K.T, rtol=1e-12, atol=1e-15)
    norms = (X ** 2).sum(1)
    diag = np.where(norms > 0, act.second_moment(np.where(norms > 0, norms, 1.0)),
                    float(act(0.0)) ** 2)
    np.testing.assert_allclose(np.diag(K), diag, rtol=1e-12)
    np.testing.assert_allclose(K[0, 1], diag[0], rtol=1e-7)   # ρ = 1 off the diagonal
    s0 = float(act(0.0))
    np.testing.assert_allclose(K[3, [0, 4]], s0 * act.mean(norms[[0, 4]]), atol=1e-12)
    eig = np.linalg.eigvalsh(K)
    assert eig.min() >= -1e-7 * max(1.0, eig.max())


@pytest.mark.parametrize("name", ["relu", "sign", "erf", "abs", "step", "cos", "sin"])
def test_kernel_large_norms(name):
    act = activation(name)
    X = np.random.default_rng(1).standard_normal((6, 4)) * 1e3
    K = act.kernel(X)
    assert np.all(np.isfinite(K))
    assert np.all(np.abs(K) <= np.sqrt(np.outer(np.diag(K), np.diag(K))) * (1 + 1e-12) + 1e-300)


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(CLOSED), seed=st.integers(0, 2 ** 31 - 1),
       scale=st.floats(0.05, 3.0))
def test_kernel_is_psd_and_cauchy_schwarz(name, seed, scale):
    act = activation(name, **_slope(name, 0.3))
    X = np.random.default_rng(seed).standard_normal((7, 3)) * scale
    K = act.kernel(X)
    eig = np.linalg.eigvalsh(K)
    assert eig.min() >= -1e-9 * max(1.0, eig.max())
    d = np.sqrt(np.diag(K))
    assert np.all(np.abs(K) <= np.outer(d, d) * (1 + 1e-9) + 1e-12)


@pytest.mark.simulation
@pytest.mark.parametrize("name", ["relu", "erf", "tanh"])
def test_kernel_against_monte_carlo(name):
    """E_w[s(wᵀa) s(wᵀb)] against an average over 20000 draws of w; tolerance 4 s.e."""
    act = activation(name)
    rng = np.random.default_rng(7)
    A = _data(rng, 5, 20)
    W = rng.standard_normal((20000, 20))
    F = act(W @ A.T)                                  # (draws, points)
    prods = F[:, :, None] * F[:, None, :]
    mean, se = prods.mean(0), prods.std(0, ddof=1) / np.sqrt(len(W))
    assert np.all(np.abs(act.kernel(A) - mean) <= 4 * se + 1e-12)


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="relu.*tanh"):
        activation("rectified")


def test_bad_callables():
    with pytest.raises(ValueError, match="shape"):
        activation(lambda t: np.sum(t))
    with pytest.raises(ValueError, match="non-finite"):
        activation(lambda t: 1 / t * 0 + np.log(t))
    with pytest.raises(ValueError, match="failed"):
        activation(lambda t: t.nonexistent)
    with pytest.raises(ValueError, match="non-finite"):   # overflow at the quadrature nodes
        activation(lambda t: np.exp(t ** 3)).mean(1.0)


def test_kink_away_from_zero_is_refused():
    """A kink at 0.7 cannot be integrated to the stated accuracy by the split rules."""
    act = activation(lambda t: np.maximum(t - 0.7, 0.0), name="shifted relu")
    with pytest.raises(ValueError, match="stated accuracy"):
        act.mean(1.0)
    # a kink at 0 is fine (the rules are split there) and agrees with the closed form
    assert activation(lambda t: np.maximum(t, 0.0)).gaussian_equivalent().mu_star == \
        pytest.approx(activation("relu").gaussian_equivalent().mu_star, abs=1e-12)


def test_bad_arguments():
    act = activation("relu")
    with pytest.raises(ValueError, match="`variance`"):
        act.mean(-1.0)
    with pytest.raises(ValueError, match="`variance`"):
        act.second_moment([1.0, np.nan])
    with pytest.raises(ValueError, match="`order`"):
        act.derivative_mean(1.0, order=0)
    with pytest.raises(ValueError, match="same number of columns"):
        act.kernel(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="`method`"):
        activation("tanh").kernel(np.ones((2, 3)), method="closed_form")
    with pytest.raises(ValueError, match="`negative_slope`"):
        activation("leaky_relu", negative_slope=np.inf)


def test_shapes_and_vectorization():
    act = activation("erf")
    tau = np.linspace(0.5, 3, 6).reshape(2, 3)
    assert act.mean(tau).shape == (2, 3)
    assert isinstance(act.second_moment(1.0), float)
    assert act.kernel(np.ones((4, 2)), np.ones((3, 2))).shape == (4, 3)
    assert hdeq.activation is activation and activation(act) is act
    assert "erf" in repr(act)


def test_negative_slope_with_another_activation_is_an_error():
    with pytest.raises(ValueError, match="applies to 'leaky_relu' only"):
        activation("relu", negative_slope=0.1)


def test_non_vectorized_callable_gets_a_helpful_message():
    with pytest.raises(ValueError, match="must be vectorized"):
        activation(lambda t: max(t, 0))


# -- the fast kernel-matrix route (row-normalized Gram + in-place blocked formulas) against
#    a straightforward long-double implementation of the theory note §1.3 closed forms ------

def _reference_kernel(name, A, B, slope=0.0):
    """Theory note §1.3 evaluated entry by entry in long double: squared norms a, b, inner
    product c, ρ = c/sqrt(ab). ReLU-type kernels through k(ρ) = E relu(u) relu(v) only:
    E relu(u) relu(−v) = k(−ρ), leaky = (1+α²) k(ρ) − 2α k(−ρ), |t| = 2k(ρ) + 2k(−ρ)."""
    ld = np.longdouble
    A, B = A.astype(ld), B.astype(ld)
    a = (A * A).sum(1)[:, None]
    b = (B * B).sum(1)[None, :]
    c = A @ B.T
    ab = np.sqrt(a * b)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(ab > 0, c / ab, 0)
    rho = np.clip(rho, -1, 1)
    pi = ld(np.pi)

    def k(r):
        return ab / (2 * pi) * (r * (pi - np.arccos(r)) + np.sqrt(1 - r * r))

    out = {"relu": lambda: k(rho),
           "leaky_relu": lambda: (1 + slope ** 2) * k(rho) - 2 * slope * k(-rho),
           "abs": lambda: 2 * k(rho) + 2 * k(-rho),
           "sign": lambda: 2 / pi * np.arcsin(rho),
           "step": lambda: (pi - np.arccos(rho)) / (2 * pi),
           "erf": lambda: 2 / pi * np.arcsin(2 * c / np.sqrt((1 + 2 * a) * (1 + 2 * b))),
           "cos": lambda: np.exp(-(a + b) / 2) * np.cosh(c),
           "sin": lambda: np.exp(-(a + b) / 2) * np.sinh(c)}[name]()
    act = activation(name, **_slope(name, slope))
    s0 = float(act(np.zeros(())))
    zero_a, zero_b = (a == 0).ravel(), (b == 0).ravel()   # K = s(0) E s(√b ξ)
    out[zero_a, :] = s0 * np.array([act.mean(v) if v > 0 else s0 for v in b.ravel()],
                                   dtype=float)[None, :]
    out[:, zero_b] = s0 * np.array([act.mean(v) if v > 0 else s0 for v in a.ravel()],
                                   dtype=float)[:, None]
    return out.astype(float), rho.astype(float)


def _awkward_rows(rng, n=40, p=12):
    """Random rows of spread norms plus a zero row, exact duplicates, a rescaled copy
    (ρ = 1, other norm), a negated copy (ρ = −1) and a near duplicate."""
    X = rng.standard_normal((n, p)) / np.sqrt(p) * rng.uniform(0.3, 2.0, (n, 1))
    X[3] = 0.0
    X[5] = X[4]
    X[6] = 3.0 * X[4]
    X[7] = -X[4]
    X[8] = X[4] + 1e-7 * rng.standard_normal(p)
    return X


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "abs", "sign", "step", "erf",
                                  "cos", "sin"])
@pytest.mark.parametrize("same", [True, False])
def test_fast_kernel_matrix_matches_reference(rng, name, same):
    A = _awkward_rows(rng)
    B = None if same else np.vstack([_awkward_rows(rng, n=25), A[4:9], A[3:4]])
    slope = 0.1 if name == "leaky_relu" else 0.0
    act = activation(name, **_slope(name, slope))
    K = act.kernel(A, B)
    ref, rho = _reference_kernel(name, A, A if same else B, slope)
    if same:   # dedicated diagonal E s(√a ξ)² (theory note §1.4 pitfall iii)
        d = np.einsum("ij,ij->i", A, A)
        np.fill_diagonal(ref, [act.second_moment(v) if v > 0 else float(act(np.zeros(()))) ** 2
                               for v in d])
    scale = np.abs(ref).max()
    if name in ("sign", "step"):
        # arcsin/arccos are not Lipschitz at ρ = ±1: a rounding δ ~ 1e-16 of ρ moves them by
        # up to sqrt(2δ) ~ 1.5e-8, in any float64 implementation. Away from ±1 (slope
        # <= 1/sqrt(2e-4) ≈ 71) the 1e-12 bound holds; near ±1 the conditioning bound.
        near = np.abs(rho) > 1 - 1e-4
        assert near.sum() >= (6 if same else 4)
        np.testing.assert_allclose(K[~near], ref[~near], rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(K[near], ref[near], rtol=0, atol=4e-8)
    else:   # these closed forms are Lipschitz in (a, b, c): exact to rounding
        np.testing.assert_allclose(K, ref, rtol=0, atol=1e-12 * scale)
    # duplicates and ρ = ±1 pairs land on the closed-form limits (ReLU: K(x, x) = |x|²/2,
    # K(x, −x) = 0)
    if name == "relu":
        a4 = A[4] @ A[4]
        Kd = K if same else act.kernel(A)
        assert Kd[4, 5] == pytest.approx(a4 / 2, rel=1e-13)
        assert Kd[4, 6] == pytest.approx(3 * a4 / 2, rel=1e-13)
        assert abs(Kd[4, 7]) <= 1e-15 * a4


def test_fast_kernel_matrix_blocks_and_generic_route(rng, monkeypatch):
    """The blocked in-place passes give the same matrix as the elementwise (a, b, c) route
    kernel_from_gram, with small blocks (14 rows; the last one partial) forced."""
    from hdeq.equivalents import _activations as mod
    monkeypatch.setattr(mod, "_BLOCK_ELEMS", 100)
    A = rng.standard_normal((7, 5))
    B = rng.standard_normal((300, 5)) / 2
    a, b = (A * A).sum(1), (B * B).sum(1)
    for name in ("relu", "leaky_relu", "abs", "step", "sign", "erf", "cos", "sin"):
        act = activation(name)
        K = act.kernel(B, A)
        ref = act.kernel_from_gram(b[:, None], a[None, :], B @ A.T)
        np.testing.assert_allclose(K, ref, rtol=0, atol=1e-12 * np.abs(ref).max(),
                                   err_msg=name)


# --------------------------------------------------------------------------------------------
# divergent Gaussian moments (tester defect: exp(t²).mean(1.0) returned 3.85e47)
# E exp(a ξ²) = (1 - 2a)^(-1/2) for a < 1/2, infinite for a >= 1/2;
# E ξ² exp(a ξ²) = (1 - 2a)^(-3/2) (Gaussian integral, by completing the square)
# --------------------------------------------------------------------------------------------

def _exp_sq(a):
    return activation(lambda t: np.exp(a * t * t), name=f"exp({a} t²)")


@pytest.mark.parametrize("a", [1.0, 0.6, 0.5])
def test_divergent_mean_raises(a):
    act = _exp_sq(a)
    for call in (lambda: act.mean(1.0), lambda: act.second_moment(1.0),
                 lambda: act.gaussian_equivalent(1.0), lambda: act.hermite_coefficients(3),
                 lambda: act.derivative_mean(1.0)):
        with pytest.raises(ValueError, match=r"does not exist \(is infinite\)"):
            call()


def test_divergent_moment_message_names_variance_and_overflow():
    with pytest.raises(ValueError, match=r"does not exist \(is infinite\).*τ = 1\b"):
        _exp_sq(1.0).mean(1.0)
    # at τ = 4 the activation overflows at the nodes: still the same diagnosis
    with pytest.raises(ValueError, match=r"does not exist \(is infinite\).*τ = 4"):
        _exp_sq(1.0).mean(4.0)


def test_mean_exists_but_second_moment_does_not():
    """a = 0.3: E exp(0.3 ξ²) = 0.4^(-1/2) exists, E exp(0.6 ξ²) = ∞; at τ = 2 the mean
    is E exp(0.6 ξ²) = ∞ too."""
    act = _exp_sq(0.3)
    assert act.mean(1.0) == pytest.approx(0.4 ** -0.5, rel=1e-12)
    with pytest.raises(ValueError, match=r"E s\(√τ ξ\)² of .* does not exist"):
        act.second_moment(1.0)
    with pytest.raises(ValueError, match="does not exist"):
        act.mean(2.0)
    with pytest.raises(ValueError, match="does not exist"):
        act.gaussian_equivalent(1.0)
    with pytest.raises(ValueError, match="does not exist"):
        act.kernel(np.eye(2))


def test_convergent_exp_square_moments_are_exact():
    """a = 0.2 at τ = 1: mean 0.6^(-1/2), E s² = 0.2^(-1/2), c_2 = (0.6^(-3/2) - 0.6^(-1/2))/√2;
    at τ = 2 (a τ = 0.4) the mean is 0.2^(-1/2)."""
    act = _exp_sq(0.2)
    assert act.mean(1.0) == pytest.approx(0.6 ** -0.5, rel=1e-12)
    assert act.mean(2.0) == pytest.approx(0.2 ** -0.5, rel=1e-10)
    assert act.second_moment(1.0) == pytest.approx(0.2 ** -0.5, rel=1e-10)
    c = act.hermite_coefficients(2, 1.0)
    assert c[2] == pytest.approx((0.6 ** -1.5 - 0.6 ** -0.5) / np.sqrt(2), rel=1e-10)
    assert abs(c[1]) < 1e-12


def test_closed_form_exp_is_not_affected():
    """exp has the closed form E exp(√τ ξ) = exp(τ/2), E exp(2√τ ξ) = exp(2τ)."""
    act = activation("exp")
    assert act.mean(np.array([1.0, 30.0])) == pytest.approx(np.exp([0.5, 15.0]), rel=1e-14)
    assert act.second_moment(30.0) == pytest.approx(np.exp(60.0), rel=1e-14)


# --------------------------------------------------------------------------------------------
# closed forms at huge norms (audit: the Gaussian-bump kernel gave inf / divide-by-zero at
# ρ = ±1 once ab ~ 1e16; exp overflowed to inf with a RuntimeWarning instead of an error)
# --------------------------------------------------------------------------------------------

def test_gaussian_bump_kernel_at_huge_norms_and_correlation_one():
    """k = 1/sqrt((1+a)(1+b) − c²): at a = b = c the exact value is 1/sqrt(1 + 2a)."""
    act = activation("gaussian")
    for a in (1e8, 1e12, 1e16, 1e20):
        assert act.kernel_from_gram(a, a, a) == pytest.approx(1 / math.sqrt(1 + 2 * a),
                                                              rel=1e-12)
    X = np.random.default_rng(0).standard_normal((4, 3)) * 1e8
    X[1] = X[0]
    X[2] = -X[0]
    for K in (act.kernel(X), act.kernel(X, X.copy())):
        assert np.all(np.isfinite(K))
        d = X[0] @ X[0]
        assert K[0, 1] == pytest.approx(1 / math.sqrt(1 + 2 * d), rel=1e-9)
        assert K[0, 2] == pytest.approx(1 / math.sqrt(1 + 2 * d), rel=1e-9)   # c = −a
    assert act.kernel_from_gram(1.3, 0.7, 0.4) == pytest.approx(0.516398, abs=1e-6)


def test_exp_overflow_is_a_value_error_not_inf():
    """E exp(√τ ξ) = exp(τ/2) exceeds float range for τ > ~1419: a ValueError naming the
    overflow (warnings are errors in this test run, so a RuntimeWarning fails too)."""
    act = activation("exp")
    calls = [lambda: act.mean(1e4), lambda: act.second_moment(800.0),
             lambda: act.derivative_mean(1e4), lambda: act.gaussian_equivalent(1e4),
             lambda: act.kernel(np.full((3, 2), 30.0)),
             lambda: act.kernel(np.full((3, 2), 30.0), np.ones((2, 2))),
             lambda: act.kernel_from_gram(1e4, 1.0, 0.0)]
    for call in calls:
        with pytest.raises(ValueError, match="exceeds the floating-point range"):
            call()
    assert act.kernel(np.ones((2, 2)))[0, 1] == pytest.approx(np.exp(4.0), rel=1e-14)


@pytest.mark.parametrize("tau", [1e12, 1e16])
def test_quadrature_tier_at_huge_variance(tau):
    """The rule widened with sqrt(τ) without bound: τ = 1e16 asked for 2e9 nodes
    (MemoryError). Now capped; values against the closed forms of theory note §1.2 (GELU:
    a0 = τ/sqrt(2π(1+τ)), e1 = 1/2, e2 = (2+τ)/((1+τ) sqrt(2π(1+τ)))) and the expansion of
    tanh(√τ ξ) about its sign limit: E tanh² = 1 − E sech²(√τ ξ) = 1 − 2φ(0)/√τ + O(τ^-3/2)
    (∫ sech² = 2), τ e1² = 2/π + O(1/τ). (This test once asserted the limit E s² = 1 at
    τ = 1e12, off by 2φ(0)/√τ = 8e-7, which the ungraded rule missed as well.)"""
    gelu = activation("gelu")
    assert gelu.mean(tau) == pytest.approx(tau / math.sqrt(2 * math.pi * (1 + tau)), rel=1e-8)
    assert gelu.derivative_mean(tau) == pytest.approx(0.5, rel=1e-8)
    assert gelu.derivative_mean(tau, order=2) == pytest.approx(
        (2 + tau) / ((1 + tau) * math.sqrt(2 * math.pi * (1 + tau))), rel=1e-8)
    tanh = activation("tanh")
    edge = 2 / math.sqrt(2 * math.pi * tau)                   # 2φ(0)/√τ
    assert tanh.second_moment(tau) == pytest.approx(1.0 - edge, abs=1e-11)
    assert tanh.gaussian_equivalent(tau).mu_star == pytest.approx(
        math.sqrt(1 - 2 / math.pi - edge), abs=1e-11)


# --------------------------------------------------------------------------------------------
# quadrature tier at correlation ±1 and large norms (audit: duplicated or negated rows with
# squared norm >= 4 made kernel() raise for tanh, softplus, ... with both methods; the 2-D
# Gauss-Hermite rule returned E tanh² = 1.0 at τ = 1e4 instead of 0.99202)
# --------------------------------------------------------------------------------------------

def _gauss_1d(f):
    """E f(ξ) by adaptive quadrature split at 0 (an independent route)."""
    from scipy import integrate
    g = lambda x: f(x) * math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)   # noqa: E731
    return sum(integrate.quad(g, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=400)[0]
               for lo, hi in ((-np.inf, 0.0), (0.0, np.inf)))


@pytest.mark.parametrize("name, norm", [(name, 5.0) for name in QUAD]
                         + [("tanh", 2.0), ("tanh", 30.0), ("softplus", 30.0)])
def test_quadrature_kernel_at_correlation_one_and_large_norms(name, norm):
    act = activation(name)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 8))
    X *= norm / np.linalg.norm(X, axis=1, keepdims=True)
    X[1] = X[0]                                # ρ = 1
    X[2] = -X[3]                               # ρ = −1
    X[5] = X[4] + 1e-4 * X[6]
    X[5] *= norm / np.linalg.norm(X[5])        # same norm, ρ = 1 − O(1e-9)
    X[7] = 0.0
    a = norm ** 2
    m2 = act.second_moment(a)
    anti = _gauss_1d(lambda x: float(act(math.sqrt(a) * x) * act(-math.sqrt(a) * x)))
    scale = math.sqrt(m2)
    for K in (act.kernel(X), act.kernel(X, X[:9].copy())):
        assert np.all(np.isfinite(K))
        assert abs(K[0, 1] - m2) <= 1e-8 * scale
        assert abs(K[2, 3] - anti) <= 1e-8 * scale
        # K(ρ) = E s² − (1 − ρ) a E s'(u)² + ...: within 1e-6 of E s² at 1 − ρ ~ 1e-9,
        # and never above it (Cauchy-Schwarz)
        assert -1e-6 * scale <= K[4, 5] - m2 <= 1e-8 * scale
    K = act.kernel(X)
    np.testing.assert_array_equal(K, K.T)
    assert np.linalg.eigvalsh(K).min() >= -1e-7 * np.abs(K).max()
    np.testing.assert_allclose(K[:, :9], act.kernel(X, X[:9].copy()), rtol=0,
                               atol=1e-8 * scale)


@pytest.mark.parametrize("name", ["tanh", "gelu", "softplus"])
def test_nested_quadrature_equals_mehler_where_both_apply(rng, name):
    """Two routes at squared norms ~4 and |ρ| <= 0.9: the Mehler series (exact tail bound)
    and the nested Gauss-Legendre quadrature (method='nested')."""
    act = activation(name)
    A, B = _data(rng, 10, 6) * 1.5, _data(rng, 8, 6) * 1.5
    a, b, c = (A * A).sum(1), (B * B).sum(1), A @ B.T
    rho = c / np.sqrt(np.outer(a, b))
    keep = np.abs(rho) <= 0.9
    K_h = act.kernel(A, B, method="hermite")
    K_n = act.kernel_from_gram(a[:, None], b[None, :], c, method="nested")
    scale = math.sqrt(act.second_moment(a.max()))
    assert keep.sum() > 60
    assert np.max(np.abs(K_h - K_n)[keep]) <= 2 * QUADRATURE_RTOL * scale


@pytest.mark.parametrize("name", QUAD)
def test_kernel_from_gram_is_exact_at_correlation_one(name):
    """(a, a, a) is E s(√a ξ)² at any norm; 'auto' is the nested rule for this tier."""
    act = activation(name)
    for a in (4.0, 100.0, 1e4):
        m2 = act.second_moment(a)
        assert act.kernel_from_gram(a, a, a) == pytest.approx(m2, rel=1e-8)


def test_gauss_hermite_kernel_refuses_what_it_cannot_resolve():
    """tanh(100 ξ) is steep between the Gauss-Hermite nodes: the 96- and 144-node rules
    agreed on E tanh² = 1.0 (true 0.99202); the marginal check now says so."""
    act = activation("tanh")
    with pytest.raises(ValueError, match="stated accuracy"):
        act.kernel_from_gram(1e4, 1e4, 1e4, method="quadrature")
    assert act.kernel_from_gram(1.3, 0.7, 0.4, method="quadrature") == pytest.approx(
        REFERENCE["tanh"]["kernel"][0][3], rel=1e-8)


def test_hermite_coefficients_to_high_order():
    """Order 700 (h_k overflowed at the outer nodes beyond k ~ 450, and the NaN was
    reported as a divergent moment). Closed forms: ReLU c_k = He_{k-2}(0) φ(0)/sqrt(k!)
    for k >= 2 (integration by parts of ξ He_k φ = (−1)^k ξ φ^(k)), He_m(0) =
    (−1)^(m/2) (m−1)!! for even m, 0 for odd m; sin c_k = e^(−1/2) (−1)^((k−1)/2)/sqrt(k!)
    for odd k, 0 for even k."""
    from scipy.special import gammaln
    order = 700
    k = np.arange(order + 1)
    relu = activation("relu").hermite_coefficients(order)
    m = k[2:] - 2
    log_dfact = gammaln(m + 1) - (m / 2) * np.log(2) - gammaln(m / 2 + 1)
    ref = np.where(m % 2 == 0, (-1.0) ** (m // 2) * np.exp(log_dfact - 0.5 * gammaln(k[2:] + 1)),
                   0.0) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(relu[2:], ref, rtol=0, atol=1e-11)
    sin = activation("sin").hermite_coefficients(order)
    ref = np.where(k % 2 == 1, math.exp(-0.5) * (-1.0) ** ((k - 1) // 2)
                   * np.exp(-0.5 * gammaln(k + 1)), 0.0)
    np.testing.assert_allclose(sin, ref, rtol=0, atol=1e-11)
    tanh = activation("tanh").hermite_coefficients(500)
    assert np.sum(tanh ** 2) == pytest.approx(activation("tanh").second_moment(), rel=1e-10)


def test_gaussian_equivalent_refuses_inconsistent_moments(monkeypatch):
    # mu_star² = E s² - mu0² - τ mu1² >= 0 exactly: a clearly negative value means the
    # moments were not resolved, and must not be clamped to mu_star = 0
    act = hdeq.activation("tanh")
    true_second = act._second_moment
    monkeypatch.setattr(act, "_second_moment", lambda tau: 0.5 * true_second(tau))
    with pytest.raises(ValueError, match="inconsistent"):
        act.gaussian_equivalent(1.0)


@pytest.mark.parametrize("name", [n for n in hdeq.ACTIVATION_NAMES
                                  if hdeq.activation(n).closed_form])
def test_closed_form_activation_help_shows_a_docstring(name):
    """Fresh-user report P3: help(hdeq.activation("relu")) showed the private class
    _LeakyReLU with no docstring. Every closed-form class now has one: the function with
    its name, its moments and kernel, and what the Activation methods offer."""
    import pydoc
    act = hdeq.activation(name)
    doc = type(act).__doc__
    assert doc is not None and f'"{name}"' in doc
    assert "E s²" in doc and "kernel" in doc and "help(hdeq.Activation)" in doc
    text = pydoc.render_doc(act, renderer=pydoc.plaintext)
    assert "E s²" in text and "Methods inherited from Activation" in text


def test_unknown_activation_is_named_by_the_public_caller():
    """Fresh-user report: RandomFeaturesRidge(..., activation='nope') said "`name_or_callable`
    of activation must be one of ..."; the message names the caller's parameter and the
    caller, as the other validation messages do ("`ridge` of RandomFeaturesRidge ...")."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    args = (X[:20], y[:20], X[20:], y[20:])
    kw = {"n_random_features": 10, "ridge": 0.1}
    with pytest.raises(ValueError, match=r"^`activation` of RandomFeaturesRidge must be one "
                                         r"of linear, relu.*tanh.* or a callable; got 'nope'$"):
        hdeq.RandomFeaturesRidge(*args, activation="nope", **kw)
    with pytest.raises(ValueError, match=r"^`activation\[1\]` of RandomFeaturesRidge must be "
                                         r"one of .*; got 'nope'$"):
        hdeq.RandomFeaturesRidge(*args, activation=("relu", "nope"), **kw)
    with pytest.raises(ValueError, match=r"^`activation` of RandomFeaturesRidge must be a "
                                         r"name \(.*\), a callable or an Activation; got 3$"):
        hdeq.RandomFeaturesRidge(*args, activation=3, **kw)
    with pytest.raises(ValueError, match=r"^`activation` of MeiMontanari must be one of "
                                         r"linear, relu.*; got 'nope'$"):
        hdeq.MeiMontanari("nope")
    with pytest.raises(ValueError, match=r"^`activation` of MeiMontanari must be one of"):
        hdeq.MeiMontanari.from_sizes("nope", 100, 50, 200)
    # the function itself keeps its own parameter name (hdeq predict maps it to --activation)
    with pytest.raises(ValueError, match=r"^`name_or_callable` of activation must be one of"):
        activation("nope")
    # names, aliases and Activation objects are accepted as before
    model = hdeq.RandomFeaturesRidge(*args, activation=("ReLU", activation("tanh")), **kw)
    assert [a.name for a in model.activations] == ["relu", "tanh"]
