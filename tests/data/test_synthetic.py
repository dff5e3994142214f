"""Tests of the synthetic data generators in hdeq.data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdeq.data import gaussian, gaussian_mixture, power_law_spectrum, power_law_target
from hdeq.data._synthetic import _covariance_factor


def _cov_se(C, n):
    """Standard error of the entries of the sample covariance (known zero mean) of n
    Gaussian rows: Var(x_i x_j) = C_ii C_jj + C_ij^2."""
    d = np.diag(C)
    return np.sqrt((np.outer(d, d) + C**2) / n)


def _random_cov(p, seed):
    A = np.random.default_rng(seed).standard_normal((p, p))
    return A @ A.T / p + 0.1 * np.eye(p)


def test_gaussian_matrix_covariance_matches_in_distribution():
    n, C = 20000, _random_cov(4, 1)
    X = gaussian(n, C, seed=3)
    assert X.shape == (n, 4)
    S = X.T @ X / n
    # every entry within 5 standard errors (k = 5: a false alarm has prob ~1e-5)
    assert np.all(np.abs(S - C) <= 5 * _cov_se(C, n))


def test_gaussian_eigenvalue_covariance_and_mean():
    n, c = 20000, np.array([0.5, 1.0, 4.0])
    mean = np.array([1.0, -2.0, 0.0])
    X = gaussian(n, c, mean=mean, seed=0)
    np.testing.assert_array_less(np.abs(X.mean(0) - mean), 5 * np.sqrt(c / n))
    Xc = X - mean
    C = np.diag(c)
    assert np.all(np.abs(Xc.T @ Xc / n - C) <= 5 * _cov_se(C, n))


def test_gaussian_reproducible_and_generator_seed():
    C = _random_cov(3, 2)
    np.testing.assert_array_equal(gaussian(10, C, seed=7), gaussian(10, C, seed=7))
    assert not np.array_equal(gaussian(10, C, seed=7), gaussian(10, C, seed=8))
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(gaussian(10, C, seed=rng),
                                  gaussian(10, C, seed=np.random.default_rng(7)))


@settings(max_examples=30, deadline=None)
@given(p=st.integers(1, 6), rank=st.integers(0, 6), seed=st.integers(0, 2**31 - 1))
def test_covariance_factor_reproduces_psd_matrix(p, rank, seed):
    # F F^T = C exactly (to rounding), also for singular PSD matrices
    A = np.random.default_rng(seed).standard_normal((p, min(rank, p)))
    C = A @ A.T
    F, diagonal = _covariance_factor(C, "covariance", "gaussian")
    assert not diagonal
    # eigenvalues below 1e-10 * max are set to zero by design (documented), so allow that
    np.testing.assert_allclose(F @ F.T, C, atol=1e-10 * max(1.0, np.abs(C).max()))


def test_gaussian_singular_covariance_lives_in_range():
    u = np.array([1.0, 2.0, 2.0]) / 3.0
    X = gaussian(50, 2.0 * np.outer(u, u), seed=0)
    # rank-one covariance: rows are multiples of u
    resid = X - np.outer(X @ u, u)
    assert np.abs(resid).max() < 1e-12


@pytest.mark.parametrize("cov, match", [
    (np.array([[1.0, 0.0], [0.0, -1.0]]), "positive semi-definite"),
    (np.array([[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
    (np.array([1.0, -0.1]), "positive semi-definite"),
    (np.ones((2, 3)), "square"),
    (np.ones((2, 2, 2)), "dimension"),
    (np.array([1.0, np.nan]), "finite"),
])
def test_gaussian_rejects_bad_covariance(cov, match):
    with pytest.raises(ValueError, match=match) as info:
        gaussian(5, cov)
    assert "covariance" in str(info.value)


def test_gaussian_rejects_bad_sizes_and_mean():
    with pytest.raises(ValueError, match="n_samples"):
        gaussian(0, [1.0])
    with pytest.raises(ValueError, match="n_samples"):
        gaussian(2.5, [1.0])
    with pytest.raises(ValueError, match="mean"):
        gaussian(3, [1.0, 1.0], mean=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="seed"):
        gaussian(3, [1.0], seed="abc")


def test_gaussian_mixture_priors_means_and_covariances():
    n = 30000
    means = np.array([[2.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    priors = np.array([0.5, 0.3, 0.2])
    covs = np.stack([np.eye(3), np.diag([4.0, 1.0, 0.25]), _random_cov(3, 5)])
    X, labels = gaussian_mixture(n, means, covs, priors, seed=11)
    assert X.shape == (n, 3) and labels.shape == (n,)
    assert np.issubdtype(labels.dtype, np.integer)
    freq = np.bincount(labels, minlength=3) / n
    np.testing.assert_array_less(np.abs(freq - priors), 5 * np.sqrt(priors * (1 - priors) / n))
    for j in range(3):
        Xj = X[labels == j]
        nj = len(Xj)
        d = np.diag(covs[j])
        np.testing.assert_array_less(np.abs(Xj.mean(0) - means[j]), 5 * np.sqrt(d / nj))
        Zj = Xj - means[j]
        assert np.all(np.abs(Zj.T @ Zj / nj - covs[j]) <= 5 * _cov_se(covs[j], nj))


def test_gaussian_mixture_diagonal_and_default_covariances():
    means = np.zeros((2, 2))
    X, labels = gaussian_mixture(20000, means, np.array([[1.0, 9.0], [4.0, 0.0]]), seed=1)
    v0 = X[labels == 0].var(0)
    v1 = X[labels == 1].var(0)
    np.testing.assert_allclose(v0, [1.0, 9.0], rtol=0.06)
    np.testing.assert_allclose(v1[0], 4.0, rtol=0.06)
    assert np.all(X[labels == 1][:, 1] == 0.0)
    X, labels = gaussian_mixture(20000, means, seed=2)
    np.testing.assert_allclose(X.var(0), [1.0, 1.0], rtol=0.05)
    assert abs(labels.mean() - 0.5) < 5 * 0.5 / np.sqrt(20000)


@pytest.mark.parametrize("kwargs, match", [
    (dict(priors=[0.5, 0.6]), "sum to one"),
    (dict(priors=[1.0]), "priors"),
    (dict(priors=[1.5, -0.5]), "non-negative"),
    (dict(covariances=np.ones((3, 2))), "covariances"),
    (dict(covariances=np.array([[[1.0, 0.0], [0.0, -1.0]], [[1.0, 0.0], [0.0, 1.0]]])),
     "positive semi-definite"),
])
def test_gaussian_mixture_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gaussian_mixture(10, np.zeros((2, 2)), **kwargs)


def test_gaussian_mixture_rejects_bad_means():
    with pytest.raises(ValueError, match="means"):
        gaussian_mixture(10, np.zeros(3))
    with pytest.raises(ValueError, match="n_samples"):
        gaussian_mixture(0, np.zeros((2, 2)))


def test_power_law_spectrum_closed_form():
    s = power_law_spectrum(5, 1.5, scale=2.0)
    np.testing.assert_allclose(s, 2.0 * np.arange(1, 6) ** -1.5, rtol=1e-15)
    np.testing.assert_array_equal(power_law_spectrum(4, 0.0), np.ones(4))
    with pytest.raises(ValueError, match="exponent"):
        power_law_spectrum(4, -1.0)
    with pytest.raises(ValueError, match="n_features"):
        power_law_spectrum(0, 1.0)
    with pytest.raises(ValueError, match="scale"):
        power_law_spectrum(3, 1.0, scale=0.0)


@settings(max_examples=40, deadline=None)
@given(p=st.integers(1, 200), alpha=st.floats(0.0, 4.0), r=st.floats(0.0, 2.0),
       seed=st.integers(0, 1000))
def test_power_law_target_source_condition(p, alpha, r, seed):
    # theory note linear.md §6.1: b_k^2 s_k = k^-(1 + 2 alpha r) with s_k = k^-alpha
    b = power_law_target(p, alpha, r, seed=seed)
    s = power_law_spectrum(p, alpha)
    k = np.arange(1, p + 1)
    np.testing.assert_allclose(b**2 * s, k ** -(1.0 + 2.0 * alpha * r), rtol=1e-12)
    np.testing.assert_array_equal(b, power_law_target(p, alpha, r, seed=seed))


def test_power_law_target_random_signs():
    b = power_law_target(4000, 2.0, 0.5, seed=0)
    frac = np.mean(b > 0)
    assert abs(frac - 0.5) < 5 * 0.5 / np.sqrt(4000)
    with pytest.raises(ValueError, match="source_exponent"):
        power_law_target(10, 2.0, -0.5)
