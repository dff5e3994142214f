"""Gaussian-mixture classification dynamics (hdeq.models._classification_dynamics).

Reference values: theory note linear.md §7b, "Oracle cases, GMM dynamics" (p = 512,
n = 1024, c = 0.5, ell = 2, init_var = 0.5, 10 trials).
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hdeq import GaussianMixtureGradientFlow

# t, E formula, E MC, se, V formula, V MC, se, P_err formula, MC, se, train formula, MC, se
ORACLE_7B = [
    (0.5, 0.479837, 0.473997, 0.0071, 0.374562, 0.366732, 0.0059, 0.216512, 0.216944, 0.0027,
     0.416464, 0.424664, 0.0080),
    (2, 0.625286, 0.626274, 0.0047, 0.373376, 0.374089, 0.0037, 0.153082, 0.152939, 0.0011,
     0.209923, 0.215140, 0.0042),
    (10, 0.662045, 0.663927, 0.0037, 0.495080, 0.508961, 0.0064, 0.173375, 0.175967, 0.0013,
     0.168277, 0.171933, 0.0036),
    (50, 0.666644, 0.668359, 0.0041, 0.555037, 0.573803, 0.0089, 0.185443, 0.188702, 0.0017,
     0.166667, 0.170287, 0.0036),
]


@pytest.fixture(scope="module")
def oracle_model():
    return GaussianMixtureGradientFlow(512, 1024, mean_sq_norm=2.0, init_var=0.5)


def test_oracle_formula_values(oracle_model):
    rows = np.array(ORACLE_7B)
    t = rows[:, 0]
    np.testing.assert_allclose(oracle_model.alignment(t), rows[:, 1], atol=1.5e-6)
    np.testing.assert_allclose(oracle_model.weight_sq_norm(t), rows[:, 4], atol=1.5e-6)
    np.testing.assert_allclose(oracle_model.misclassification(t), rows[:, 7], atol=1.5e-6)
    np.testing.assert_allclose(oracle_model.train_error(t), rows[:, 10], atol=1.5e-6)


def test_oracle_monte_carlo_columns(oracle_model):
    # the note's MC means vs our theory, tolerance max(4 se, 2% relative)
    rows = np.array(ORACLE_7B)
    t = rows[:, 0]
    for col, values in ((1, oracle_model.alignment(t)), (4, oracle_model.weight_sq_norm(t)),
                        (7, oracle_model.misclassification(t)),
                        (10, oracle_model.train_error(t))):
        tol = np.maximum(4 * rows[:, col + 2], 0.02 * values)
        assert np.all(np.abs(rows[:, col + 1] - values) <= tol), col


def test_long_time_least_squares_limit(oracle_model):
    # theory note §7b: t -> inf gives E = 2/3, V = 5/9, P_err = 0.185547, train = 1/6
    assert oracle_model.alignment(1e4) == pytest.approx(2 / 3, abs=1e-9)
    assert oracle_model.weight_sq_norm(1e4) == pytest.approx(5 / 9, abs=1e-9)
    assert oracle_model.misclassification(1e4) == pytest.approx(0.185547, abs=1e-6)
    assert oracle_model.train_error(1e4) == pytest.approx(1 / 6, abs=1e-9)


def test_short_time_limits():
    model = GaussianMixtureGradientFlow(300, 900, mean_sq_norm=1.5, init_var=0.7)
    t = 1e-7
    # w(t) ~ w_0 + t u_bar: E ~ t ell, V ~ init_var, train ~ 1 + init_var * (MP mean = 1)
    assert model.alignment(t) == pytest.approx(1.5 * t, rel=1e-5)
    assert model.weight_sq_norm(0.0) == pytest.approx(0.7, abs=1e-12)
    assert model.train_error(0.0) == pytest.approx(1.7, abs=1e-12)


def test_early_stopping_helps_and_init_hurts():
    # theory note §7b observations: U-shaped test error (with a random initialisation;
    # from w_0 = 0 the direction at t -> 0 is the class-mean difference, already the best),
    # larger init_var is worse
    small = GaussianMixtureGradientFlow(512, 1024, mean_sq_norm=2.0, init_var=0.5)
    large = GaussianMixtureGradientFlow(512, 1024, mean_sq_norm=2.0, init_var=1.0)
    t = np.geomspace(0.05, 100, 200)
    err = small.misclassification(t)
    best = np.argmin(err)
    assert 0 < best < t.size - 1 and err[-1] > err[best] + 0.01
    assert np.all(large.misclassification(t) >= err - 1e-12)


def test_outlier_position():
    model = GaussianMixtureGradientFlow(512, 1024, mean_sq_norm=2.0)
    assert model.outlier == pytest.approx(3 * 1.25)
    assert GaussianMixtureGradientFlow(512, 1024, mean_sq_norm=0.5).outlier is None


@pytest.mark.simulation
@pytest.mark.parametrize("p, n", [(160, 320), (300, 150)])
def test_simulation_agreement(p, n):
    # |mean - theory| <= 4 se + C / sqrt(n), C = 0.3 (bilinear forms: O(n^{-1/2}))
    model = GaussianMixtureGradientFlow(p, n, mean_sq_norm=2.0, init_var=0.5)
    with threadpool_limits(1):
        table = model.simulate([0.5, 2.0, 10.0], trials=10, seed=3)
    tol = 4 * table.stderr + 0.3 / np.sqrt(n)
    assert np.all(np.abs(table.empirical - table.theory) <= tol)


@pytest.mark.simulation
def test_simulation_error_shrinks_with_size():
    errors = []
    for p in (32, 128, 512):
        model = GaussianMixtureGradientFlow(p, 2 * p, mean_sq_norm=2.0, init_var=0.5)
        with threadpool_limits(1):
            table = model.simulate([1.0, 5.0], trials=8, seed=p)
        errors.append(np.abs(table.empirical - table.theory).max())
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_features=0, n_samples=10, mean_sq_norm=1.0), "`n_features` of"),
    (dict(n_features=10, n_samples=10, mean_sq_norm=1.0), "`n_samples` of"),
    (dict(n_features=10, n_samples=20, mean_sq_norm=-1.0), "`mean_sq_norm` of"),
    (dict(n_features=10, n_samples=20, mean_sq_norm=1.0, init_var=-1), "`init_var` of"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureGradientFlow(**kwargs)


def test_bad_times():
    with pytest.raises(ValueError, match="`times` of GaussianMixtureGradientFlow"):
        GaussianMixtureGradientFlow(10, 20, 1.0).misclassification(-1.0)


def test_zero_weights_at_t0_classify_at_chance_in_theory_and_simulation():
    # regression: from w_0 = 0 (init_var = 0) the twin divided 0/0 at t = 0 (NaN and a
    # RuntimeWarning); w = 0 classifies at chance, 1/2, as the theory says
    model = GaussianMixtureGradientFlow(40, 80, mean_sq_norm=2.0)
    table = model.simulate([0.0, 1.0], trials=2, seed=0)
    rows = table[table.quantity == "misclassification"]
    assert rows.empirical.iloc[0] == 0.5 and rows.theory.iloc[0] == 0.5
    assert rows.notna().all().all()


def _real_axis_route(t, c, ell, init_var):
    """Liao & Couillet (2018) real-axis integrals (theory note nonlinear.md §5.1, continuous
    time), written independently of the contour code: alignment E = mu^T w, ||w||^2 = V and
    P_err = Q(E / sqrt(V)). MP density of ratio c, the outlier at
    lambda_s = 1 + ell + c + c/ell with mass (ell^2 - c)_+ / ell."""
    from scipy import integrate
    from scipy.stats import norm

    a, b = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    ls = 1 + ell + c + c / ell
    spike = max(ell ** 2 - c, 0.0) / ell
    root = lambda x: np.sqrt(max((x - a) * (b - x), 0.0))
    omega = lambda x: root(x) / (2 * np.pi * (ls - x))
    nu = lambda x: root(x) / (2 * np.pi * c * x)
    g = lambda x: -np.expm1(-t * x) / x
    quad = lambda f: integrate.quad(f, a, b, limit=400, epsabs=1e-13, epsrel=1e-12)[0]
    E = quad(lambda x: g(x) * omega(x)) + spike * g(ls)
    V = ((ell + c) / ell * (quad(lambda x: g(x) ** 2 * omega(x)) + spike * g(ls) ** 2)
         + init_var * (quad(lambda x: np.exp(-2 * t * x) * nu(x)) + max(1 - 1 / c, 0.0)))
    return E, V, norm.sf(E / np.sqrt(V))


@pytest.mark.parametrize("p, n, ell, init_var", [(512, 1024, 2.0, 0.5), (1024, 512, 3.0, 0.5),
                                                 (1024, 512, 0.8, 0.0), (300, 600, 0.5, 1.0)])
def test_contour_matches_the_real_axis_integrals(p, n, ell, init_var):
    # c > 1 and ell below sqrt(c) (no outlier) included: the contour route of §7b against
    # the real-axis formula of §5.1, two independent derivations of the same dynamics
    model = GaussianMixtureGradientFlow(p, n, mean_sq_norm=ell, init_var=init_var)
    for t in (0.5, 2.0, 10.0, 50.0):
        E, V, perr = _real_axis_route(t, p / n, ell, init_var)
        assert model.alignment(t) == pytest.approx(E, rel=1e-7, abs=1e-10)
        assert model.weight_sq_norm(t) == pytest.approx(V, rel=1e-7, abs=1e-10)
        assert model.misclassification(t) == pytest.approx(perr, rel=1e-7, abs=1e-10)


def test_tiny_times_tend_to_the_direction_of_the_first_gradient():
    """Regression (fresh-user report 2, item 12): with init_var = 0, E(t) ~ t and V(t) ~ t^2
    underflowed below t ~ 1e-154 and the rate flipped to 1/2 (0.5 at 1e-300 and 1e-200,
    0.10273 at 1e-160). As t -> 0+ the direction of w(t) is X^T y/n, whose alignment and
    squared norm tend to ell and ell + c (u_bar ~ N(mu, I/n)): Q(ell/sqrt(ell + c)).
    t = 0 itself is w = 0: chance, 1/2, as documented. The twin agrees."""
    from scipy.special import erfc
    model = GaussianMixtureGradientFlow(256, 512, mean_sq_norm=2.0)
    limit = 0.5 * erfc(2.0 / np.sqrt(2.5) / np.sqrt(2.0))
    times = np.array([0.0, 1e-300, 1e-200, 1e-160, 1e-155, 1e-10])
    rate = model.misclassification(times)
    assert rate[0] == 0.5
    np.testing.assert_allclose(rate[1:], limit, rtol=1e-9)
    table = model.simulate(times, trials=3, seed=0)
    sim = table[table.quantity == "misclassification"].empirical.to_numpy()
    assert sim[0] == 0.5 and np.ptp(sim[1:]) < 1e-12 and abs(sim[1] - limit) < 0.01
    # no -0.0 at t = 0 (weight norm, alignment)
    for value in (model.weight_sq_norm(0.0), model.alignment(0.0)):
        assert value == 0.0 and not np.signbit(value)


def _least_squares_plateau(c, ell, init_var):
    """``t = inf``, derived independently of the contour code (rank-one algebra on
    ``U = 1 mu^T + Z``): for ``c < 1`` ordinary least squares, ``w* = mu/(1 + ell)`` with
    residual variance ``1/(1 + ell)``; for ``c > 1`` the min-norm interpolator
    ``U^T (U U^T)^{-1} 1`` (Sherman-Morrison, ``1^T (Z_2 Z_2^T)^{-1} 1 -> 1/(c - 1)``) plus
    the null-space part of ``w_0``, of energy ``init_var (1 - 1/c)``. Returns E, V, train."""
    if c < 1:
        return ell / (1 + ell), ell / (1 + ell) ** 2 + c / ((1 - c) * (1 + ell)), \
            (1 - c) / (1 + ell)
    return ell / (c + ell), c / ((c - 1) * (c + ell)) + init_var * (1 - 1 / c), 0.0


LARGE_TIMES = [1e12, 1e16, 1e20, 1e100, 1e300]


@pytest.mark.parametrize("p, n, ell, init_var", [(100, 200, 2.0, 0.0), (100, 200, 2.0, 0.5),
                                                 (300, 100, 2.0, 0.0), (300, 100, 2.0, 0.5),
                                                 (1024, 512, 0.8, 1.0), (990, 1000, 2.0, 0.3)])
def test_large_times_sit_on_the_least_squares_plateau(p, n, ell, init_var):
    """Regression (fresh-user report): the circle at 0 gave the filter its value g_t(0) = t,
    times the ~1e-18 rounding of a vanishing integral: E drifted from t ~ 1e12 (86 at
    t = 1e20, 1e281 at 1e300), the rate fell to 0.0 at 1e20, and V was NaN with an overflow
    RuntimeWarning (t^2 * 0) from t ~ 1e155. Now every value is the t = inf plateau to
    rounding, for p < n and p > n (atom of S at 0), with no RuntimeWarning."""
    from scipy.stats import norm
    model = GaussianMixtureGradientFlow(p, n, mean_sq_norm=ell, init_var=init_var)
    E, V, train = _least_squares_plateau(p / n, ell, init_var)
    np.testing.assert_allclose(model.alignment(LARGE_TIMES), E, rtol=1e-12)
    np.testing.assert_allclose(model.weight_sq_norm(LARGE_TIMES), V, rtol=1e-12)
    np.testing.assert_allclose(model.misclassification(LARGE_TIMES), norm.sf(E / np.sqrt(V)),
                               rtol=1e-12)
    np.testing.assert_allclose(model.train_error(LARGE_TIMES), train, atol=1e-12)
    # the plateau is reached continuously: t = 1e4 (e^{-t a} far below rounding) already
    np.testing.assert_allclose(model.alignment(1e4 / (1 - np.sqrt(p / n)) ** 2), E,
                               rtol=1e-12)


@pytest.mark.simulation
def test_twin_at_large_times_beyond_the_null_space_rounding():
    """Regression: eigh gave the exact zeros of S = X^T X/n (p > n) as ~+-1e-15, on which
    the filter (1 - e^{-t lam})/lam is ~1/lam or e^{t |lam|}: at t = 1e17 the twin read
    ||w||^2 ~ 1e4. The thin SVD keeps the null space exact (w_0 untouched, no signal)."""
    model = GaussianMixtureGradientFlow(300, 100, mean_sq_norm=2.0, init_var=0.5)
    times = [10.0, 1e13, 1e17, 1e300]
    with threadpool_limits(1):
        table = model.simulate(times, trials=10, seed=1)
    assert table.notna().all().all()
    tol = 4 * table.stderr + 0.3 / np.sqrt(100)
    assert np.all(np.abs(table.empirical - table.theory) <= tol)
    for _, rows in table[table.time > 10].groupby("quantity"):     # one plateau
        assert np.ptp(rows.empirical) <= 1e-9 * max(1.0, abs(rows.empirical.iloc[0]))


def test_empty_times_give_the_usual_columns():
    model = GaussianMixtureGradientFlow(40, 80, mean_sq_norm=2.0)
    for method in (model.alignment, model.weight_sq_norm, model.misclassification,
                   model.train_error):
        assert method([]).shape == (0,)
    table = model.simulate([], trials=2, seed=0)
    assert table.shape[0] == 0
    assert list(table.columns) == ["time", "quantity", "theory", "empirical", "stderr",
                                   "n_samples", "n_features", "trials"]
