"""Semicircle: closed forms against independent routes, properties, simulation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from threadpoolctl import threadpool_limits

from hdeq.laws import Semicircle

CATALAN = [1, 1, 2, 5, 14, 42, 132]  # OEIS A000108


# -- closed forms ------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [0.5, 1.0, 2.3])
def test_moments_are_catalan_numbers(scale):
    law = Semicircle(scale)
    for k in range(13):
        expected = 0.0 if k % 2 else CATALAN[k // 2] * scale ** k
        assert law.moment(k) == pytest.approx(expected, rel=1e-14, abs=0)
    assert law.mean == 0.0
    assert law.var == pytest.approx(scale ** 2, rel=1e-15)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.3])
def test_moments_match_quadrature_of_the_density(scale):
    law = Semicircle(scale)
    r = 2 * scale
    for k in range(9):
        # the sqrt edge behaviour is handled by QUADPACK's algebraic weight
        # (t + r)^(1/2) (r - t)^(1/2), so the integrand t^k / (2 pi s^2) is smooth
        quad, _ = integrate.quad(lambda t: t ** k / (2 * np.pi * scale ** 2), -r, r,
                                 weight="alg", wvar=(0.5, 0.5), epsabs=1e-12 * r ** k,
                                 epsrel=1e-12)
        assert law.pdf(0.3 * r) == pytest.approx(
            np.sqrt((r + 0.3 * r) * (r - 0.3 * r)) / (2 * np.pi * scale ** 2), rel=1e-14)
        assert quad == pytest.approx(law.moment(k), rel=1e-10, abs=1e-11 * r ** k)


def test_stieltjes_known_value_and_equation_residual():
    # scale 1: m(i) = i (sqrt 5 - 1) / 2 (root of m^2 + i m + 1 = 0 with Im m > 0)
    assert Semicircle(1.0).stieltjes(1j) == pytest.approx(1j * (math.sqrt(5) - 1) / 2,
                                                          abs=1e-15)
    law = Semicircle(1.7)
    z = np.array([0.3 + 1e-3j, -3.5 + 0.0j, 5.0 - 2.0j, 1e8 + 1j, -1e-3 + 10j, 4.0 + 0j])
    m = law.stieltjes(z)
    residual = law.scale ** 2 * m ** 2 + z * m + 1
    assert np.max(np.abs(residual)) < 1e-12
    assert m.shape == z.shape


def test_stieltjes_matches_quadrature_of_the_density():
    law = Semicircle(1.3)
    r = 2 * law.scale
    for z in [0.4 + 0.3j, -2.0 + 0.05j, 3.5 + 0j, -4.0 + 0j]:
        re, _ = integrate.quad(lambda t: (law.pdf(t) / (t - z)).real, -r, r,
                               epsabs=1e-13, limit=400)
        im, _ = integrate.quad(lambda t: (law.pdf(t) / (t - z)).imag, -r, r,
                               epsabs=1e-13, limit=400)
        assert law.stieltjes(z) == pytest.approx(re + 1j * im, abs=1e-9)


def test_density_is_the_boundary_value_of_the_stieltjes_transform():
    law = Semicircle(0.8)
    x = np.linspace(-1.55, 1.55, 41)
    inverted = law.stieltjes(x + 1e-11j).imag / np.pi
    np.testing.assert_allclose(inverted, law.pdf(x), atol=1e-9)


def test_derivative_matches_finite_difference():
    law = Semicircle(1.2)
    z = np.array([0.5 + 0.2j, -3 + 0.1j, 3.0 + 0j])
    h = 1e-6
    fd = (law.stieltjes(z + h) - law.stieltjes(z - h)) / (2 * h)
    np.testing.assert_allclose(law.stieltjes_derivative(z), fd, rtol=1e-8)


def test_cdf_is_the_integral_of_the_pdf_and_ppf_inverts_it():
    law = Semicircle(1.1)
    for x in [-2.2, -1.0, 0.0, 0.3, 2.0, 2.2]:
        quad, _ = integrate.quad(law.pdf, -2.2, x, epsabs=1e-13)
        assert law.cdf(x) == pytest.approx(quad, abs=1e-10)
    assert law.cdf(-10.0) == 0.0 and law.cdf(10.0) == 1.0
    q = np.linspace(0, 1, 101)
    np.testing.assert_allclose(law.cdf(law.ppf(q)), q, atol=1e-13)


def test_support_atoms_and_pdf_outside():
    law = Semicircle(2.0)
    assert law.support == ((-4.0, 4.0),)
    assert law.atoms == ()
    assert np.all(law.pdf([-5.0, -4.0, 4.0, 7.0]) == 0.0)
    integral, _ = integrate.quad(law.pdf, -4, 4)
    assert integral == pytest.approx(1.0, abs=1e-12)


# -- properties -----------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(scale=st.floats(0.05, 20.0), re=st.floats(-50, 50), im=st.floats(1e-6, 50))
def test_herglotz_reflection_and_distance_bound(scale, re, im):
    law = Semicircle(scale)
    z = complex(re, im)
    m = law.stieltjes(z)
    assert m.imag > 0
    assert law.stieltjes(z.conjugate()) == pytest.approx(np.conj(m), rel=1e-14, abs=1e-300)
    # |m(z)| <= 1 / dist(z, supp)
    dist = abs(z - min(max(re, -2 * scale), 2 * scale))
    assert abs(m) <= (1 / dist) * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(0.05, 20.0), angle=st.floats(0.01, np.pi - 0.01))
def test_large_z_expansion(scale, angle):
    law = Semicircle(scale)
    z = 1e3 * scale * np.exp(1j * angle)
    m = law.stieltjes(z)
    series = -sum(law.moment(k) / z ** (k + 1) for k in range(8))
    assert abs(m - series) <= 1e-14 * abs(m)


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf, "1", 1j])
def test_bad_scale_names_the_parameter(bad):
    with pytest.raises(ValueError, match="`scale` of Semicircle"):
        Semicircle(bad)


def test_stieltjes_on_the_support_is_refused():
    with pytest.raises(ValueError, match="off the support"):
        Semicircle(1.0).stieltjes(np.array([3.0, 0.5]))
    with pytest.raises(ValueError, match="`k`"):
        Semicircle(1.0).moment(-1)
    with pytest.raises(ValueError, match="`n_features`"):
        Semicircle(1.0).sample(0, seed=0)


# -- simulation ---------------------------------------------------------------------------

def test_sample_is_reproducible_and_sorted():
    a = Semicircle(1.0).sample(50, seed=3)
    b = Semicircle(1.0).sample(50, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50,) and np.all(np.diff(a) >= 0)


@pytest.mark.simulation
def test_simulated_stieltjes_agrees_and_kolmogorov_distance_shrinks():
    """Tolerance |mean - theory| <= k stderr + C / sqrt(p) with k = 4, C = 0.5
    (the GOE bias of (1/p) tr(W - z)^-1 is O(1/p), below C / sqrt(p)). BLAS is
    limited to one thread: on a loaded 2-core machine threading slows eigvalsh 30x."""
    with threadpool_limits(1):
        _check_simulation()


def _check_simulation():
    law = Semicircle(1.5)
    z = 0.7 + 0.5j
    theory = law.stieltjes(z)
    ks = {}
    rng = np.random.default_rng(2024)
    for p in (100, 200, 400):
        trials = 6
        vals, kss = [], []
        for _ in range(trials):
            ev = law.sample(p, seed=rng)
            vals.append(np.mean(1.0 / (ev - z)))
            cdf = law.cdf(ev)
            i = np.arange(1, p + 1)
            kss.append(max(np.max(i / p - cdf), np.max(cdf - (i - 1) / p)))
        vals = np.array(vals)
        stderr = np.std(vals, ddof=1) / math.sqrt(trials)
        err = abs(vals.mean() - theory)
        assert err <= 4 * stderr + 0.5 / math.sqrt(p)
        ks[p] = np.mean(kss)
        assert ks[p] <= 1.0 / math.sqrt(p)
    assert ks[400] < ks[200] < ks[100]
