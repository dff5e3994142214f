"""Conjugate-kernel (Pennington-Worah) law: oracle values, reductions, two routes,
moments by contour integration, Herglotz property, simulation agreement."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdeq.laws import SpectralLaw
from hdeq.laws._conjugate_kernel import ConjugateKernelLaw


def relu_centred(t):
    return np.maximum(t, 0.0) - 1.0 / np.sqrt(2.0 * np.pi)


def abs_centred(t):
    return np.abs(t) - np.sqrt(2.0 / np.pi)


def law_pw(eta, zeta, phi, psi, **kw):
    """Law in Pennington-Worah ratios phi = n0/m, psi = n0/n1."""
    return ConjugateKernelLaw(eta, zeta, phi, phi / psi, **kw)


def mp_stieltjes(z, ratio, scale=1.0):
    """MP law of `ratio` scaled by `scale`, closed form (theory note §2.1 quadratic)."""
    w = z / scale
    b = w - 1.0 + ratio
    disc = np.sqrt(w - (1 - np.sqrt(ratio)) ** 2) * np.sqrt(w - (1 + np.sqrt(ratio)) ** 2)
    return (-b + disc) / (2.0 * ratio * w) / scale


# --------------------------------------------------------------------------- oracles
@pytest.mark.parametrize("params, z, G_ref", [
    # theory note §3.4 "Deterministic oracle (formula only)": (eta, zeta, phi, psi)
    ((1.0, 0.5, 1.0, 1.0), -0.5, -1.037580),
    ((1.0, 0.5, 1.0, 1.0), 1 + 0.2j, 0.472954 - 0.806943j),
    ((1.0, 0.0, 0.5, 0.5), -0.5, -1.0),
    ((1.0, 0.0, 0.5, 0.5), 1 + 0.2j, 0.387019 - 0.851060j),
    ((1.0, 1.0, 0.5, 2.0), -0.5, -0.890857),
    ((1.0, 1.0, 0.5, 2.0), 1 + 0.2j, 0.445456 - 1.025377j),
])
def test_deterministic_oracle(params, z, G_ref):
    law = law_pw(*params)
    assert law.stieltjes(z) == pytest.approx(-G_ref, abs=2e-6)     # G = -m


@pytest.mark.parametrize("func, eta, zeta, z, G_ref", [
    # theory note §3.4 table, column "G theory" (phi = 0.5, psi = 0.8)
    (np.tanh, 0.394294, 0.366879, -0.5, -1.39257),
    (np.tanh, 0.394294, 0.366879, 0.5 + 0.1j, 1.22687 - 1.39500j),
    (np.tanh, 0.394294, 0.366879, 1 + 0.2j, 0.86441 - 0.71348j),
    (relu_centred, 0.340845, 0.25, -0.5, -1.38323),
    (relu_centred, 0.340845, 0.25, 1 + 0.2j, 1.00989 - 0.74091j),
    (relu_centred, 0.340845, 0.25, 2 + 0.05j, 0.67472 - 0.02958j),
    (abs_centred, 0.363380, 0.0, -0.5, -1.27949),
    (abs_centred, 0.363380, 0.0, 1 + 0.2j, 1.34901 - 0.88854j),
])
def test_activation_oracle(func, eta, zeta, z, G_ref):
    law = ConjugateKernelLaw.from_activation(func, 0.5, 0.5 / 0.8)
    assert law.eta == pytest.approx(eta, abs=1e-6)
    assert law.zeta == pytest.approx(zeta, abs=1e-6)
    assert law.stieltjes(z) == pytest.approx(-G_ref, abs=1e-5)


def test_hdeq_activation_object_gives_same_constants():
    hdeq = pytest.importorskip("hdeq")
    if not hasattr(hdeq, "activation"):
        pytest.skip("hdeq.activation not available")
    a = ConjugateKernelLaw.from_activation(hdeq.activation("tanh"), 0.5, 0.625)
    b = ConjugateKernelLaw.from_activation(np.tanh, 0.5, 0.625)
    assert (a.eta, a.zeta) == pytest.approx((b.eta, b.zeta), abs=1e-8)


# --------------------------------------------------------------------------- reductions
@pytest.mark.parametrize("phi, width", [(0.5, 1.0), (2.0, 0.4), (0.3, 2.5)])
def test_zeta_zero_is_scaled_marchenko_pastur(phi, width):
    """zeta = 0 (even f): MP law of ratio n1/m = width_ratio scaled by eta (§3.4)."""
    eta = 0.7
    law = ConjugateKernelLaw(eta, 0.0, phi, width)
    z = np.array([-0.5, 0.3 + 0.4j, 1.5 + 0.01j, 5.0 + 1j])
    np.testing.assert_allclose(law.stieltjes(z), mp_stieltjes(z, width, eta), atol=1e-10)
    a, b = eta * (1 - np.sqrt(width)) ** 2, eta * (1 + np.sqrt(width)) ** 2
    assert law.support[-1] == pytest.approx((a, b), abs=1e-8)
    expected_atom = max(0.0, 1 - 1 / width)
    assert sum(w for _, w in law.atoms) == pytest.approx(expected_atom, abs=1e-12)


def test_linear_activation_product_wishart_edge():
    """zeta = eta, phi = psi = 1: product of two square Wisharts, support [0, 27/4]
    (Fuss-Catalan law with s = 2: right edge (s+1)^(s+1)/s^s)."""
    law = ConjugateKernelLaw(1.0, 1.0, 1.0, 1.0)
    (a, b), = law.support
    assert a == 0.0
    assert b == pytest.approx(27 / 4, abs=1e-8)


def test_linear_activation_matches_sample_covariance_of_wishart_population():
    """zeta = eta: W X X^T W^T / m; the 'equivalent' route is then the generalized MP law
    with an MP population, an independent computation of the same law."""
    law = law_pw(1.3, 1.3, 0.5, 2.0)
    z = np.array([0.2 + 0.3j, 1 + 0.2j, 4 + 0.05j, -1 + 1e-3j])
    np.testing.assert_allclose(law.stieltjes(z), law.stieltjes(z, method="equivalent"),
                               atol=1e-9)


# --------------------------------------------------------------------------- two routes
@settings(max_examples=25, deadline=None)
@given(eta=st.floats(0.2, 3.0), frac=st.sampled_from([0.0, 1.0]) | st.floats(0.01, 1.0), phi=st.floats(0.2, 3.0),
       width=st.floats(0.2, 3.0), x=st.floats(-1.0, 6.0), y=st.floats(0.05, 2.0))
def test_quartic_and_linear_equivalent_routes_agree(eta, frac, phi, width, x, y):
    law = ConjugateKernelLaw(eta, frac * eta, phi, width)
    z = np.array([x + 1j * y])
    m = law.stieltjes(z)
    assert m.imag[0] > 0                                           # Herglotz
    np.testing.assert_allclose(m, law.stieltjes(z, method="equivalent"), atol=1e-8,
                               rtol=1e-8)


def test_reflection_and_broadcast_shape():
    law = law_pw(1.0, 0.5, 1.0, 1.0)
    z = np.array([[1 + 0.2j, 2 - 0.3j], [-1.0 + 0j, 0.5 + 1j]])
    m = law.stieltjes(z)
    assert m.shape == (2, 2)
    np.testing.assert_allclose(law.stieltjes(np.conj(z)), np.conj(m), atol=1e-14)
    assert np.all(m.imag[z.imag > 0] > 0)


# --------------------------------------------------------------------------- moments
def contour_moment(law, k, center, radius, n=400):
    """M_k = -(1/2 pi i) oint z^k m(z) dz on a circle enclosing the spectrum (trapezoid
    rule: exponentially accurate for an analytic integrand)."""
    theta = 2 * np.pi * (np.arange(n) + 0.5) / n
    z = center + radius * np.exp(1j * theta)
    return float(np.real(-radius * np.mean(z ** k * law.stieltjes(z) * np.exp(1j * theta))))


@pytest.mark.parametrize("params", [(0.394294, 0.366879, 0.5, 0.8), (1.0, 0.5, 1.0, 1.0),
                                    (1.0, 1.0, 0.5, 2.0), (0.8, 0.2, 2.0, 0.5)])
def test_moments_contour_vs_closed_form(params):
    law = law_pw(*params)
    hi = law.support[-1][1]
    for k in (1, 2, 3):
        got = contour_moment(law, k, hi / 2, hi / 2 + 0.5)
        assert got == pytest.approx(law.moment(k), rel=1e-9, abs=1e-10)
    assert contour_moment(law, 0, hi / 2, hi / 2 + 0.5) == pytest.approx(1.0, abs=1e-10)


def test_density_integrates_to_continuous_mass():
    law = ConjugateKernelLaw(1.0, 1.0, 0.5, 2.0)   # n1 = 4 n0: rank n0, atom 3/4 at 0
    assert law.continuous_mass == pytest.approx(0.25, abs=1e-12)
    assert law.cdf(law.support[-1][1] + 1) == pytest.approx(1.0, abs=1e-6)
    assert law.cdf(0.0) == pytest.approx(0.75, abs=1e-12)   # the atom
    mass = law.cdf(law.support[-1][1]) - law.cdf(0.0)
    assert mass == pytest.approx(0.25, abs=1e-6)


# ------------------------------------------------------------ extreme ratios (user report)
@pytest.mark.parametrize("width", [1e5, 1e6])
def test_large_width_ratio_keeps_its_bulk(width):
    """Regression: width_ratio >= 1e5 lost the bulk (support (), pdf 0, cdf short of 1
    by the continuous mass 1/w): its density ~1/w^2 drowned in the rounding of the
    atom's 1/z. zeta = 0 is eta * MP(width_ratio) (closed form); zeta = 0.5: the cdf
    reaches 1 across the bulk and the density integrates to the closed-form moments."""
    law = ConjugateKernelLaw(1.0, 0.0, 1.0, width)
    (a, b), = law.support
    np.testing.assert_allclose([a, b], (1 + np.array([-1, 1]) * np.sqrt(width)) ** 2,
                               rtol=1e-9)
    z = np.array([0.5 * width + 0.1j * width, 2 * width + 1j])
    np.testing.assert_allclose(law.stieltjes(z), mp_stieltjes(z, width), rtol=1e-9)
    law = ConjugateKernelLaw(1.0, 0.5, 1.0, width)
    (a, b), = law.support
    assert law.cdf([0.5 * a, b]) == pytest.approx([1 - 1 / width, 1.0], abs=1e-12)
    for k in (1, 2):
        assert SpectralLaw.moment(law, k) == pytest.approx(law.moment(k), rel=1e-8)


@pytest.mark.parametrize("phi, width", [(1e-6, 1.0), (1e6, 1.0), (0.3, 1.0), (2e-6, 2.0),
                                        (0.3, 1e4), (1e4, 1e6)])
def test_extreme_aspect_ratio_and_hard_edge(phi, width):
    """Regression: aspect_ratio 1e-6 or 1e6 (and any aspect ratio != 1 at width_ratio 1,
    a hard edge at 0 with density ~ x^(-1/2)) raised a quadrature ConvergenceError
    naming no parameter: the quartic in P, t = 1/(z psi) had coefficients ~1/z^2 and
    four roots clustered at P = 1 - 1/psi (accurate to eps^(1/4)); small aspect_ratio /
    width_ratio put a bulk 1e6 below the top that Newton tracking jumped off. Now: the
    density integrates to the exact continuous mass and moments, and the quartic route
    agrees with the linear-equivalent fixed point."""
    law = ConjugateKernelLaw(1.0, 0.5, phi, width)
    top = law.support[-1][1]
    assert law.cdf([top])[0] == pytest.approx(1.0, abs=1e-12)
    F = law.cdf(np.array([lo for lo, _ in law.support]) * (1 - 1e-12))
    assert F[0] == pytest.approx(1 - law.continuous_mass, abs=1e-12)
    for k in (1, 2):
        assert SpectralLaw.moment(law, k) == pytest.approx(law.moment(k), rel=1e-8)
    if width < 1e5:    # the fixed point of the second route stalls at width_ratio 1e6
        z = top * np.array([0.3 + 0.1j, 1.0 + 0.3j])
        np.testing.assert_allclose(law.stieltjes(z), law.stieltjes(z, method="equivalent"),
                                   rtol=1e-8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(aspect_ratio=1e-7, width_ratio=1.0), r"`aspect_ratio` of ConjugateKernelLaw must "
                                                r"be a float in \[1e-06, 1000000.0\]"),
    (dict(aspect_ratio=1.0, width_ratio=1e7), r"`width_ratio` .* \[1e-06, 1000000.0\]"),
    (dict(aspect_ratio=1e-3, width_ratio=1e4), r"`aspect_ratio / width_ratio` "
                                                r"\(n_features / n_random_features\) .* "
                                                r"\[1e-06, 1e\+06\].*; got 0.001 / 10000.0"),
])
def test_ratios_beyond_the_verified_range_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConjugateKernelLaw(1.0, 0.5, **kwargs)


# --------------------------------------------------------------------------- simulation
@pytest.mark.simulation
def test_simulation_agreement_and_rate():
    """Empirical (1/n1) tr (M - z)^{-1} of tanh CK Gram matrices vs the law.

    Tolerance |mean - theory| <= k stderr + C / sqrt(n1) with k = 4, C = 0.05; the
    error at the largest size must be below the error at the smallest (same seeds)."""
    law = ConjugateKernelLaw.from_activation(np.tanh, 0.5, 0.625)
    z = np.array([-0.5 + 0j, 0.3 + 0.2j, 1 + 0.2j])
    theory = law.stieltjes(z)
    errors = []
    for n1 in (100, 200, 400):
        vals = np.array([np.mean(1 / (law.sample(n1, seed=s)[:, None] - z), axis=0)
                         for s in range(6)])
        err = np.abs(vals.mean(0) - theory)
        stderr = np.abs(vals.std(0, ddof=1)) / np.sqrt(len(vals))
        assert np.all(err <= 4 * stderr + 0.05 / np.sqrt(n1)), (n1, err, stderr)
        errors.append(err[0])
    assert errors[-1] < errors[0]


@pytest.mark.simulation
def test_linear_equivalent_sample_matches_law():
    """Péché's linear equivalent sqrt(zeta) WX + sqrt(eta - zeta) Z has the same limit."""
    law = ConjugateKernelLaw.from_activation(relu_centred, 0.5, 0.625)
    z = np.array([-0.5 + 0j, 1 + 0.2j])
    n1 = 300
    vals = np.array([np.mean(1 / (law.sample(n1, seed=s, equivalent=True)[:, None] - z),
                             axis=0) for s in range(5)])
    stderr = vals.std(0, ddof=1) / np.sqrt(len(vals))
    assert np.all(np.abs(vals.mean(0) - law.stieltjes(z)) <= 4 * stderr + 0.05 / np.sqrt(n1))


