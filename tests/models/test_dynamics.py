"""Gradient flow / gradient descent on least squares (hdeq.models._dynamics).

Reference values: theory note linear.md §7a (oracle table "Oracle cases, GF", the
epoch-wise double-descent example, the early-stopping vs ridge numbers) and §5.4
(ridgeless limits, through hdeq.RidgeRegression).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from threadpoolctl import threadpool_limits

from hdeq import (ConvergenceError, GradientDescent, GradientFlow, RandomProjectionRegression,
                  RidgeRegression)


def _unit(p):
    beta = np.zeros(p)
    beta[0] = 1.0
    return beta


def _two_scale(p=1000, n=800, fast_fraction=0.211796):
    """Theory note §7a example: 200 eigenvalues 1.0 and 800 eigenvalues 0.01 (scaled to p),
    noise_var 0.3, beta^T Sigma beta = 1. Only the split of the signal between the two
    eigenvalues matters; the note's random beta put 0.211796 of beta^T Sigma beta on the fast
    block (recovered from its table: each of the five bias values gives 0.211796 +- 5e-7)."""
    n_fast = p // 5
    pop = np.r_[np.ones(n_fast), np.full(p - n_fast, 0.01)]
    beta = np.where(pop == 1.0, np.sqrt(fast_fraction / n_fast),
                    np.sqrt((1 - fast_fraction) / 0.01 / (p - n_fast)))
    return GradientFlow(pop, beta, noise_var=0.3, n_samples=n)


# theory note §7a, "Oracle cases, GF": t, B formula, B MC (se), V formula, V MC (se),
# train formula, train MC (se)
ORACLE = {
    "iso_gamma_0.5": (dict(p=1000, n=2000), [
        (0.5, 0.452510, 0.459614, 0.0062, 0.032790, 0.032779, 1.2e-5, 0.646887, 0.642261, 0.0060),
        (2, 0.130313, 0.135063, 0.0057, 0.160894, 0.160835, 2.5e-5, 0.321679, 0.322044, 0.0039),
        (10, 0.006578, 0.007311, 7.7e-4, 0.408520, 0.408723, 2.3e-4, 0.252586, 0.253598, 0.0038),
        (100, 0.0, 1.4e-10, 1e-10, 0.499995, 0.501059, 7.2e-4, 0.25, 0.251049, 0.0038),
    ]),
    "iso_gamma_2": (dict(p=1000, n=500), [
        (0.5, 0.633795, 0.620788, 0.0050, 0.080682, 0.080656, 2.5e-5, 0.253027, 0.259151, 0.0105),
        (2, 0.524431, 0.512349, 0.0069, 0.266599, 0.266448, 4.9e-5, 0.034626, 0.032822, 0.0016),
        (10, 0.500257, 0.488293, 0.0077, 0.475988, 0.476170, 4.8e-4, 3.17e-4, 2.56e-4, 3.7e-5),
        (100, 0.5, 0.488044, 0.0077, 0.5, 0.500269, 6.6e-4, 0.0, 0.0, 1e-10),
    ]),
    "two_scale": (None, [
        (1, 0.886951, 0.883213, 0.0030, 0.026798, 0.026777, 1.1e-5, 0.869799, 0.872487, 0.019),
        (5, 0.939061, 0.924428, 0.0074, 0.084650, 0.084732, 6.1e-5, 0.701179, 0.707562, 0.015),
        (30, 0.741146, 0.730179, 0.0061, 0.113416, 0.113612, 1.5e-4, 0.373832, 0.378360, 0.0071),
        (300, 0.375260, 0.370495, 0.0067, 0.336646, 0.336973, 3.0e-4, 0.045330, 0.044592, 0.0011),
        (3000, 0.266014, 0.267429, 0.0061, 0.980802, 0.984642, 0.0012, 0.0017663, 0.0017705,
         1.8e-4),
    ]),
}


def _oracle_model(case):
    sizes, _ = ORACLE[case]
    if sizes is None:
        return _two_scale()
    return GradientFlow(np.ones(sizes["p"]), _unit(sizes["p"]), noise_var=0.5,
                        n_samples=sizes["n"])


@pytest.mark.parametrize("case", list(ORACLE))
def test_oracle_formula_values(case):
    # our contour formulas reproduce the note's formula column (printed to 6 digits)
    model = _oracle_model(case)
    rows = np.array(ORACLE[case][1])
    t = rows[:, 0]
    np.testing.assert_allclose(model.bias(t), rows[:, 1], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(model.variance(t), rows[:, 4], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(model.train_error(t), rows[:, 7], rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("case", list(ORACLE))
def test_oracle_monte_carlo_columns_within_tolerance(case):
    # the note's MC means (6-8 trials at p = 1000) vs our theory: max(4 se, 2% relative)
    model = _oracle_model(case)
    rows = np.array(ORACLE[case][1])
    t = rows[:, 0]
    for col, values in ((1, model.bias(t)), (4, model.variance(t)), (7, model.train_error(t))):
        mc, se = rows[:, col + 1], rows[:, col + 2]
        tol = np.maximum(4 * se, 0.02 * np.abs(values)) + 1e-9
        assert np.all(np.abs(mc - values) <= tol), (case, col)


@pytest.mark.parametrize("ratio", [0.5, 2.0])
@pytest.mark.parametrize("init_var", [0.0, 0.4])
def test_contour_equals_marchenko_pastur_quadrature(ratio, init_var):
    # theory note §8 item 6: isotropic contour result == MP-integral result (1e-9)
    p = 200
    beta = np.zeros(p)
    beta[:3] = [0.5, 0.3, -0.2]
    gf = GradientFlow(1.7 * np.ones(p), beta, noise_var=0.5, n_samples=int(p / ratio),
                      init_var=init_var)
    t = np.array([0.0, 1e-9, 0.3, 2.0, 10.0, 100.0, 1e4])
    for q in ("bias", "variance", "train_error", "test_error"):
        np.testing.assert_allclose(getattr(gf, q)(t), getattr(gf, q)(t, method="quadrature"),
                                   rtol=0, atol=1e-9)
    gd = GradientDescent(1.7 * np.ones(p), beta, noise_var=0.5, n_samples=int(p / ratio),
                         learning_rate=0.15, init_var=init_var)
    k = np.array([0, 1, 10, 100, 10_000])
    for q in ("bias", "variance", "train_error"):
        np.testing.assert_allclose(getattr(gd, q)(k), getattr(gd, q)(k, method="quadrature"),
                                   rtol=0, atol=1e-9)


def test_initial_values_t_zero():
    rng = np.random.default_rng(3)
    pop = rng.uniform(0.2, 3.0, 300)
    beta = rng.standard_normal(300) / np.sqrt(300)
    gf = GradientFlow(pop, beta, noise_var=0.4, n_samples=200, init_var=0.7)
    signal = beta ** 2 @ pop + 0.7 * pop.mean()
    assert gf.bias(0.0) == pytest.approx(signal, abs=1e-10)
    assert gf.variance(0.0) == pytest.approx(0.0, abs=1e-12)
    assert gf.train_error(0.0) == pytest.approx(signal + 0.4, abs=1e-10)
    assert gf.test_error(0.0) == pytest.approx(signal + 0.4, abs=1e-10)


@pytest.mark.parametrize("n_samples", [300, 180])
def test_long_time_limit_is_ridgeless_ridge(n_samples):
    # t -> inf: gradient flow from 0 converges to the min-norm interpolator (theory note
    # §7a, §5.4); compare with RidgeRegression(ridge=0) for a 3-atom population.
    rng = np.random.default_rng(4)
    pop = np.repeat([0.3, 1.0, 4.0], 80)
    beta = rng.standard_normal(240) / np.sqrt(240)
    gf = GradientFlow(pop, beta, noise_var=0.2, n_samples=n_samples)
    ridge = RidgeRegression(pop, beta, noise_var=0.2, ridge=0.0, n_samples=n_samples)
    t = 1e6
    assert gf.bias(t) == pytest.approx(ridge.bias(), abs=1e-9)
    assert gf.variance(t) == pytest.approx(ridge.variance(), abs=1e-9)
    assert gf.test_error(t) == pytest.approx(ridge.test_error(), abs=1e-9)
    assert gf.train_error(t) == pytest.approx(ridge.train_error(), abs=1e-9)


def test_frozen_null_space_of_initialisation():
    # theory note §7a: for gamma > 1, init_var (1 - 1/gamma) never decays (isotropic)
    gf = GradientFlow(np.ones(400), _unit(400), noise_var=0.0, n_samples=200, init_var=0.6)
    assert gf.bias(1e5) == pytest.approx((1.0 + 0.6) * 0.5, abs=1e-10)


def test_epoch_wise_double_descent_two_scale():
    # theory note §7a: excess risk min 0.905 at t ~ 0.56, local max 1.025 at t ~ 5.6,
    # second min 0.685 at t ~ 178, ridgeless value 1.52 (3 digits; locations "about").
    gf = _two_scale()
    t = np.geomspace(0.05, 1e4, 1500)
    ex = gf.excess_error(t)
    inner = np.arange(1, t.size - 1)
    minima = inner[(ex[inner] < ex[inner - 1]) & (ex[inner] < ex[inner + 1])]
    maxima = inner[(ex[inner] > ex[inner - 1]) & (ex[inner] > ex[inner + 1])]
    assert minima.size == 2 and maxima.size == 1
    (m1, m2), (mx,) = minima, maxima
    assert ex[m1] == pytest.approx(0.905, abs=2e-3)
    assert ex[mx] == pytest.approx(1.025, abs=1e-3)
    assert ex[m2] == pytest.approx(0.685, abs=2e-3)
    assert 0.56 / 1.25 < t[m1] < 0.56 * 1.25        # flat minimum: location to 25%
    assert 5.6 / 1.1 < t[mx] < 5.6 * 1.1
    assert 178 / 1.25 < t[m2] < 178 * 1.25
    assert gf.excess_error(1e4) == pytest.approx(1.52, abs=5e-3)    # "1.52 at t = 1e4"
    ridgeless = RidgeRegression(gf.population, gf.target, noise_var=0.3, ridge=0.0,
                                n_samples=800)
    assert gf.excess_error(1e8) == pytest.approx(ridgeless.test_error("excess"), abs=1e-8)


def test_isotropic_single_minimum_bias_decreasing_variance_increasing():
    gf = GradientFlow(np.ones(300), _unit(300), noise_var=0.5, n_samples=600)
    t = np.geomspace(1e-2, 1e3, 400)
    bias = gf.bias(t)
    assert np.all(np.diff(bias[t < 20]) < 0)      # (beyond, bias < 1e-12: round-off)
    assert np.all(np.diff(gf.variance(t)[t < 20]) > 0)
    ex = gf.excess_error(t[t < 50])             # (later: flat to round-off)
    assert np.sum(np.diff(np.sign(np.diff(ex))) != 0) == 1


@pytest.mark.parametrize("p, n, max_ratio, opt_gf, opt_ridge", [
    (1000, 2000, 1.307, 0.290146, 0.280776),
    (1000, 500, 1.139, 0.711630, 0.707107),
])
def test_early_stopping_vs_ridge(p, n, max_ratio, opt_gf, opt_ridge):
    # theory note §7a (Ali, Kolter & Tibshirani 2019), isotropic, noise_var 0.5, excess risk:
    # max_t R_GF(t)/R_ridge(1/t) and optimally stopped GF vs optimally tuned ridge.
    gf = GradientFlow(np.ones(p), _unit(p), noise_var=0.5, n_samples=n)
    t = np.geomspace(1e-3, 1e3, 2000)
    ridge = RidgeRegression(np.ones(p), _unit(p), noise_var=0.5, ridge=1 / t, n_samples=n)
    ratio = gf.excess_error(t) / ridge.test_error("excess")
    assert ratio.max() == pytest.approx(max_ratio, abs=1e-3)
    assert ratio.max() <= 1.6862          # the published bound [L]
    best = minimize_scalar(lambda lt: gf.excess_error(np.exp(lt)), bounds=(-3, 3),
                           method="bounded", options={"xatol": 1e-8})
    # the note's optimum comes from a time grid: ours is at most its value and within 3e-5
    assert opt_gf - 3e-5 <= best.fun <= opt_gf + 1e-6
    assert ridge.test_error("excess").min() == pytest.approx(opt_ridge, abs=1e-5)


def test_gradient_descent_tends_to_flow_as_step_shrinks():
    gf = _two_scale(p=500, n=400)
    errors = []
    for eta in (0.2, 0.05, 0.0125):
        gd = GradientDescent(gf.population, gf.target, noise_var=0.3, n_samples=400,
                             learning_rate=eta)
        k = np.round(np.array([1.0, 5.0, 30.0]) / eta)
        errors.append(np.abs(gd.test_error(k) - gf.test_error(k * eta)).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] / errors[2] == pytest.approx(4.0, rel=0.2)     # O(eta)


def test_gd_loop_matches_spectral_filter_on_one_design():
    # the true GD loop of the simulation twin equals the (1 - eta s)^k filter on the SVD
    rng = np.random.default_rng(5)
    p, n, eta = 60, 90, 0.3
    gd = GradientDescent(np.linspace(0.5, 1.5, p), rng.standard_normal(p) / 8, noise_var=0.3,
                         n_samples=n, learning_rate=eta, init_var=0.2)
    X, eps, w0, beta = gd._draw(rng)
    steps = np.array([0, 3, 17, 40])
    test, train = gd._run_loop(X, eps, w0, beta, steps, None)
    S = X.T @ X / n
    lam, V = np.linalg.eigh(S)
    for i, k in enumerate(steps):
        d = (1 - eta * lam) ** k
        w = beta + V @ (d * (V.T @ (w0 - beta))) + V @ ((1 - d) / lam * (V.T @ (X.T @ eps / n)))
        assert test[i] == pytest.approx(0.3 + (w - beta) ** 2 @ gd.population, rel=1e-10)
        assert train[i] == pytest.approx(np.mean((X @ beta + eps - X @ w) ** 2), rel=1e-10)


def _relative_gap(table, quantity):
    rows = table[table.quantity == quantity]
    return rows, np.abs(rows.empirical - rows.theory)


@pytest.mark.simulation
@pytest.mark.parametrize("p, n", [(200, 400), (400, 200)])
def test_simulation_agreement_isotropic_gradient_flow(p, n):
    # |mean - theory| <= k se + C/sqrt(n) with k = 4, C = 0.3 (finite-size bias of the
    # bilinear forms is O(n^{-1/2}), theory note §3.1)
    gf = GradientFlow(np.ones(p), _unit(p), noise_var=0.5, n_samples=n, init_var=0.3)
    with threadpool_limits(1):
        table = gf.simulate([0.5, 2.0, 10.0], trials=10, seed=0)
    assert set(table.quantity) == {"test_error", "train_error", "bias", "variance"}
    tol = 4 * table.stderr + 0.3 / np.sqrt(n)
    assert np.all(np.abs(table.empirical - table.theory) <= tol)


@pytest.mark.simulation
def test_simulation_agreement_two_scale_and_gradient_descent_loop():
    gf = _two_scale(p=300, n=240)
    gd = GradientDescent(gf.population, gf.target, noise_var=0.3, n_samples=240,
                         learning_rate=0.5, init_var=0.1)
    with threadpool_limits(1):
        t_flow = gf.simulate([1.0, 5.0, 30.0, 300.0], trials=8, seed=1)
        t_gd = gd.simulate([2, 10, 60, 600], trials=6, seed=2)
    for table in (t_flow, t_gd):
        tol = 4 * table.stderr + 0.3 / np.sqrt(240)
        assert np.all(np.abs(table.empirical - table.theory) <= tol)


@pytest.mark.simulation
def test_simulation_error_shrinks_with_size():
    # variance (a trace: fluctuations O(1/n)) at three sizes, same aspect ratio: the
    # worst relative error over times must shrink as n grows (fixed seeds).
    errors = []
    for p in (50, 200, 800):
        gf = GradientFlow(np.ones(p), _unit(p), noise_var=0.5, n_samples=2 * p)
        with threadpool_limits(1):
            table = gf.simulate([0.5, 2.0, 10.0], trials=6, seed=p)
        rows = table[table.quantity == "variance"]
        errors.append(np.max(np.abs(rows.empirical - rows.theory) / rows.theory))
    assert errors[0] > errors[1] > errors[2]


def test_signal_var_target_and_simulation_columns():
    gf = GradientFlow(np.ones(100), signal_var=1.0, noise_var=0.5, n_samples=200)
    ref = GradientFlow(np.ones(100), _unit(100), noise_var=0.5, n_samples=200)
    np.testing.assert_allclose(gf.test_error([0.5, 5.0]), ref.test_error([0.5, 5.0]),
                               atol=1e-12)
    with threadpool_limits(1):
        table = gf.simulate([1.0], trials=3, seed=0)
    assert list(table.columns[:5]) == ["time", "quantity", "theory", "empirical", "stderr"]
    assert table.empirical.notna().all()


def test_vectorized_shapes_and_scalars():
    gf = GradientFlow(np.ones(50), _unit(50), noise_var=0.5, n_samples=100)
    assert isinstance(gf.test_error(1.0), float)
    assert gf.test_error(np.ones((2, 3))).shape == (2, 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(population=[1.0, -1.0], target=[1.0, 0.0], noise_var=0.1, n_samples=4),
     "`population` of GradientFlow"),
    (dict(population=[1.0, 1.0], target=[1.0], noise_var=0.1, n_samples=4),
     "`target` of GradientFlow"),
    (dict(population=[1.0, 1.0], target=[1.0, 0.0], noise_var=-0.1, n_samples=4),
     "`noise_var` of GradientFlow"),
    (dict(population=[1.0, 1.0], target=[1.0, 0.0], noise_var=0.1, n_samples=2),
     "`n_samples` of GradientFlow"),
    (dict(population=[1.0, 1.0], noise_var=0.1, n_samples=4), "exactly one of"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GradientFlow(**kwargs)


def test_bad_times_steps_and_learning_rate():
    gf = GradientFlow(np.ones(50), _unit(50), noise_var=0.5, n_samples=100)
    with pytest.raises(ValueError, match="`times` of GradientFlow"):
        gf.test_error(-1.0)
    with pytest.raises(ValueError, match="`method` of GradientFlow"):
        gf.test_error(1.0, method="magic")
    gd = GradientDescent(np.ones(50), _unit(50), noise_var=0.5, n_samples=100,
                         learning_rate=0.5)
    with pytest.raises(ValueError, match="`steps` of GradientDescent"):
        gd.test_error(1.5)
    too_big = GradientDescent(np.ones(50), _unit(50), noise_var=0.5, n_samples=100,
                              learning_rate=1.5)
    with pytest.raises(ValueError, match="`learning_rate` of GradientDescent"):
        too_big.test_error(3)
    with pytest.raises(ValueError, match="`method` of GradientFlow"):
        GradientFlow([1.0, 2.0, 3.0], [1, 0, 0], noise_var=0.1,
                     n_samples=6).bias(1.0, method="quadrature")


def test_self_test_catches_an_unresolved_contour():
    # a 16-node contour cannot resolve a spectrum over 10 decades: the total-mass self-test
    # (theory note §8 item 5) raises instead of returning a wrong number
    k = np.arange(1, 3001, dtype=float)
    coarse = GradientFlow(k ** -3.0, k ** -0.5, noise_var=0.1, n_samples=1000, n_nodes=16)
    with pytest.raises(ConvergenceError, match="total mass"):
        coarse.test_error(1.0)


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(0.05, 20.0), min_size=1, max_size=4),
       st.floats(0.2, 0.9), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_property_two_routes_and_bounds(atoms, frac, noise_var, init_var):
    # for random atomic populations: t = 0 closed form, t -> inf equals ridgeless ridge
    # (RidgeRegression, independent solver), risks >= noise_var, variance increasing.
    p = 120
    pop = np.repeat(np.array(atoms), p // len(atoms) + 1)[:p]
    rng = np.random.default_rng(len(atoms))
    beta = rng.standard_normal(p) / np.sqrt(p)
    n = int(p * frac) if frac < 0.5 else int(p / frac)
    if n == p:
        n += 1
    gf = GradientFlow(pop, beta, noise_var=noise_var, n_samples=n, init_var=init_var)
    t = np.array([0.0, 0.5, 5.0, 50.0])
    assert gf.bias(0.0) == pytest.approx(beta ** 2 @ pop + init_var * pop.mean(), abs=1e-9)
    test, var = gf.test_error(t), gf.variance(t)
    assert np.all(test >= noise_var - 1e-10) and np.all(gf.train_error(t) >= -1e-10)
    assert np.all(np.diff(var) >= -1e-12)
    if init_var == 0.0:
        ridge = RidgeRegression(pop, beta, noise_var=noise_var, ridge=0.0, n_samples=n)
        t_inf = 200.0 / min(atoms) / (1 - np.sqrt(min(p / n, n / p))) ** 2
        assert gf.test_error(t_inf) == pytest.approx(ridge.test_error(), abs=1e-7)


@pytest.mark.parametrize("fraction", [1.9, 1.95, 1.99])
def test_gd_near_the_stability_edge_works_with_default_nodes(fraction):
    # regression: at eta = 1.9/edge the default 300 nodes failed the total-mass self-test;
    # the contour height/node count now adapt to 1 - eta*edge/2. Reference: the
    # independent isotropic Marchenko-Pastur quadrature route (theory note §7a)
    edge = (1 + np.sqrt(2 / 3)) ** 2
    gd = GradientDescent(np.ones(200), signal_var=1, noise_var=0.5, n_samples=300,
                         learning_rate=fraction / edge)
    steps = np.array([10, 100, 1000, 100000])
    got = np.asarray(gd.test_error(steps))
    ref = gd._quadrature(steps, 4000)
    np.testing.assert_allclose(got, 0.5 + ref["bias"] + ref["variance"], rtol=1e-9)
    # k -> inf: ridgeless least squares, 0.5 + 0.5 gamma/(1 - gamma) = 1.5 (gamma = 2/3)
    assert got[-1] == pytest.approx(1.5, rel=1e-9)


def test_gd_errors_name_the_limits():
    edge = (1 + np.sqrt(2 / 3)) ** 2
    too_big = GradientDescent(np.ones(200), signal_var=1, noise_var=0.5, n_samples=300,
                              learning_rate=2.01 / edge)
    with pytest.raises(ValueError, match=r"below 2 / \(upper edge .*\) = 0\.606123"):
        too_big.test_error(10)
    # below 2/edge in the limit, but a finite draw's top eigenvalue exceeds 2/eta: a clear
    # error naming the draw's edge instead of a raw FloatingPointError from the loop
    gd = GradientDescent(np.ones(200), signal_var=1, noise_var=0.5, n_samples=300,
                         learning_rate=1.95 / edge)
    with pytest.raises(ValueError, match=r"largest eigenvalue of X\^T X/n in this draw is "
                                         r"[0-9.]+ > 2/learning_rate = 3\.38427"):
        gd.simulate([10, 1000, 100000], trials=6, seed=0)


@pytest.mark.parametrize("n_samples", [200, 800])
def test_risks_are_nonnegative_at_all_times(n_samples):
    # the training error of the interpolator (p > n) goes to 0 as t -> inf; the contour's
    # rounding used to leave it at -1.5e-11 for gradient descent near the largest stable step
    pop = np.ones(400)
    gd = GradientDescent(pop, signal_var=1.0, noise_var=1.0, n_samples=n_samples,
                              learning_rate=0.34 if n_samples == 200 else 0.68)
    gf = GradientFlow(pop, signal_var=1.0, noise_var=1.0, n_samples=n_samples)
    steps = np.unique(np.round(np.geomspace(1, 1e5, 40)))
    for model, arg in ((gd, steps), (gf, np.geomspace(1e-3, 1e7, 40))):
        for name in ("train_error", "bias", "variance", "test_error"):
            assert np.all(np.asarray(getattr(model, name)(arg)) >= 0), (model, name)


# ---------------------------------------------------------------------------------------
# one rule for tiny eigenvalues (hdeq.models._population), theory and twin alike

@pytest.mark.simulation
def test_twin_keeps_the_eigenvalues_the_theory_keeps():
    """Regression (fresh-user report 2, item 3a): eigenvalues 1e-10 of the largest are
    kept by the theory (the rule snaps only <= 1e-12); the twin's Gram eigh dropped sample
    eigenvalues below 1e-10 and gave 0.1332 +- 0.0019 against the theory's 0.193 at t =
    1e11 (30 se). Now within 4 se + C theory/sqrt(p), C = 0.5, at every time."""
    pop = np.r_[np.ones(50), np.full(50, 1e-10)]
    model = GradientFlow(pop, signal_var=1.0, noise_var=0.1, n_samples=200)
    assert model.snapped_weight == 0.0
    times = np.array([1.0, 1e8, 1e11, 1e13])
    with threadpool_limits(1):
        table = model.simulate(times, trials=10, seed=0)
    test = table[table.quantity == "test_error"]
    assert test.theory.iloc[2] > 0.19                # the slow directions fit by t = 1e11
    tol = 4 * test.stderr + 0.5 * test.theory / np.sqrt(100)
    assert np.all(np.abs(test.empirical - test.theory) <= tol)


@pytest.mark.parametrize("tiny", [1e-16, 1e-13, 1e-10])
def test_long_time_flow_equals_ridgeless_ridge_for_tiny_eigenvalues(tiny):
    """Regression (item 3b): gradient flow from 0 converges to the min-norm least-squares
    fit, so at t -> inf it must equal RidgeRegression(ridge=0). With eigenvalues 1e-16 the
    flow snapped them (0.1333) and ridge did not (0.2000); now both follow the one rule:
    <= p eps = 2.2e-14 of the largest is an exact zero (0.1333 for both), 1e-13 and 1e-10
    are kept (0.2000)."""
    pop = np.r_[np.ones(50), np.full(50, tiny)]
    kw = dict(signal_var=1.0, noise_var=0.1, n_samples=200)
    flow = GradientFlow(pop, **kw)
    ridge = RidgeRegression(pop, ridge=0.0, **kw)
    projection = RandomProjectionRegression(pop, ridge=0.0, n_random_features=10 ** 7, **kw)
    snapped = tiny <= pop.size * np.finfo(float).eps
    for model in (flow, ridge, projection):
        assert model.snapped_weight == (0.5 if snapped else 0.0)
    expected = 0.1 + 0.1 * (0.25 / 0.75 if snapped else 0.5 / 0.5)  # sigma^2 (1 + g/(1-g))
    assert ridge.test_error() == pytest.approx(expected, rel=1e-12)
    assert flow.test_error(1e30) == pytest.approx(expected, rel=1e-9)
    assert projection.test_error() == pytest.approx(expected, rel=1e-5)   # N -> inf
    # the twin draws the snapped columns as zeros: the same problem as the theory
    assert np.all(ridge.population[50:] == (0.0 if snapped else tiny))


@pytest.mark.parametrize("scale", [1e-200, 1e-100, 3.7e5, 1e100, 1e200])
def test_population_scale_is_exact_for_flow_and_descent(scale):
    """Regression (fresh-user report 2, item 13): a population ~1e200 overflowed (t^2 q q
    in the two-point kernel, RuntimeWarning; an error in this test run). The risks are
    homogeneous: Sigma -> c Sigma, t -> t/c, eta -> eta/c multiply bias and the training
    signal by c and leave the variance unchanged; the theory runs on Sigma / unit (a power
    of two), so the scaled model equals the unscaled one to rounding (1e-13 absolute on the
    O(1) normalized values: the contour rule's floor, e.g. for a bias of 3e-27 at t = 300)."""
    pop = np.linspace(0.5, 2.0, 40)
    kw = dict(signal_var=1.0, noise_var=0.0, n_samples=80, init_var=0.3)
    times = np.array([0.0, 0.3, 3.0, 300.0])
    ref, big = GradientFlow(pop, **kw), GradientFlow(pop * scale, **kw)
    np.testing.assert_allclose(big.bias(times / scale) / scale, ref.bias(times), rtol=1e-12,
                               atol=1e-13)
    np.testing.assert_allclose(big.train_error(times / scale) / scale, ref.train_error(times),
                               rtol=1e-12, atol=1e-13)
    noisy = dict(kw, noise_var=0.2)
    np.testing.assert_allclose(GradientFlow(pop * scale, **noisy).variance(times / scale),
                               GradientFlow(pop, **noisy).variance(times), rtol=1e-12, atol=1e-13)
    steps = np.array([0, 3, 30, 300])
    gd_ref = GradientDescent(pop, learning_rate=0.3, **kw)
    gd_big = GradientDescent(pop * scale, learning_rate=0.3 / scale, **kw)
    np.testing.assert_allclose(gd_big.bias(steps) / scale, gd_ref.bias(steps), rtol=1e-12,
                               atol=1e-13)


def test_gd_too_close_to_the_limit_says_what_works():
    """Regression (fresh-user report 2, item 4): at 1 - eta edge/2 = 1e-7 the error said
    "increase n_nodes", and n_nodes = 3000 then asked numpy for 34 GiB (MemoryError). Now
    it names the closeness to 2/edge and the largest learning rate that works with these
    nodes, and that learning rate does work (checked against the independent isotropic
    quadrature route, and k -> inf is ridgeless least squares, 1.5)."""
    import re
    edge = (1 + np.sqrt(2 / 3)) ** 2
    kw = dict(signal_var=1, noise_var=0.5, n_samples=300)
    close = GradientDescent(np.ones(200), learning_rate=(1 - 1e-7) * 2 / edge, **kw)
    with pytest.raises(ConvergenceError, match=r"within 1 - learning_rate \* edge / 2 = "
                       r"1e-07 of the stability limit 2 / edge = 0\.606123.*largest learning "
                       r"rate that works with n_nodes = 300 is about") as info:
        close.test_error(10)
    eta = float(re.search(r"is about ([0-9.]+)", str(info.value)).group(1))
    assert 0.9999 * 2 / edge < eta < 2 / edge
    works = GradientDescent(np.ones(200), learning_rate=eta, **kw)
    steps = np.array([10, 1000, 10 ** 6])
    ref = works._quadrature(steps, 4000)
    np.testing.assert_allclose(works.test_error(steps), 0.5 + ref["bias"] + ref["variance"],
                               rtol=1e-9)
    assert works.test_error(10 ** 6) == pytest.approx(1.5, rel=1e-9)


def test_contour_size_is_checked_before_allocating():
    # the bias kernel is two (M, M) complex arrays: n_nodes = 30000 would take 27 GiB; a
    # ValueError naming n_nodes and its bound comes first (no MemoryError)
    model = GradientFlow(np.linspace(0.2, 3, 50), signal_var=1, noise_var=0.5,
                         n_samples=100, n_nodes=30000)
    with pytest.raises(ValueError, match=r"`n_nodes` of GradientFlow must be at most 8128 "
                                         r".*got 30000, M = 30064, which would take 26\.9 GiB"):
        model.test_error(1.0)
    gd = GradientDescent(np.linspace(0.2, 3, 50), signal_var=1, noise_var=0.5, n_samples=100,
                         learning_rate=0.1, n_nodes=9000)
    with pytest.raises(ValueError, match="`n_nodes` of GradientDescent must be at most"):
        gd.test_error(1)


def test_gd_simulate_states_its_cost_before_running():
    """Fresh-user report 2, item 14: the twin runs actual gradient descent (linear in the
    step count; 10^7 steps ran for minutes without a word). Above max_flops it refuses
    with the estimate; small runs are unaffected (the loop itself, now one p x p product
    per step when p <= 2n, is checked in test_gd_loop_matches_spectral_filter_on_one_design)."""
    gd = GradientDescent(np.linspace(0.2, 3, 200), signal_var=1, noise_var=0.5,
                         n_samples=400, learning_rate=0.2)
    with pytest.raises(ValueError, match=r"max\(steps\) = 10000000 runs that many actual "
                                         r"gradient-descent steps .* 8 trials .* max_flops"):
        gd.simulate([10, 10 ** 7], trials=8, seed=0)
    with pytest.raises(ValueError, match="max_flops"):
        gd.simulate([10, 1000], trials=2, seed=0, max_flops=1e6)
    table = gd.simulate([0, 50], trials=2, seed=0)
    assert set(table.quantity) == {"test_error", "train_error", "bias", "variance"}


def test_simulate_with_no_times_gives_the_usual_columns():
    gf = GradientFlow(np.ones(50), signal_var=1.0, noise_var=0.5, n_samples=100)
    table = gf.simulate([], trials=2, seed=0)
    assert table.shape[0] == 0
    assert list(table.columns) == ["time", "quantity", "theory", "empirical", "stderr",
                                   "n_samples", "n_features", "trials"]


def test_step_counts_state_the_range_they_accept():
    gd = GradientDescent(np.ones(10), np.ones(10) / 3, noise_var=0.5, n_samples=20,
                         learning_rate=0.1)
    # the stated range [0, 2^62] is what is accepted: its top is, one above is not
    assert np.isfinite(gd.test_error(2 ** 62))
    assert np.isfinite(gd.test_error(np.int64(2 ** 62)))
    span = r"`steps` of GradientDescent must be integers in \[0, 2\^62\]; got "
    for big in (2 ** 62 + 1, 2 ** 63 - 1, np.int64(2 ** 63 - 1), 5e18):
        with pytest.raises(ValueError, match=span + r".*: too large \(beyond 2\^62\)$"):
            gd.test_error(big)
    # Python ints beyond int64 (an object array for numpy): "too large", shown as given
    with pytest.raises(ValueError, match=span + r"100000000000000000000: too large"):
        gd.test_error(10 ** 20)
    with pytest.raises(ValueError, match=span + r"100000000000000000000 \(among 2 values\): "
                                              r"too large"):
        gd.test_error([10, 10 ** 20])
    with pytest.raises(ValueError, match=span + r"-100000000000000000000$"):
        gd.test_error(-10 ** 20)
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match=span + f"{bad!r}$"):
            gd.test_error(bad)
