"""Learning curves predicted from user data (pool population) and their fitted twin."""

import numpy as np
import pytest

from hdeq.models import RidgeRegression, learning_curve
from hdeq.models._learning_curve import _fit_subset, _pool, pool_model


@pytest.fixture
def pool(rng):
    N, p = 3000, 60
    X = rng.standard_normal((N, p)) * np.linspace(0.3, 2.0, p) + 1.5   # non-zero mean
    y = X @ (rng.standard_normal(p) / 8) + 0.7 * rng.standard_normal(N) + 2.0
    return X, y


def test_theory_is_ridge_equivalent_of_pool_statistics(pool):
    X, y = pool
    n, lam = [40, 120, 500], [0.0, 0.05, 1.0]
    table = learning_curve(X, y, n, lam)
    Xc, yc = X - X.mean(0), y - y.mean()
    sigma = Xc.T @ Xc / len(y)
    beta = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    noise = np.mean((yc - Xc @ beta) ** 2)
    ref = RidgeRegression(sigma, beta, noise_var=noise, ridge=lam,
                          n_samples=np.array(n)[:, None])
    test = table[table.quantity == "test_error"].theory.to_numpy().reshape(3, 3)
    train = table[table.quantity == "train_error"].theory.to_numpy().reshape(3, 3)
    np.testing.assert_allclose(test, ref.test_error(), rtol=1e-8)
    np.testing.assert_allclose(train, ref.train_error(), rtol=1e-8, atol=1e-14)
    assert table.empirical.isna().all() and (table.trials == 0).all()


def test_pool_error_decomposition_is_exact(pool, rng):
    # error on the pool = noise_var + (beta_hat - beta*)^T Sigma (beta_hat - beta*)
    X, y = pool
    Xc, yc, s, coef, beta, noise = _pool(X, y, True)
    idx = rng.choice(len(y), 200, replace=False)
    lam = np.array([0.0, 0.1])
    test, train = _fit_subset(Xc, yc, idx, lam)
    sigma = Xc.T @ Xc / len(y)
    for j, lv in enumerate(lam):
        Xs, ys = Xc[idx], yc[idx]
        bh = np.linalg.solve(Xs.T @ Xs / 200 + lv * np.eye(60), Xs.T @ ys / 200)
        d = bh - beta
        assert test[j] == pytest.approx(noise + d @ sigma @ d, rel=1e-9)
        assert train[j] == pytest.approx(np.mean((ys - Xs @ bh) ** 2), rel=1e-9)


def test_kernel_form_for_small_subsets(pool, rng):
    X, y = pool
    Xc, yc, *_ = _pool(X, y, True)
    idx = rng.choice(len(y), 30, replace=False)     # n < p: kernel form, min-norm at 0
    test, train = _fit_subset(Xc, yc, idx, np.array([0.0, 0.2]))
    bh0 = np.linalg.pinv(Xc[idx]) @ yc[idx]
    assert test[0] == pytest.approx(np.mean((yc - Xc @ bh0) ** 2), rel=1e-8)
    assert train[0] < 1e-20


def test_centring_option(pool):
    X, y = pool
    a = learning_curve(X, y, [200], [0.1])
    b = learning_curve(X, y, [200], [0.1], center=False)
    c = learning_curve(X - X.mean(0), y - y.mean(), [200], [0.1], center=False)
    np.testing.assert_allclose(a.theory, c.theory, rtol=1e-9)
    assert not np.allclose(a.theory, b.theory)


def test_bad_input(pool):
    X, y = pool
    with pytest.raises(ValueError, match="n_samples"):
        learning_curve(X, y, [10, 4000], 0.1)
    with pytest.raises(ValueError, match="ridge"):
        learning_curve(X, y, [10], -0.1)
    Xn = X.copy()
    Xn[3, 3] = np.inf
    with pytest.raises(ValueError, match="finite"):
        learning_curve(Xn, y, [10], 0.1)
    with pytest.raises(ValueError, match="rows"):
        learning_curve(X, y[:-1], [10], 0.1)
    with pytest.raises(ValueError, match="trials"):
        learning_curve(X, y, [10], 0.1, simulate=True, trials=1)
    # integers are converted to float, same numbers as the float copy
    Xi = np.round(X * 4).astype(np.int64)
    np.testing.assert_allclose(learning_curve(Xi, y, [100], 0.1).theory,
                               learning_curve(Xi.astype(float), y, [100], 0.1).theory)
    # regression: constant columns only (zero pool covariance after centring) were reported
    # as "`population` of RidgeRegression must have a positive eigenvalue"
    with pytest.raises(ValueError, match="`X` of learning_curve must have a non-constant "
                                         "column.*got only constant columns"):
        learning_curve(np.ones_like(X), y, [10], 0.1)
    with pytest.raises(ValueError, match="`X` of learning_curve must have a non-constant "
                                         "column.*got only zero columns"):
        learning_curve(np.zeros_like(X), y, [10], 0.1, center=False)