@pytest.mark.simulation
def test_sample_shape_edges_and_atom():
    law = ConjugateKernelLaw(1.0, 1.0, 0.5, 2.0)   # n1 = 4 n0: rank n0, atom 3/4 at 0
    ev = law.sample(400, seed=3)
    assert ev.shape == (400,) and np.all(np.diff(ev) >= 0)
    assert np.mean(ev < 1e-8) == pytest.approx(0.75, abs=0.01)
    lo, hi = law.support[-1]
    nz = ev[ev > 1e-8]
    assert abs(nz.max() - hi) < 0.1 * hi and abs(nz.min() - lo) < 0.1 + 0.1 * lo


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(eta=0.0, zeta=0.0, aspect_ratio=1.0, width_ratio=1.0), "eta"),
    (dict(eta=1.0, zeta=1.5, aspect_ratio=1.0, width_ratio=1.0), "zeta"),
    (dict(eta=1.0, zeta=-0.1, aspect_ratio=1.0, width_ratio=1.0), "zeta"),
    (dict(eta=1.0, zeta=0.5, aspect_ratio=-1.0, width_ratio=1.0), "aspect_ratio"),
    (dict(eta=1.0, zeta=0.5, aspect_ratio=1.0, width_ratio=np.inf), "width_ratio"),
    (dict(eta=np.nan, zeta=0.5, aspect_ratio=1.0, width_ratio=1.0), "eta"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConjugateKernelLaw(**kwargs)


def test_bad_calls():
    law = law_pw(1.0, 0.5, 1.0, 1.0)
    with pytest.raises(ValueError, match="method"):
        law.stieltjes(1j, method="newton")
    with pytest.raises(ValueError, match="imaginary"):
        law.stieltjes(-1.0, method="equivalent")
    with pytest.raises(ValueError, match="z"):
        law.stieltjes(np.nan)
    with pytest.raises(ValueError, match="support"):
        law.stieltjes(1.0)                    # real z on the support
    with pytest.raises(ValueError, match="activation"):
        ConjugateKernelLaw.from_activation("not callable", 1.0, 1.0)
    with pytest.raises(ValueError, match="n_features"):
        law.sample(0)
    with pytest.raises(ValueError, match="z = 0"):
        law_pw(1.0, 1.0, 0.5, 2.0).stieltjes(0.0)   # 0 off the support, but t = 1/(z psi)


def test_sample_size_is_the_number_of_random_features():
    """The positional size (common laws' surface) is n_random_features, also accepted
    by that name (user report: `n_features` means the input dimension elsewhere)."""
    law = ConjugateKernelLaw(1.0, 0.5, 0.5, 2.0)     # 300 random features: n = 150, d = 75
    ev = law.sample(n_random_features=300, seed=3)
    np.testing.assert_array_equal(ev, law.sample(300, seed=3))
    assert ev.shape == (300,) and np.sum(ev < 1e-9) == 150       # rank n_samples = 150
    with pytest.raises(ValueError, match="n_random_features, once"):
        law.sample(300, n_random_features=300)
    with pytest.raises(ValueError, match="n_random_features, once"):
        law.sample()
    with pytest.raises(ValueError, match="`n_random_features` of ConjugateKernelLaw.sample"):
        law.sample(n_random_features=0)


def test_from_activation_with_a_name_says_how_to_pass_it():
    with pytest.raises(ValueError, match=r"hdeq.activation\('tanh'\)"):
        ConjugateKernelLaw.from_activation("tanh", 0.5, 0.625)


def test_sample_equivalent_must_be_a_bool():
    law = ConjugateKernelLaw.from_activation(np.tanh, 0.5, 0.625)
    with pytest.raises(ValueError, match="`equivalent` of ConjugateKernelLaw.sample must be "
                                         "a bool"):
        law.sample(n_random_features=20, seed=0, equivalent="no")


@pytest.mark.parametrize("constant", [lambda x: np.ones_like(x), lambda x: 0.0 * x - 2.5])
def test_constant_activation_says_the_centred_activation_vanishes(constant):
    import hdeq
    for f in (constant, hdeq.activation(constant)):
        with pytest.raises(ValueError) as info:
            ConjugateKernelLaw.from_activation(f, 0.5, 0.625)
        msg = str(info.value)
        assert msg.startswith("`activation` of ConjugateKernelLaw must not be constant")
        assert "identically zero" in msg and "E[f(xi)^2] - E[f(xi)]^2 = 0" in msg
        assert "degenerate" in msg and "`eta`" not in msg


@pytest.mark.parametrize("f, where", [
    (lambda x: np.full_like(x, np.nan), r"f\(-10\) = nan"),
    (lambda x: np.where(x > 3, np.nan, x), r"f\(3\.1\) = nan"),
    (lambda x: 1.0 / x, r"f\(0\) = inf"),
])
def test_non_finite_activation_is_a_clear_error_without_integration_warnings(f, where):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # no scipy IntegrationWarning first
        with pytest.raises(ValueError, match=r"`activation` of ConjugateKernelLaw must return "
                                             r"finite values \(checked at 201 points of "
                                             r"\[-10, 10\] before integrating\); got " + where):
            ConjugateKernelLaw.from_activation(f, 0.5, 0.625)
        # non-finite only far out, beyond the probe: the moments error, still no warning
        with pytest.raises(ValueError, match="must have finite Gaussian moments"):
            ConjugateKernelLaw.from_activation(
                lambda x: np.where(np.abs(x) > 12, np.nan, np.tanh(x)), 0.5, 0.625)
