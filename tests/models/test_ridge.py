"""Ridge regression: effective-ridge solver, deterministic equivalent, simulation twin.

Reference values: theory note linear.md §5.4 (ridgeless), §5.5 (isotropic closed forms and
optimal ridge), §5.6 (oracle table, MC with p = 1000, 8 trials).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdeq.equivalents import (effective_ridge, negative_ridge_bound, ridge_risk,
                              ridgeless_threshold, solve_effective_ridge, spectral_sums)


def iso_kappa(lam, gamma):
    """Isotropic closed form (theory note §5.5), written without cancellation."""
    b = lam + gamma - 1
    root = np.sqrt(b * b + 4 * lam)
    return np.where(b >= 0, (b + root) / 2, 2 * lam / (root - b))


def mp_stieltjes(z, c):
    a, b = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    z = np.asarray(z, complex)
    return ((1 - c - z + np.sqrt(z - a) * np.sqrt(z - b)) / (2 * c * z)).real


# ---------------------------------------------------------------------------------------
# effective ridge
# ---------------------------------------------------------------------------------------

def test_effective_ridge_isotropic_closed_form():
    lam = np.geomspace(1e-8, 30, 60)
    gamma = np.array([0.1, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0])[:, None]
    p = 400
    n = p / gamma
    k = effective_ridge(lam, [1.0], [p], n)
    assert k.shape == (7, 60)
    np.testing.assert_allclose(k, iso_kappa(lam, gamma), rtol=1e-10, atol=0)


def test_effective_ridge_defining_equation_residual_general_spectrum():
    s = np.arange(1, 501.0) ** -1.3
    lam = np.geomspace(1e-6, 10, 40)
    n = np.array([50, 200, 499, 500, 501, 2000])[:, None]
    res = solve_effective_ridge(lam, s, None, n)
    assert res.converged.all()
    df1, = spectral_sums(res.value, s, [np.ones_like(s)], [(0, 1, 1)])
    # residual relative to the size of the terms of the equation (1 - df1/n cancels near n)
    scale = lam + res.value * df1 / n
    assert np.all(np.abs(res.value * (1 - df1 / n) - lam) <= 1e-12 * scale)
    assert np.all(res.residual <= 1e-12)
    # kappa >= kappa_0 and increasing in ridge
    assert np.all(np.diff(res.value, axis=1) > 0)
    assert np.all(res.value >= res.kappa_0)


def test_ridgeless_root_is_limit_of_small_ridge():
    s = np.linspace(0.2, 3, 300)
    for n in (100, 250, 600):
        k0 = ridgeless_threshold(s, n_samples=n)
        k_small = effective_ridge(1e-11, s, n_samples=n)
        assert abs(k_small - k0) <= 1e-9 * max(1.0, k0) + 2e-11
        if n < 300:   # rank > n: df1(kappa_0) = n
            df1, = spectral_sums(k0, s, [np.ones_like(s)], [(0, 1, 1)])
            assert abs(df1 - n) < 1e-9 * n
        else:
            assert k0 == 0


def test_isotropic_ridgeless_kappa0():
    # theory note §5.4: kappa_0 = gamma - 1 for gamma > 1
    k0 = ridgeless_threshold(np.ones(1000), n_samples=[250, 500, 999])
    np.testing.assert_allclose(k0, [3.0, 1.0, 1000 / 999 - 1], rtol=1e-12)


def test_negative_ridge_bound_is_minus_mp_lower_edge():
    for gamma in (0.25, 0.5, 2.0, 4.0):
        p = 400
        n = p / gamma
        bound = negative_ridge_bound([1.0], [p], n)
        # non-zero spectrum of S (or companion) has lower edge (1 - sqrt(gamma))^2 in S units
        edge = (1 - np.sqrt(gamma)) ** 2 if gamma < 1 else (np.sqrt(gamma) - 1) ** 2
        assert bound == pytest.approx(-edge, rel=1e-10)


def test_negative_ridge_gated_and_valid():
    with pytest.raises(ValueError, match="allow_negative"):
        effective_ridge(-0.1, np.ones(100), n_samples=400)
    with pytest.raises(ValueError, match="lower"):
        effective_ridge(-0.3, np.ones(100), n_samples=400, allow_negative=True)
    lam = np.array([-0.2, -0.1, 0.0, 0.1])
    k = effective_ridge(lam, np.ones(100), n_samples=400, allow_negative=True)
    # isotropic quadratic kappa^2 + (1 - gamma - lam) kappa - lam = 0, largest root
    gamma = 0.25
    b = lam + gamma - 1
    np.testing.assert_allclose(k, (b + np.sqrt(b * b + 4 * lam)) / 2, rtol=1e-10, atol=1e-14)


def test_effective_ridge_bad_input():
    with pytest.raises(ValueError, match="n_samples"):
        effective_ridge(0.1, np.ones(10), n_samples=0)
    with pytest.raises(ValueError, match="eigenvalues"):
        effective_ridge(0.1, [-1.0, 1.0], n_samples=10)
    with pytest.raises(ValueError, match="multiplicity"):
        effective_ridge(0.1, [1.0, 2.0], [1.0], n_samples=10)
    with pytest.raises(ValueError, match="ridge"):
        effective_ridge(np.nan, [1.0], n_samples=10)


# ---------------------------------------------------------------------------------------
# deterministic equivalent of the risks (core function)
# ---------------------------------------------------------------------------------------

ORACLE = [  # theory note §5.6: case, n, ridge, noise_var, kappa, B, V, R, train
    ("iso", 2000, 0.1, 0.5, 0.174166, 0.034522, 0.284522, 0.819045, 0.270012),
    ("iso", 500, 0.1, 0.5, 1.184429, 0.506136, 0.360786, 1.366921, 0.009744),
    ("iso", 1000, 0.3, 1.0, 0.717891, 0.264135, 0.512519, 1.776654, 0.310262),
    ("iso", 2000, 0.0, 0.5, 0.0, 0.0, 0.5, 1.0, 0.25),
    ("iso", 500, 0.0, 0.5, 1.0, 0.5, 0.5, 1.5, 0.0),
]


@pytest.mark.parametrize("case", ORACLE)
def test_ridge_risk_oracle_isotropic(case):
    _, n, lam, s2, kappa, b, v, r, train = case
    p = 1000
    risk = ridge_risk(lam, [1.0], [p], n, target_energy=[1.0], noise_var=s2)
    assert float(risk.kappa) == pytest.approx(kappa, abs=1e-6)
    assert float(risk.bias) == pytest.approx(b, abs=1e-6)
    assert float(risk.variance) == pytest.approx(v, abs=1e-6)
    assert float(risk.test) == pytest.approx(r, abs=1e-6)
    assert float(risk.train) == pytest.approx(train, abs=1e-6)


# ---------------------------------------------------------------------------------------
# RidgeRegression: closed forms, limits, shapes
# ---------------------------------------------------------------------------------------

from hdeq.models import RidgeRegression  # noqa: E402


def iso_model(p, n, ridge, noise_var=0.5, signal_var=1.0, **kw):
    return RidgeRegression(np.ones(p), signal_var=signal_var, noise_var=noise_var,
                           ridge=ridge, n_samples=n, **kw)


def test_isotropic_closed_forms_positive_ridge():
    # theory note §5.5
    p = 300
    lam = np.geomspace(1e-4, 10, 25)
    n = np.array([60, 150, 299, 300, 301, 600, 3000])[:, None]
    s2, r2 = 0.7, 1.3
    model = iso_model(p, n, lam, noise_var=s2, signal_var=r2)
    gamma = p / n
    k = iso_kappa(lam, gamma)
    q = gamma / (1 + k) ** 2
    bias = r2 * (k / (1 + k)) ** 2 / (1 - q)
    var = s2 * q / (1 - q)
    np.testing.assert_allclose(model.effective_ridge(), k, rtol=1e-10)
    np.testing.assert_allclose(model.bias(), bias, rtol=1e-10)
    np.testing.assert_allclose(model.variance(), var, rtol=1e-10)
    np.testing.assert_allclose(model.test_error(), s2 + bias + var, rtol=1e-10)
    np.testing.assert_allclose(model.test_error(kind="excess"), bias + var, rtol=1e-10)
    np.testing.assert_allclose(model.train_error(), (lam / k) ** 2 * (s2 + bias + var),
                               rtol=1e-9)
    # (1/p) tr (S + lam)^{-1} -> m_MP(-lam; gamma) = kappa / (lam (1 + kappa))  (§5.5)
    np.testing.assert_allclose(k / (lam * (1 + k)), mp_stieltjes(-lam, gamma), rtol=1e-9)


def test_isotropic_ridgeless_both_sides_and_threshold():
    # theory note §5.4
    p, s2, r2 = 400, 0.5, 2.0
    n = np.array([100, 200, 399, 400, 401, 800, 4000])
    model = iso_model(p, n, 0.0, noise_var=s2, signal_var=r2)
    gamma = p / n
    under = gamma < 1
    over = gamma > 1
    exp_bias = np.where(over, r2 * (1 - 1 / gamma), 0.0)
    with np.errstate(divide="ignore"):
        exp_var = np.where(under, s2 * gamma / (1 - gamma), s2 / (gamma - 1))
    at = n == p
    np.testing.assert_allclose(model.bias()[~at], exp_bias[~at], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(model.variance()[~at], exp_var[~at], rtol=1e-10)
    np.testing.assert_allclose(model.test_error()[under], s2 / (1 - gamma[under]), rtol=1e-10)
    np.testing.assert_allclose(model.train_error()[under], s2 * (1 - gamma[under]), rtol=1e-10)
    assert np.all(model.train_error()[over] < 1e-12)
    np.testing.assert_allclose(model.effective_ridge()[over], gamma[over] - 1, rtol=1e-10)
    # interpolation threshold: infinite variance, not a large finite number
    assert np.isinf(model.variance()[at]).all() and np.isinf(model.test_error()[at]).all()
    assert model.bias()[at][0] == 0 and model.train_error()[at][0] == 0
    # without noise the variance is exactly zero, also at the threshold
    assert iso_model(p, 400, 0.0, noise_var=0.0).variance() == 0.0


def test_ridgeless_is_limit_of_small_ridge():
    s = np.arange(1, 301.0) ** -0.8
    b = np.cos(np.arange(300))
    for n in (100, 250, 600):
        kw = dict(target=b, noise_var=0.3, n_samples=n)
        zero = RidgeRegression(s, ridge=0.0, **kw)
        small = RidgeRegression(s, ridge=1e-10, **kw)
        for q in ("test_error", "train_error", "bias", "variance"):
            assert getattr(small, q)() == pytest.approx(getattr(zero, q)(), rel=1e-6, abs=1e-9)


OPTIMAL = [  # theory note §5.5 table: gamma, noise_var, lambda*, R_ex*
    (0.5, 0.5, 0.25, 0.280776406),
    (2.0, 0.5, 1.0, 0.707106781),
    (1.0, 1.0, 1.0, 0.618033989),
    (1.0, 0.1, 0.1, 0.270156212),
]


@pytest.mark.parametrize("gamma,s2,lam_star,risk_star", OPTIMAL)
def test_optimal_ridge_isotropic(gamma, s2, lam_star, risk_star):
    p = 500
    n = int(round(p / gamma))
    model = iso_model(p, n, 0.1, noise_var=s2, signal_var=1.0)
    lam = model.optimal_ridge()
    assert lam == pytest.approx(gamma * s2, rel=1e-10)     # lambda* = gamma sigma^2 / r^2
    assert lam == pytest.approx(lam_star, rel=1e-10)
    best = model.replace(ridge=lam)
    assert best.test_error(kind="excess") == pytest.approx(risk_star, abs=2e-9)
    # R_ex* = sigma^2 gamma m_MP(-lambda*; gamma)
    assert best.test_error(kind="excess") == pytest.approx(
        s2 * gamma * mp_stieltjes(-lam, gamma), rel=1e-9)
    # and it is a minimum over a grid of ridges
    grid = model.replace(ridge=lam * np.geomspace(0.2, 5, 41)).test_error()
    assert np.all(grid >= best.test_error() - 1e-12)


@pytest.mark.parametrize("signal_var", [1e-7, 1e-12, 1e-20])
def test_optimal_ridge_weak_signal_is_finite_and_closed_form(signal_var):
    # regression: the kappa grid stopped at 1e6 x the mean eigenvalue and the grid argmin of
    # R (flat to rounding there) picked the bracket, so weak signals got inf or a wrong
    # ridge* (1.1e8 for 2e8); the closed form gamma sigma^2 / r^2 holds for any r^2 > 0
    model = iso_model(200, [100, 400], 0.1, noise_var=1.0, signal_var=signal_var)
    np.testing.assert_allclose(model.optimal_ridge(), np.array([2.0, 0.5]) / signal_var,
                               rtol=1e-9)
    assert np.all(np.isinf(iso_model(200, [100, 400], 0.1, noise_var=1.0,
                                     signal_var=0.0).optimal_ridge()))   # no signal


def test_optimal_ridge_general_is_grid_minimum():
    s = np.arange(1, 201.0) ** -1.0
    b = np.sqrt(s) * np.linspace(1, 2, 200)
    model = RidgeRegression(s, b, noise_var=0.2, ridge=0.0, n_samples=[50, 150, 400])
    lam = model.optimal_ridge()
    assert lam.shape == (3,)
    for li, n in zip(lam, [50, 150, 400]):
        m1 = model.replace(n_samples=n, ridge=li)
        grid = m1.replace(ridge=li * np.geomspace(0.5, 2, 21)).test_error()
        assert np.all(grid >= m1.test_error() * (1 - 1e-12))


def test_limits_large_ridge_and_large_n():
    s = np.linspace(0.5, 2, 100)
    b = np.sin(np.arange(100))
    s2 = 0.4
    null = float(np.sum(s * b ** 2)) + s2
    model = RidgeRegression(s, b, noise_var=s2, ridge=[1e8, 1e10], n_samples=200)
    assert model.null_risk == pytest.approx(null, rel=1e-14)
    np.testing.assert_allclose(model.test_error(), null, rtol=1e-6)     # ridge -> inf
    far = RidgeRegression(s, b, noise_var=s2, ridge=[0.0, 1e-9], n_samples=[[10 ** 5], [10 ** 7]])
    # n -> inf at vanishing ridge: the noise floor, approached as s2 / (1 - p/n) (§5.4)
    expected = s2 / (1 - 100 / np.array([[1e5, 1e5], [1e7, 1e7]]))
    np.testing.assert_allclose(far.test_error(), expected, rtol=1e-6)


def test_population_forms_agree():
    rng = np.random.default_rng(3)
    p = 60
    s = np.repeat([0.5, 2.0], [40, 20])
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    sigma = (Q * s) @ Q.T
    coef = rng.standard_normal(p)
    kw = dict(noise_var=0.3, ridge=[0.0, 0.05, 1.0], n_samples=[[30], [90]])
    by_eig = RidgeRegression(s, coef, **kw)
    by_matrix = RidgeRegression(sigma, Q @ coef, **kw)
    np.testing.assert_allclose(by_matrix.test_error(), by_eig.test_error(), rtol=1e-9)
    iso_eig = RidgeRegression(s, signal_var=2.0, **kw)
    iso_w = RidgeRegression(([0.5, 2.0], [2 / 3, 1 / 3]), signal_var=2.0, n_features=p, **kw)
    np.testing.assert_allclose(iso_w.test_error(), iso_eig.test_error(), rtol=1e-12)


def test_law_population_discretized_by_quantiles():
    class Uniform:          # minimal law: uniform on [1, 3]
        support = ((1.0, 3.0),)
        atoms = ()

        def stieltjes(self, z):  # pragma: no cover - unused
            raise NotImplementedError

        def cdf(self, x):
            return np.clip((np.asarray(x) - 1) / 2, 0, 1)

    model = RidgeRegression(Uniform(), signal_var=1.0, noise_var=0.1, ridge=0.1,
                            n_samples=50, n_features=100)
    eig = 1 + 2 * (np.arange(100) + 0.5) / 100
    ref = RidgeRegression(eig, signal_var=1.0, noise_var=0.1, ridge=0.1, n_samples=50)
    assert model.test_error() == pytest.approx(ref.test_error(), rel=1e-9)


def test_shapes_and_scalars():
    model = iso_model(100, np.array([[50], [200]]), np.array([0.0, 0.1, 1.0]))
    for q in ("test_error", "train_error", "bias", "variance", "effective_ridge",
              "degrees_of_freedom"):
        assert getattr(model, q)().shape == (2, 3)
    assert model.optimal_ridge().shape == (2, 1)
    assert isinstance(iso_model(100, 50, 0.1).test_error(), float)


def test_bad_input():
    with pytest.raises(ValueError, match="noise_var"):
        iso_model(10, 20, 0.1, noise_var=-1.0)
    with pytest.raises(ValueError, match="allow_negative"):
        iso_model(10, 20, -0.1)
    with pytest.raises(ValueError, match="lower"):
        iso_model(100, 400, -0.3, allow_negative=True)
    with pytest.raises(ValueError, match="target"):
        RidgeRegression(np.ones(10), np.ones(9), noise_var=1.0, ridge=0.1, n_samples=5)
    with pytest.raises(ValueError, match="exactly one"):
        RidgeRegression(np.ones(10), noise_var=1.0, ridge=0.1, n_samples=5)
    with pytest.raises(ValueError, match="n_features"):
        RidgeRegression(([1.0], [1.0]), signal_var=1.0, noise_var=1.0, ridge=0.1, n_samples=5)
    with pytest.raises(ValueError, match="n_samples"):
        iso_model(10, 2.5, 0.1)
    with pytest.raises(ValueError, match="population"):
        RidgeRegression(np.ones((3, 4)), signal_var=1.0, noise_var=1.0, ridge=0.1, n_samples=5)
    with pytest.raises(ValueError, match="finite"):
        RidgeRegression(np.array([1.0, np.nan]), signal_var=1.0, noise_var=1.0, ridge=0.1,
                        n_samples=5)
    with pytest.raises(ValueError, match="kind"):
        iso_model(10, 20, 0.1).test_error(kind="mean")
    # regression: n_samples >= 2^63 overflowed the integer cast (RuntimeWarning)
    with pytest.raises(ValueError, match=r"`n_samples` of RidgeRegression must be integers "
                                         r"in \[1, 2\^62\]"):
        iso_model(10, 1e20, 0.1)
    assert iso_model(10, 1e18, 0.0, noise_var=0.5).test_error() == pytest.approx(0.5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 10.0), min_size=1, max_size=12),
       st.one_of(st.just(0.0), st.floats(1e-3, 3.0)), st.floats(0.0, 2.0),
       st.one_of(st.just(0.0), st.floats(1e-300, 5.0)))
def test_hypothesis_risks_nonnegative_and_monotone(eigs, s2, r2, lam):
    s = np.repeat(np.array(eigs), 5)
    n = np.array([3, 10, 30, 100, 1000])
    model = RidgeRegression(s, signal_var=r2, noise_var=s2, ridge=lam, n_samples=n)
    for q in ("bias", "variance", "train_error", "test_error"):
        v = getattr(model, q)()
        assert np.all((v >= 0) | np.isinf(v))
    te = model.test_error()
    assert np.all(te >= s2 - 1e-12)
    assert np.all(model.train_error() <= te + 1e-12)
    # at the optimal ridge the test error is non-increasing in n (no double descent, §5.5)
    if r2 > 0.05:
        best = model.optimal_ridge()
        opt = np.array([model.replace(ridge=b, n_samples=k).test_error()
                        for b, k in zip(best, n)])
        assert np.all(np.diff(opt) <= 1e-9 * opt[:-1])


# ---------------------------------------------------------------------------------------
# simulation agreement
# ---------------------------------------------------------------------------------------

def _agree(table, quantity, k=4.0, c=0.0, rel=0.0):
    part = table[table.quantity == quantity]
    tol = np.maximum(k * part.stderr + c, rel * np.abs(part.theory))
    return np.abs(part.empirical - part.theory) <= tol


@pytest.mark.simulation
def test_simulation_matches_theory_isotropic_and_anisotropic():
    # tolerance |mean - theory| <= 4 stderr + C / sqrt(p), C = 0.5 (finite-size O(1/sqrt p)
    # bias of bilinear forms, theory note §3.1)
    p = 200
    c = 0.5 / np.sqrt(p)
    for pop in (np.ones(p), np.arange(1, p + 1.0) ** -1.0 * p / np.sum(1 / np.arange(1, p + 1))):
        model = RidgeRegression(pop, signal_var=1.0, noise_var=0.5, ridge=[0.0, 0.05, 0.5],
                                n_samples=[[100], [400]])
        table = model.simulate(trials=12, seed=7)
        assert set(table.columns) >= {"ridge", "n_samples", "quantity", "theory",
                                      "empirical", "stderr"}
        for q in ("test_error", "bias", "variance", "train_error", "gcv"):
            ok = _agree(table, q, c=c * (5 if q == "gcv" else 1))
            assert ok.all(), table[table.quantity == q]
        dof = table[table.quantity == "degrees_of_freedom"]
        np.testing.assert_allclose(dof.empirical, dof.theory, rtol=0.02)


@pytest.mark.simulation
def test_simulation_oracle_power_law_case():
    # theory note §5.6 "pl" rows (p = 1000, n = 400) at smaller size p = 250, n = 100:
    # tolerance max(4 se, 2% rel) + 0.5/sqrt(p)
    p = 250
    k = np.arange(1, p + 1.0)
    s = k ** -1.0
    s *= p / s.sum()
    rng = np.random.default_rng(0)
    b = np.sqrt(s) * rng.standard_normal(p)
    b /= np.sqrt(np.sum(s * b ** 2))
    model = RidgeRegression(s, b, noise_var=0.25, ridge=[0.0, 0.05], n_samples=100)
    table = model.simulate(trials=10, seed=1)
    for q in ("test_error", "bias", "variance"):
        part = table[table.quantity == q]
        tol = np.maximum(4 * part.stderr, 0.02 * part.theory) + 0.5 / np.sqrt(p) * 0.1
        assert (np.abs(part.empirical - part.theory) <= tol).all(), part


@pytest.mark.simulation
def test_simulation_error_shrinks_with_size():
    # rate test: the root-mean-square deviation of one draw's risk from the deterministic
    # equivalent, sqrt(trials se^2 + (mean - theory)^2), shrinks like 1/sqrt(p) (bilinear
    # form, theory note §1/§3.1): expected ratio sqrt(50/400) = 0.35 between p = 50 and 400;
    # we require < 0.6 at three ridges (isotropic and power-law spectra)
    for spectrum in ("iso", "pl"):
        rms = []
        for p in (50, 400):
            s = np.ones(p) if spectrum == "iso" else np.arange(1, p + 1.0) ** -1.0
            model = RidgeRegression(s, signal_var=1.0, noise_var=0.5, ridge=[0.01, 0.1, 1.0],
                                    n_samples=2 * p)
            t = model.simulate(trials=8, seed=3)
            part = t[t.quantity == "test_error"]
            rms.append(np.sqrt(8 * part.stderr ** 2 + (part.empirical - part.theory) ** 2)
                       .to_numpy())
        assert np.all(rms[1] < 0.6 * rms[0]), (spectrum, rms)


def test_negative_optimal_ridge_spiked_aligned_target():
    # Kobak et al. 2020 / Wu & Xu 2020 (theory note §5.5): strong aligned signal on a few
    # large eigenvalues with p > n makes the optimal ridge negative
    s = np.concatenate([np.full(10, 20.0), np.full(190, 1.0)])
    b = np.concatenate([np.full(10, 0.3), np.zeros(190)])
    model = RidgeRegression(s, b, noise_var=0.01, ridge=0.0, n_samples=[100, 400],
                            allow_negative=True)
    lam = model.optimal_ridge()
    assert lam[0] < 0 < lam[1]
    bound = negative_ridge_bound(s, n_samples=100)
    grid = np.linspace(0.95 * bound, 0.3, 801)
    risk = model.replace(ridge=grid, n_samples=100).test_error()
    best = model.replace(ridge=lam[0], n_samples=100).test_error()
    assert best <= risk.min() * (1 + 1e-12)
    assert abs(lam[0] - grid[np.argmin(risk)]) <= 2 * (grid[1] - grid[0])
    # without the option, the search stops at ridge >= 0
    plain = RidgeRegression(s, b, noise_var=0.01, ridge=0.0, n_samples=100).optimal_ridge()
    assert plain == 0.0


@pytest.mark.simulation
def test_negative_optimal_ridge_beats_ridgeless_in_simulation():
    s = np.concatenate([np.full(10, 20.0), np.full(190, 1.0)])
    b = np.concatenate([np.full(10, 0.3), np.zeros(190)])
    model = RidgeRegression(s, b, noise_var=0.01, ridge=0.0, n_samples=100,
                            allow_negative=True)
    lam = model.optimal_ridge()
    t = model.replace(ridge=[lam, 0.0]).simulate(trials=10, seed=0)
    assert _agree(t, "test_error", c=0.5 / np.sqrt(200)).all()
    te = t[t.quantity == "test_error"].empirical.to_numpy()
    assert te[0] < te[1]


@pytest.mark.simulation
def test_negative_ridge_simulation_valid_range():
    # aligned target with a spiked spectrum: theory agrees with simulation for ridge < 0
    s = np.concatenate([np.full(20, 10.0), np.full(180, 1.0)])
    b = np.concatenate([np.full(20, 0.3), np.zeros(180)])
    model = RidgeRegression(s, b, noise_var=0.05, ridge=[-0.05, 0.0, 0.05], n_samples=400,
                            allow_negative=True)
    t = model.simulate(trials=10, seed=2)
    assert _agree(t, "test_error", c=0.5 / np.sqrt(200)).all()


def test_oracle_power_law_population_beta_free_columns():
    # theory note §5.6 "pl" rows (p = 1000, s_k ~ 1/k rescaled to sum p). Their target is a
    # random draw, so only the columns that do not depend on beta are reproducible: the
    # effective ridge and the variance (and, for p < n, the train/test closed forms)
    p = 1000
    s = np.arange(1, p + 1.0) ** -1.0
    s *= p / s.sum()
    m = RidgeRegression(s, signal_var=1.0, noise_var=0.25, ridge=[0.05, 0.0], n_samples=400)
    np.testing.assert_allclose(m.effective_ridge(), [0.632762, 0.539572], atol=1e-6)
    np.testing.assert_allclose(m.variance(), [0.192160, 0.244987], atol=1e-6)
    m = RidgeRegression(s, signal_var=1.0, noise_var=0.25, ridge=[0.01, 0.0], n_samples=2000)
    np.testing.assert_allclose(m.variance(), [0.1951, 0.25], atol=6e-5)
    assert m.test_error()[1] == pytest.approx(0.5, abs=1e-12)       # sigma^2 / (1 - gamma)
    assert m.train_error()[1] == pytest.approx(0.125, abs=1e-12)    # sigma^2 (1 - gamma)
    # the note's Monte-Carlo variance means (8 trials) within max(4 se, 2% relative)
    m4 = RidgeRegression(s, signal_var=1.0, noise_var=0.25, ridge=[0.05, 0.0], n_samples=400)
    theory = np.r_[m4.variance(), m.variance()[0]]
    mc, se = np.array([0.192224, 0.245761, 0.1951]), np.array([2.2e-4, 3.3e-4, 1e-4])
    assert np.all(np.abs(mc - theory) <= np.maximum(4 * se, 0.02 * theory))


def test_oracle_two_point_population():
    # theory note §5.6 "2pt": 500 eigenvalues 4 and 500 eigenvalues 0.25, beta = ones/sqrt(p)
    s = np.repeat([4.0, 0.25], 500)
    b = np.ones(1000) / np.sqrt(1000)
    m = RidgeRegression(s, b, noise_var=0.1, ridge=[0.02, 0.0], n_samples=800)
    np.testing.assert_allclose(m.bias(), [0.1280, 0.115100], atol=6e-5)
    np.testing.assert_allclose(m.variance(), [0.2644, 0.502943], atol=6e-5)
    np.testing.assert_allclose(m.test_error(), [0.4925, 0.718043], atol=6e-5)
    np.testing.assert_allclose(m.train_error(), [0.00363, 0.0], atol=6e-6)
    assert m.effective_ridge()[1] == pytest.approx(0.143875, abs=1e-6)


@pytest.mark.simulation
def test_oracle_two_point_simulation_small():
    # the 2pt case at p = 200, n = 160 (same ratios): MC within max(4 se, 2% rel) + the
    # finite-size allowance 0.5/sqrt(p) * theory (theory note §5.6 used p = 1000)
    p = 200
    s = np.repeat([4.0, 0.25], p // 2)
    b = np.ones(p) / np.sqrt(p)
    m = RidgeRegression(s, b, noise_var=0.1, ridge=[0.02, 0.0], n_samples=160)
    t = m.simulate(trials=10, seed=4)
    for q in ("test_error", "bias", "variance"):
        part = t[t.quantity == q]
        tol = np.maximum(4 * part.stderr, 0.02 * part.theory) + 0.5 / np.sqrt(p) * part.theory
        assert (np.abs(part.empirical - part.theory) <= tol).all(), part


def test_solver_failure_is_reported_not_hidden(monkeypatch):
    # force non-convergence (no Newton iteration: the start alone; since the complement
    # n - df1 is formed without cancellation, one iteration from the interpolated start
    # already reaches 1e-10): ConvergenceError by default, NaN + one ConvergenceWarning
    # on request; never the last iterate as an answer
    import hdeq.equivalents._ridge_equivalent as core
    from hdeq.core import ConvergenceError, ConvergenceWarning

    monkeypatch.setattr(core, "_MAX_ITER", 0)
    s = np.arange(1, 101.0) ** -2.0
    res = solve_effective_ridge([1e-3, 1.0], s, None, 200)   # rank 100 < n: kappa_0 = 0
    assert not res.converged.all() and np.nanmax(res.residual) > 1e-10
    with pytest.raises(ConvergenceError, match="did not converge"):
        effective_ridge([1e-3, 1.0], s, n_samples=200)
    with pytest.warns(ConvergenceWarning):
        out = effective_ridge([1e-3, 1.0], s, n_samples=200, on_failure="nan")
    assert np.isnan(out[~res.converged]).all()
    with pytest.raises(ConvergenceError):
        RidgeRegression(s, signal_var=1.0, noise_var=0.1, ridge=[1e-3, 1.0],
                        n_samples=200).test_error()
    with pytest.raises(ValueError, match="on_failure"):
        effective_ridge(0.1, s, n_samples=50, on_failure="ignore")


def test_huge_ridge_tends_to_null_risk_without_overflow():
    # regression: inf at ridge 1e155, NaN at 1e200/1e300 (kappa^2 overflow); the limit
    # ridge -> inf is the null risk beta^T Sigma beta + noise_var = 1.1 (theory note §5.2)
    ridges = np.array([1e10, 1e155, 1e200, 1e300])
    model = RidgeRegression(np.ones(200), signal_var=1, noise_var=0.1, ridge=ridges,
                            n_samples=100)
    np.testing.assert_allclose(model.test_error(), model.null_risk, rtol=1e-9)
    np.testing.assert_allclose(model.test_error(), 1.1, rtol=1e-9)
    np.testing.assert_allclose(model.train_error(), 1.1, rtol=1e-9)
    np.testing.assert_allclose(model.bias(), 1.0, rtol=1e-9)
    np.testing.assert_allclose(model.effective_ridge() / ridges, 1.0, rtol=1e-9)
    assert np.all(np.isfinite(model.variance())) and np.all(model.variance() < 1e-9)


@pytest.mark.parametrize("population", [np.ones(200), np.geomspace(1e-3, 1e3, 200)])
@pytest.mark.parametrize("n_samples", [1, 100, 400])
def test_ridges_up_to_the_largest_float_without_warnings(population, n_samples):
    # fresh-user report P2.9: ridge=1e308 warned "overflow encountered in add" (the solver's
    # noise floor); a grid reaching the largest float failed to converge (the bisection
    # midpoint overflowed) and a lone ridge at it warned in the initial guess. RuntimeWarnings
    # are errors in this test run; the values are the ridge -> inf limits
    top = np.finfo(float).max
    ridges = np.array([1.0, 1e300, 1e308, top / 2, top])
    model = RidgeRegression(population, signal_var=1.0, noise_var=0.5, ridge=ridges,
                            n_samples=n_samples)
    big = ridges > 1e299
    null = 0.5 + np.mean(population)          # beta^T Sigma beta + noise_var
    assert model.null_risk == pytest.approx(null, rel=1e-14)
    np.testing.assert_allclose(model.test_error()[big], null, rtol=1e-12)
    np.testing.assert_allclose(model.train_error()[big], null, rtol=1e-12)
    np.testing.assert_allclose(model.bias()[big], null - 0.5, rtol=1e-12)
    np.testing.assert_allclose(model.effective_ridge()[big], ridges[big], rtol=1e-12)
    # each ridge alone gives the same numbers as in the grid
    for lam, risk in zip(ridges, model.test_error()):
        assert model.replace(ridge=lam).test_error() == pytest.approx(risk, rel=1e-12)


def test_replace_and_broadcast_errors_name_the_arguments():
    model = RidgeRegression(np.ones(50), signal_var=1, noise_var=0.1, ridge=[0.1, 1.0],
                            n_samples=100)
    with pytest.raises(ValueError, match="RidgeRegression.replace must be among .*ridge.*"
                                         "got 'foo'"):
        model.replace(foo=1)
    with pytest.raises(ValueError, match="`ridge` and `n_samples` of RidgeRegression must "
                                         r"broadcast.*\(3,\) and \(2,\)"):
        RidgeRegression(np.ones(50), signal_var=1, noise_var=0.1, ridge=[0.1, 1.0, 2.0],
                        n_samples=[100, 200])


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_every_quantity_is_homogeneous_in_the_population_scale(scale):
    # regression: below ~1e-100 (above ~1e100) the spectral sums 1/(t + kappa)^3 overflowed:
    # inf test errors and a wrong optimal ridge (with RuntimeWarnings). Sigma -> c Sigma,
    # ridge -> c ridge, noise_var -> c noise_var scales every risk, kappa and ridge* by c.
    s = np.arange(1, 201.0) ** -1.0
    b = np.cos(np.arange(200))
    grid = dict(ridge=np.array([0.0, 1e-3, 0.1]), n_samples=[[100], [300]])
    ref = RidgeRegression(s, b, noise_var=0.3, **grid)
    big = RidgeRegression(scale * s, b, noise_var=0.3 * scale, ridge=scale * grid["ridge"],
                          n_samples=grid["n_samples"])
    for q in ("test_error", "train_error", "bias", "variance", "effective_ridge",
              "optimal_ridge"):
        np.testing.assert_allclose(getattr(big, q)() / scale, getattr(ref, q)(), rtol=1e-12,
                                   atol=1e-30, err_msg=q)
    np.testing.assert_allclose(big.degrees_of_freedom(2), ref.degrees_of_freedom(2),
                               rtol=1e-12)
    neg = dict(target=b, noise_var=0.3, n_samples=300, allow_negative=True)
    assert (RidgeRegression(scale * s, ridge=-1e-4 * scale, **{**neg, "noise_var": 0.3 * scale})
            .test_error() / scale == pytest.approx(
                RidgeRegression(s, ridge=-1e-4, **neg).test_error(), rel=1e-12))
    assert ridgeless_threshold(scale * s, n_samples=100) / scale == pytest.approx(
        ridgeless_threshold(s, n_samples=100), rel=1e-12)
    assert negative_ridge_bound(scale * s, n_samples=300) / scale == pytest.approx(
        negative_ridge_bound(s, n_samples=300), rel=1e-12)
    kappa = float(effective_ridge(0.1 * scale, scale * s, n_samples=100))
    given = ridge_risk(0.1 * scale, scale * s, n_samples=100, target_energy=b ** 2,
                       noise_var=0.3 * scale, kappa=kappa)
    assert float(given.test) / scale == pytest.approx(ref.test_error()[0, 2], rel=1e-12)


def test_simulation_uses_one_decomposition_per_draw_for_the_whole_ridge_grid(monkeypatch):
    # issue requirement: one eigendecomposition (here a thin SVD) per draw serves every
    # ridge; 2 sample sizes x 3 trials -> 6 SVDs for a grid of 7 ridges
    calls = []
    svd = np.linalg.svd

    def counting_svd(*args, **kwargs):
        calls.append(args[0].shape)
        return svd(*args, **kwargs)

    monkeypatch.setattr(np.linalg, "svd", counting_svd)
    model = iso_model(30, [[20], [60]], np.geomspace(1e-3, 1.0, 7))
    table = model.simulate(trials=3, seed=0)
    assert len(calls) == 6 and sorted(set(calls)) == [(20, 30), (60, 30)]
    assert table.ridge.nunique() == 7


def test_simulation_twin_at_huge_ridges_without_overflow():
    # the twin formed n * ridge (overflow above ~1e305 with n = 40) and nl / (d^2 + nl)
    # (inf / inf = NaN). All ridges share the draws, so beyond 1e200 every draw has
    # beta_hat = 0 to rounding: bias = beta^T Sigma beta, variance 0, train = gcv = |y|^2/n,
    # and dof * ridge = tr S is the same number at every huge ridge
    ridges = np.array([1e6, 1e200, 1e300, 1e308, np.finfo(float).max])
    model = RidgeRegression(np.ones(20), signal_var=1.0, noise_var=0.5, ridge=ridges,
                            n_samples=40)
    table = model.simulate(trials=3, seed=0).set_index(["quantity", "ridge"]).empirical
    huge = ridges[1:]
    for q in ("bias", "train_error", "gcv", "test_error"):
        np.testing.assert_allclose(table[q][huge], table[q][1e6], rtol=1e-4)
        np.testing.assert_allclose(table[q][huge], table[q][huge[0]], rtol=1e-12)
    np.testing.assert_allclose(table["gcv"][huge], table["train_error"][huge], rtol=1e-12)
    assert np.all(table["variance"][huge] == 0)
    trace = table["degrees_of_freedom"][huge] * huge
    np.testing.assert_allclose(trace, trace.iloc[0], rtol=1e-12)
    assert trace.iloc[0] == pytest.approx(20, rel=0.3)          # E tr S = tr Sigma = 20


def test_threshold_functions_take_the_population_first():
    # fresh-user report 2, item 18: negative_ridge_bound(n_samples, eigenvalues) took its
    # arguments in the opposite order to effective_ridge and the models; now (eigenvalues,
    # multiplicity, n_samples) for all, and the old order is a clear error
    s = np.ones(100)
    assert negative_ridge_bound(s, None, 400) == pytest.approx(-0.25, rel=1e-12)
    assert ridgeless_threshold([1.0], [1000], 500) == pytest.approx(1.0, rel=1e-12)
    for f in (negative_ridge_bound, ridgeless_threshold):
        with pytest.raises(ValueError, match=r"got the scalar 400 \(the arguments are "
                                             r"\(eigenvalues, multiplicity=None, n_samples\)"):
            f(400, s)
        with pytest.raises(ValueError, match="`n_samples` of .* must be given"):
            f(s)


def test_allow_negative_must_be_a_bool():
    with pytest.raises(ValueError, match=r"`allow_negative` of RidgeRegression must be a bool "
                                         r"\(True or False\); got 'no'"):
        RidgeRegression(np.ones(10), signal_var=1.0, noise_var=0.5, ridge=0.1, n_samples=20,
                        allow_negative="no")
    model = RidgeRegression(np.ones(10), signal_var=1.0, noise_var=0.5, ridge=-0.01,
                            n_samples=20, allow_negative=np.bool_(True))
    assert model.allow_negative is True
