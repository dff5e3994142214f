"""Mei-Montanari random-features ridge: oracle table, ridgeless closed forms, limits,
defining equations, simulation on the sphere."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdeq.models._mei_montanari import MeiMontanari, _solve_nu, bias_variance

RELU_ZETA = 1.658897            # mu1 / mu_star for ReLU (theory note §3.3)


@pytest.mark.parametrize("psi1, psi2, lam, zeta, chi, B, V", [
    # theory note §3.3 "Deterministic oracle (formula only; check to 1e-5)"
    (2, 1, 1e-9, 1, -0.618034, 1.065248, 1.170820),
    (0.5, 2, 1e-9, 1.5, -0.195023, 0.926697, 0.333333),
    (3, 1.5, 1.10078, RELU_ZETA, -0.318924, 0.430422, 0.286908),
    (1.5, 2, 0.110078, RELU_ZETA, -0.609745, 0.658757, 1.073481),
    (1, 1, 1e-3, 1, -0.600358, 12.797158, 19.701480),
    (10, 3, 1e-2, 2, -2.024224, 0.060453, 0.745496),
])
def test_deterministic_oracle(psi1, psi2, lam, zeta, chi, B, V):
    got = bias_variance(zeta, psi1, psi2, lam)
    np.testing.assert_allclose(got, (chi, B, V), rtol=1e-5, atol=1e-5)


def test_vectorized_over_grid_matches_pointwise():
    psi1 = np.array([0.5, 1.5, 3.0, 10.0])
    chi, B, V = bias_variance(RELU_ZETA, psi1, 2.0, 0.05)
    for k, p1 in enumerate(psi1):
        np.testing.assert_allclose(bias_variance(RELU_ZETA, p1, 2.0, 0.05),
                                   (chi[k], B[k], V[k]), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(psi1=st.floats(0.1, 10), psi2=st.floats(0.1, 10), lam=st.floats(1e-3, 10),
       zeta=st.floats(0.2, 5))
def test_defining_equations_hold(psi1, psi2, lam, zeta):
    """nu_k = i a_k solves nu1 = psi1 (-xi - nu2 - zeta^2 nu2 / (1 - zeta^2 nu1 nu2))^{-1}
    and the symmetric equation at xi = i sqrt(psi1 psi2 lam) (complex form, as in §3.3)."""
    y = np.sqrt(psi1 * psi2 * lam)
    a1, a2, res = _solve_nu(np.float64(zeta), psi1, psi2, y)
    xi, nu1, nu2 = 1j * y, 1j * a1, 1j * a2
    z2 = zeta ** 2
    r1 = nu1 - psi1 / (-xi - nu2 - z2 * nu2 / (1 - z2 * nu1 * nu2))
    r2 = nu2 - psi2 / (-xi - nu1 - z2 * nu1 / (1 - z2 * nu1 * nu2))
    assert abs(r1) < 1e-10 * max(1, abs(nu1)) and abs(r2) < 1e-10 * max(1, abs(nu2))
    _, B, V = bias_variance(zeta, psi1, psi2, lam)
    assert B >= 0 and V >= 0                     # the risk is non-negative


@pytest.mark.parametrize("psi1, psi2, zeta", [(2, 1, 1.0), (0.5, 2, 1.5), (3, 7, 0.7),
                                              (5, 0.4, 2.5)])
def test_ridgeless_chi_closed_form(psi1, psi2, zeta):
    """lambda -> 0: chi0 = -[(psi z^2 - z^2 - 1) + sqrt((psi z^2 - z^2 - 1)^2 + 4 z^2 psi)]
    / (2 z^2), psi = min(psi1, psi2) (theory note §3.3)."""
    psi, z2 = min(psi1, psi2), zeta ** 2
    b = psi * z2 - z2 - 1
    chi0 = -(b + np.sqrt(b * b + 4 * z2 * psi)) / (2 * z2)
    chi, _, _ = bias_variance(zeta, psi1, psi2, 1e-12)
    assert chi == pytest.approx(chi0, rel=1e-5)


@pytest.mark.parametrize("psi1, psi2", [(0.5, 2.0), (1.0, 3.0), (2.0, 2.5)])
def test_ridgeless_underparameterized_variance(psi1, psi2):
    """psi1 < psi2, lambda -> 0: V -> psi1 / (psi2 - psi1) (least squares with psi1 d
    covariates, theory note §3.3)."""
    _, _, V = bias_variance(RELU_ZETA, psi1, psi2, 1e-12)
    assert V == pytest.approx(psi1 / (psi2 - psi1), rel=1e-5)


def test_large_ridge_gives_null_risk():
    """ridge -> inf: the estimator is 0, R -> F1^2 + F*^2 (B -> 1, V -> 0)."""
    mm = MeiMontanari("tanh", psi1=2.0, psi2=3.0, ridge=1e8, nonlinear_var=0.3,
                      noise_var=0.5)
    assert mm.test_error() == pytest.approx(1.0 + 0.3, rel=1e-6)


def test_interpolation_peak_at_psi1_equal_psi2():
    """Small ridge: test error as a function of psi1 peaks at psi1 = psi2 (double descent)."""
    mm = MeiMontanari("relu", psi2=2.0, ridge=1e-4, noise_var=0.2)
    psi1 = np.linspace(0.2, 6.0, 59)
    risk = mm.test_error(psi1=psi1)
    assert abs(psi1[np.argmax(risk)] - 2.0) <= 0.1
    assert risk[-1] < risk.max() / 3


@pytest.mark.parametrize("act, psi1, psi2, lam, F1, Fs, tau, R", [
    # theory note §3.3 statistical oracle, column "R formula"
    ("relu", 0.5, 2, 1e-3, 1, 0, 0, 0.89844),
    ("relu", 2, 1, 1e-3, 1, 0, 0, 0.72550),
    ("relu", 1, 1, 1e-3, 1, 0, 0.5, 5.23728),
    ("relu", 3, 1.5, 0.1, 1, 0.5, 0.3, 0.77797),
    ("tanh", 2, 3, 0.01, 1, 0, 0.3, 0.16026),
    ("relu", 1.5, 2, 0.01, 1, 0, 0.3, 0.75537),
])
def test_formula_oracle(act, psi1, psi2, lam, F1, Fs, tau, R):
    mm = MeiMontanari(act, psi1=psi1, psi2=psi2, ridge=lam, signal_var=F1 ** 2,
                      nonlinear_var=Fs ** 2, noise_var=tau ** 2)
    assert mm.test_error() == pytest.approx(R, abs=2e-5)


def test_from_sizes():
    mm = MeiMontanari.from_sizes("relu", n_samples=200, n_features=100,
                                 n_random_features=50, ridge=1e-3)
    assert float(mm.psi1) == 0.5 and float(mm.psi2) == 2.0
    assert mm.test_error() == pytest.approx(0.89844, abs=2e-5)


@pytest.mark.simulation
def test_simulation_agreement_and_rate():
    """Simulation on the sphere vs the formula: |mean - theory| <= 3 stderr + 0.5/sqrt(d)
    at d = 40 and 120; the mean absolute error over the psi1 grid shrinks with d."""
    mm = MeiMontanari("relu", psi2=2.0, ridge=1e-2, noise_var=0.09, nonlinear_var=0.04)
    grid = [0.5, 4.0]
    errs = []
    for d in (40, 120):
        df = mm.simulate(d, trials=8, seed=7, psi1=grid, n_test=1000)
        diff = np.abs(df.empirical - df.theory)
        assert np.all(diff <= 3 * df.stderr + 0.5 / np.sqrt(d)), df
        errs.append(diff.mean())
    assert errs[1] < errs[0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(psi1=-1.0), "psi1"), (dict(psi2=0.0), "psi2"), (dict(ridge=0.0), "ridge"),
    (dict(noise_var=-0.1), "noise_var"), (dict(signal_var=np.nan), "signal_var"),
    (dict(activation="linear"), "nonlinear"), (dict(activation="nope"), "activation"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MeiMontanari(**kwargs)


def test_bad_simulate_input():
    mm = MeiMontanari("relu", psi1=1.0, psi2=2.0)
    with pytest.raises(ValueError, match="n_features"):
        mm.simulate(0)
    with pytest.raises(ValueError, match="trials"):
        mm.simulate(50, trials=0)


def test_method_docstrings_refer_only_to_public_names():
    """Regression (user report): MeiMontanari.bias_variance's docstring sent readers to
    :func:`bias_variance`, a function hdeq does not export; every :func: / :class:
    reference in the class's public docstrings must name something in hdeq."""
    import re

    import hdeq
    for name in ["__doc__"] + [n for n in dir(MeiMontanari) if not n.startswith("_")]:
        doc = getattr(MeiMontanari, name).__doc__ if name != "__doc__" else MeiMontanari.__doc__
        for ref in re.findall(r":(?:func|class):`~?([\w.]+)`", doc or ""):
            assert hasattr(hdeq, ref.split(".")[-1]) or ref.startswith("hdeq."), (name, ref)
    doc = MeiMontanari.bias_variance.__doc__
    assert "test_error = F1^2 B + (tau^2 + F*^2) V + F*^2" in doc and "Examples" in doc
