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
        k0 = ridgeless_threshold(n, s)
        k_small = effective_ridge(1e-11, s, n_samples=n)
        assert abs(k_small - k0) <= 1e-9 * max(1.0, k0) + 2e-11
        if n < 300:   # rank > n: df1(kappa_0) = n
            df1, = spectral_sums(k0, s, [np.ones_like(s)], [(0, 1, 1)])
            assert abs(df1 - n) < 1e-9 * n
        else:
            assert k0 == 0


def test_isotropic_ridgeless_kappa0():
    # theory note §5.4: kappa_0 = gamma - 1 for gamma > 1
    k0 = ridgeless_threshold([250, 500, 999], np.ones(1000))
    np.testing.assert_allclose(k0, [3.0, 1.0, 1000 / 999 - 1], rtol=1e-12)


def test_negative_ridge_bound_is_minus_mp_lower_edge():
    for gamma in (0.25, 0.5, 2.0, 4.0):
        p = 400
        n = p / gamma
        bound = negative_ridge_bound(n, [1.0], [p])
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
