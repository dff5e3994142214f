"""Contour functional calculus (hdeq.core._contour): exact discrete-measure identities,
Marchenko-Pastur quadrature, the atom at 0 and the discrete-gradient-descent contour."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from hdeq.core import circle_contour, log_contour, spectral_contour


def _discrete_stieltjes(z, atoms, weights):
    return (weights[None, :] / (atoms[None, :] - z[:, None])).sum(axis=1)


def _exp_filter(t, z):
    return np.exp(-t * z)


def test_constant_integrates_to_total_mass_with_zero_atom():
    # theory note linear.md §8 item 5: f = 1 integrates to the total mass.
    atoms = np.array([0.0, 0.3, 1.0, 2.5])
    weights = np.array([0.4, 0.1, 0.3, 0.2])
    c = spectral_contour(0.3, 2.5)
    m = _discrete_stieltjes(c.nodes, atoms, weights)
    total = c.spectral_integral(lambda t, z: np.ones_like(t * z), [0.0], m)
    assert total[0].real == pytest.approx(1.0, abs=1e-13)
    # without the circle the zero atom is missed, exactly
    c2 = spectral_contour(0.3, 2.5, include_zero=False)
    m2 = _discrete_stieltjes(c2.nodes, atoms, weights)
    total2 = c2.spectral_integral(lambda t, z: np.ones_like(t * z), [0.0], m2)
    assert total2[0].real == pytest.approx(0.6, abs=1e-13)


def test_multiscale_atoms_exponential_filter_all_times():
    # Atoms over 3.7 decades; the log-ellipse recipe (theory note §7a) must give
    # int exp(-t x) dmu to ~1e-13 for t from 1e-9 to 1e4 (stable, no cancellation).
    rng = np.random.default_rng(0)
    atoms = np.exp(rng.uniform(np.log(1e-3), np.log(5.0), 400))
    weights = rng.dirichlet(np.ones(400))
    c = spectral_contour(atoms.min(), atoms.max(), include_zero=False)
    m = _discrete_stieltjes(c.nodes, atoms, weights)
    t = np.geomspace(1e-9, 1e4, 60)
    got = c.spectral_integral(_exp_filter, t, m)
    exact = (weights[None, :] * np.exp(-t[:, None] * atoms[None, :])).sum(axis=1)
    np.testing.assert_allclose(got.real, exact, rtol=0, atol=1e-13)
    assert np.abs(got.imag).max() < 1e-13


def test_accuracy_improves_with_nodes():
    rng = np.random.default_rng(1)
    atoms = np.exp(rng.uniform(np.log(1e-3), np.log(5.0), 200))
    weights = np.full(200, 1 / 200)
    t = np.geomspace(1e-3, 1e3, 20)
    exact = (weights[None, :] * np.exp(-t[:, None] * atoms[None, :])).sum(axis=1)
    errors = []
    for n_nodes in (60, 120, 240):
        c = spectral_contour(atoms.min(), atoms.max(), include_zero=False, n_nodes=n_nodes)
        got = c.spectral_integral(_exp_filter, t, _discrete_stieltjes(c.nodes, atoms, weights))
        errors.append(np.abs(got - exact).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-10


def _mp_density(x, ratio):
    a, b = (1 - np.sqrt(ratio)) ** 2, (1 + np.sqrt(ratio)) ** 2
    return np.sqrt(np.maximum((b - x) * (x - a), 0.0)) / (2 * np.pi * ratio * x)


def _mp_stieltjes(z, ratio):
    # p x p MP law (theory note linear.md Appendix A, product-of-principal-roots branch)
    a, b = (1 - np.sqrt(ratio)) ** 2, (1 + np.sqrt(ratio)) ** 2
    return (1 - ratio - z + np.sqrt(z - a) * np.sqrt(z - b)) / (2 * ratio * z)


@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_marchenko_pastur_contour_equals_density_quadrature(ratio):
    # isotropic GF ingredient int exp(-2 t x) dmu_MP (theory note §7a), contour vs
    # adaptive quadrature of the density plus the zero atom (1 - 1/ratio)_+ : 1e-9.
    a, b = (1 - np.sqrt(ratio)) ** 2, (1 + np.sqrt(ratio)) ** 2
    c = spectral_contour(a, b, include_zero=ratio > 1)
    m = _mp_stieltjes(c.nodes, ratio)
    for t in (0.0, 0.3, 2.0, 50.0):
        got = c.spectral_integral(lambda s, z: np.exp(-2 * s * z), [t], m)[0].real
        ref = integrate.quad(lambda x: np.exp(-2 * t * x) * _mp_density(x, ratio), a, b,
                             epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        ref += max(1 - 1 / ratio, 0.0)
        assert got == pytest.approx(ref, abs=1e-9)


def test_double_integral_of_product_kernel():
    # K(z1, z2) = sum_i w_i / ((x_i - z1)(x_i - z2)) gives sum_i w_i f(x_i)^2, including
    # an atom at 0 (simple pole in each variable handled by the f(0) replacement).
    atoms = np.array([0.0, 0.05, 0.4, 3.0])
    weights = np.array([0.25, 0.25, 0.25, 0.25])
    c = spectral_contour(0.05, 3.0)
    r = 1.0 / (atoms[None, :] - c.nodes[:, None])
    kernel = (r * weights[None, :]) @ r.T
    t = np.array([0.0, 0.5, 10.0, 1e3])
    got = c.double_integral(_exp_filter, t, kernel)
    exact = (weights[None, :] * np.exp(-2 * t[:, None] * atoms[None, :])).sum(axis=1)
    np.testing.assert_allclose(got.real, exact, atol=1e-13)


def test_zero_circle_is_radius_independent_and_stable_at_large_t():
    atoms = np.array([0.0, 1.0])
    weights = np.array([0.5, 0.5])
    for radius in (1e-3, 0.1, 0.4):
        c = log_contour(0.5, 1.5) + circle_contour(0.0, radius, at_zero=True)
        m = _discrete_stieltjes(c.nodes, atoms, weights)
        got = c.spectral_integral(_exp_filter, [1e4], m)[0]
        assert got.real == pytest.approx(0.5, abs=1e-14)


def test_gradient_descent_contour_keeps_polynomial_filter_bounded():
    rng = np.random.default_rng(2)
    atoms = np.sort(rng.uniform(0.05, 3.6, 300))
    weights = np.full(300, 1 / 300)
    step = 0.5  # step * upper = 1.8 < 2: stable, but outside the default log-ellipse
    c = spectral_contour(atoms.min(), atoms.max(), include_zero=False, step=step)
    assert np.abs(1 - step * c.nodes).max() <= 1.0
    default = spectral_contour(atoms.min(), atoms.max(), include_zero=False)
    assert np.abs(1 - step * default.nodes).max() > 1.0   # why the option exists
    k = np.array([0, 1, 10, 100, 10_000])
    got = c.spectral_integral(lambda k, z: (1 - step * z) ** k, k,
                              _discrete_stieltjes(c.nodes, atoms, weights))
    exact = (weights[None, :] * (1 - step * atoms[None, :]) ** k[:, None]).sum(axis=1)
    np.testing.assert_allclose(got.real, exact, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(1e-2, 1e2), min_size=1, max_size=12),
       st.floats(0.0, 10.0))
def test_property_positive_filter_gives_positive_integral(atoms, t):
    atoms = np.array(atoms)
    weights = np.full(atoms.size, 1 / atoms.size)
    c = spectral_contour(atoms.min(), atoms.max(), include_zero=False)
    got = c.spectral_integral(_exp_filter, [t], _discrete_stieltjes(c.nodes, atoms, weights))[0]
    exact = np.mean(np.exp(-t * atoms))
    assert got.real == pytest.approx(exact, rel=1e-9, abs=1e-14)
    assert got.real > -1e-14   # non-negative up to round-off


@pytest.mark.parametrize("kwargs, match", [
    (dict(lower=0.0, upper=1.0), "`lower` of spectral_contour"),
    (dict(lower=2.0, upper=1.0), "`upper` of spectral_contour"),
    (dict(lower=0.1, upper=1.0, step=2.5), "`step` of spectral_contour"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        spectral_contour(**kwargs)


def test_log_contour_validation():
    with pytest.raises(ValueError, match="`height` of log_contour"):
        log_contour(0.1, 1.0, height=2.0)
    with pytest.raises(ValueError, match="`center` of circle_contour"):
        circle_contour(1.0, 0.1, at_zero=True)
