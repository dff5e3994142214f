"""GCV and exact LOO of ridge regression on a data set (theory note linear.md §5.3)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdeq.models import RidgeRegression, gcv, loo


def brute_fit(X, y, lam):
    n, p = X.shape
    if lam == 0:
        return np.linalg.pinv(X) @ y
    return np.linalg.solve(X.T @ X / n + lam * np.eye(p), X.T @ y / n)


def brute_gcv(X, y, lam):
    n, p = X.shape
    S = X.T @ X / n
    beta = brute_fit(X, y, lam)
    df = np.trace(S @ np.linalg.inv(S + lam * np.eye(p)))
    return np.mean((y - X @ beta) ** 2) / (1 - df / n) ** 2


def brute_loo(X, y, lam):
    n = X.shape[0]
    errs = []
    for i in range(n):
        keep = np.arange(n) != i
        # the left-out fit uses the same penalty n*lam on the (n-1)-row sum of squares,
        # as in the hat-matrix shortcut with H = X (X^T X + n lam I)^{-1} X^T
        Xi, yi = X[keep], y[keep]
        if lam == 0:
            b = np.linalg.pinv(Xi) @ yi
        else:
            b = np.linalg.solve(Xi.T @ Xi + n * lam * np.eye(X.shape[1]), Xi.T @ yi)
        errs.append((y[i] - X[i] @ b) ** 2)
    return np.mean(errs)


@pytest.fixture
def data(rng):
    def make(n, p, noise=0.5):
        X = rng.standard_normal((n, p))
        y = X @ (rng.standard_normal(p) / np.sqrt(p)) + noise * rng.standard_normal(n)
        return X, y
    return make


def test_gcv_matches_definition(data):
    for n, p in ((60, 20), (30, 80)):
        X, y = data(n, p)
        lam = np.array([1e-3, 0.1, 1.0, 10.0])
        # rtol 1e-9: the brute force itself loses digits (1 - df/n cancels at small ridge)
        np.testing.assert_allclose(gcv(X, y, lam), [brute_gcv(X, y, v) for v in lam],
                                   rtol=1e-9)


def test_gcv_ridgeless_formulas(data):
    # p > n: (1/n) y^T K^-2 y / ((1/n) tr K^-1)^2 with K = X X^T / n (theory note §5.3)
    X, y = data(30, 80)
    n = 30
    K = X @ X.T / n
    Ki = np.linalg.inv(K)
    expected = (y @ Ki @ Ki @ y / n) / (np.trace(Ki) / n) ** 2
    assert gcv(X, y, 0.0) == pytest.approx(expected, rel=1e-9)
    assert gcv(X, y, 1e-9) == pytest.approx(expected, rel=1e-6)     # limit 0+
    # p < n: least-squares residual / (1 - p/n)^2
    X, y = data(60, 20)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    assert gcv(X, y, 0.0) == pytest.approx(np.mean((y - X @ beta) ** 2) / (1 - 20 / 60) ** 2,
                                           rel=1e-10)
    assert gcv(X, y, 1e-10) == pytest.approx(gcv(X, y, 0.0), rel=1e-7)


def test_loo_matches_brute_force(data):
    for n, p in ((40, 10), (25, 60)):
        X, y = data(n, p)
        lam = np.array([0.0, 0.05, 1.0])
        np.testing.assert_allclose(loo(X, y, lam), [brute_loo(X, y, v) for v in lam],
                                   rtol=1e-8)


def test_loo_and_gcv_are_distinct(data):
    X, y = data(40, 10)
    X[0] *= 8                     # one high-leverage row: H_ii far from its mean
    assert abs(loo(X, y, 0.1) - gcv(X, y, 0.1)) > 1e-3 * gcv(X, y, 0.1)


def test_shapes_and_bad_input(data):
    X, y = data(20, 5)
    assert isinstance(gcv(X, y, 0.1), float) and isinstance(loo(X, y, 0.1), float)
    assert gcv(X, y, [0.1, 1.0]).shape == (2,)
    with pytest.raises(ValueError, match=r"`ridge` of gcv must be >= 0; got minimum -0\.1$"):
        gcv(X, y, -0.1)             # a plain number (was np.float64(-0.1))
    with pytest.raises(ValueError, match=r"`ridge` of loo must be >= 0; got minimum -0\.2$"):
        loo(X, y, [0.1, -0.2])
    with pytest.raises(ValueError, match="same number of rows"):
        gcv(X, y[:-1], 0.1)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        loo(Xn, y, 0.1)
    # integer data are converted to float (documented in check_data)
    Xi = np.round(X * 10).astype(int)
    assert gcv(Xi, y, 0.1) == pytest.approx(gcv(Xi.astype(float), y, 0.1), rel=1e-14)


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 25), st.integers(1, 25), st.floats(1e-4, 10.0),
       st.integers(0, 2 ** 31 - 1))
def test_hypothesis_gcv_at_least_training_error(n, p, lam, seed):
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, p))
    y = r.standard_normal(n)
    beta = brute_fit(X, y, lam)
    train = np.mean((y - X @ beta) ** 2)
    g = gcv(X, y, lam)
    assert g >= train * (1 - 1e-10)         # denominator (1 - df/n)^2 <= 1
    assert loo(X, y, lam) >= 0


@pytest.mark.simulation
def test_gcv_consistent_for_total_test_error():
    # theory note §5.3/§5.6: the mean of GCV over draws estimates the TOTAL test error.
    # Isotropic p = 200, gamma = 0.5 and 2, ridge 0.1 and ridgeless; tolerance
    # 4 stderr + C/sqrt(p) with C = 1 (GCV is a single-draw estimator, se ~5x the risk's).
    p = 200
    model = RidgeRegression(np.ones(p), signal_var=1.0, noise_var=0.5, ridge=[0.0, 0.1],
                            n_samples=[[100], [400]])
    table = model.simulate(trials=16, seed=11)
    part = table[table.quantity == "gcv"]
    assert np.all(np.abs(part.empirical - part.theory) <= 4 * part.stderr + 1 / np.sqrt(p))
    # the theory is the total (not excess) error: excess is far outside the tolerance
    excess = model.test_error(kind="excess").reshape(-1)
    assert np.all(np.abs(part.empirical.to_numpy() - excess) > 4 * part.stderr.to_numpy())


@pytest.mark.parametrize("gamma, ridge, gcv_mean, gcv_se, formula", [
    (0.5, 0.1, 0.82849, 0.0071, 0.81904),
    (2.0, 0.1, 1.38756, 0.022, 1.36692),
    (2.0, 0.0, 1.55274, 0.037, 1.5),
])
def test_gcv_oracle_means_of_the_theory_note(gamma, ridge, gcv_mean, gcv_se, formula):
    # theory note §5.6: mean of GCV over 24 isotropic draws (p = 1000, noise 0.5, unit beta)
    # against the total test error; our formula matches the note's, and the note's GCV
    # means lie within 4 of their standard errors of it
    model = RidgeRegression(np.ones(1000), signal_var=1.0, noise_var=0.5, ridge=ridge,
                            n_samples=int(1000 / gamma))
    assert model.test_error() == pytest.approx(formula, abs=1e-5)
    assert abs(gcv_mean - model.test_error()) <= 4 * gcv_se


def brute_hat(X, y, lam):
    """GCV and LOO from the hat matrix H = X (X^T X + n lam I)^{-1} X^T (any ridge with
    X^T X + n lam I invertible, negative ones included)."""
    n, p = X.shape
    H = X @ np.linalg.solve(X.T @ X + n * lam * np.eye(p), X.T)
    res = y - H @ y
    return (np.mean(res ** 2) / (1 - np.trace(H) / n) ** 2,
            np.mean((res / (1 - np.diag(H))) ** 2))


@pytest.mark.parametrize("n, p", [(500, 20), (20, 50)])
def test_gcv_and_loo_at_huge_ridges_are_the_null_limit(n, p):
    # fresh-user report P1.3: gcv gave [2.543, nan, nan] at [1e150, 1e200, 1e300] (overflow
    # of (n ridge)^2). ridge -> inf: beta_hat -> 0, tr H -> 0, so both -> mean(y^2); the
    # difference is O(||S|| / ridge) relative, below rounding here
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) / 4 + rng.standard_normal(n)
    lam = np.array([1e150, 1e200, 1e300, np.finfo(float).max])
    np.testing.assert_allclose(gcv(X, y, lam), np.mean(y ** 2), rtol=1e-13)
    np.testing.assert_allclose(loo(X, y, lam), np.mean(y ** 2), rtol=1e-13)


@pytest.mark.parametrize("n, p", [(60, 20), (20, 50)])
def test_gcv_and_loo_match_the_hat_matrix_from_tiny_to_large_ridges(n, p):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) / 4 + rng.standard_normal(n)
    s_max = np.linalg.norm(X, 2) ** 2 / n
    # both sides of lam = s_max, where the overflow-free form switches branch
    lam = np.array([1e-2, 1.0, s_max * (1 - 1e-9), s_max * (1 + 1e-9), 1e2, 1e4, 1e6])
    brute = np.array([brute_hat(X, y, v) for v in lam])
    np.testing.assert_allclose(gcv(X, y, lam), brute[:, 0], rtol=1e-9)
    np.testing.assert_allclose(loo(X, y, lam), brute[:, 1], rtol=1e-9)
    # tiny ridges, down to the smallest subnormal, are the ridgeless limit (were NaN)
    tiny = np.array([1e-200, 1e-310, 5e-324])
    np.testing.assert_allclose(gcv(X, y, tiny), gcv(X, y, 0.0), rtol=1e-12)
    np.testing.assert_allclose(loo(X, y, tiny), loo(X, y, 0.0), rtol=1e-12)


def test_gcv_and_loo_are_quadratic_in_y_at_any_magnitude():
    # an ill-conditioned design (condition number 1e10) with |y| near the accepted
    # maximum 1e150: the quotients u_j ~ s_1 / s_j would overflow with y^2 unscaled
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 60)) * np.geomspace(1.0, 1e-10, 60)
    y = rng.standard_normal(30)
    lam = np.array([0.0, 1e-12, 1e-3, 1.0])
    big = 1e150 / np.max(np.abs(y))
    for f in (gcv, loo):
        small = f(X, y, lam)
        assert np.all(np.isfinite(small))
        np.testing.assert_allclose(f(X, big * y, lam), big ** 2 * small, rtol=1e-12)


def test_gcv_of_the_simulation_twin_at_a_negative_ridge():
    # RidgeRegression.simulate (allow_negative) evaluates GCV from the SVD at negative
    # ridges too; they were treated as ridge 0
    from hdeq.models._gcv import _gcv_from_svd, _svd
    rng = np.random.default_rng(3)
    X = rng.standard_normal((100, 20))
    y = rng.standard_normal(100)
    U, d, _ = _svd(X)
    uty = U.T @ y
    perp2 = float(np.sum((y - U @ uty) ** 2))
    lam = np.array([-0.1, 0.0, 0.1])
    got = _gcv_from_svd(d, uty, perp2, 100, lam)
    np.testing.assert_allclose(got[[0, 2]], [brute_hat(X, y, v)[0] for v in lam[[0, 2]]],
                               rtol=1e-10)
    assert got[0] > got[1]            # the ridgeless value is a different number