def test_one_row_is_an_error_about_X_not_an_internal_model():
    # fresh-user report P2.11: one row (or an all-zero X) was reported as "`population` of
    # RidgeRegression must have a positive eigenvalue"
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((1, 10)), rng.standard_normal(1)
    for call in (lambda: learning_curve(X, y, [1], [0.1]), lambda: pool_model(X, y, 0.1, 1)):
        with pytest.raises(ValueError, match=r"`X` of learning_curve must have at least 2 "
                                             r"rows with center=True.*got 1 row") as info:
            call()
        assert "RidgeRegression" not in str(info.value)
    with pytest.raises(ValueError, match="`X` of learning_curve must have a non-constant"):
        learning_curve(np.zeros((5, 3)), rng.standard_normal(5), [2], [0.1])
    # without centring one non-zero row is a valid (rank-one) pool: the fit on that row,
    # scored on it, has residual y - x beta_hat = y ridge / (|x|^2 + ridge)
    table = learning_curve(X, y, [1], [0.1], center=False, simulate=True, trials=2, seed=0)
    test = table[table.quantity == "test_error"]
    np.testing.assert_allclose(test.empirical, (y[0] * 0.1 / (X[0] @ X[0] + 0.1)) ** 2,
                               rtol=1e-10)
    assert np.all(np.isfinite(test.theory))


@pytest.mark.simulation
def test_simulation_agrees_on_gaussian_pool(pool):
    # Gaussian pool: theory vs fits on subsets; tolerance 4 stderr + C/sqrt(p), C = 0.5, plus
    # the O(n/N) without-replacement effect (n/N <= 0.1 here, relative 3%)
    X, y = pool
    table = learning_curve(X, y, [40, 150, 300], [0.01, 0.3], simulate=True, trials=12,
                           seed=5)
    part = table[table.quantity == "test_error"]
    tol = 4 * part.stderr + 0.5 / np.sqrt(60) + 0.03 * part.theory
    assert np.all(np.abs(part.empirical - part.theory) <= tol), part
    assert (part.trials == 12).all()


def test_huge_ridges_give_the_null_fit_without_overflow():
    # _fit_subset formed n * ridge (overflow near the largest float); at such ridges the
    # fit is 0, so the pool test error is the centred pool's mean of y^2, in theory too
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    y = X @ np.ones(5) + rng.standard_normal(200)
    ridges = [1e300, 1e308, np.finfo(float).max]
    table = learning_curve(X, y, [50], ridges, simulate=True, trials=3, seed=0)
    test = table[table.quantity == "test_error"]
    null = np.mean((y - y.mean()) ** 2)
    np.testing.assert_allclose(test.empirical, null, rtol=1e-12)
    np.testing.assert_allclose(test.theory, null, rtol=1e-12)


def test_boolean_flags_must_be_bools(pool):
    X, y = pool
    with pytest.raises(ValueError, match=r"`center` of learning_curve must be a bool "
                                         r"\(True or False\); got 'no'"):
        learning_curve(X, y, [100], 0.1, center="no")
    with pytest.raises(ValueError, match="`simulate` of learning_curve must be a bool"):
        learning_curve(X, y, [100], 0.1, simulate="yes")
    with pytest.raises(ValueError, match="`center` of pool_model must be a bool"):
        pool_model(X, y, 0.1, [100], center=0)
    a = learning_curve(X, y, [100], 0.1, center=np.bool_(False))
    b = learning_curve(X, y, [100], 0.1, center=False)
    assert a.theory.equals(b.theory)
